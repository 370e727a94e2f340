#!/usr/bin/env python3
"""Benchmark the site: `mkdocs build` with the `tutorial` plugin, cold, unchanged, and
after a fix at a late step, in one run.

    .venv/bin/python bench/bench_site.py              # 500 steps over 300 files
    .venv/bin/python bench/bench_site.py --quick      # CI smoke test: 60 steps, 60 files
    .venv/bin/python bench/bench_site.py --profile    # also a cProfile of one cold build

What it does (see bench/README.md, "The site"):

1. Generates the synthetic tutorial of bench_foundation.py (one `git fast-import`), then
   `tutorial import` and `tutorial build` (untimed), and a mkdocs.yml using the plugin
   with mkdocs' default theme.
2. Times whole `mkdocs build --strict` processes (min and median of --repeat runs):
     cold        no cache (.tutorial/site-cache removed): every step page rendered, every
                 zip and patch made
     unchanged   nothing changed since the last build: everything from the cache
     after fix   `tutorial apply` (untimed) of a fix at the step at 80% of the way (step
                 400 of 500) that adds a file, carried to every later step, then a build
   and, as the floor, one `git diff-tree --stdin -p` of every step (what reading the
   diffs costs git alone, without rendering anything).
3. Checks correctness: a page per step with its diff; zips equal to `git ls-tree` and the
   blobs (first, middle, last step); a patch that `git apply --check`s on the step before
   and gives the step's tree through `git am`; the unchanged build renders nothing and
   writes the same pages; the build after the fix renders exactly the steps whose trees
   changed and gives the same pages as a cold build of the fixed history.

Exits 1 when a correctness check fails, never because of speed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_foundation import (
    ROOT,
    Checks,
    Run,
    Timing,
    add_common_args,
    generate,
    git,
    hermetic_env,
    parse_common,
    run,
    run_in_workdir,
    tutorial_cmd,
)

from tutorial_tools.gitstore import EMPTY_TREE

MKDOCS_YML = "site_name: Bench\ndocs_dir: chapters\nplugins:\n  - tutorial\n"
STATS = re.compile(r"tutorial: (\d+) steps: (\d+) step page\(s\) rendered, (\d+) from the "
                   r"cache, (\d+) download\(s\) made")


def mkdocs_build(env: dict[str, str], project: Path, site: Path) -> tuple[Run, tuple[int, ...]]:
    """One `mkdocs build --strict` process, timed by the launcher of bench_foundation.py:
    its run and the plugin's counts (steps, rendered, from the cache, downloads made)."""
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    with tempfile.TemporaryDirectory() as tmp:
        err = Path(tmp) / "err"
        timed = run([mkdocs, "build", "--strict", "--site-dir", str(site)], env, cwd=project,
                    stderr=err, name=f"mkdocs build in {project}")
        log = err.read_text(errors="replace")
    m = STATS.search(log)
    if m is None:
        raise SystemExit(f"FAILED: no counts from the plugin in mkdocs' output:\n{log}")
    counts = tuple(int(g) for g in m.groups())
    return timed, counts


def step_trees(env: dict[str, str], repo: Path, tags: list[str]) -> list[tuple[str, str]]:
    """(parent tree, tree) of each step, in order."""
    out = git(env, repo, "for-each-ref", "--format=%(refname:short) %(tree)%(*tree)",
              "refs/tags/").decode()
    trees = dict(line.split(" ") for line in out.splitlines())
    return [(trees[tags[i - 1]] if i else "", trees[t]) for i, t in enumerate(tags)]


def pages(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in site.glob("steps/*/index.html")}


def check_zip(env: dict[str, str], repo: Path, site: Path, tag: str) -> bool:
    """The step's zip holds exactly its tree: names, modes and bytes."""
    want = {}
    for entry in git(env, repo, "ls-tree", "-r", "-z", f"refs/tags/{tag}").split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            mode, _, oid = meta.split(b" ")
            want[path] = (int(mode, 8), git(env, repo, "cat-file", "blob", oid.decode()))
    data = (site / "steps" / tag / f"{tag}.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if z.testzip() is not None:
            return False
        got = {i.filename.encode("utf-8" if i.flag_bits & 0x800 else "cp437")
               .removeprefix(f"{tag}/".encode()): (i.external_attr >> 16, z.read(i))
               for i in z.infolist()}
    return got == want


def check_patch(env: dict[str, str], repo: Path, site: Path, work: Path, before: str,
                tag: str) -> bool:
    """The step's patch applies to the step before it and gives the step's tree."""
    clone = work / "reader"
    if not clone.exists():
        git(env, work, "clone", "-q", str(repo), str(clone))
    git(env, clone, "checkout", "-q", "--detach", f"refs/tags/{before}")
    patch = site / "steps" / tag / f"{tag}.patch"
    if subprocess.run(["git", "-C", str(clone), "apply", "--check", str(patch)], env=env,
                      capture_output=True).returncode:
        return False
    git(env, clone, "am", "-q", str(patch))
    return (git(env, clone, "rev-parse", "HEAD^{tree}")
            == git(env, repo, "rev-parse", f"refs/tags/{tag}^{{tree}}"))


def bench(args: argparse.Namespace, work: Path) -> int:
    home = work / "home"
    home.mkdir()
    env = hermetic_env(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    tutorial = tutorial_cmd()
    checks = Checks()
    load_before = os.getloadavg()
    print(f"git {git(env, work, 'version').decode().split()[-1]}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs; work dir {work}; "
          f"load average {load_before[0]:.2f}")
    if load_before[0] > 0.5:
        print("note: the machine is busy; timings will be noisy", flush=True)
    src = generate(env, work / "src.git", args.steps, args.files, args.seed)
    tags = src.tags
    print(f"generated {src.steps} steps, {src.files_at_tip} files at the tip, "
          f"in {src.generate_seconds:.2f}s", flush=True)
    project = work / "project"
    run([*tutorial, "import", str(src.path), "--into", str(project), "--keep-untagged"], env)
    run([*tutorial, "--project", str(project), "build"], env)
    (project / "mkdocs.yml").write_text(MKDOCS_YML)
    repo = project / "build" / "repo"
    cache = project / ".tutorial" / "site-cache"
    site = work / "site"

    # The floor: git alone producing every step's diff, in one process.
    pairs = "".join(f"{a or EMPTY_TREE} {b}\n"
                    for a, b in step_trees(env, repo, tags))
    (work / "pairs").write_text(pairs)
    floor = Timing("git diff-tree -p, every step", [
        run(["git", "-C", str(repo), "diff-tree", "--stdin", "-p", "-M", "-C", "--always"],
            env, stdin=work / "pairs") for _ in range(args.repeat)])

    colds = []
    for _ in range(args.repeat):
        shutil.rmtree(cache, ignore_errors=True)
        r, counts = mkdocs_build(env, project, site)
        colds.append(r)
    cold = Timing("cold build", colds)
    n = len(tags)
    checks.check(f"cold: every step rendered, every zip and patch made ({n} steps)",
                 counts == (n, n, 0, 2 * n), str(counts))
    first = pages(site)
    missing = [t for t in tags if f"Step {t}:" not in
               first.get(f"steps/{t}/index.html", b"").decode()]
    checks.check("a page per step with its title", not missing, f"missing: {missing[:5]}")
    no_diff = [p for p, html in first.items() if b'class="tt-diff' not in html]
    checks.check("every step page holds its diff", not no_diff, f"{no_diff[:5]}")
    sample = sorted({0, n // 2, n - 1})
    bad = [tags[i] for i in sample if not check_zip(env, repo, site, tags[i])]
    checks.check("zips equal git ls-tree and the blobs (first, middle, last step)", not bad,
                 f"differ: {bad}")
    middle = max(1, n // 2)
    checks.check("a patch applies to the step before and gives the step (git am)",
                 check_patch(env, repo, site, work, tags[middle - 1], tags[middle]))

    noops = []
    for _ in range(args.repeat):
        r, counts = mkdocs_build(env, project, site)
        noops.append(r)
    noop = Timing("unchanged", noops)
    checks.check("unchanged: nothing rendered, nothing made", counts == (n, 0, n, 0),
                 str(counts))
    checks.check("unchanged: the same step pages", pages(site) == first)

    # A fix at the step 80% of the way, carried through every later step.
    at = max(1, int(n * 0.8)) - 1
    fix = work / "fix.patch"
    fix.write_text("diff --git a/FIXED.md b/FIXED.md\nnew file mode 100644\n--- /dev/null\n"
                   f"+++ b/FIXED.md\n@@ -0,0 +1 @@\n+Fixed at step {tags[at]}.\n")
    before = step_trees(env, repo, tags)
    run([*tutorial, "--project", str(project), "apply", tags[at], str(fix)], env)
    after = step_trees(env, repo, tags)
    changed = sum(1 for b, a in zip(before, after, strict=True) if a != b)
    fixed, counts = mkdocs_build(env, project, site)
    after_fix = Timing(f"after a fix at {tags[at]}", [fixed])
    checks.check(f"after the fix: exactly the {changed} steps whose trees changed rendered",
                 counts == (n, changed, n - changed, 2 * changed) and changed == n - at,
                 f"{counts}, {changed} changed")
    fresh = work / "fresh-site"
    shutil.rmtree(cache)
    mkdocs_build(env, project, fresh)
    checks.check("after the fix: the same pages as a cold build", pages(site) == pages(fresh))

    if args.profile:
        profile(env, project, work)

    print(f"\n{n} steps, {args.files} files, best of {args.repeat} "
          f"(seconds; peak RSS of the process tree's largest member)\n")
    print(f"{'measured':<32}{'min s':>8}{'median':>8}{'cpu s':>8}{'RSS MB':>8}")
    print("-" * 64)
    for t in (cold, noop, after_fix, floor):
        print(f"{t.name:<32}{t.min:>8.3f}{t.median:>8.3f}{t.cpu:>8.2f}{t.maxrss_mb:>8.1f}")
    print(f"\ncold build: {cold.median / n * 1000:.1f} ms per step page "
          f"({cold.median / floor.median:.0f}x git's diff-tree of every step)")
    print(f"unchanged / cold: {noop.median / cold.median:.2f}; after a fix at {tags[at]} "
          f"({changed} pages rendered again) / cold: {after_fix.median / cold.median:.2f}")
    ok = len(checks.results) - len(checks.failed)
    print(f"correctness: {ok}/{len(checks.results)} checks passed")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "steps": n, "files": args.files,
            "cpus": os.cpu_count(), "repeat": args.repeat, "rerendered_after_fix": changed,
            "loadavg_before": load_before[0], "loadavg_after": load_after[0],
            "timings": {t.name: {"min": t.min, "median": t.median, "maxrss_mb": t.maxrss_mb,
                                 "cpu": t.cpu, "runs": [r.seconds for r in t.runs]}
                        for t in (cold, noop, after_fix, floor)},
            "checks": {name: ok for name, ok, _ in checks.results},
        }, indent=2))
    if checks.failed:
        print(f"\nCORRECTNESS FAILED: {', '.join(checks.failed)}", file=sys.stderr)
        return 1
    return 0


def profile(env: dict[str, str], project: Path, work: Path) -> None:
    """A cProfile of one cold build, in process (the 25 most expensive calls)."""
    shutil.rmtree(project / ".tutorial" / "site-cache", ignore_errors=True)
    script = ("import cProfile, pstats, sys\n"
              "from mkdocs.__main__ import cli\n"
              "sys.argv = ['mkdocs', 'build', '--strict', '-q', '--site-dir', sys.argv[1]]\n"
              "cProfile.run('cli(standalone_mode=False)', sys.argv[2])\n"
              "pstats.Stats(sys.argv[2]).sort_stats('cumulative').print_stats(25)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(work / "profile-site"),
                           str(work / "build.prof")], cwd=project, env=env,
                          capture_output=True, text=True)
    print(proc.stdout[-6000:] or proc.stderr[-2000:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, "one cold build")
    return run_in_workdir(parse_common(p, argv), bench, "tutorial-bench-site-")


if __name__ == "__main__":
    sys.exit(main())

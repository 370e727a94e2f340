#!/usr/bin/env python3
"""Benchmark history editing: `tutorial apply` of a fix at step 2 against `git rebase`.

    .venv/bin/python bench/bench_rewrite.py                 # 500 steps over 300 files
    .venv/bin/python bench/bench_rewrite.py --quick         # CI smoke test: 60 steps, 60 files
    .venv/bin/python bench/bench_rewrite.py --profile       # also a cProfile of one apply

What it does (see bench/README.md, "History editing"):

1. Generates a synthetic tagged tutorial with one `git fast-import` (the building blocks of
   bench_foundation.py: its hermetic environment, text generator and launcher), with one
   "hot" file, src/app/routes.py, that most steps change (somewhere below its first 15
   lines), beside the usual edits, additions, renames and deletions of the other files.
2. Makes the fix: step 2's routes.py with two lines changed near its top, as a `git diff`.
3. Times, side by side, each on a fresh copy (min and median of --repeat runs):
     tutorial    `tutorial apply <step 2> fix.patch` in a project imported and built
                 beforehand (untimed): carries the fix through every later step, rewrites
                 their step files, moves the branch and every tag, updates the work tree
     git         in a clone: `git checkout --detach <step 2>`, `git apply --index`,
                 `git commit --amend`, `git rebase --onto HEAD <step 2> main`, then
                 `git rev-list` of the new commits and every tag moved in one
                 `git update-ref --stdin` transaction (annotated tags become lightweight:
                 the cheapest way to move them)
   with the peak RSS of each (the launcher of bench_foundation.py: ru_maxrss of the
   process tree's largest member).
4. Checks correctness: both must give the same tree at every step (all tags), the steps
   before step 2 keep their commits, every later tag moved, the branch is at the last
   step, the work trees are clean, and the fix is in the last step.

Exits 1 when a correctness check fails, never because of speed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_foundation import (
    AUTHOR,
    COMMITTER,
    DIRS,
    EPOCH,
    EXTENSIONS,
    ROOT,
    TZ,
    WORDS,
    Checks,
    Content,
    File,
    Run,
    Timing,
    _data,
    add_common_args,
    compare_refs,
    git,
    hermetic_env,
    parse_common,
    refs,
    run,
    run_in_workdir,
    tutorial_cmd,
)

HOT = "src/app/routes.py"
HOT_TOP = 15  # later steps never touch the hot file's first lines: the fix lives there


def generate(env: dict[str, str], dest: Path, steps: int, files: int, seed: int,
             hot_share: float) -> dict[str, object]:
    """A tagged history of `steps` commits over about `files` files, one of them hot."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    content = Content(rng)
    tree: dict[str, File | bytes] = {}
    counter = 0
    marker = 0

    def new_path() -> str:
        nonlocal counter
        counter += 1
        d = rng.choice(DIRS)
        return f"{d}/{rng.choice(WORDS)}_{counter}{EXTENSIONS[d]}"

    def fill(path: str, lines: int | None = None) -> File:
        ext = Path(path).suffix
        return File(content.text(ext, lines or rng.randint(20, 200)),
                    final_newline=rng.random() > 0.05,
                    mode=b"100755" if ext == ".sh" else b"100644")

    def edit(path: str, f: File, floor: int = 0) -> None:
        nonlocal marker
        ext = Path(path).suffix
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(floor, len(f.lines) + 1)
            kind = rng.random()
            if kind < 0.4 or len(f.lines) < floor + 25:
                f.lines[at:at] = content.text(ext, rng.randint(1, 6))
            elif kind < 0.8:
                f.lines[at:at + rng.randint(1, 4)] = content.text(ext, rng.randint(1, 5))
            else:
                del f.lines[at:at + rng.randint(1, 4)]
        marker += 1
        comment = {".py": "# step {}", ".sh": "# step {}", ".md": "<!-- step {} -->"}.get(
            ext, "/* step {} */")
        f.lines.insert(rng.randrange(floor, len(f.lines) + 1), comment.format(marker))

    stream = bytearray()
    tags: list[str] = []
    hot_edits = 0
    chapter, letter, chapter_len = 1, 0, rng.randint(2, 8)
    for step in range(1, steps + 1):
        ops: list[bytes] = []
        if step == 1:
            for _ in range(files - 1):
                p = new_path()
                tree[p] = fill(p)
            tree[HOT] = fill(HOT, 400)
            tree[HOT].final_newline = True  # type: ignore[union-attr]
            changed = sorted(tree)
        else:
            changed = []
            if step > 2 and rng.random() < hot_share:
                edit(HOT, tree[HOT], HOT_TOP)  # type: ignore[arg-type]
                changed.append(HOT)
                hot_edits += 1
            text_paths = sorted(p for p, f in tree.items() if isinstance(f, File) and p != HOT)
            for p in rng.sample(text_paths, min(len(text_paths), rng.randint(1, 3))):
                edit(p, tree[p])  # type: ignore[arg-type]
                changed.append(p)
            if rng.random() < 0.3:
                p = new_path()
                tree[p] = fill(p)
                changed.append(p)
            if rng.random() < 0.06:
                candidates = [p for p in text_paths if p not in changed]
                if candidates:
                    old = rng.choice(candidates)
                    d = rng.choice(DIRS)
                    new = f"{d}/{Path(old).stem}_moved{EXTENSIONS[d]}"
                    if new not in tree:
                        f = tree.pop(old)
                        assert isinstance(f, File)
                        f.lines[rng.randrange(len(f.lines))] = content.line(Path(new).suffix)
                        tree[new] = f
                        ops.append(b"D %s\n" % old.encode())
                        changed.append(new)
            if rng.random() < 0.04 and len(text_paths) > files // 2:
                candidates = [p for p in text_paths if p not in changed and p in tree]
                if candidates:
                    gone = rng.choice(candidates)
                    del tree[gone]
                    ops.append(b"D %s\n" % gone.encode())
            if step % 23 == 0:
                counter += 1
                p = f"web/static/img/icon_{counter}.png"
                tree[p] = b"\x89PNG\r\n\x1a\n\0" + rng.randbytes(rng.randint(300, 3000))
                changed.append(p)
        for p in changed:
            f = tree[p]
            if isinstance(f, File):
                ops.append(b"M %s inline %s\n%s" % (f.mode, p.encode(), _data(f.data())))
            else:
                ops.append(b"M 100644 inline %s\n%s" % (p.encode(), _data(f)))
        tag = f"{chapter}{chr(ord('a') + letter)}"
        when = b"%d %s" % (EPOCH + step * 3600, TZ)
        stream += b"commit refs/heads/main\nmark :%d\n" % step
        stream += b"author %s %s\ncommitter %s %s\n" % (AUTHOR, when, COMMITTER, when)
        stream += _data(f"Chapter {chapter}: Title {chapter} ({tag})\n".encode())
        if step > 1:
            stream += b"from :%d\n" % (step - 1)
        stream += b"".join(ops) + b"\n"
        if letter == 0:
            stream += b"tag %s\nfrom :%d\ntagger %s %s\n" % (tag.encode(), step, COMMITTER, when)
            stream += _data(f"Chapter {chapter} starts here\n".encode())
        else:
            stream += b"reset refs/tags/%s\nfrom :%d\n\n" % (tag.encode(), step)
        tags.append(tag)
        letter += 1
        if letter == chapter_len:
            chapter, letter, chapter_len = chapter + 1, 0, rng.randint(2, 8)
    dest.mkdir(parents=True)
    git(env, dest, "init", "-q", "--bare", "-b", "main")
    git(env, dest, "fast-import", "--quiet", "--done", input=bytes(stream) + b"done\n")
    hot = tree[HOT]
    assert isinstance(hot, File)
    return {"tags": tags, "files_at_tip": len(tree), "hot_edits": hot_edits,
            "hot_lines": len(hot.lines), "seconds": time.perf_counter() - t0}


def tag_trees(env: dict[str, str], repo: Path) -> dict[str, str]:
    """Every tag -> the tree of the commit it names (peeling annotated tags)."""
    out = git(env, repo, "for-each-ref", "--format=%(refname:short) %(tree)%(*tree)",
              "refs/tags/").decode()
    return dict(line.split(" ") for line in out.splitlines())


def make_fix(env: dict[str, str], src: Path, work: Path, tag: str) -> Path:
    scratch = work / "fix-scratch"
    git(env, work, "clone", "-q", "--no-checkout", str(src), str(scratch))
    git(env, scratch, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    hot = scratch / HOT
    lines = hot.read_text().splitlines(keepends=True)
    lines[4] = "# FIXED: the fifth line, corrected at step 2\n"
    lines[7:7] = ["# FIXED: a line the fix adds\n"]
    hot.write_text("".join(lines))
    patch = work / "fix.patch"
    patch.write_bytes(git(env, scratch, "diff"))
    shutil.rmtree(scratch)
    return patch


def copy_project(env: dict[str, str], src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    # New timestamps: refresh the copy's index (untimed), as on an untouched machine.
    subprocess.run(["git", "-C", str(dest / "build" / "repo"), "update-index", "-q",
                    "--refresh"], env=env, capture_output=True)
    return dest


def git_rebase(env: dict[str, str], src: Path, clone: Path, fix: Path, tag: str,
               tags: list[str]) -> Run:
    """The git way, timed command by command (the clone itself is not timed)."""
    git(env, src.parent, "clone", "-q", str(src), str(clone))
    c = ["git", "-C", str(clone)]
    runs = [run([*c, "checkout", "-q", "--detach", f"refs/tags/{tag}"], env),
            run([*c, "apply", "--index", str(fix)], env),
            run([*c, "commit", "-q", "--amend", "--no-edit"], env),
            run([*c, "rebase", "-q", "--onto", "HEAD", f"refs/tags/{tag}", "main"], env)]
    t0 = time.perf_counter()
    first = tags.index(tag)
    fixed = git(env, clone, "rev-parse", f"main~{len(tags) - 1 - first}").decode().strip()
    later = git(env, clone, "rev-list", "--reverse", f"{fixed}..main").decode().split()
    script = clone.parent / f"{clone.name}.refs"
    script.write_text("start\n" + "".join(
        f"update refs/tags/{t} {c}\n" for t, c in zip(tags[first:], [fixed, *later],
                                                        strict=True)) + "prepare\ncommit\n")
    t_list = time.perf_counter() - t0
    runs.append(run([*c, "update-ref", "--stdin"], env, stdin=script))
    return Run(sum(r.seconds for r in runs) + t_list, max(r.maxrss_kb for r in runs),
               sum(r.cpu_seconds for r in runs))


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
    src = work / "src.git"
    info = generate(env, src, args.steps, args.files, args.seed, args.hot_share)
    tags: list[str] = info["tags"]  # type: ignore[assignment]
    step2 = tags[1]
    print(f"generated {args.steps} steps, {info['files_at_tip']} files at the tip; "
          f"{HOT} changed by {info['hot_edits']} later steps ({info['hot_lines']} lines "
          f"at the tip), in {info['seconds']:.2f}s")
    source_trees = tag_trees(env, src)
    fix = make_fix(env, src, work, step2)

    # The project, imported and built (untimed).
    project = work / "project"
    for cmd in (["import", str(src), "--into", str(project), "--keep-untagged"],
                ["--project", str(project), "build"]):
        run([*tutorial, *cmd], env)
    before = refs(env, project / "build" / "repo")
    dry = subprocess.run([*tutorial, "--project", str(project), "apply", step2, str(fix),
                          "--dry-run"], env=env, capture_output=True, text=True)
    checks.check("the fix carries without a conflict (dry run)",
                 dry.returncode == 0 and "Would stop" not in dry.stderr, dry.stderr[-300:])

    applies, rebases = [], []
    for i in range(args.repeat):
        p = copy_project(env, project, work / f"apply{i}")
        applies.append(run([*tutorial, "--project", str(p), "apply", step2, str(fix)], env))
        rebases.append(git_rebase(env, src, work / f"rebase{i}", fix, step2, tags))
    ours = Timing("tutorial apply", applies)
    theirs = Timing("git rebase + tags", rebases)

    built = work / "apply0" / "build" / "repo"
    after = refs(env, built)
    ours_trees, git_trees = tag_trees(env, built), tag_trees(env, work / "rebase0")
    differ = [t for t in tags if ours_trees.get(t) != git_trees.get(t)]
    checks.check(f"same tree at every step as git rebase ({len(tags)} tags)", not differ,
                 f"{len(differ)} differ, e.g. {', '.join(differ[:5])}")
    checks.check("the steps before step 2 keep their commits and trees",
                 after[f"refs/tags/{tags[0]}"] == before[f"refs/tags/{tags[0]}"]
                 and ours_trees[tags[0]] == source_trees[tags[0]])
    moved = [t for t in tags[1:] if after[f"refs/tags/{t}"] == before[f"refs/tags/{t}"]]
    checks.check("every tag from step 2 on moved", not moved, f"not moved: {moved[:5]}")
    tip = git(env, built, "rev-parse", "HEAD").decode().strip()
    checks.check("the branch and HEAD are at the last step",
                 after["refs/heads/main"] == tip
                 and git(env, built, "rev-parse", f"refs/tags/{tags[-1]}^{{commit}}"
                         ).decode().strip() == tip)
    for name, repo in (("tutorial", built), ("git", work / "rebase0")):
        st = git(env, repo, "status", "--porcelain").decode()
        checks.check(f"{name}: work tree clean", not st.strip(), st[:200])
    hot_tip = git(env, built, "show", f"refs/tags/{tags[-1]}:{HOT}").decode()
    checks.check("the fix is in the last step", hot_tip.count("# FIXED: ") == 2)
    status = subprocess.run([*tutorial, "--project", str(built.parent.parent), "status",
                             "--json"], env=env, capture_output=True, text=True)
    checks.check("tutorial status: clean", json.loads(status.stdout or "{}").get("clean")
                 is True, status.stdout[-300:])
    compare_refs(checks, "every copy gives the same refs",
                 after, refs(env, work / f"apply{args.repeat - 1}" / "build" / "repo"))

    if args.profile:
        profile(env, project, work, step2, fix)

    ratio = ours.median / theirs.median
    print(f"\n{args.steps} steps, {args.files} files, best of {args.repeat} "
          f"(seconds; peak RSS of the process tree's largest member)\n")
    print(f"{'measured':<22}{'min s':>8}{'median':>8}{'max s':>8}{'cpu s':>8}{'RSS MB':>8}")
    print("-" * 62)
    for t in (ours, theirs):
        print(f"{t.name:<22}{t.min:>8.3f}{t.median:>8.3f}{max(r.seconds for r in t.runs):>8.3f}"
              f"{t.cpu:>8.2f}{t.maxrss_mb:>8.1f}")
    verdict = "met" if ratio <= 0.2 else "MISSED"
    aim = "met" if ratio <= 0.1 else "missed"
    print(f"\nratio apply/rebase: min {ours.min / theirs.min:.3f}, median {ratio:.3f} "
          f"(target <= 0.2: {verdict}; aim <= 0.1: {aim})")
    ok = len(checks.results) - len(checks.failed)
    print(f"correctness: {ok}/{len(checks.results)} checks passed")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "files": args.files,
            "hot_edits": info["hot_edits"], "cpus": os.cpu_count(), "repeat": args.repeat,
            "loadavg_before": load_before[0], "loadavg_after": load_after[0],
            "timings": {t.name: {"min": t.min, "median": t.median, "maxrss_mb": t.maxrss_mb,
                                 "cpu": t.cpu, "runs": [r.seconds for r in t.runs]}
                        for t in (ours, theirs)},
            "ratio_median": ratio,
            "checks": {name: ok for name, ok, _ in checks.results},
        }, indent=2))
    if checks.failed:
        print(f"\nCORRECTNESS FAILED: {', '.join(checks.failed)}", file=sys.stderr)
        return 1
    return 0


def profile(env: dict[str, str], project: Path, work: Path, step: str, fix: Path) -> None:
    """cProfile of one `tutorial apply` on a fresh copy of the project."""
    import pstats

    p = copy_project(env, project, work / "profiled")
    out = work / "apply.prof"
    run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "tutorial_tools",
         "--project", str(p), "apply", step, str(fix)], env)
    print("\n== cProfile: tutorial apply (top 30 by cumulative time) ==")
    pstats.Stats(str(out), stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    print("== cProfile: tutorial apply (top 15 by own time) ==")
    pstats.Stats(str(out), stream=sys.stdout).sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, "one apply")
    p.add_argument("--hot-share", type=float, default=0.6,
                   help="share of later steps that change the hot file (default 0.6)")
    return run_in_workdir(parse_common(p, argv, min_steps=3), bench,
                          "tutorial-bench-rewrite-")


if __name__ == "__main__":
    sys.exit(main())

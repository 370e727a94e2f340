#!/usr/bin/env python3
"""Benchmark `tutorial verify`: parallel speed-up, the no-op re-run, and the cost per step
next to doing it by hand with `git worktree add`, in one run.

    .venv/bin/python bench/bench_verify.py            # 100 steps, a 0.2 s test each
    .venv/bin/python bench/bench_verify.py --quick    # CI smoke run: 20 steps, 0.1 s (~10 s)

What it does (see bench/README.md, section "verify"):

1. Generates a tagged history of N steps with one `git fast-import` (the first step adds
   60 files; each step adds one note file of its own), hermetically (temporary HOME,
   GIT_CONFIG_NOSYSTEM=1, fixed identities and dates), then `tutorial import` and
   `tutorial build`. The manifest's test command is `sleep S` (S = 0.2 s) plus appending
   the step to a counter file, so the benchmark knows how many commands ran.
2. Times whole `tutorial verify` processes (wall clock):
     -j 1 --no-cache          every step, one at a time
     -j 2 --no-cache          every step, two at a time
     no-op                    nothing changed since the last run: nothing may run
     after a fix              a later step's patch edited + `tutorial build`: only that
                              step and the ones after it may run
   and the baseline: a loop doing per step `git worktree add --detach`, the same command
   in that work tree, `git worktree remove --force`.
3. Checks the counts (exit 1 when one is wrong, never because something is slow).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUTHOR = b"Ada Author <ada@example.com> 1700000000 +0100"
BASE_FILES = 60


def hermetic_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "TUTORIAL_")) and k not in ("CI", "XDG_CONFIG_HOME")}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Author", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Author", "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "1700000000 +0100", "GIT_COMMITTER_DATE": "1700000000 +0100",
        "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "CI": "1",
    })
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path, *, input: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)} in {cwd} (exit {proc.returncode}):\n"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc


def tutorial_cmd() -> list[str]:
    script = Path(sys.executable).parent / "tutorial"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutorial_tools"]


def tags(steps: int) -> list[str]:
    """1a..1e, 2a..2e, ...: chapters of five steps."""
    return [f"{i // 5 + 1}{'abcde'[i % 5]}" for i in range(steps)]


def generate(env: dict[str, str], dest: Path, steps: int) -> list[str]:
    """A tagged history: one fast-import stream, one commit and one tag per step."""
    run(["git", "init", "-q", "-b", "main", str(dest)], env, dest.parent)
    names = tags(steps)
    out: list[bytes] = []

    def blob(path: str, text: str) -> None:
        data = text.encode()
        out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    for i, tag in enumerate(names):
        chapter = i // 5 + 1
        message = f"Chapter {chapter}: Title {chapter} ({tag})\n".encode()
        out.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        out.append(b"author %s\ncommitter %s\n" % (AUTHOR, AUTHOR))
        out.append(b"data %d\n%s" % (len(message), message))
        if i == 0:
            for f in range(BASE_FILES):
                blob(f"src/module_{f}.py", "".join(f"value_{f}_{n} = {n}\n" for n in range(40)))
        blob(f"notes/{tag}.txt", f"note {tag}\n")
        out.append(b"\nreset refs/tags/%s\nfrom :%d\n\n" % (tag.encode(), i + 1))
    run(["git", "fast-import", "--quiet"], env, dest, input=b"".join(out))
    return names


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = run(cmd, env, cwd)
    return time.perf_counter() - t0, proc.stderr.decode(errors="replace")


def count_runs(counter: Path) -> int:
    if not counter.exists():
        return 0
    n = len(counter.read_text().split())
    counter.unlink()
    return n


def worktree_baseline(env: dict[str, str], repo: Path, names: list[str], command: str,
                      work: Path) -> float:
    """Per step: `git worktree add --detach`, the command there, `git worktree remove`."""
    t0 = time.perf_counter()
    for tag in names:
        where = work / f"wt-{tag}"
        run(["git", "worktree", "add", "-q", "--detach", str(where), f"refs/tags/{tag}"],
            env, repo)
        run(["/bin/sh", "-c", command], {**env, "TUTORIAL_STEP": tag}, where)
        run(["git", "worktree", "remove", "--force", str(where)], env, repo)
    return time.perf_counter() - t0


def bench(args: argparse.Namespace, work: Path) -> int:
    home = work / "home"
    home.mkdir()
    env = hermetic_env(home)
    counter = work / "runs.txt"
    env["BENCH_RUNS"] = str(counter)
    src = work / "src"
    src.mkdir()
    names = generate(env, src, args.steps)
    project = work / "project"
    tut = tutorial_cmd()
    run([*tut, "import", str(src), "--into", str(project)], env, work)
    command = f'sleep {args.sleep} && echo "$TUTORIAL_STEP" >> "$BENCH_RUNS"'
    manifest = project / "tutorial.yaml"
    manifest.write_text(f"test: '{command}'\n" + manifest.read_text())
    run([*tut, "build"], env, project)
    repo = project / "build" / "repo"
    n = len(names)
    failures: list[str] = []

    def check(what: str, got: int, want: int) -> None:
        mark = "ok" if got == want else "WRONG"
        print(f"  check: {what}: {got} command(s) ran, expected {want}  [{mark}]")
        if got != want:
            failures.append(f"{what}: {got} != {want}")

    load_before = os.getloadavg()[0]
    print(f"bench_verify: {n} steps, a {args.sleep} s test each, {os.cpu_count()} cores, "
          f"best of {args.repeat}; load average {load_before:.2f}")
    if load_before > 0.5:
        print("  warning: the machine is busy; timings will be noisy")

    j1s, j2s = [], []
    for _ in range(args.repeat):
        t, _err = timed([*tut, "verify", "-j", "1", "--no-cache"], env, project)
        check("-j 1 --no-cache", count_runs(counter), n)
        j1s.append(t)
        t, _err = timed([*tut, "verify", "-j", "2", "--no-cache"], env, project)
        check("-j 2 --no-cache", count_runs(counter), n)
        j2s.append(t)
    noops = []
    for _ in range(max(3, args.repeat)):
        t, err = timed([*tut, "verify"], env, project)
        noops.append(t)
        check("no-op re-run", count_runs(counter), 0)
    print(f"  no-op says: {err.strip()}")

    # A fix at a step 90% of the way along: that step and the later ones have new trees.
    k = int(n * 0.9)
    fixed = names[k]
    chapter = k // 5 + 1
    step_file = next((project / "chapters").glob(f"{chapter:02d}-*/{fixed}.patch"))
    step_file.write_bytes(step_file.read_bytes().replace(
        f"+note {fixed}".encode(), f"+note {fixed}, fixed".encode()))
    run([*tut, "build"], env, project)
    t_fix, _err = timed([*tut, "verify", "-j", "2"], env, project)
    check(f"after a fix at {fixed} (-j 2)", count_runs(counter), n - k)

    baselines = []
    for _ in range(args.repeat):
        baselines.append(worktree_baseline(env, repo, names, command, work))
        check("baseline loop", count_runs(counter), n)
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run(["/bin/sh", "-c", f"sleep {args.sleep}"], check=True)
    bare = time.perf_counter() - t0  # the commands alone, one after another

    j1, j2, noop, base = min(j1s), min(j2s), min(noops), min(baselines)
    load_after = os.getloadavg()[0]
    row = "  {:<44} {:>9} {:>9} {:>12}"
    print()
    print(row.format("measured", "min s", "median s", "per step ms"))
    for name, values in (("verify -j 1 --no-cache", j1s), ("verify -j 2 --no-cache", j2s),
                         ("verify, nothing changed (no-op)", noops),
                         ("by hand: worktree add + command + remove", baselines)):
        print(row.format(name, f"{min(values):.3f}", f"{statistics.median(values):.3f}",
                         f"{1000 * min(values) / n:.1f}"))
    print(row.format(f"verify -j 2 after a fix at {fixed} ({n - k} steps)", f"{t_fix:.3f}",
                     "", ""))
    print(row.format(f"the commands alone ({n} x sleep {args.sleep})", f"{bare:.3f}", "",
                     f"{1000 * bare / n:.1f}"))
    overhead = 1000 * (j1 - bare) / n
    by_hand = 1000 * (base - bare) / n
    print()
    targets = (
        ("speed-up -j 1 / -j 2", j1 / j2, "close to 2 (>= 1.8)", j1 / j2 >= 1.8),
        ("no-op re-run, s", noop, "well under 1 s (< 0.5)", noop < 0.5),
        ("verify's cost per step beyond the command, ms", overhead,
         "small next to worktree add + command", overhead < (by_hand + 1000 * bare / n) / 4),
        ("  the same by hand (worktree add + remove), ms", by_hand, "", True),
        ("verify -j 1 / by hand", j1 / base, "<= 1", j1 / base <= 1.0),
    )
    for name, value, target, met in targets:
        verdict = ("met" if met else "MISSED") if target else ""
        print(f"  {name:<48} {value:8.3f}   {target:<38} {verdict}")
    print(f"\n  load average before {load_before:.2f}, after {load_after:.2f}")
    if failures:
        print(f"CORRECTNESS FAILED: {'; '.join(failures)}")
        return 1
    print("All command counts were as expected.")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--sleep", type=float, default=0.2, help="seconds each test takes")
    p.add_argument("--repeat", type=int, default=1, help="runs per timing (min is kept)")
    p.add_argument("--quick", action="store_true", help="20 steps, 0.1 s: a CI smoke run")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--workdir", type=Path, help="where to make the work folder")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.sleep, args.repeat = 20, 0.1, 1
    work = Path(tempfile.mkdtemp(prefix="bench-verify-", dir=args.workdir))
    try:
        return bench(args, work)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

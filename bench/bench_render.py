#!/usr/bin/env python3
"""Benchmark the step diff renderer: every step of a long tutorial rendered as a step page
would show it, next to the obvious alternative, in one run.

    .venv/bin/python bench/bench_render.py            # 500 steps, 300 files, best of 3
    .venv/bin/python bench/bench_render.py --quick    # CI smoke run: 60 steps, 60 files, 1 run

What it does (see bench/README.md, section "render"):

1. Generates the synthetic tagged history of bench_foundation.py (same generator, hermetic).
2. Times, in this process (the renderer is a library call):
     ours        `load_step_diffs` for all steps (one git process) and `render_diff` of each:
                 whole-file highlighting, word-level emphasis, unified and split tables
     baseline    the same patches (`Repository.diff_trees`, one git process) shown the
                 obvious way: each step's patch highlighted as one block with Pygments'
                 DiffLexer and HtmlFormatter (no per-language colours, no word emphasis,
                 one layout)
     per hunk    our rendering, but highlighting each hunk's lines on their own instead of
                 the whole file (what "highlight once per blob" saves or costs)
3. Checks (exit 1 when one fails, never because something is slow): every fragment is
   well-formed with unique ids; each step's +/- counts equal `git diff-tree --numstat`'s;
   the new-side code cells of every file are the new file's lines at those numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_foundation import (
    Checks,
    add_common_args,
    generate,
    git,
    hermetic_env,
    parse_common,
    run_in_workdir,
)
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from testing.html import Fragment
from tutorial_tools.gitstore import EMPTY_TREE, Repository
from tutorial_tools.render import (
    StepDiff,
    diffview,
    load_step_diffs,
    render_diff,
)
from tutorial_tools.render.highlight import forget_highlighting, highlight, split_lines

BASELINE = "baseline: patch highlighted with DiffLexer"
PER_HUNK = "per-hunk highlighting"


def step_trees(env: dict[str, str], repo: Path) -> list[str]:
    out = git(env, repo, "log", "--first-parent", "--reverse", "--format=%T", "main")
    return out.decode().split()


def timed(repeat: int, fn: Callable[[], object]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run; each starts with no blob highlighted yet."""
    runs = []
    for _ in range(repeat):
        forget_highlighting()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return runs


def ours(repo: Repository, pairs: list[tuple[str | None, str]]) -> list[str]:
    diffs = load_step_diffs(repo, pairs)
    return [render_diff(repo, d, anchor=f"s{i}") for i, d in enumerate(diffs)]


def baseline(repo: Repository, pairs: list[tuple[str | None, str]]) -> list[str]:
    patches = repo.diff_trees([(a or EMPTY_TREE, b) for a, b in pairs], binary=False)
    formatter: HtmlFormatter[str] = HtmlFormatter()
    lexer = DiffLexer()
    return [pygments_highlight(p.decode("utf-8", "replace"), lexer, formatter) for p in patches]


class HunkOnly(diffview.Blobs):
    """Highlights only the lines the hunks show, each hunk on its own (the alternative to
    highlighting whole files): the lines outside are left empty."""

    def __init__(self, repo: Repository, diffs: list[StepDiff]) -> None:
        super().__init__(repo)
        self.wanted: dict[str, list[tuple[int, int]]] = {}
        for d in diffs:
            for f in d.files:
                for h in f.hunks:
                    if f.old_oid:
                        self.wanted.setdefault(f.old_oid, []).append(
                            (h.old_start, h.old_count))
                    if f.new_oid:
                        self.wanted.setdefault(f.new_oid, []).append(
                            (h.new_start, h.new_count))

    def highlighted(self, oid: str, path: str, upto: int) -> list[list[tuple[str, str]]] | None:
        lines = split_lines(self.read(oid).decode("utf-8", "replace"))
        out: list[list[tuple[str, str]]] = [[("", t.removesuffix("\r"))] for t in lines]
        for start, count in self.wanted.get(oid, []):
            part = highlight("\n".join(lines[start - 1:start - 1 + count]) + "\n", path)
            if part is not None:
                out[start - 1:start - 1 + len(part)] = part
        return out


def per_hunk(repo: Repository, pairs: list[tuple[str | None, str]]) -> list[str]:
    diffs = load_step_diffs(repo, pairs)
    blobs_for = HunkOnly(repo, diffs)
    saved = diffview.Blobs
    diffview.Blobs = lambda _repo: blobs_for  # type: ignore[assignment,misc]
    try:
        return [render_diff(repo, d, anchor=f"s{i}") for i, d in enumerate(diffs)]
    finally:
        diffview.Blobs = saved  # type: ignore[misc]


def check(checks: Checks, env: dict[str, str], src: Path, repo: Repository,
          pairs: list[tuple[str | None, str]], pages: list[str]) -> None:
    diffs = load_step_diffs(repo, pairs)
    bad = []
    for i, page in enumerate(pages):
        try:
            doc = Fragment(page)
            assert len(doc.ids) == len(set(doc.ids)), "duplicate ids"
        except AssertionError as e:
            bad.append(f"step {i + 1}: {e}")
    checks.check("every fragment is well-formed with unique ids", not bad, "; ".join(bad[:3]))

    wrong = []
    for i, ((old, new), d) in enumerate(zip(pairs, diffs, strict=True)):
        out = git(env, src, "diff-tree", "-r", "--numstat", "-M", "-C", "-C", "--histogram",
                  old or EMPTY_TREE, new)
        add = dele = 0
        for line in out.decode().splitlines():
            a, b, _ = line.split("\t", 2)
            if a != "-":
                add, dele = add + int(a), dele + int(b)
        if (add, dele) != (d.additions, d.deletions):
            wrong.append(f"step {i + 1}: numstat +{add} -{dele}, ours +{d.additions} "
                         f"-{d.deletions}")
    checks.check("each step's +/- counts equal git's --numstat", not wrong, "; ".join(wrong[:3]))

    mismatched = []
    for i, d in enumerate(diffs):
        for f in d.files:
            if not f.hunks or f.new_oid is None or f.symlink:
                continue
            lines = split_lines(repo.read_kind(f.new_oid, b"blob").decode("utf-8", "replace"))
            want = [lines[n - 1].removesuffix("\r") for h in f.hunks
                    for n in range(h.new_start, h.new_start + h.new_count)]
            got = Fragment(render_diff(repo, d.only([f.path]), anchor="c")).texts(
                "tt-code", "tt-nc", "tt-unified")
            if got != want:
                mismatched.append(f"step {i + 1} {f.path}")
    checks.check("new-side code cells are the new file's lines", not mismatched,
                 "; ".join(mismatched[:3]))


def bench(args: argparse.Namespace, work: Path) -> int:
    env = hermetic_env(work / "home")
    (work / "home").mkdir()
    os.environ.clear()  # the renderer's git processes inherit this process's environment
    os.environ.update(env)
    print(f"generating {args.steps} steps over {args.files} files ...", flush=True)
    src = generate(env, work / "src.git", args.steps, args.files, args.seed)
    trees = step_trees(env, src.path)
    pairs: list[tuple[str | None, str]] = [(None, trees[0]), *itertools.pairwise(trees)]
    checks = Checks()
    with Repository(src.path, bare=True) as repo:
        pages = ours(repo, pairs)
        print("correctness:", flush=True)
        check(checks, env, src.path, repo, pairs, pages)
        print(f"timing ({args.repeat} run(s) each) ...", flush=True)
        figures = {
            "ours": timed(args.repeat, lambda: ours(repo, pairs)),
            BASELINE: timed(args.repeat, lambda: baseline(repo, pairs)),
            PER_HUNK: timed(args.repeat, lambda: per_hunk(repo, pairs)),
        }
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(ours, repo, pairs)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        size = sum(len(p) for p in pages)
        base_size = sum(len(p) for p in baseline(repo, pairs))
    n = len(pairs)
    print(f"\n{n} steps, {src.files_at_tip} files at the tip; HTML: ours {size / 1e6:.1f} MB, "
          f"baseline {base_size / 1e6:.1f} MB")
    print(f"{'':44}{'min s':>8}{'median s':>10}{'CPU s':>8}{'ms/step':>9}")
    for name, runs in figures.items():
        wall = [w for w, _ in runs]
        print(f"{name:44}{min(wall):>8.3f}{statistics.median(wall):>10.3f}"
              f"{min(c for _, c in runs):>8.3f}{1000 * min(wall) / n:>9.2f}")
    ref = min(w for w, _ in figures["ours"])
    ratios = {"ours / baseline": ref / min(w for w, _ in figures[BASELINE]),
              "ours / per-hunk": ref / min(w for w, _ in figures[PER_HUNK])}
    for name, value in ratios.items():
        print(f"{name:22} {value:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"steps": n, "seconds": figures, "ratios": ratios,
                                         "html_bytes": size}, indent=2))
    ok = len(checks.results) - len(checks.failed)
    print(f"\ncorrectness: {ok}/{len(checks.results)} checks passed")
    if checks.failed:
        print("CORRECTNESS FAILED: " + ", ".join(checks.failed))
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, "one rendering of every step")
    return run_in_workdir(parse_common(p, argv), bench, "tutorial-bench-render-")


if __name__ == "__main__":
    sys.exit(main())

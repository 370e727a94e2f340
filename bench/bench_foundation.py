#!/usr/bin/env python3
"""Benchmark `tutorial import` and `tutorial build` against git's own tools, in one run.

    .venv/bin/python bench/bench_foundation.py                  # 500 steps over 300 files
    .venv/bin/python bench/bench_foundation.py --steps 1000 --files 600
    .venv/bin/python bench/bench_foundation.py --quick          # CI smoke test, a few seconds

What it does (see bench/README.md for the why):

1. Generates a synthetic tutorial repository with `git fast-import` (one process, no
   commit-per-step), hermetically: a temporary HOME, GIT_CONFIG_NOSYSTEM=1, fixed
   identities and dates, a fixed random seed. Every step is one commit tagged `<n><letter>`
   (1a, 1b, 2a, ...) with the message `Chapter {n}: Title {n} ({tag})`; every chapter's
   first tag is annotated. Steps edit a few text files, and now and then add, rename or
   delete one or change a small binary file.
2. Times, side by side (time.perf_counter around each process; min and median of --repeat
   runs):
     import      `tutorial import SRC --into DIR --keep-untagged`
       vs        `git format-patch --root -o DIR` of the same series (a file per commit,
                 as import writes a file per step; `--stdout` is timed for information)
     build       `tutorial build` into an empty repository
       vs        `git am` of that series into an empty repository + re-creating the tags
     no-op       `tutorial build` again with nothing changed, vs the full build (and the
                 same without the stamp the last build left, which takes the full path)
   and the peak RSS of each (ru_maxrss from wait4: the process and the git processes it
   waited for, whichever was largest).
3. Checks correctness: the built repository's refs (every tag and the branch) must equal
   the source's, its work tree must be clean, `git fsck` must pass, the build must leave a
   stamp and the no-op builds must leave every ref alone, and `git am`'s tip tree must
   equal the source's (else the baseline would not be doing the same work).

Prints a table and the ratios build/am, noop/build and import/format-patch. Exits 1 when a
correctness check fails, never because of speed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

AUTHOR = b"Ada Author <ada@example.com>"
COMMITTER = b"Cy Committer <cy@example.com>"
EPOCH = 1_700_000_000
TZ = b"+0100"

DIRS = (
    "src", "src/app", "src/app/models", "src/app/views", "src/lib/util",
    "docs", "docs/guide", "tests", "tests/unit", "web/static/css", "bin",
)
EXTENSIONS = {
    "src": ".py", "src/app": ".py", "src/app/models": ".py", "src/app/views": ".py",
    "src/lib/util": ".py", "docs": ".md", "docs/guide": ".md", "tests": ".py",
    "tests/unit": ".py", "web/static/css": ".css", "bin": ".sh",
}
WORDS = (
    "alpha", "beta", "gamma", "delta", "value", "result", "item", "count", "index", "name",
    "user", "order", "total", "price", "cache", "config", "request", "response", "handler",
    "session", "token", "record", "buffer", "stream", "parse", "render", "update", "create",
    "delete", "fetch", "store", "load", "save", "check", "apply", "build", "merge", "split",
)


# -- a hermetic environment -----------------------------------------------------------

def hermetic_env(home: Path) -> dict[str, str]:
    # Without PYTHONDONTWRITEBYTECODE: an installed tool runs from bytecode, which a
    # machine-wide setting would make every measured run compile from source again.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_")
           and k not in ("CI", "XDG_CONFIG_HOME", "PYTHONDONTWRITEBYTECODE")}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Author", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Cy Committer", "GIT_COMMITTER_EMAIL": "cy@example.com",
        "GIT_AUTHOR_DATE": f"{EPOCH} +0100", "GIT_COMMITTER_DATE": f"{EPOCH} +0100",
        "GIT_EDITOR": "false", "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C", "CI": "1",
    })
    return env


def git(env: dict[str, str], repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True,
                          env=env)
    if proc.returncode:
        raise SystemExit(f"FAILED: git {' '.join(args)} in {repo}:\n"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout


# -- the synthetic history --------------------------------------------------------------

class Content:
    """Deterministic, realistic-looking text lines for a file type."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def words(self, k: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(k))

    def line(self, ext: str) -> str:
        r, w = self.rng, self.words
        self.n += 1
        n = self.n
        if ext == ".py":
            return r.choice((
                f"def {r.choice(WORDS)}_{n}({r.choice(WORDS)}, {r.choice(WORDS)}=None):",
                f"    {r.choice(WORDS)} = {r.choice(WORDS)}.{r.choice(WORDS)}({n})",
                f"    if {r.choice(WORDS)} is None:",
                f"        return {r.choice(WORDS)}_{n}",
                f"    # {w(r.randint(3, 9))}",
                f"class {r.choice(WORDS).title()}{n}:",
                f"    \"\"\"{w(r.randint(4, 10)).capitalize()}.\"\"\"",
                f"    for {r.choice(WORDS)} in range({n % 97}):",
                "",
            ))
        if ext == ".md":
            return r.choice((
                f"## {w(r.randint(2, 5)).title()}",
                f"{w(r.randint(8, 16)).capitalize()}.",
                f"- {w(r.randint(3, 8))}",
                f"    {r.choice(WORDS)}.{r.choice(WORDS)}({n})",
                "",
            ))
        if ext == ".sh":
            return r.choice((
                f"{r.choice(WORDS)}_{n}() {{ {r.choice(WORDS)} \"$@\"; }}",
                f"  export {r.choice(WORDS).upper()}_{n}=${{{r.choice(WORDS).upper()}:-{n}}}",
                f"# {w(r.randint(3, 9))}",
                f"[ -n \"${r.choice(WORDS)}\" ] && {r.choice(WORDS)} --{r.choice(WORDS)}",
            ))
        return r.choice((
            f".{r.choice(WORDS)}-{n} {{",
            f"  {r.choice(('margin', 'padding', 'color', 'width'))}: {n % 64}px;",
            "}",
            f"/* {w(r.randint(3, 7))} */",
        ))

    def text(self, ext: str, lines: int) -> list[str]:
        return [self.line(ext) for _ in range(lines)]


@dataclass
class File:
    lines: list[str]
    final_newline: bool = True
    mode: bytes = b"100644"

    def data(self) -> bytes:
        text = "\n".join(self.lines)
        return (text + "\n" if self.final_newline else text).encode()


@dataclass
class Source:
    path: Path
    steps: int
    files_at_tip: int
    tags: list[str] = field(default_factory=list)
    annotated: int = 0
    generate_seconds: float = 0.0


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def generate(env: dict[str, str], dest: Path, steps: int, files: int, seed: int) -> Source:
    """A tagged history of `steps` commits over about `files` files, via one fast-import."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    content = Content(rng)
    tree: dict[str, File | bytes] = {}  # path -> text file, or binary content
    counter = 0
    unique = itertools.count(1)

    def new_path(directory: str | None = None) -> str:
        nonlocal counter
        counter += 1
        d = directory or rng.choice(DIRS)
        return f"{d}/{rng.choice(WORDS)}_{counter}{EXTENSIONS[d]}"

    def fill(path: str) -> File:
        ext = Path(path).suffix
        return File(content.text(ext, rng.randint(20, 200)), final_newline=rng.random() > 0.05,
                    mode=b"100755" if ext == ".sh" else b"100644")

    def edit(path: str, f: File) -> None:
        ext = Path(path).suffix
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(f.lines) + 1)
            kind = rng.random()
            if kind < 0.4 or len(f.lines) < 25:  # insert a few lines
                f.lines[at:at] = content.text(ext, rng.randint(1, 6))
            elif kind < 0.8:  # replace a few lines
                k = rng.randint(1, 4)
                f.lines[at:at + k] = content.text(ext, rng.randint(1, 5))
            else:  # delete a few lines
                del f.lines[at:at + rng.randint(1, 4)]
        # One line no earlier version had, so no edit is ever a no-op.
        marker = {".py": "# step {}", ".sh": "# step {}", ".md": "<!-- step {} -->"}.get(
            ext, "/* step {} */")
        f.lines.insert(rng.randrange(len(f.lines) + 1), marker.format(next(unique)))

    stream = bytearray()
    src = Source(dest, steps, 0)
    chapter, letter, chapter_len = 1, 0, rng.randint(2, 8)
    for step in range(1, steps + 1):
        ops: list[bytes] = []
        if step == 1:
            for _ in range(files):
                p = new_path()
                tree[p] = fill(p)
            changed = sorted(tree)
        else:
            changed = []
            text_paths = sorted(p for p, f in tree.items() if isinstance(f, File))
            for p in rng.sample(text_paths, min(len(text_paths), rng.randint(1, 4))):
                edit(p, tree[p])  # type: ignore[arg-type]
                changed.append(p)
            if rng.random() < 0.3:  # add a file
                p = new_path()
                tree[p] = fill(p)
                changed.append(p)
            if rng.random() < 0.06:  # rename, with a small edit so -M sees it
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
            if rng.random() < 0.04 and len(text_paths) > files // 2:  # delete a file
                candidates = [p for p in text_paths if p not in changed and p in tree]
                if candidates:
                    gone = rng.choice(candidates)
                    del tree[gone]
                    ops.append(b"D %s\n" % gone.encode())
            if step % 23 == 0:  # now and then a small binary file, new or changed
                binaries = sorted(p for p, f in tree.items() if isinstance(f, bytes))
                if binaries and rng.random() < 0.5:
                    p = rng.choice(binaries)
                    blob = bytearray(tree[p])  # type: ignore[arg-type]
                    for _ in range(rng.randint(1, 16)):
                        blob[rng.randrange(len(blob))] = rng.randrange(256)
                    tree[p] = bytes(blob)
                else:
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
        message = f"Chapter {chapter}: Title {chapter} ({tag})\n".encode()
        stream += b"commit refs/heads/main\nmark :%d\n" % step
        stream += b"author %s %s\ncommitter %s %s\n" % (AUTHOR, when, COMMITTER, when)
        stream += _data(message)
        if step > 1:
            stream += b"from :%d\n" % (step - 1)
        stream += b"".join(ops)
        stream += b"\n"
        if letter == 0:
            stream += b"tag %s\nfrom :%d\ntagger %s %s\n" % (tag.encode(), step, COMMITTER, when)
            stream += _data(f"Chapter {chapter} starts here\n".encode())
            src.annotated += 1
        else:
            stream += b"reset refs/tags/%s\nfrom :%d\n\n" % (tag.encode(), step)
        src.tags.append(tag)
        letter += 1
        if letter == chapter_len:
            chapter, letter, chapter_len = chapter + 1, 0, rng.randint(2, 8)

    dest.mkdir(parents=True)
    git(env, dest, "init", "-q", "--bare", "-b", "main")
    git(env, dest, "fast-import", "--quiet", "--done", input=bytes(stream) + b"done\n")
    src.files_at_tip = len(tree)
    src.generate_seconds = time.perf_counter() - t0
    return src


# -- running and timing ------------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    maxrss_kb: int
    cpu_seconds: float


# A child exec'd straight from this (large) process inherits its peak RSS: Linux carries
# the pre-exec high-water mark into ru_maxrss. So each measured command is started by a
# small launcher (`python -S`, about 8 MB), which times it with perf_counter and reads its
# peak RSS and CPU time from wait4: the largest of the command and the processes it waited
# for (e.g. the git processes `tutorial` runs). Figures below ~8 MB are the launcher's.
LAUNCHER = """
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as f:
    f.write(f"{seconds} {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime} "
            f"{os.waitstatus_to_exitcode(status)}")
"""


def run(cmd: list[str], env: dict[str, str], *, cwd: Path | None = None,
        stdin: Path | None = None, stdout: Path | None = None, stderr: Path | None = None,
        name: str | None = None) -> Run:
    """Run `cmd` to completion: its wall time, peak RSS and CPU time; fail on an error
    (naming it `name`, else the command). `stderr`: where its errors are kept."""
    with tempfile.TemporaryDirectory() as tmp, \
            open(stderr or Path(tmp) / "err", "w+b") as err, \
            (open(stdin, "rb") if stdin else open(os.devnull, "rb")) as fin, \
            (open(stdout, "wb") if stdout else open(os.devnull, "wb")) as fout:
        result = Path(tmp) / "result"
        proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(result), *cmd],
                              cwd=cwd, env=env, stdin=fin, stdout=fout, stderr=err)
        fields = result.read_text().split() if result.exists() else []
        if proc.returncode or not fields or fields[3] != "0":
            err.seek(0)
            raise SystemExit(f"FAILED: {name or ' '.join(cmd)}\n"
                             f"{err.read().decode(errors='replace')}")
    return Run(float(fields[0]), int(fields[1]), float(fields[2]))


@dataclass
class Timing:
    name: str
    runs: list[Run]

    @property
    def min(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def maxrss_mb(self) -> float:
        return max(r.maxrss_kb for r in self.runs) / 1024

    @property
    def cpu(self) -> float:
        return min(r.cpu_seconds for r in self.runs)


def tutorial_cmd() -> list[str]:
    script = Path(sys.executable).parent / "tutorial"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutorial_tools"]


def refs(env: dict[str, str], repo: Path) -> dict[str, str]:
    out = git(env, repo, "for-each-ref", "--format=%(objectname) %(refname)",
              "refs/heads/", "refs/tags/").decode()
    return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.splitlines())}


class Checks:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))
        print(f"  [{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail and not ok else ''}",
              flush=True)

    @property
    def failed(self) -> list[str]:
        return [name for name, ok, _ in self.results if not ok]


def compare_refs(checks: Checks, name: str, want: dict[str, str], got: dict[str, str]) -> None:
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(r for r in set(want) & set(got) if want[r] != got[r])
    detail = "; ".join(f"{label} {len(refs_)} e.g. {', '.join(refs_[:5])}"
                       for label, refs_ in (("missing", missing), ("extra", extra),
                                            ("different", differ)) if refs_)
    checks.check(name, not (missing or extra or differ), detail)


# -- the benchmark -------------------------------------------------------------------

def bench(args: argparse.Namespace, work: Path) -> int:
    home = work / "home"
    home.mkdir()
    env = hermetic_env(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    tutorial = tutorial_cmd()
    checks = Checks()
    repeat = args.repeat

    load_before = os.getloadavg()
    print(f"git {git(env, work, 'version').decode().split()[-1]}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs; work dir {work}; "
          f"load average {load_before[0]:.2f}")
    if load_before[0] > 0.5:
        print("note: the machine is busy; timings will be noisy", flush=True)
    src = generate(env, work / "src.git", args.steps, args.files, args.seed)
    pack_kb = sum(p.stat().st_size for p in (src.path / "objects" / "pack").iterdir()) // 1024
    print(f"generated {src.steps} steps ({len(src.tags)} tags, {src.annotated} annotated), "
          f"{src.files_at_tip} files at the tip, pack {pack_kb} KiB, "
          f"in {src.generate_seconds:.2f}s (fast-import)")
    source_refs = refs(env, src.path)
    commits = git(env, src.path, "rev-list", "--count", "main").decode().strip()
    checks.check("source has one commit and one tag per step",
                 commits == str(args.steps) and len(source_refs) == args.steps + 1,
                 f"{commits} commits, {len(source_refs)} refs")

    # 1. import vs format-patch ------------------------------------------------------
    # `git format-patch` as it is usually run writes one file per commit, as import writes
    # one per step; `--stdout` (one stream, no files) is timed too, for information. The
    # three take turns, a round at a time and in the reverse order every other round, so
    # that a change in the machine's load or in how quickly its file system creates files
    # falls on all three alike. Each run writes
    # into a folder of its own, none removed before the end: on ext4 without a journal,
    # each new file skips, one by one, the inodes deleted in the last 5-35 s, so removing
    # the last run's output made the next run's files 3-10x slower to create.
    series = work / "series.mbox"
    fp_args = ["format-patch", "--root", "-M", "--histogram", "--quiet"]
    fp_files: list[Run] = []
    fp_streams: list[Run] = []
    imports: list[Run] = []
    for i in range(repeat):
        turns: list[tuple[list[Run], list[str], Path | None]] = [
            (fp_files, ["git", "-C", str(src.path), *fp_args, "-o", str(work / f"patches{i}"),
                        "main"], None),
            (fp_streams, ["git", "-C", str(src.path), *fp_args, "--stdout", "main"], series),
            (imports, [*tutorial, "import", str(src.path), "--into", str(work / f"project{i}"),
                       "--keep-untagged"], None),
        ]
        for timings, command, stdout in turns[::-1] if i % 2 else turns:
            timings.append(run(command, env, stdout=stdout))
    fp = Timing("git format-patch -o", fp_files)
    patch_files = list((work / "patches0").glob("*.patch"))
    checks.check("format-patch -o wrote one file per commit", len(patch_files) == args.steps,
                 f"{len(patch_files)} files")
    fp_stdout = Timing("format-patch --stdout", fp_streams)
    project = work / "project0"
    imp = Timing("tutorial import", imports)
    patches = list((project / "chapters").glob("*/*.patch"))
    checks.check("import wrote one step file per step", len(patches) == args.steps,
                 f"{len(patches)} step files")

    # 2. build vs git am ----------------------------------------------------------------
    built = project / "build" / "repo"
    builds = []
    for _ in range(repeat):
        if built.exists():
            shutil.rmtree(project / "build")
        builds.append(run([*tutorial, "--project", str(project), "build"], env))
    build = Timing("tutorial build", builds)
    compare_refs(checks, "built refs equal the source's (all ids identical)", source_refs,
                 refs(env, built))
    status = git(env, built, "status", "--porcelain").decode()
    checks.check("built work tree is clean and at the tip", not status.strip(), status[:200])
    head = git(env, built, "rev-parse", "HEAD").decode().strip()
    checks.check("built HEAD is the source's tip", head == source_refs["refs/heads/main"], head)
    if not args.quick:
        proc = subprocess.run(["git", "-C", str(built), "fsck", "--no-progress", "--strict"],
                              capture_output=True, env=env)
        checks.check("git fsck --strict of the built repository", proc.returncode == 0,
                     proc.stderr.decode(errors="replace")[:300])

    tag_script = tag_stream(env, src)
    ams = []
    for i in range(repeat):
        am_repo = work / f"am{i}"
        t0 = time.perf_counter()
        git(env, work, "init", "-q", "-b", "main", str(am_repo))
        t_init = time.perf_counter() - t0
        r_am = run(["git", "-C", str(am_repo), "am", "--quiet"], env,
                   stdin=series)
        # git am leaves no tags: re-create them (annotated ones as tag objects) in one
        # fast-import, the cheapest way git offers, pointing at the commits am made.
        made = git(env, am_repo, "rev-list", "--reverse", "main").decode().split()
        script = work / "tags.fi"
        t0 = time.perf_counter()
        script.write_bytes(tag_script(made))
        r_tags = run(["git", "-C", str(am_repo), "fast-import", "--quiet", "--done"], env,
                     stdin=script)
        t_tags = time.perf_counter() - t0
        ams.append(Run(t_init + r_am.seconds + t_tags, max(r_am.maxrss_kb, r_tags.maxrss_kb),
                       r_am.cpu_seconds + r_tags.cpu_seconds))
        if i == 0:
            src_tree = git(env, src.path, "rev-parse", "main^{tree}").decode().strip()
            am_tree = git(env, am_repo, "rev-parse", "main^{tree}").decode().strip()
            checks.check("git am baseline: same commits count and tip tree as the source",
                         len(made) == args.steps and am_tree == src_tree,
                         f"{len(made)} commits, tree {am_tree} vs {src_tree}")
            am_tags = refs(env, am_repo)
            checks.check("git am baseline: every tag re-created",
                         set(am_tags) == set(source_refs), f"{len(am_tags)} refs")
        else:
            shutil.rmtree(am_repo)
    am = Timing("git am + tags", ams)

    # 3. no-op re-build --------------------------------------------------------------------
    # With the stamp the last build left, it answers from file status alone; without it
    # (removed before each run), it reads every step file and asks git for the refs.
    before = refs(env, built)
    stamp = project / ".tutorial" / "built"
    checks.check("the build left a stamp for the next one", stamp.is_file())
    noop = Timing("tutorial build (no-op)",
                  [run([*tutorial, "--project", str(project), "build"], env)
                   for _ in range(repeat)])

    def unstamped() -> Run:
        stamp.unlink(missing_ok=True)
        return run([*tutorial, "--project", str(project), "build"], env)

    noop_read = Timing("  same, no stamp", [unstamped() for _ in range(repeat)])
    compare_refs(checks, "no-op builds leave every ref alone", before, refs(env, built))

    if args.profile:
        profile(env, project, work)

    report(args, src, [(imp, fp), (imp, fp_stdout), (build, am), (noop, build),
                       (noop_read, build)], checks)
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "files": args.files,
            "cpus": os.cpu_count(), "repeat": repeat,
            "loadavg_before": load_before[0], "loadavg_after": load_after[0],
            "timings": {t.name: {"min": t.min, "median": t.median, "maxrss_mb": t.maxrss_mb,
                                 "cpu": t.cpu, "runs": [r.seconds for r in t.runs]}
                        for t in (fp, fp_stdout, imp, build, am, noop, noop_read)},
            "checks": {name: ok for name, ok, _ in checks.results},
        }, indent=2))
    if checks.failed:
        print(f"\nCORRECTNESS FAILED: {', '.join(checks.failed)}", file=sys.stderr)
        return 1
    return 0


def tag_stream(env: dict[str, str], src: Source) -> Callable[[list[str]], bytes]:
    """A function of am's commits -> a fast-import stream re-creating the source's tags."""
    out = git(env, src.path, "for-each-ref", "--format=%(refname:short)%00%(objecttype)%00"
              "%(*objectname)%(objectname)", "refs/tags/").decode()
    kinds = {name: kind for name, kind, _ in (line.split("\0") for line in out.splitlines())}
    position = {tag: i for i, tag in enumerate(src.tags)}
    when = b"%d %s" % (EPOCH, TZ)

    def make(commits: list[str]) -> bytes:
        s = bytearray()
        for tag in src.tags:
            commit = commits[position[tag]].encode()
            if kinds[tag] == "tag":
                s += b"tag %s\nfrom %s\ntagger %s %s\n" % (tag.encode(), commit, COMMITTER, when)
                s += _data(b"re-created\n")
            else:
                s += b"reset refs/tags/%s\nfrom %s\n\n" % (tag.encode(), commit)
        return bytes(s) + b"done\n"
    return make


def profile(env: dict[str, str], project: Path, work: Path) -> None:
    """cProfile of a full build (into a fresh repository) and of an import."""
    shutil.rmtree(project / "build", ignore_errors=True)
    for label, cmd in (
        ("build", ["--project", str(project), "build"]),
        ("import", ["import", str(work / "src.git"), "--into", str(work / "profiled"),
                    "--keep-untagged"]),
    ):
        out = work / f"{label}.prof"
        run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "tutorial_tools", *cmd],
            env)
        import pstats
        print(f"\n== cProfile: tutorial {label} (top 25 by cumulative time) ==")
        pstats.Stats(str(out), stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        print(f"== cProfile: tutorial {label} (top 15 by own time) ==")
        pstats.Stats(str(out), stream=sys.stdout).sort_stats("tottime").print_stats(15)


def report(args: argparse.Namespace, src: Source, pairs: list[tuple[Timing, Timing]],
           checks: Checks) -> None:
    print(f"\n{src.steps} steps, {args.files} files, best of {args.repeat} "
          f"(seconds: min / median; peak RSS of the process tree's largest member)\n")
    header = (f"{'measured':<24}{'min s':>8}{'median':>8}{'cpu s':>7}{'RSS MB':>8}   "
              f"{'baseline':<22}{'min s':>8}{'median':>8}{'RSS MB':>8}   "
              f"{'ratio min':>9}{'median':>8}  target")
    print(header)
    print("-" * len(header))
    targets = ("<= 1 (no slower)", "", "<= 1 (aim 0.33)", "< 0.1", "")
    labels = ("import/format-patch", "(for information)", "build/am", "noop/build",
              "(for information)")
    for (a, b), target, label in zip(pairs, targets, labels, strict=True):
        limit = 1.0 if "<= 1" in target else 0.1
        met = a.median / b.median
        verdict = ": met" if (met <= limit if "<=" in target else met < limit) else ": MISSED"
        verdict = verdict if target else ""
        print(f"{a.name:<24}{a.min:>8.3f}{a.median:>8.3f}{a.cpu:>7.2f}{a.maxrss_mb:>8.1f}   "
              f"{b.name:<22}{b.min:>8.3f}{b.median:>8.3f}{b.maxrss_mb:>8.1f}   "
              f"{a.min / b.min:>9.3f}{met:>8.3f}  {label} {target}{verdict}")
    ok = len(checks.results) - len(checks.failed)
    print(f"\ncorrectness: {ok}/{len(checks.results)} checks passed")


def add_common_args(p: argparse.ArgumentParser, profile: str) -> None:
    """The options every benchmark here takes; `profile` says what --profile profiles."""
    p.add_argument("--steps", type=int, default=500, help="commits/tags (default 500)")
    p.add_argument("--files", type=int, default=300, help="files in the first step (default 300)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each timing (default 3)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true",
                   help="CI smoke test: 60 steps, 60 files, 1 run each unless given")
    p.add_argument("--profile", action="store_true", help=f"also print a cProfile of {profile}")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--workdir", type=Path, help="work here (default: a temporary directory)")


def parse_common(p: argparse.ArgumentParser, argv: list[str] | None,
                 min_steps: int = 2) -> argparse.Namespace:
    """Parse, apply --quick's smaller defaults (unless given), and check the minimums."""
    args = p.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        args.steps = args.steps if "--steps" in given else 60
        args.files = args.files if "--files" in given else 60
        args.repeat = args.repeat if "--repeat" in given else 1
    if args.steps < min_steps or args.files < 2 or args.repeat < 1:
        p.error(f"--steps must be at least {min_steps}, --files at least 2, "
                "--repeat at least 1")
    return args


def run_in_workdir(args: argparse.Namespace, run: Callable[[argparse.Namespace, Path], int],
                   prefix: str) -> int:
    """Run a benchmark in a fresh work directory, removed afterwards unless --keep."""
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="bench-", dir=args.workdir))
    else:
        work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(args, work.resolve())
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, "one build and one import")
    return run_in_workdir(parse_common(p, argv), bench, "tutorial-bench-")


if __name__ == "__main__":
    sys.exit(main())

"""Property: any linear tagged history, made with real git from random file operations,
survives `import --keep-untagged` -> `build` with identical commit ids and tag objects."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.gitrepo import FAKE_SIGNATURE, Repo, git, ref_listing, worktree_files
from tutorial_tools import manifest
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer
from tutorial_tools.reporter import Recorder

# Names that clash on purpose (`x` the file against `x/` the directory), and names that
# git sorts around `x/` (a tree orders a folder as if its name ended in `/`).
NAMES = [b"a.txt", b"b", b"dir/c.txt", b"dir/sub/d.txt", b"with space.txt", b'quo"te.txt',
         b"caf\xe9.txt", "caf\u00e9.txt".encode(), b"tab\tname", b"back\\slash", b"-dash",
         b"x", b"x/y", b"x/y/z", b"x y/z", b"x.txt", b"x-y/z"]
LINK_TARGETS = [b"a.txt", b"dir", b"../outside", b"missing/target", b"caf\xe9.txt", b"x/y"]
WORDS = [b"alpha", b"beta", b"gamma", b"", b"  indented", b"tab\tbed", b"caf\xe9",
         "na\u00efve".encode(), b"trailing  ", b"diff --git a/x b/x", b"@@ -1 +1 @@", b"\\"]
MESSAGES = [
    b"plain subject\n",
    b"no final newline",
    b"trailing spaces   \n\nbody with spaces  \n  \n",
    b"crlf subject\r\n\r\nbody\r\n",
    b"looks like syntax\n\n    indented\n\\ No newline at end of message\ntag\n\n\n",
    b"",
]
LATIN1 = ("caf\u00e9 cr\u00e8me\n\n\u00e0 la fran\u00e7aise\n".encode("latin-1"),
          [(b"encoding", b"ISO-8859-1")])
EXTRA_HEADERS = [
    [],
    [(b"gpgsig", FAKE_SIGNATURE)],
    [(b"gpgsig-sha256", FAKE_SIGNATURE.replace(b"PGP", b"SSH"))],
    [(b"x-extra", b"first\n\nthird")],
]


def text(words: list[bytes], ending: bytes, final: bool) -> bytes:
    body = ending.join(words)
    return body + ending if final and words else body


def binary(size: int, seed: int) -> bytes:
    out = bytearray()
    x = seed
    while len(out) < size:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out += (x >> 8).to_bytes(3, "little")
    out[::61] = b"\0" * len(out[::61])
    return bytes(out[:size])


def long_text(lines: int, seed: int, ending: bytes) -> bytes:
    return b"".join(b"%s line %d%s" % (WORDS[(seed * i) % len(WORDS)], i, ending)
                    for i in range(lines))


contents = st.one_of(
    st.builds(text, st.lists(st.sampled_from(WORDS), max_size=8),
              st.sampled_from([b"\n", b"\r\n"]), st.booleans()),
    st.builds(long_text, st.integers(20, 80), st.integers(1, 100),
              st.sampled_from([b"\n", b"\r\n"])),
    st.builds(binary, st.integers(50, 3000), st.integers(1, 10_000)),
    st.just(b""),
)
names = st.sampled_from(NAMES)
selectors = st.integers(0, 50)
ops = st.one_of(
    st.tuples(st.just("write"), names, contents),
    st.tuples(st.just("modify"), selectors, st.integers(0, 5)),
    st.tuples(st.just("delete"), selectors),
    st.tuples(st.just("rename"), selectors, names, st.booleans()),
    st.tuples(st.just("chmod"), selectors),
    st.tuples(st.just("symlink"), names, st.sampled_from(LINK_TARGETS)),
)


@dataclass(frozen=True)
class Commit:
    ops: list[tuple]  # type: ignore[type-arg]
    message: tuple[bytes, list[tuple[bytes, bytes]]]
    extra: list[tuple[bytes, bytes]]
    tag: str  # "none", "light", "annotated", "signed"
    tag_style: int


commits = st.builds(
    Commit,
    ops=st.lists(ops, max_size=4),
    message=st.one_of(st.tuples(st.sampled_from(MESSAGES), st.just([])), st.just(LATIN1)),
    extra=st.sampled_from(EXTRA_HEADERS),
    tag=st.sampled_from(["none", "none", "light", "annotated", "signed"]),
    tag_style=st.integers(0, 4),
)


# -- applying operations to a work tree --------------------------------------------------------


def _path(root: Path, name: bytes) -> str:
    return os.path.join(os.fsencode(root), name).decode("utf-8", "surrogateescape")


def _remove(p: str) -> None:
    if os.path.islink(p) or os.path.isfile(p):
        os.remove(p)
    elif os.path.isdir(p):
        shutil.rmtree(p)


def make_room(root: Path, name: bytes) -> None:
    """Clear `name` and any file or link where one of its parent folders must go."""
    parts = name.split(b"/")
    for i in range(1, len(parts)):
        p = _path(root, b"/".join(parts[:i]))
        if os.path.islink(p) or os.path.isfile(p):
            os.remove(p)
    _remove(_path(root, name))


def write(root: Path, name: bytes, data: bytes, executable: bool = False) -> None:
    make_room(root, name)
    p = _path(root, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o755 if executable else 0o644)


def symlink(root: Path, name: bytes, target: bytes) -> None:
    make_room(root, name)
    p = _path(root, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, os.fsencode(p))


def prune_empty_dirs(root: Path) -> None:
    """Drop the folders an operation emptied, as git would on checkout."""
    base = os.fsencode(root)
    for folder, _, _ in os.walk(base, topdown=False):
        if folder != base and b"/.git" not in folder[len(base):] and not os.listdir(folder):
            os.rmdir(folder)


def modify(data: bytes, how: int) -> bytes:
    if how == 0:
        middle = data.find(b"\n", len(data) // 2) + 1
        return data[:middle] + b"inserted line\n" + data[middle:]
    if how == 1:
        return data + b"appended\n"
    if how == 2:
        return data[:-1] if data.endswith(b"\n") else data + b"\n"
    if how == 3:
        return data.replace(b"\r\n", b"\n") if b"\r\n" in data else data.replace(b"\n", b"\r\n")
    if how == 5:  # several hunks: every 9th line changes, every 13th goes
        lines = data.split(b"\n")
        return b"\n".join(b"changed " + x if i % 9 == 4 else x
                          for i, x in enumerate(lines) if i % 13 != 6)
    changed = bytearray(data or b"\0")
    changed[len(changed) // 2] ^= 0x55
    return bytes(changed)


def apply(root: Path, op: tuple) -> None:  # type: ignore[type-arg]
    files = worktree_files(root)
    regular = sorted(n for n, (kind, _) in files.items() if kind != "link")
    everything = sorted(files)
    kind = op[0]
    if kind == "write":
        write(root, op[1], op[2])
    elif kind == "symlink":
        symlink(root, op[1], op[2])
    elif kind == "modify" and regular:
        name = regular[op[1] % len(regular)]
        kind_, data = files[name]
        write(root, name, modify(data, op[2]), executable=kind_ == "exec")
    elif kind == "delete" and everything:
        _remove(_path(root, everything[op[1] % len(everything)]))
    elif kind == "chmod" and regular:
        name = regular[op[1] % len(regular)]
        kind_, data = files[name]
        os.chmod(_path(root, name), 0o644 if kind_ == "exec" else 0o755)
    elif kind == "rename" and everything:
        old = everything[op[1] % len(everything)]
        new = op[2]
        if old == new or new.startswith(old + b"/"):
            return
        kind_, data = files[old]
        _remove(_path(root, old))
        if kind_ == "link":
            symlink(root, new, data)
        else:
            write(root, new, modify(data, 1) if op[3] else data, executable=kind_ == "exec")
    prune_empty_dirs(root)


def tag_name(i: int, style: int) -> str:
    return (f"{i + 1}a", f"v{i + 1}.0", f"step-{i + 1}", f"ch{i + 1}/step",
            f"\u00e9tape-{i + 1}")[style]


def make_history(src: Repo, history: list[Commit]) -> None:
    if all(c.tag == "none" for c in history):
        history = [*history[:-1], Commit(history[-1].ops, history[-1].message,
                                         history[-1].extra, "light", 0)]
    for i, c in enumerate(history):
        for op in c.ops:
            apply(src.path, op)
        message, headers = c.message
        if message:
            message = b"%d " % i + message
        src.raw_commit(message, headers=headers + c.extra)
        name = tag_name(i, c.tag_style)
        if c.tag == "light":
            src.tag(name)
        elif c.tag == "annotated":
            src.tag(name, annotate=f"tag {name}\n\nbody")
        elif c.tag == "signed":
            src.raw_tag(name, b"signed tag\n" + FAKE_SIGNATURE + b"\n")


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(commits, min_size=1, max_size=6))
def test_random_histories_round_trip(history: list[Commit]) -> None:
    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        root = Path(tmp)
        src = Repo(root / "src")
        make_history(src, history)
        assert git(src.path, "status", "--porcelain", "--untracked-files=all") == ""
        imported = importer.import_repository(str(src.path), root / "project", Recorder(),
                                              keep_untagged=True)
        assert imported.squashed == {}
        m = manifest.load(root / "project" / "tutorial.yaml")
        assert len(m.steps) == len(history)
        built = build_mod.build(m, Recorder())
        assert ref_listing(built.repo) == ref_listing(src.path)
        assert git(built.repo, "status", "--porcelain", "--untracked-files=all") == ""
        assert worktree_files(built.repo) == worktree_files(src.path)
        again = build_mod.build(m, Recorder())
        assert (again.computed, again.moved) == (0, ())


def test_operations_make_the_features_they_promise(tmp_path: Path) -> None:
    """The generator's building blocks really produce odd names, links, modes and swaps."""
    src = Repo(tmp_path / "src")
    history = [
        Commit([("write", b"x", b"file\r\nno eol"), ("symlink", b"caf\xe9.txt", b"x"),
                ("write", b"tab\tname", binary(2000, 5))], (b"one\n", []), [], "light", 0),
        Commit([("write", b"x/y", b"now a dir\n"), ("modify", 1, 4), ("chmod", 0)],
               LATIN1, EXTRA_HEADERS[1], "signed", 1),
        Commit([("rename", 0, b"b", True)], (b"no final newline", []), [], "annotated", 2),
        Commit([], (b"", []), [], "none", 0),
    ]
    make_history(src, history)

    def listing(rev: str) -> list[str]:
        out = git(src.path, "ls-tree", "-r", "--format=%(objectmode) %(path)", rev)
        return out.splitlines()

    assert listing("1a") == ['120000 "caf\\351.txt"', '100644 "tab\\tname"', "100644 x"]
    assert listing("v2.0") == ['120000 "caf\\351.txt"', '100755 "tab\\tname"', "100644 x/y"]
    assert listing("step-3") == ["120000 b", '100755 "tab\\tname"', "100644 x/y"]
    assert git(src.path, "show", "v2.0:x/y") != "now a dir"
    assert [git(src.path, "cat-file", "-t", t) for t in ("1a", "v2.0", "step-3")] == [
        "commit", "tag", "tag"]
    raw = subprocess.run(["git", "-C", str(src.path), "cat-file", "commit", "v2.0"],
                         capture_output=True, check=True).stdout
    assert b"\nencoding ISO-8859-1\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n" in raw
    assert raw.endswith(b"\n\n1 " + LATIN1[0])
    assert git(src.path, "rev-list", "--count", "HEAD") == "4"
    assert git(src.path, "rev-parse", "HEAD^{tree}") == git(src.path, "rev-parse",
                                                             "step-3^{tree}")

"""The step file format: golden files from a real import, dump/load round trips, and parse
errors that name the file and line.

The golden files live in tests/golden/stepfile/. After a deliberate change to the format,
regenerate them with `UPDATE_GOLDEN=1 pytest tests/test_stepfile.py`, then read the diff.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from tutorial_tools import stepfile
from tutorial_tools.engine.importer import import_repository
from tutorial_tools.errors import StepFileError
from tutorial_tools.gitstore import Header
from tutorial_tools.reporter import Recorder
from tutorial_tools.stepfile import StepCommit, TagObject

GOLDEN = Path(__file__).parent / "golden" / "stepfile"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# Sixteen distinct bytes: deflate can only store them as literals, so the base85 data in the
# golden file does not depend on the zlib implementation git was built with.
LOGO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
MESSAGE_1B = (b"Chapter 1: Hello (1b)\n"
              b"\n"
              b"Say hello to the world as well.\n"
              b"    An indented line, and trailing spaces   \n"
              b"\n"
              b"The last line has no newline.")


def _raw_commit(src: Repo, message: bytes) -> str:
    """A commit written by hand: `git commit` would add the final newline to its message."""
    src.clock += 60
    git(src.path, "add", "-A")
    tree = git(src.path, "write-tree")
    ident = f"{src.clock} +0100"
    data = (f"tree {tree}\nparent {src.head()}\n"
            f"author Ada Author <ada@example.com> {ident}\n"
            f"committer Cy Committer <cy@example.com> {ident}\n\n").encode() + message
    oid = git(src.path, "hash-object", "-t", "commit", "-w", "--stdin", input=data)
    git(src.path, "update-ref", "HEAD", oid)
    return oid


def _source(path: Path) -> Repo:
    src = Repo(path)
    src.write("app.py", "print('hello')\n")
    src.write("notes.txt", "".join(f"note {i}\n" for i in range(1, 9)))
    src.commit("Chapter 1: Hello (1a)", tag="1a")
    src.write("app.py", "print('hello')\nprint('world')\n")
    _raw_commit(src, MESSAGE_1B)
    date = f"{src.clock} +0100"
    git(src.path, "tag", "-a", "1b", "-F", "-", input=b"Step 1b\n\nAn annotated tag.\n",
        env={"GIT_COMMITTER_DATE": date})
    src.write("logo.png", LOGO)
    src.commit("Add a logo")  # untagged: kept as a step of its own
    (src.path / "docs").mkdir()
    (src.path / "notes.txt").rename(src.path / "docs" / "notes.md")
    src.write("docs/notes.md", "".join(f"note {i}\n" for i in range(1, 10)))
    src.commit("Chapter 2: Docs (2a)", tag="2a")
    return src


def _outputs(root: Path) -> dict[str, bytes]:
    files = {"tutorial.yaml": (root / "tutorial.yaml").read_bytes()}
    for f in sorted((root / "chapters").glob("*/*.patch")):
        files[f.relative_to(root).as_posix()] = f.read_bytes()
    return files


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Repo, Path]:
    src = _source(tmp_path / "src")
    into = tmp_path / "tutorial"
    result = import_repository(str(src.path), into, Recorder(), keep_untagged=True)
    assert (result.steps, result.tagged, result.chapters) == (4, 3, 2)
    return src, into


def test_import_writes_the_golden_step_files(imported: tuple[Repo, Path]) -> None:
    _, into = imported
    produced = _outputs(into)
    if UPDATE:
        for name, data in produced.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    assert sorted(produced) == sorted(_outputs(GOLDEN))
    for name, data in _outputs(GOLDEN).items():
        assert produced[name] == data, f"{name} differs from tests/golden/stepfile/{name}"


def test_golden_files_show_the_format(imported: tuple[Repo, Path]) -> None:
    """What the golden files are meant to show, spelled out (so a regenerated golden file
    cannot silently lose it)."""
    _, into = imported
    s1b = (into / "chapters" / "01-hello" / "1b.patch").read_bytes()
    assert s1b.startswith(b"commit\nauthor Ada Author <ada@example.com> ")
    assert (b"\n    Chapter 1: Hello (1b)\n\n    Say hello to the world as well.\n"
            b"        An indented line, and trailing spaces   \n\n"
            b"    The last line has no newline.\n\\ No newline at end of message\ntag\n"
            b"type commit\ntagger Cy Committer <cy@example.com> ") in s1b
    assert b"\n\n    Step 1b\n\n    An annotated tag.\ndiff --git a/app.py b/app.py\n" in s1b
    logo = (into / "chapters" / "01-hello" / "add-a-logo.patch").read_bytes()
    assert b"\nGIT binary patch\nliteral 16\n" in logo
    s2a = (into / "chapters" / "02-docs" / "2a.patch").read_bytes()
    assert b"\nrename from notes.txt\nrename to docs/notes.md\n" in s2a
    assert b"\n+note 9\n" in s2a


def test_golden_files_load_and_dump_unchanged() -> None:
    for name, data in _outputs(GOLDEN).items():
        if name.endswith(".patch"):
            record = stepfile.load(data, name)
            assert stepfile.dump(record) == data, name
    s1b = stepfile.read(GOLDEN / "chapters" / "01-hello" / "1b.patch")
    assert s1b.message == MESSAGE_1B
    assert s1b.tag is not None and s1b.tag.message == b"Step 1b\n\nAn annotated tag.\n"
    assert [h.name for h in s1b.tag.headers] == [b"type", b"tagger"]
    assert s1b.signed is None
    lines = (GOLDEN / "chapters" / "01-hello" / "1b.patch").read_bytes().split(b"\n")
    assert lines[s1b.patch_line - 1].startswith(b"diff --git ")


def test_git_apply_reads_the_step_files_as_they_are(imported: tuple[Repo, Path],
                                                    tmp_path: Path) -> None:
    """Applied in order with `git apply`, the step files rebuild every source tree."""
    src, into = imported
    replay = Repo(tmp_path / "replay")
    chain = git(src.path, "rev-list", "--reverse", "HEAD").split()
    steps = ["01-hello/1a", "01-hello/1b", "01-hello/add-a-logo", "02-docs/2a"]
    for commit, step in zip(chain, steps, strict=True):
        git(replay.path, "apply", "--index", str(into / "chapters" / f"{step}.patch"))
        assert git(replay.path, "write-tree") == git(src.path, "rev-parse", f"{commit}^{{tree}}")


# -- dump / load ------------------------------------------------------------------------

AUTHOR = Header(b"author", b"Ada Lovelace <ada@example.com> 1514764800 +0100")
COMMITTER = Header(b"committer", b"Ada Lovelace <ada@example.com> 1514764800 +0100")
PATCH = (b"diff --git a/app.py b/app.py\nnew file mode 100644\n--- /dev/null\n+++ b/app.py\n"
         b"@@ -0,0 +1 @@\n+print('hi')\n")
SIGNATURE = (b"-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=FAKE\n"
             b"-----END PGP SIGNATURE-----")

ROUND_TRIPS = [
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"Chapter 7: Errors (7a)\n", PATCH),
                 id="plain"),
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"Subject\n\nBody\n  indented\n\n\n", PATCH),
                 id="trailing-empty-lines"),
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"no final newline", PATCH),
                 id="no-final-newline"),
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"", b""), id="empty-message-empty-commit"),
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"\n", PATCH), id="message-one-newline"),
    pytest.param(StepCommit((AUTHOR, COMMITTER, Header(b"encoding", b"ISO-8859-1")),
                            b"Caf\xe9\r\n\tdiff --git a/x b/x\ncommit\nsigned x\ntag\n"
                            b"\\ No newline at end of message\n", PATCH),
                 id="latin1-crlf-lookalike-lines"),
    pytest.param(StepCommit((AUTHOR, COMMITTER, Header(b"gpgsig", SIGNATURE)),
                            b"Signed\n", PATCH, signed="0123456789abcdef0123456789abcdef01234567"),
                 id="signed-commit"),
    pytest.param(StepCommit((AUTHOR, COMMITTER), b"Tagged\n", PATCH,
                            tag=TagObject((Header(b"type", b"commit"),
                                           Header(b"tagger", b"T <t@x> 1 +0000")),
                                          b"Release\n\n" + SIGNATURE)),
                 id="annotated-tag-without-final-newline"),
]


@pytest.mark.parametrize("step", ROUND_TRIPS)
def test_dump_load_round_trip(step: StepCommit) -> None:
    data = stepfile.dump(step)
    back = stepfile.load(data, "x.patch")
    assert replace(back, patch_line=step.patch_line) == step
    assert stepfile.dump(back) == data
    if step.patch:
        assert data.split(b"\n")[back.patch_line - 1].startswith(b"diff --git ")
        assert data.endswith(step.patch)


def test_dump_layout() -> None:
    step = StepCommit((AUTHOR, COMMITTER, Header(b"gpgsig", b"line 1\n\nline 3")),
                      b"Subject\n\nBody", PATCH, signed="a" * 40,
                      tag=TagObject((Header(b"type", b"commit"),), b"Tag message\n"))
    assert stepfile.dump(step) == (
        b"commit\n"
        b"author Ada Lovelace <ada@example.com> 1514764800 +0100\n"
        b"committer Ada Lovelace <ada@example.com> 1514764800 +0100\n"
        b"gpgsig line 1\n \n line 3\n"
        b"\n"
        b"    Subject\n"
        b"\n"
        b"    Body\n"
        b"\\ No newline at end of message\n"
        b"signed " + b"a" * 40 + b"\n"
        b"tag\n"
        b"type commit\n"
        b"\n"
        b"    Tag message\n" + PATCH)


def test_commit_and_tag_bytes_rebuild_the_objects(imported: tuple[Repo, Path]) -> None:
    """A step file holds all of its commit and tag: with the tree and parent they are the
    very objects of the source."""
    src, into = imported
    record = stepfile.read(into / "chapters" / "01-hello" / "1b.patch")
    commit = git(src.path, "rev-parse", "1b^{commit}")
    tree = git(src.path, "rev-parse", "1b^{tree}")
    parent = git(src.path, "rev-parse", "1a")
    raw = subprocess.run(["git", "-C", str(src.path), "cat-file", "commit", commit],
                         capture_output=True, check=True).stdout
    assert record.commit_bytes(tree, parent, signatures=True) == raw
    tag = subprocess.run(["git", "-C", str(src.path), "cat-file", "tag", "1b"],
                         capture_output=True, check=True).stdout
    assert record.tag_bytes(commit, "1b", signatures=True) == tag


# -- parse errors -----------------------------------------------------------------------

HEAD = b"author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n"

PARSE_ERRORS = [
    pytest.param(HEAD + b"\n    message\n", 1,
                 "a step file starts with a line 'commit' (see `tutorial import`)",
                 id="no-commit-line"),
    pytest.param(b"\ncommit\n" + HEAD, 1,
                 "a step file starts with a line 'commit' (see `tutorial import`)",
                 id="empty-line-before-commit"),
    pytest.param(b"", 1, "a step file starts with a line 'commit' (see `tutorial import`)",
                 id="empty-file"),
    pytest.param(b"commit\ncommitter A <a@x> 1 +0000\n\n    message\n", 2,
                 "the commit has no 'author' header", id="no-author"),
    pytest.param(b"commit\nauthor A <a@x> 1 +0000\n\n    message\n", 2,
                 "the commit has no 'committer' header", id="no-committer"),
    pytest.param(b"commit\n" + HEAD, 4, "expected an empty line after the headers",
                 id="no-empty-line-after-headers"),
    pytest.param(b"commit\n" + HEAD + b"\n    message\nsigned 1234abcd\n" + PATCH, 6,
                 "'signed' takes a full commit id", id="short-signed-id"),
    pytest.param(b"commit\n" + HEAD + b"\n    message\nsigned " + b"G" * 40 + b"\n", 6,
                 "'signed' takes a full commit id", id="signed-id-not-hex"),
    pytest.param(b"commit\n" + HEAD + b"\n    message\n\nA line someone typed\n" + PATCH, 7,
                 "expected the step's patch ('diff --git ...') or the end of the file",
                 id="junk-between-message-and-patch"),
    pytest.param(b"commit\n" + HEAD + b"\n    message\n--- a/app.py\n", 6,
                 "expected the step's patch ('diff --git ...') or the end of the file",
                 id="patch-without-diff-git-line"),
    pytest.param(b"commit\n" + HEAD + b"\n\\ No newline at end of message\n", 5,
                 "misplaced 'No newline at end of message'", id="misplaced-no-newline"),
]


@pytest.mark.parametrize(("data", "line", "message"), PARSE_ERRORS)
def test_parse_errors_name_file_and_line(data: bytes, line: int, message: str) -> None:
    with pytest.raises(StepFileError) as e:
        stepfile.load(data, "chapters/07-errors/7a.patch")
    assert e.value.message == f"chapters/07-errors/7a.patch:{line}: {message}"
    assert e.value.hint is not None and (
        "`git -C chapters/07-errors checkout -- 7a.patch`" in e.value.hint)


def test_missing_step_file(tmp_path: Path) -> None:
    with pytest.raises(StepFileError) as e:
        stepfile.read(tmp_path / "7a.patch")
    assert e.value.message == f"{tmp_path / '7a.patch'}: step file is missing"

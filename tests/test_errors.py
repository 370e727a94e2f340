"""Bad input gives a clear message and exit code 1, never a traceback, and changes nothing."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.cli import run_main as run_cli
from testing.gitrepo import Repo, git
from testing.tutorials import import_and_build
from tutorial_tools import manifest
from tutorial_tools.cli import main
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer
from tutorial_tools.errors import LockHeld, PatchError, UnsafePath
from tutorial_tools.project import project_lock
from tutorial_tools.reporter import Recorder

LINES = [f"line {i}\n" for i in range(1, 21)]


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`tutorial ARGS` as the installed script runs it: (exit code, stderr), never a traceback."""
    code, _, err = run_cli(capsys, *args)
    assert "Traceback" not in err
    return code, err


def _source(path: Path) -> Repo:
    src = Repo(path)
    src.write("app.py", "".join(LINES))
    src.commit("Chapter 1: Start (1a)", tag="1a")
    changed = list(LINES)
    changed[1], changed[16] = "line 2 changed\n", "line 17 changed\n"  # two hunks
    src.write("app.py", "".join(changed))
    src.commit("Chapter 1: Start (1b)", tag="1b")
    src.write("README.md", "# App\n")
    src.commit("Chapter 2: Docs (2a)", tag="2a")
    return src


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An imported and built project; the current folder is its root."""
    src = _source(tmp_path / "src")
    root = tmp_path / "project"
    import_and_build(src, root)
    monkeypatch.chdir(root)
    return root


def _built(project: Path) -> Path:
    return project / "build" / "repo"


def _snapshot(project: Path) -> tuple[str, str, str, bytes]:
    """Refs, HEAD, work-tree status and the build state: what a failed build must not move."""
    built = _built(project)
    return (git(built, "show-ref"), git(built, "rev-parse", "HEAD"),
            git(built, "status", "--porcelain"),
            (built / ".git" / "tutorial" / "build.json").read_bytes())


def _step(project: Path, name: str) -> Path:
    (path,) = project.glob(f"chapters/*/{name}.patch")
    return path


def _replace_patch(step: Path, patch: bytes) -> None:
    """Keep the step's commit metadata, swap its change for `patch`."""
    data = step.read_bytes()
    step.write_bytes(data[:data.index(b"diff --git ")] + patch)


# -- patches ---------------------------------------------------------------------------


def test_patch_that_does_not_apply_names_step_file_and_hunk(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step = _step(project, "1b")
    data = step.read_bytes()
    assert data.count(b"\n line 16\n") == 1  # a context line of the second hunk
    step.write_bytes(data.replace(b"\n line 16\n", b"\n line sixteen\n"))
    before = _snapshot(project)

    with pytest.raises(PatchError) as e:
        build_mod.build(manifest.load(project / "tutorial.yaml"), Recorder())
    assert (e.value.step, e.value.path, e.value.hunk) == ("1b", "app.py", 2)

    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines()[0] == ("error: step 1b, file app.py, hunk 2: does not match the "
                                   "file at line 14")
    assert "Edit the step's patch file" in err
    assert _snapshot(project) == before


def test_patch_for_a_missing_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _replace_patch(_step(project, "2a"), b"diff --git a/gone.py b/gone.py\n--- a/gone.py\n"
                                          b"+++ b/gone.py\n@@ -1 +1 @@\n-a\n+b\n")
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines()[0] == ("error: step 2a, file gone.py: the patch changes it, but "
                                   "it does not exist")
    assert _snapshot(project) == before


def _new_file(path: str) -> bytes:
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{path}\n@@ -0,0 +1 @@\n+owned\n").encode()


# -- a missing step file ----------------------------------------------------------------


def _commands(hint: str) -> list[str]:
    """The commands a hint gives, in backquotes."""
    return hint.split("`")[1::2]


@pytest.mark.parametrize("in_git", [True, False], ids=["project-in-git", "no-git"])
def test_build_with_a_missing_step_file_says_how_to_get_it_back(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        in_git: bool) -> None:
    step = _step(project, "1b")
    original = step.read_bytes()
    rel = step.relative_to(project).as_posix()
    if in_git:  # the author keeps the project in git, as the README suggests
        git(project, "init", "-q")
        git(project, "add", "tutorial.yaml", "chapters")
        git(project, "commit", "-q", "-m", "The tutorial")
    step.unlink()
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    first, hint = err.split("\n", 1)
    line = (project / "tutorial.yaml").read_text().splitlines().index("      - tag: 1b") + 1
    assert first == (f"error: {project / 'tutorial.yaml'}:{line}:9: step 1b: its file {rel} "
                     "is missing")
    assert "Or drop step 1b: remove it from tutorial.yaml by hand" in hint
    assert "`tutorial step drop` needs the file" in hint
    assert "checkout -- chapters/`" not in hint  # no placeholder: the file itself
    assert _snapshot(project) == before
    command, drop = _commands(" ".join(hint.split()))
    assert drop == "tutorial step drop"
    if in_git:
        assert command == f"git -C {project} checkout -- {rel}"
        git(project, *command.split()[3:])
    else:
        recovered = tmp_path / "project-recovered"
        assert command == (f"tutorial import {_built(project)} --into {recovered} "
                           "--branch main")
        code, _ = run_main(capsys, *command.split()[1:])
        assert code == 0
        (found,) = recovered.glob("chapters/*/1b.patch")
        found.rename(step)
    assert step.read_bytes() == original
    code, err = run_main(capsys, "build")
    assert code == 0 and err.startswith("Up to date"), err


UNSAFE = [
    pytest.param("../x", _new_file("../x"), id="parent"),
    pytest.param("docs/../../x", _new_file("docs/../../x"), id="parent-inside"),
    pytest.param("/tmp/abs", _new_file("/tmp/abs"), id="absolute"),
    pytest.param(".git/config", _new_file(".git/config"), id="git-config"),
    pytest.param("sub/.GIT/hooks/post-checkout", _new_file("sub/.GIT/hooks/post-checkout"),
                 id="nested-git-any-case"),
    pytest.param("../evil.py", b"diff --git a/app.py b/../evil.py\nsimilarity index 100%\n"
                               b"rename from app.py\nrename to ../evil.py\n", id="rename"),
]


@pytest.mark.parametrize(("path", "patch"), UNSAFE)
def test_patch_writing_outside_the_repository_is_refused(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str,
        patch: bytes) -> None:
    _replace_patch(_step(project, "2a"), patch)
    before = _snapshot(project)
    config = (_built(project) / ".git" / "config").read_bytes()

    with pytest.raises(UnsafePath) as e:
        build_mod.build(manifest.load(project / "tutorial.yaml"), Recorder())
    assert (e.value.step, e.value.path) == ("2a", path)

    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines() == [
        f"error: step 2a: refusing path {path!r}: it would write outside the repository or "
        "into .git", "Remove that file from the step's patch."]
    assert _snapshot(project) == before
    assert (_built(project) / ".git" / "config").read_bytes() == config
    assert not (_built(project) / "x").exists() and not (tmp_path / "x").exists()
    assert not (project / "build" / "x").exists() and not (project / "build" / "evil.py").exists()


def test_damaged_binary_data(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A binary patch whose data were damaged: zlib's checksum catches it."""
    step = _step(project, "2a")
    literal = _binary_patch(project, "logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    lines = literal.split(b"\n")
    at = lines.index(b"GIT binary patch") + 2  # the first line of data
    lines[at] = lines[at][:5] + (b"A" if lines[at][5:6] != b"A" else b"B") + lines[at][6:]
    _replace_patch(step, b"\n".join(lines))
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    first = err.splitlines()[0]
    patch_start = step.read_bytes().split(b"\n").index(lines[0]) + 1
    prefix = f"error: {step}:"
    assert first.startswith(prefix)
    line, _, reason = first[len(prefix):].partition(": ")
    assert int(line) == patch_start + at
    assert reason.startswith(("corrupt binary data", "bad binary data"))
    assert _snapshot(project) == before


def _binary_patch(project: Path, name: str, content: bytes) -> bytes:
    """`git diff --binary` of adding `content` as `name`, made by git in a scratch repo."""
    scratch = Repo(project.parent / f"scratch-{hashlib.sha1(content).hexdigest()[:8]}")
    scratch.commit("empty")
    scratch.write(name, content)
    scratch.commit("add")
    return subprocess.run(["git", "-C", str(scratch.path), "show", "--format=", "--binary",
                           "--full-index", "HEAD"], capture_output=True,
                          check=True).stdout.lstrip(b"\n")


def test_patch_creating_a_file_below_a_file(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _replace_patch(_step(project, "2a"), _new_file("app.py/inner.py"))
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.startswith("error: step 2a, file app.py/inner.py: ")
    assert _snapshot(project) == before


def _noise(seed: str, size: int) -> bytes:
    out = b""
    while len(out) < size:
        out += hashlib.sha256(f"{seed}{len(out)}".encode()).digest()
    return out[:size]


@pytest.fixture
def binary_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Step 1a adds 4 KiB of binary data; 1b changes nine bytes of it (a binary delta)."""
    src = Repo(tmp_path / "src")
    data = _noise("a", 4096)
    src.write("data.bin", data)
    src.commit("Chapter 1: Data (1a)", tag="1a")
    src.write("data.bin", data[:2000] + b"\0CHANGED\0" + data[2009:])
    src.commit("Chapter 1: Data (1b)", tag="1b")
    root = tmp_path / "project"
    importer.import_repository(str(src.path), root, Recorder())
    assert b"\nGIT binary patch\ndelta " in _step(root, "1b").read_bytes()
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("damage", ["recorded-result-id", "delta-base"])
def test_damaged_patch_blob_id_mismatch(binary_project: Path,
                                        capsys: pytest.CaptureFixture[str], damage: str) -> None:
    """`git apply` refuses both: "binary patch to 'data.bin' creates incorrect result" and
    "the patch applies to 'data.bin' (<id>), which does not match the current contents"."""
    if damage == "recorded-result-id":
        step = _step(binary_project, "1a")
        data = step.read_bytes()
        index = data.index(b"\nindex 0000000000000000000000000000000000000000..") + 49
        step.write_bytes(data[:index] + b"1" * 40 + data[index + 40:])
    else:
        # 1a now adds other content of the same size: 1b's delta was made against the old.
        _replace_patch(_step(binary_project, "1a"),
                       _binary_patch(binary_project, "data.bin", _noise("b", 4096)))
    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.startswith("error: step 1")
    assert "data.bin" in err.splitlines()[0]
    assert not (binary_project / "build" / "repo" / ".git" / "refs" / "tags" / "1b").exists()


# -- the built repository's work tree and refs ---------------------------------------------


def _change_step_2a(project: Path) -> None:
    step = _step(project, "2a")
    step.write_bytes(step.read_bytes().replace(b"+# App\n", b"+# The app\n"))


@pytest.mark.parametrize("edit", ["modified", "staged", "deleted"])
def test_dirty_work_tree_blocks_a_build_that_would_move_it(
        project: Path, capsys: pytest.CaptureFixture[str], edit: str) -> None:
    built = _built(project)
    if edit == "deleted":
        (built / "app.py").unlink()
    else:
        (built / "app.py").write_text("my own edit\n")
        if edit == "staged":
            git(built, "add", "app.py")
    _change_step_2a(project)
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines()[0] == (f"error: {built} has uncommitted edits that would be "
                                   "overwritten: app.py")
    assert "Nothing was changed." in err
    assert _snapshot(project) == before
    if edit != "deleted":
        assert (built / "app.py").read_text() == "my own edit\n"
    assert (built / "README.md").read_text() == "# App\n"
    discard = f"git -C {built} checkout HEAD -- app.py"
    assert f"(or discard them with `{discard}`)" in err.replace("\n", " ")
    git(built, *discard.split()[3:])  # the hint's command, as the author would run it
    assert run_main(capsys, "build")[0] == 0


def test_untracked_file_in_the_way_blocks_the_build(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = _built(project)
    step = _step(project, "2a")
    step.write_bytes(step.read_bytes() + _new_file("NOTES.md"))  # 2a now also adds NOTES.md
    (built / "NOTES.md").write_text("my notes\n")
    assert git(built, "status", "--porcelain") == "?? NOTES.md"
    before = _snapshot(project)
    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.startswith(f"error: cannot update the work tree of {built}: ")
    assert "NOTES.md" in err
    assert "Nothing was changed." in err
    assert _snapshot(project) == before
    assert (built / "NOTES.md").read_text() == "my notes\n"


def test_moved_tag_blocks_build_unless_forced(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    built = _built(project)
    original = git(built, "rev-parse", "1a")
    git(built, "tag", "-f", "1a", "2a")
    before = git(built, "show-ref")

    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines()[0] == (f"error: 1 ref(s) in {built} were moved or made outside "
                                   "tutorial and would be overwritten: 1a")
    assert "`tutorial build --force`" in err
    assert git(built, "show-ref") == before

    st = json.loads(_stdout(capsys, "status", "--json"))
    assert st["moved_tags"] == [{"tag": "1a", "built": original,
                                 "now": git(built, "rev-parse", "2a")}]
    assert st["clean"] is False

    assert run_main(capsys, "build", "--force")[0] == 0
    assert git(built, "rev-parse", "1a") == original
    assert json.loads(_stdout(capsys, "status", "--json"))["clean"] is True


def _stdout(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as e:  # pragma: no cover - a failure shows in the assertion below
        raise AssertionError(f"exit {e.code}: {capsys.readouterr().err}") from e
    return capsys.readouterr().out


# -- the project lock ------------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _write_lock(project: Path, pid: int, host: str, command: str) -> Path:
    lock = project / ".tutorial" / "lock"
    lock.parent.mkdir(exist_ok=True)
    lock.write_text(json.dumps({"pid": pid, "host": host, "command": command,
                                "since": "2024-05-01 12:00:00"}))
    return lock


def test_lock_held_by_a_live_process(project: Path, capsys: pytest.CaptureFixture[str],
                                     sleeper: subprocess.Popen[bytes]) -> None:
    host = socket.gethostname()
    lock = _write_lock(project, sleeper.pid, host, "tutorial build --repo elsewhere")
    held = lock.read_bytes()
    _change_step_2a(project)
    before = _snapshot(project)

    code, err = run_main(capsys, "build")
    assert code == 1
    assert err.splitlines() == [
        "error: another tutorial command is changing this project: `tutorial build --repo "
        f"elsewhere` (process {sleeper.pid} on {host}, since 2024-05-01 12:00:00)",
        f"Wait for it to finish. If no such process exists, delete {lock}.",
    ]
    with pytest.raises(LockHeld), project_lock(project, "tutorial build"):
        pass
    assert lock.read_bytes() == held
    assert _snapshot(project) == before

    sleeper.kill()
    sleeper.wait()
    assert run_main(capsys, "build")[0] == 0  # a dead holder's lock is taken over
    assert not lock.exists()
    assert (_built(project) / "README.md").read_text() == "# The app\n"


def test_lock_from_another_host_is_never_taken_over(project: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write_lock(project, dead.pid, "some-other-host", "tutorial build")
    with pytest.raises(LockHeld, match=r"`tutorial build` \(process \d+ on some-other-host"), \
            project_lock(project, "tutorial build"):
        pass


# -- import ----------------------------------------------------------------------------


def test_import_of_a_folder_that_is_not_a_repository(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file.txt").write_text("x\n")
    code, err = run_main(capsys, "import", str(tmp_path / "plain"), "--into",
                         str(tmp_path / "tut"))
    assert code == 1
    assert err == f"error: {tmp_path / 'plain'} is not a git repository\n"
    assert not (tmp_path / "tut").exists()


def test_import_of_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run_main(capsys, "import", "no-such-folder", "--into", "tut")
    assert code == 1
    assert err == ("error: no-such-folder: no such folder\n"
                   "Give the path of a git repository or a URL.\n")
    assert not (tmp_path / "tut").exists()


def test_import_of_a_repository_without_tags(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    src = Repo(tmp_path / "src")
    src.write("app.py", "x\n")
    src.commit("one")
    code, err = run_main(capsys, "import", str(src.path), "--into", str(tmp_path / "tut"))
    assert code == 1
    assert err == (f"error: no tags on branch 'main' of {src.path}\n"
                   "Name the branch with --branch, or widen --tags.\n")
    assert not (tmp_path / "tut").exists()


def test_import_of_an_empty_repository(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = Repo(tmp_path / "src")
    code, err = run_main(capsys, "import", str(src.path), "--into", str(tmp_path / "tut"))
    assert (code, err) == (1, "error: the source repository has no branches\n")


def test_import_of_a_sha256_repository(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(src))
    (src / "app.py").write_text("x\n")
    git(src, "add", "app.py")
    git(src, "commit", "-q", "-m", "one")
    git(src, "tag", "1a")
    code, err = run_main(capsys, "import", str(src), "--into", str(tmp_path / "tut"))
    assert (code, err) == (1, f"error: {src} uses sha256 object ids; only sha1 is supported\n")
    assert not (tmp_path / "tut").exists()


def test_import_with_a_missing_branch(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = _source(tmp_path / "src")
    git(src.path, "branch", "draft")
    code, err = run_main(capsys, "import", str(src.path), "--into", str(tmp_path / "tut"),
                         "--branch", "nope")
    assert code == 1
    assert err == "error: no branch 'nope' in the source\nBranches: draft, main\n"
    assert not (tmp_path / "tut").exists()


def test_import_into_an_existing_project(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "tutorial.yaml").read_bytes()
    code, err = run_main(capsys, "import", str(project.parent / "src"), "--into", str(project))
    assert code == 1
    assert err.startswith(f"error: {project / 'tutorial.yaml'} already exists\n")
    assert (project / "tutorial.yaml").read_bytes() == before


def test_import_of_tags_with_a_slash(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a crash report goes
    src = Repo(tmp_path / "src")
    src.write("app.py", "x\n")
    src.commit("one", tag="ch1/a")
    src.write("app.py", "y\n")
    src.commit("two", tag="ch1/b")
    tut = tmp_path / "tut"
    code, err = run_main(capsys, "import", str(src.path), "--into", str(tut))
    assert code == 0, err
    assert run_main(capsys, "--project", str(tut), "build")[0] == 0
    assert git(tut / "build" / "repo", "show-ref") == git(src.path, "show-ref")

"""The build's stamp: `tutorial build` with nothing changed answers from file status alone,
and any change a build would act on (a step file, the manifest, a ref, the build cache, a
lock or a journal) sends it through the full build."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from testing.cli import run_main
from testing.gitrepo import git
from testing.tutorials import edit_step_file, load, make_project
from tutorial_tools import manifest, project
from tutorial_tools.engine import uptodate

UP_TO_DATE = "Up to date: 2 steps in build/repo.\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A built project of two steps; the current folder is its root."""
    path = make_project(tmp_path, [("1a", {"app.py": "one\n"}),
                                   ("1b", {"app.py": "one\ntwo\n"})])
    monkeypatch.chdir(path)
    return path


def stamped(root: Path) -> bool:
    return uptodate.check(str(root.resolve())) is not None


def test_a_build_stamps_and_the_next_answers_from_the_stamp(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stamped(root)
    assert run_main(capsys, "build") == (0, "", UP_TO_DATE)
    assert run_main(capsys, "-q", "build") == (0, "", "")
    os.chdir(root / "chapters")
    assert run_main(capsys, "--project", str(root), "-v", "build") == (
        0, "", "Up to date: 2 steps in ../build/repo.\n")
    assert run_main(capsys, "build") == (0, "", "Up to date: 2 steps in ../build/repo.\n")


def test_an_edit_keeping_size_and_mtime_is_seen(root: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    m = load(root)
    step = m.step_file(m.step("1b"))
    before = step.stat()
    edit_step_file(root, "1b", b"+two", b"+TWO")
    os.utime(step, ns=(before.st_atime_ns, before.st_mtime_ns))  # the change time moves
    assert step.stat().st_size == before.st_size
    assert not stamped(root)
    code, _, err = run_main(capsys, "build")
    assert (code, err) == (0, "Built 2 steps into build/repo: 1 commit made, 2 refs moved; "
                              "work tree updated.\n")
    assert git(root / "build" / "repo", "show", "1b:app.py") == "one\nTWO"
    assert stamped(root)


def test_a_moved_tag_is_seen(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = root / "build" / "repo"
    git(built, "tag", "-f", "1b", "1a")
    assert not stamped(root)
    code, _, err = run_main(capsys, "build")
    assert code == 1 and "were moved or made outside tutorial" in err


def test_packed_refs_are_seen_and_stamped_again(root: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    git(root / "build" / "repo", "pack-refs", "--all")
    assert not stamped(root)
    assert run_main(capsys, "build") == (0, "", UP_TO_DATE)
    assert stamped(root)
    git(root / "build" / "repo", "update-ref", "refs/tags/1a", "refs/tags/1b")
    assert not stamped(root)


def test_a_changed_manifest_is_seen(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = root / manifest.MANIFEST
    path.write_text(path.read_text().replace("branch: main", "branch: trunk"))
    assert not stamped(root)
    code, _, err = run_main(capsys, "build")
    assert (code, err) == (0, "Built 2 steps into build/repo: 0 commits made, 1 ref moved; "
                              "work tree left alone: HEAD is on main.\n")
    assert "trunk" in git(root / "build" / "repo", "branch", "--format=%(refname:short)")
    assert stamped(root)


def test_cache_lock_and_journal_are_seen(root: Path) -> None:
    state = root / "build" / "repo" / ".git" / "tutorial"
    for path in (root / ".tutorial" / "lock", state / "checkout.json"):
        path.write_text("{}")
        assert not stamped(root)
        path.unlink()
        assert stamped(root)
    (state / "build.json").unlink()
    assert not stamped(root)


def test_options_other_than_project_and_verbosity_take_the_full_path(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "build", "--help")[1].startswith("Usage: tutorial build")
    git(root / "build" / "repo", "tag", "-f", "1b", "1a")
    assert run_main(capsys, "build", "--force")[0] == 0
    assert stamped(root)
    assert git(root / "build" / "repo", "rev-parse", "1b") == git(
        root / "build" / "repo", "rev-parse", "main")


def test_a_file_changed_in_the_stamps_clock_tick_is_not_trusted(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = load(root)
    step = m.step_file(m.step("1a"))
    stamp = uptodate.Stamp(str(root.resolve()))
    stamp.read(str(step))
    assert stamp.write("repo", 2)  # changed before the stamp's clock: its status counts
    assert uptodate.check(str(root.resolve())) == (2, "repo")

    future = time.time_ns() + 10**9  # as if changed in the clock tick the stamp began in
    os.utime(step, ns=(future, future))
    stamp = uptodate.Stamp(str(root.resolve()))
    stamp.read(str(step))
    assert not stamp.write("repo", 2)
    code, _, err = run_main(capsys, "build")  # a full build, which cannot stamp either
    assert (code, err) == (0, UP_TO_DATE)
    assert not (root / uptodate.STAMP).exists()


def test_the_stamp_finds_the_project_as_the_cli_does(root: Path) -> None:
    (root / "chapters" / "deep").mkdir()
    for start in (None, str(root / "chapters" / "deep")):
        expected = project.find_project(None if start is None else Path(start))
        assert uptodate.project_root(start) == str(expected)
    assert uptodate.MANIFEST == manifest.MANIFEST
    assert uptodate.project_root(str(root.parent)) is None

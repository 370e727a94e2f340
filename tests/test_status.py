"""`tutorial status`: every finding comes with the one command that settles it, and never
with a command that would fail (a build with a step file missing, a save mid-conflict)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.cli import run_main
from testing.gitrepo import git
from testing.tutorials import configure, load, make_project
from tutorial_tools.engine.rewrite import edit, save
from tutorial_tools.reporter import Recorder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three steps where 1b and 2a rewrite the line 1a writes; the current folder is its root."""
    root = make_project(tmp_path, [("1a", {"app.py": "x = 1\n"}),
                                   ("1b", {"app.py": "x = 2\n"}),
                                   ("2a", {"app.py": "x = 3\n", "README.md": "# App\n"})])
    monkeypatch.chdir(root)
    return root


def _status(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], dict[str, object]]:
    code, out, _ = run_main(capsys, "status")
    assert run_main(capsys, "status", "--json")[0] == code
    data = json.loads(run_main(capsys, "status", "--json")[1])
    return code, out.splitlines(), data


def test_a_stopped_rewrite_shows_the_conflicted_step_and_one_next_command(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = project / "build" / "repo"
    edit(load(project), "1a")
    (repo / "app.py").write_text("x = 10\n")
    assert save(load(project), Recorder(), command="save").status == "stopped"
    assert "<<<<<<<" in (repo / "app.py").read_text()

    code, lines, data = _status(capsys)
    assert code == 0
    assert lines == [
        f"Project {project}: 3 steps; history in {repo}",
        f"  work tree {repo} holds step 1b with conflict markers",
        "  `tutorial save` of step 1a stopped at step 1b for conflicts in:",
        "    app.py",
        "  resolve them in the work tree, then run `tutorial continue` (or `tutorial abort` "
        "to put everything back)",
    ]
    text = "\n".join(lines)
    assert "tutorial save`" not in text.replace("`tutorial save` of", "")
    assert (data["head"], data["dirty"], data["next"], data["clean"]) == (
        "1b", [], "tutorial continue", False)
    assert data["rewrite"] == {"step": "1b", "conflicts": ["app.py"], "worktree": str(repo),
                               "command": "save"}


def _keep_in_git(project: Path) -> None:
    """The project kept in git, as the README suggests."""
    git(project, "init", "-q")
    git(project, "add", "tutorial.yaml", "chapters")
    git(project, "commit", "-q", "-m", "The tutorial")


def test_a_missing_step_file_is_to_be_restored_not_built(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keep_in_git(project)
    path = project / "chapters" / "01-part-1" / "1b.patch"
    assert path.is_file()
    path.unlink()

    code, lines, data = _status(capsys)
    assert code == 0
    assert "  missing step file: chapters/01-part-1/1b.patch (step 1b)" in lines
    assert lines[-1] == (f"  restore with `git -C {project} checkout -- chapters/01-part-1/"
                         "1b.patch` (from the project's git history), or remove step 1b "
                         "from tutorial.yaml")
    assert not any("tutorial build" in line or "up to date" in line for line in lines)
    assert data["missing_files"] == ["1b"]
    assert data["broken_files"] == ["chapters/01-part-1/1b.patch"]
    assert (data["next"], data["clean"]) == (
        f"git -C {project} checkout -- chapters/01-part-1/1b.patch", False)
    assert "restoring" not in data
    git(project, *str(data["next"]).split()[3:])
    assert path.is_file()
    assert _status(capsys)[1][-1] == "  up to date"


def test_a_missing_step_file_outside_git_is_written_again_from_the_built_history(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "chapters" / "01-part-1" / "1b.patch"
    original = path.read_bytes()
    path.unlink()

    code, lines, data = _status(capsys)
    assert code == 0
    recovered = project.parent / "project-recovered"
    command = (f"tutorial import {project / 'build' / 'repo'} --into {recovered} "
               "--branch main")
    assert lines[-1] == (f"  restore with `{command}` (from the built history: copy them "
                         f"back from {recovered}/chapters/), or remove step 1b from "
                         "tutorial.yaml")
    assert data["next"] == command
    assert run_main(capsys, *command.split()[1:])[0] == 0
    (found,) = recovered.glob("chapters/*/1b.patch")
    assert found.read_bytes() == original


def test_an_unreadable_step_file_is_to_be_fixed_or_restored(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keep_in_git(project)
    (project / "chapters" / "02-part-2" / "2a.patch").write_text("not a patch\n")

    code, lines, data = _status(capsys)
    assert code == 0
    assert lines[-1] == (f"  fix by hand, or restore with `git -C {project} checkout -- "
                         "chapters/02-part-2/2a.patch`")
    assert not any("tutorial build" in line for line in lines)
    assert data["broken_files"] == ["chapters/02-part-2/2a.patch"]


def test_subjects_that_differ_from_the_manifest_call_for_renumber(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(project, chapters={1: {"title": "Start"}})

    code, lines, data = _status(capsys)
    assert code == 0
    assert ("  1a: message is 'Chapter 1: Part 1 (1a)', the manifest says "
            "'Chapter 1: Start (1a)'") in lines
    assert lines[-1] == "  commit subjects differ from the manifest: run `tutorial renumber`"
    assert "  up to date" not in lines
    assert (data["next"], data["clean"]) == ("tutorial renumber", False)

"""A build interrupted between moving the work tree and moving the refs is repaired by the
next build: no edit is reported, and refs and files agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from tutorial_tools import manifest
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer
from tutorial_tools.gitstore import Repository
from tutorial_tools.reporter import Recorder


def _project(tmp_path: Path) -> Path:
    src = Repo(tmp_path / "src")
    src.write("app.py", "print('one')\n")
    src.commit("Chapter 1: Start (1a)", tag="1a")
    src.write("app.py", "print('one')\nprint('two')\n")
    src.commit("Chapter 1: Start (1b)", tag="1b")
    project = tmp_path / "project"
    importer.import_repository(str(src.path), project, Recorder())
    build_mod.build(manifest.load(project / "tutorial.yaml"), Recorder())
    return project


def test_interrupted_build_is_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    built = project / "build" / "repo"
    before = git(built, "show-ref")
    step = project / "chapters" / "01-start" / "1b.patch"
    step.write_bytes(step.read_bytes().replace(b"+print('two')", b"+print('TWO')"))

    def crash(self: Repository, updates: object) -> None:
        raise KeyboardInterrupt  # the process dies after the work tree moved

    with monkeypatch.context() as m:
        m.setattr(Repository, "update_refs", crash)
        with pytest.raises(KeyboardInterrupt):
            build_mod.build(manifest.load(project / "tutorial.yaml"), Recorder())
    assert git(built, "show-ref") == before  # no ref moved
    assert (built / ".git" / "tutorial" / "checkout.json").exists()

    result = build_mod.build(manifest.load(project / "tutorial.yaml"), Recorder())
    assert result.worktree == "updated"
    assert git(built, "status", "--porcelain") == ""
    assert (built / "app.py").read_text() == "print('one')\nprint('TWO')\n"
    assert git(built, "show", "1b:app.py") == "print('one')\nprint('TWO')"
    assert not (built / ".git" / "tutorial" / "checkout.json").exists()

"""step rename, step retitle and renumber: tags, files and subjects follow; undo goes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from tutorial_tools import manifest
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer, sequence
from tutorial_tools.engine.rewrite import undo
from tutorial_tools.errors import TutorialError
from tutorial_tools.reporter import Recorder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    src = Repo(tmp_path / "src")
    for chapter, letters in ((1, "ab"), (2, "ab")):
        for n, letter in enumerate(letters):
            src.write(f"ch{chapter}.txt", "".join(f"line {i}\n" for i in range(n + 1)))
            src.commit(f"Chapter {chapter}: Part {chapter} ({chapter}{letter})",
                       tag=f"{chapter}{letter}")
    root = tmp_path / "project"
    importer.import_repository(str(src.path), root, Recorder())
    build_mod.build(_load(root), Recorder())
    return root


def _load(root: Path) -> manifest.Manifest:
    return manifest.load(root / "tutorial.yaml")


def _tags(root: Path) -> dict[str, str]:
    out = git(root / "build" / "repo", "for-each-ref", "--format=%(refname:short) %(subject)",
              "refs/tags")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_rename_moves_tag_file_and_subject(project: Path) -> None:
    before = git(project / "build" / "repo", "show-ref", "--tags", "--heads")
    result = sequence.rename(_load(project), "1b", "1z", Recorder(), "step rename 1b 1z")
    assert result.renamed == (("1b", "1z"),)
    tags = _tags(project)
    assert "1b" not in tags
    assert tags["1z"] == "Chapter 1: Part 1 (1z)"
    assert (project / "chapters" / "01-part-1" / "1z.patch").is_file()
    assert not (project / "chapters" / "01-part-1" / "1b.patch").exists()
    assert git(project / "build" / "repo", "rev-parse", "1a") in before  # earlier step kept
    undo(_load(project), Recorder())
    assert git(project / "build" / "repo", "show-ref", "--tags", "--heads") == before
    assert (project / "chapters" / "01-part-1" / "1b.patch").is_file()


def test_retitle_changes_subject_and_manifest(project: Path) -> None:
    sequence.retitle(_load(project), "2a", "Better words", Recorder(), "retitle")
    assert _tags(project)["2a"] == "Chapter 2: Better words (2a)"
    assert "title: Better words" in (project / "tutorial.yaml").read_text()
    assert _load(project).step("2a").title == "Better words"


def test_renumber_after_inserting_a_chapter_number(project: Path) -> None:
    path = project / "tutorial.yaml"
    path.write_text(path.read_text().replace("number: 2", "number: 3"))
    result = sequence.renumber(_load(project), Recorder(), "renumber")
    assert dict(result.renamed) == {"2a": "3a", "2b": "3b"}
    tags = _tags(project)
    assert tags["3a"] == "Chapter 3: Part 2 (3a)"
    assert set(tags) == {"1a", "1b", "3a", "3b"}
    assert sequence.renumber(_load(project), Recorder(), "renumber").build is None


@pytest.mark.parametrize(("new", "message"), [("1a", "already"), ("-x", "option"),
                                               ("a b", "spaces")])
def test_rename_refuses_bad_names(project: Path, new: str, message: str) -> None:
    before = git(project / "build" / "repo", "show-ref", "--tags", "--heads")
    with pytest.raises(TutorialError, match=message):
        sequence.rename(_load(project), "1b", new, Recorder(), "rename")
    assert git(project / "build" / "repo", "show-ref", "--tags", "--heads") == before

"""step rename, step retitle and renumber: tags, files and subjects follow; undo goes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from testing.tutorials import import_and_build
from tutorial_tools import manifest
from tutorial_tools.engine import sequence
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
    import_and_build(src, root)
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


def test_retitle_strips_the_title_and_refuses_an_empty_one(project: Path) -> None:
    before = git(project / "build" / "repo", "show-ref", "--tags", "--heads")
    with pytest.raises(TutorialError, match=r"^a title cannot be empty\. Nothing was changed"):
        sequence.retitle(_load(project), "2a", "  ", Recorder(), "retitle")
    assert git(project / "build" / "repo", "show-ref", "--tags", "--heads") == before
    sequence.retitle(_load(project), "2a", "  Better words ", Recorder(), "retitle")
    assert _load(project).step("2a").title == "Better words"
    assert _tags(project)["2a"] == "Chapter 2: Better words (2a)"


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


def _tree_files(root: Path, rev: str) -> dict[str, str]:
    repo = root / "build" / "repo"
    names = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {n: git(repo, "show", f"{rev}:{n}") for n in names}


@pytest.fixture
def independent(tmp_path: Path) -> Path:
    """Each step adds its own file, so any order merges cleanly."""
    src = Repo(tmp_path / "src")
    for n, tag in enumerate(("1a", "1b", "1c", "2a")):
        src.write(f"f{n}.txt", f"{tag}\n")
        src.commit(f"Chapter {tag[0]}: Part ({tag})", tag=tag)
    root = tmp_path / "project"
    import_and_build(src, root)
    return root


def test_a_tag_whose_file_name_another_step_has_is_refused_cleanly(project: Path) -> None:
    """`2a/x` is kept in 2a-x.patch: next to a step 2a-x, adding or renaming to it is
    refused before anything is written, naming the clash (not a position in a manifest
    that was never written)."""
    sequence.add(_load(project), "2a-x", "2a", None, None, Recorder(), "add")
    before = git(project / "build" / "repo", "show-ref", "--tags", "--heads")
    text = (project / "tutorial.yaml").read_text()
    for attempt in (
            lambda: sequence.add(_load(project), "2a/x", "2b", None, None, Recorder(), "add"),
            lambda: sequence.rename(_load(project), "2b", "2a/x", Recorder(), "rename"),
            lambda: sequence.add(_load(project), "2a-x", "2b", None, None, Recorder(), "add")):
        with pytest.raises(TutorialError) as caught:
            attempt()
        assert caught.value.hint == "Choose another tag."
        assert caught.value.message in (
            "there is a step '2a-x' already. Nothing was changed.",
            "there is a step '2a-x' already: tag '2a/x' would keep the step in 2a-x.patch "
            "too. Nothing was changed.")
    assert git(project / "build" / "repo", "show-ref", "--tags", "--heads") == before
    assert (project / "tutorial.yaml").read_text() == text


def test_drop_removes_the_change_from_every_later_step(independent: Path) -> None:
    sequence.drop(_load(independent), "1b", Recorder(), "step drop 1b")
    assert "1b" not in _tags(independent)
    assert set(_tree_files(independent, "2a")) == {"f0.txt", "f2.txt", "f3.txt"}
    assert not (independent / "chapters" / "01-part" / "1b.patch").exists()


def test_add_empty_and_with_a_patch(independent: Path) -> None:
    before = _tree_files(independent, "2a")
    sequence.add(_load(independent), "1z", "1c", "Nothing yet", None, Recorder(), "add")
    assert _tree_files(independent, "1z") == _tree_files(independent, "1c")
    assert _tree_files(independent, "2a") == before
    patch = (b"diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n"
             b"+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n")
    sequence.add(_load(independent), "1y", "1a", None, patch, Recorder(), "add")
    assert _tree_files(independent, "2a") == {**before, "new.txt": "new"}
    assert "new.txt" not in _tree_files(independent, "1a")
    labels = [s.label for s in _load(independent).steps]
    assert labels == ["1a", "1y", "1b", "1c", "1z", "2a"]


def test_move_reorders_and_remerges(independent: Path) -> None:
    sequence.move(_load(independent), "2a", "1a", Recorder(), "move")
    assert set(_tree_files(independent, "2a")) == {"f0.txt", "f3.txt"}
    assert set(_tree_files(independent, "1c")) == {"f0.txt", "f1.txt", "f2.txt", "f3.txt"}
    assert [s.label for s in _load(independent).steps] == ["1a", "2a", "1b", "1c"]


def test_dry_run_and_conflicting_drop_change_nothing(project: Path) -> None:
    repo = project / "build" / "repo"
    before = git(repo, "show-ref", "--tags", "--heads")
    manifest_text = (project / "tutorial.yaml").read_text()
    result = sequence.drop(_load(project), "1a", Recorder(), "drop", dry_run=True)
    assert result.would_conflict == ("1b",)
    with pytest.raises(TutorialError, match="does not merge"):
        sequence.drop(_load(project), "1a", Recorder(), "drop")
    assert git(repo, "show-ref", "--tags", "--heads") == before
    assert (project / "tutorial.yaml").read_text() == manifest_text

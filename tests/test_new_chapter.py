"""`tutorial step add TAG --after STEP --chapter TITLE`: a new chapter, later chapters and
their tags renumbered, one undoable operation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from testing.cli import tutorial
from testing.gitrepo import Repo, git
from testing.tutorials import build, import_and_build
from tutorial_tools import manifest
from tutorial_tools.engine import chapters, sequence, status
from tutorial_tools.engine.rewrite import undo
from tutorial_tools.errors import DirtyWorkTree, TutorialError
from tutorial_tools.oplog import OpLog
from tutorial_tools.reporter import Recorder

# chapter, title, tag, file -> content
HISTORY = (
    (1, "Setup", "1a", {"app.txt": "one\n"}),
    (1, "Setup", "1b", {"app.txt": "one\ntwo\n", "setup.txt": "s\n"}),
    (2, "Models", "2a", {"models.txt": "m\n"}),
    (3, "Views", "3a", {"views.txt": "v\n"}),
    (3, "Views", "3b", {"app.txt": "one\ntwo\nthree\n"}),
)

FIX = (b"diff --git a/forms.txt b/forms.txt\nnew file mode 100644\n--- /dev/null\n"
       b"+++ b/forms.txt\n@@ -0,0 +1 @@\n+f\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    src = Repo(tmp_path / "src")
    for number, title, tag, files in HISTORY:
        for path, content in files.items():
            src.write(path, content)
        src.commit(f"Chapter {number}: {title} ({tag})", tag=tag)
    root = import_and_build(src, tmp_path / "project")
    # An author's comments, which every edit of the manifest keeps.
    path = root / "tutorial.yaml"
    text = path.read_text()
    text = text.replace("chapters:\n", "chapters:  # the book's parts\n", 1)
    text = text.replace("title: Models\n", "title: Models   # the data\n", 1)
    path.write_text(text)
    narrative = root / "chapters" / "02-models" / "index.md"
    assert narrative.read_text() == "# Chapter 2: Models\n"
    narrative.write_text("# Chapter 2: Models\n\nThe models.\n")
    (root / "chapters" / "03-views" / "index.md").write_text("# Views\n")
    return root


def _load(root: Path) -> manifest.Manifest:
    return manifest.load(root / "tutorial.yaml")


def _refs(root: Path) -> str:
    return git(root / "build" / "repo", "show-ref", "--tags", "--heads")


def _files(root: Path) -> dict[str, bytes]:
    """Every file under chapters/ and the manifest, by path."""
    out = {"tutorial.yaml": (root / "tutorial.yaml").read_bytes()}
    for p in sorted((root / "chapters").rglob("*")):
        out[p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")] = (
            b"" if p.is_dir() else p.read_bytes())
    return out


def _tree(root: Path, rev: str) -> dict[str, str]:
    repo = root / "build" / "repo"
    names = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {n: git(repo, "show", f"{rev}:{n}") for n in names}


def _chapters(root: Path) -> list[tuple[int, str, str, list[str]]]:
    return [(c.number, c.title, c.slug, [s.label for s in c.steps])
            for c in _load(root).chapters]


def test_a_chapter_in_the_middle(project: Path) -> None:
    repo = project / "build" / "repo"
    tip_tree = git(repo, "rev-parse", "main^{tree}")
    old = {tag: git(repo, "rev-parse", f"{tag}^{{tree}}") for tag in ("1b", "2a", "3a", "3b")}
    result = chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(),
                          "step add 2a --after 1b --chapter Forms")
    assert result.chapter == (2, "Forms", "02-forms")
    assert result.renumbered == ((2, 3), (3, 4))
    assert result.renamed == (("2a", "3a"), ("3a", "4a"), ("3b", "4b"))
    assert _chapters(project) == [
        (1, "Setup", "01-setup", ["1a", "1b"]),
        (2, "Forms", "02-forms", ["2a"]),
        (3, "Models", "02-models", ["3a"]),  # folders and slugs stay
        (4, "Views", "03-views", ["4a", "4b"]),
    ]
    assert (project / "chapters" / "02-forms" / "2a.patch").is_file()
    assert (project / "chapters" / "02-forms" / "index.md").read_text() == (
        "# Chapter 2: Forms\n\nWhat the reader builds in this chapter.\n")
    assert sorted(p.name for p in (project / "chapters" / "02-models").iterdir()) == [
        "3a.patch", "index.md"]
    # A narrative's heading as import wrote it follows its number; one of the author's stays.
    assert (project / "chapters" / "02-models" / "index.md").read_text() == (
        "# Chapter 3: Models\n\nThe models.\n")
    assert (project / "chapters" / "03-views" / "index.md").read_text() == "# Views\n"
    assert sorted(p.name for p in (project / "chapters" / "03-views").iterdir()) == [
        "4a.patch", "4b.patch", "index.md"]
    # The history: one commit per step, subjects as the template makes them.
    assert git(repo, "log", "--format=%s", "--reverse", "main").splitlines() == [
        "Chapter 1: Setup (1a)", "Chapter 1: Setup (1b)", "Chapter 2: Forms (2a)",
        "Chapter 3: Models (3a)", "Chapter 4: Views (4a)", "Chapter 4: Views (4b)"]
    assert git(repo, "tag", "--list").split() == ["1a", "1b", "2a", "3a", "4a", "4b"]
    assert [git(repo, "rev-parse", f"{tag}^{{commit}}") for tag in
            ("1a", "1b", "2a", "3a", "4a", "4b")] == git(repo, "rev-list", "--reverse",
                                                         "main").splitlines()
    # An empty step: the trees are as they were, under their new tags.
    assert git(repo, "rev-parse", "main^{tree}") == tip_tree
    assert git(repo, "rev-parse", "2a^{tree}") == old["1b"]
    assert git(repo, "rev-parse", "3a^{tree}") == old["2a"]
    assert git(repo, "rev-parse", "4a^{tree}") == old["3a"]
    assert git(repo, "rev-parse", "4b^{tree}") == old["3b"]
    report = status.status(_load(project))
    assert report.clean, report
    assert report.extra_files == () and report.messages == ()
    text = (project / "tutorial.yaml").read_text()
    assert "chapters:  # the book's parts\n" in text
    assert "title: Models   # the data\n" in text


def test_with_a_patch_later_steps_are_remerged(project: Path) -> None:
    before = {tag: _tree(project, tag) for tag in ("1b", "2a", "3a", "3b")}
    chapters.add(_load(project), "2a", "1b", "Forms", "A form", FIX, Recorder(), "add")
    assert _tree(project, "1b") == before["1b"]
    assert _tree(project, "2a") == {**before["1b"], "forms.txt": "f"}
    assert _tree(project, "3a") == {**before["2a"], "forms.txt": "f"}
    assert _tree(project, "4a") == {**before["3a"], "forms.txt": "f"}
    assert _tree(project, "4b") == {**before["3b"], "forms.txt": "f"}
    repo = project / "build" / "repo"
    assert git(repo, "log", "-1", "--format=%s", "2a") == "Chapter 2: A form (2a)"
    assert "title: A form" in (project / "tutorial.yaml").read_text()
    # The step files alone give the same history: a build from nothing has the same ids.
    refs = _refs(project)
    shutil.rmtree(repo)
    build(project)
    assert _refs(project) == refs


def test_undo_puts_everything_back(project: Path) -> None:
    files, refs = _files(project), _refs(project)
    chapters.add(_load(project), "2a", "1b", "Forms", None, FIX, Recorder(), "add")
    assert _files(project) != files
    undo(_load(project), Recorder())
    assert _files(project) == files  # the manifest, every step file, no new folder
    assert not (project / "chapters" / "02-forms").exists()
    assert _refs(project) == refs


def test_a_last_chapter_renumbers_nothing(project: Path) -> None:
    result = chapters.add(_load(project), "4a", "3b", "Deploying", None, None, Recorder(),
                          "add")
    assert result.renamed == () and result.renumbered == ()
    assert _chapters(project)[-1] == (4, "Deploying", "04-deploying", ["4a"])
    assert git(project / "build" / "repo", "log", "-1", "--format=%s", "main") == (
        "Chapter 4: Deploying (4a)")


def test_the_cascade_stops_at_a_free_number(project: Path) -> None:
    path = project / "tutorial.yaml"
    path.write_text(path.read_text().replace("number: 3", "number: 7"))
    with pytest.raises(TutorialError, match="would give step 2a the tag 3a, which step 3a"):
        chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    sequence.renumber(_load(project), Recorder(), "renumber")  # 3a, 3b -> 7a, 7b
    result = chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    assert result.renumbered == ((2, 3),)
    assert [(n, tags) for n, _, _, tags in _chapters(project)] == [
        (1, ["1a", "1b"]), (2, ["2a"]), (3, ["3a"]), (7, ["7a", "7b"])]


def test_dry_run_says_what_would_change_and_changes_nothing(project: Path) -> None:
    files, refs = _files(project), _refs(project)
    result = chapters.add(_load(project), "2a", "1b", "Forms", None, FIX, Recorder(), "add",
                          dry_run=True)
    assert result.chapter == (2, "Forms", "02-forms")
    assert result.renamed == (("2a", "3a"), ("3a", "4a"), ("3b", "4b"))
    assert result.changed == ("2a", "3a", "4a", "4b")
    assert result.would_conflict == ()
    assert result.build is None
    assert (_files(project), _refs(project)) == (files, refs)


@pytest.mark.parametrize(("tag", "after", "title", "message"), [
    ("2z", "1a", "Forms", r"step 1a is not the last step of chapter 1 \(Setup\): 1b follows"),
    ("3a", "1b", "Forms", r"there is a step '3a' already \(after renumbering, 2a becomes 3a\)"),
    ("1a", "1b", "Forms", "there is a step '1a' already"),
    ("2a", "1b", "Models", "folder chapters/02-models exists already"),
    ("-x", "1b", "Forms", "cannot start with '-'"),
    ("2a", "1b", " ", r"title cannot be empty\. Nothing was changed\."),
])
def test_refusals_change_nothing(project: Path, tag: str, after: str, title: str,
                                 message: str) -> None:
    files, refs = _files(project), _refs(project)
    with pytest.raises(TutorialError, match=message):
        chapters.add(_load(project), tag, after, title, None, None, Recorder(), "add")
    assert (_files(project), _refs(project)) == (files, refs)


def test_a_folder_of_that_name_refuses(project: Path) -> None:
    (project / "chapters" / "02-forms").mkdir()
    files = _files(project)
    with pytest.raises(TutorialError, match="02-forms exists already"):
        chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    assert _files(project) == files


def test_a_dirty_work_tree_refuses(project: Path) -> None:
    (project / "build" / "repo" / "app.txt").write_text("edited\n")
    files, refs = _files(project), _refs(project)
    with pytest.raises(DirtyWorkTree):
        chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    assert (_files(project), _refs(project)) == (files, refs)


def test_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = tutorial(capsys, project, "step", "add", "2a", "--after", "1b",
                            "--chapter", "Forms", "--dry-run")
    assert code == 0
    assert err.splitlines() == [
        "Would add chapter 2, Forms (chapters/02-forms/)",
        "  chapter 2 -> 3 (its folder stays)", "  chapter 3 -> 4 (its folder stays)",
        "  2a -> 3a", "  3a -> 4a", "  3b -> 4b",
        "Would change 4 step(s): 2a, 3a, 4a, 4b"]
    code, _, err = tutorial(capsys, project, "step", "add", "2a", "--after", "1b",
                            "--chapter", "Forms")
    assert code == 0
    assert err.splitlines()[0] == "Added chapter 2, Forms (chapters/02-forms/)"
    assert err.splitlines()[-1] == ("Changed 4 step(s); 6 refs moved in one transaction. "
                                    "Undo with `tutorial undo`.")
    code, _, err = tutorial(capsys, project, "step", "add", "9z", "--after", "1a",
                            "--chapter", "Forms")
    assert code == 1
    assert "step 1a is not the last step of chapter 1 (Setup): 1b follows it" in err
    code, _, err = tutorial(capsys, project, "step", "add", "--after", "4b", "--chapter",
                            "Forms", "--", "-x")
    assert (code, err) == (1, "error: bad tag '-x': a tag cannot start with '-' (git would "
                              "read it as an option)\n")
    code, out, _ = tutorial(capsys, project, "log")
    assert code == 0
    assert "tutorial step add 2a --after 1b --chapter Forms  [done]" in out


def test_the_command_text_quotes_as_a_shell_does(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`tutorial log` (and undo and interrupt messages) show the command as it can be typed
    again, not with Python's quoting."""
    for args in (("step", "add", "2a", "--after", "1b", "--chapter", "Don't panic"),
                 ("step", "retitle", "1a", "It's \"set\" up")):
        assert tutorial(capsys, project, *args)[0] == 0
    out = tutorial(capsys, project, "log")[1]
    assert "tutorial step add 2a --after 1b --chapter 'Don'\"'\"'t panic'  [done]" in out
    assert """tutorial step retitle 1a 'It'"'"'s "set" up'  [done]""" in out
    assert "Undid #2 `tutorial step retitle 1a 'It'" in tutorial(capsys, project, "undo")[2]


def test_a_chapter_title_is_stored_without_surrounding_spaces(project: Path) -> None:
    result = chapters.add(_load(project), "2a", "1b", "  Forms  ", None, None, Recorder(),
                          "add")
    assert result.chapter == (2, "Forms", "02-forms")
    assert _load(project).chapters[1].title == "Forms"
    assert "title: Forms\n" in (project / "tutorial.yaml").read_text()


def test_chapters_numbered_by_their_place_keep_their_folders(project: Path) -> None:
    path = project / "tutorial.yaml"
    text = re.sub(r"- number: \d+\n\s+title:", "- title:", path.read_text())
    path.write_text(re.sub(r"\n\s+slug: \S+", "", text))
    text = path.read_text()
    assert "number:" not in text and "slug:" not in text
    chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    assert _chapters(project) == [
        (1, "Setup", "01-setup", ["1a", "1b"]),
        (2, "Forms", "02-forms", ["2a"]),
        (3, "Models", "02-models", ["3a"]),
        (4, "Views", "03-views", ["4a", "4b"]),
    ]
    assert status.status(_load(project)).clean


def test_comments_on_renamed_steps_survive(project: Path) -> None:
    path = project / "tutorial.yaml"
    path.write_text(path.read_text().replace("- tag: 3b\n", "- tag: 3b   # the last one\n"))
    chapters.add(_load(project), "2a", "1b", "Forms", None, None, Recorder(), "add")
    assert "- tag: 4b   # the last one\n" in path.read_text()
    undo(_load(project), Recorder())
    assert "- tag: 3b   # the last one\n" in path.read_text()


def test_a_conflicting_patch_is_refused(project: Path) -> None:
    fix = (b"diff --git a/app.txt b/app.txt\n--- a/app.txt\n+++ b/app.txt\n"
           b"@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n")
    files, refs = _files(project), _refs(project)
    result = chapters.add(_load(project), "2a", "1b", "Forms", None, fix, Recorder(), "add",
                          dry_run=True)
    assert result.would_conflict == ("4b",)
    with pytest.raises(TutorialError, match="step 4b does not merge"):
        chapters.add(_load(project), "2a", "1b", "Forms", None, fix, Recorder(), "add")
    assert (_files(project), _refs(project)) == (files, refs)


def test_undo_removes_the_folders_an_operation_made_when_empty(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    made = tmp_path / "chapters" / "02-new" / "img" / "a.png"
    log = OpLog(tmp_path)
    op = log.begin("test", [], {made: b"png"}, None)
    assert op.folders == ("chapters/02-new/img", "chapters/02-new")
    log.replay(op)
    assert made.read_bytes() == b"png"
    log.restore(op)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tutorial", "chapters"]
    assert list((tmp_path / "chapters").iterdir()) == []
    # A folder holding a file of the author's stays, with the file.
    op = log.begin("test", [], {made: b"png"}, None)
    log.replay(op)
    (made.parent.parent / "index.md").write_text("mine\n")
    log.restore(op)
    assert not made.parent.exists()
    assert (made.parent.parent / "index.md").read_text() == "mine\n"


def test_comment_lines_above_a_chapter_stay_above_it(project: Path) -> None:
    path = project / "tutorial.yaml"
    text = path.read_text()
    text = text.replace("  - number: 2\n", "  # Part two\n\n  - number: 2\n")
    text = text.replace("  - number: 3\n", "  # Part three\n  - number: 3\n")
    text = text.replace("- tag: 2a\n", "- tag: 2a   # the first model\n")
    path.write_text(text)
    chapters.add(_load(project), "2a", "1b", "Forms", "A form", None, Recorder(), "add")
    chapters.add(_load(project), "4a", "3a", "Admin", None, None, Recorder(), "add")
    text = path.read_text()
    assert "      - tag: 1b\n  - number: 2\n    title: Forms\n" in text
    assert "        title: A form\n  # Part two\n\n  - number: 3\n    title: Models" in text
    assert "- tag: 3a   # the first model\n  - number: 4\n    title: Admin\n" in text
    assert "      - tag: 4a\n  # Part three\n  - number: 5\n    title: Views\n" in text
    assert [n for n, *_ in _chapters(project)] == [1, 2, 3, 4, 5]

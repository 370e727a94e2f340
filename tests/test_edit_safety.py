"""History editing that must refuse, or do nothing, without leaving anything half done: a
dirty work tree, a change that changes nothing, a missing patch file, and `undo` after hand
edits. Then `renumber` re-deriving subjects after a chapter changed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import tutorial
from testing.gitrepo import Repo, git, worktree_files
from testing.tutorials import import_and_build


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Chapters 1 and 2 of two steps each; every step adds its own file."""
    src = Repo(tmp_path / "src")
    for tag in ("1a", "1b", "2a", "2b"):
        src.write(f"{tag}.txt", f"{tag}\n")
        src.commit(f"Chapter {tag[0]}: Part {tag[0]} ({tag})", tag=tag)
    return import_and_build(src, tmp_path / "project")



def snapshot(root: Path) -> dict[str, object]:
    """The manifest, every file under chapters/ and .tutorial/log, every ref and the work
    tree of the built repository."""
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for folder in (root / "chapters", root / ".tutorial" / "log")
             for p in sorted(folder.rglob("*")) if p.is_file()}
    files["tutorial.yaml"] = (root / "tutorial.yaml").read_bytes()
    repo = root / "build" / "repo"
    return {"files": files, "worktree": worktree_files(repo),
            "refs": git(repo, "for-each-ref", "--format=%(objectname) %(refname)")}


def published(root: Path) -> str:
    """The branch and the tags (not the operation log's backup refs)."""
    return git(root / "build" / "repo", "for-each-ref", "--format=%(objectname) %(refname)",
               "refs/heads", "refs/tags")


def subjects(root: Path) -> dict[str, str]:
    out = git(root / "build" / "repo", "for-each-ref", "--format=%(refname:short) %(subject)",
              "refs/tags")
    return dict(line.split(" ", 1) for line in out.splitlines())


def write_patch(tmp_path: Path) -> Path:
    patch = tmp_path / "new.patch"
    patch.write_bytes(b"diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n"
                      b"+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n")
    return patch


# -- a dirty work tree: refused before anything is written ------------------------------

REWRITES = [
    ("step", "retitle", "1a", "New"),
    ("step", "rename", "1a", "1z"),
    ("step", "move", "1b", "--after", "2a"),
    ("step", "add", "1c", "--after", "1a"),
    ("step", "drop", "1b"),
    ("apply", "1a", "PATCH"),
    ("renumber",),
    ("undo",),
]


@pytest.mark.parametrize("command", REWRITES, ids=lambda c: " ".join(c[:2]))
def test_a_dirty_work_tree_is_refused_before_anything_is_written(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: tuple[str, ...]) -> None:
    root = project
    patch = write_patch(tmp_path)
    if command == ("renumber",):  # something for renumber to do
        yaml = root / "tutorial.yaml"
        yaml.write_text(yaml.read_text().replace("number: 2", "number: 3"))
    if command == ("undo",):  # something to undo
        assert tutorial(capsys, root, "step", "retitle", "2a", "Other")[0] == 0
    (root / "build" / "repo" / "1a.txt").write_text("uncommitted\n")
    before = snapshot(root)
    args = [str(patch) if a == "PATCH" else a for a in command]
    code, out, err = tutorial(capsys, root, *args)
    assert code == 1, out
    assert "uncommitted edits that would be overwritten: 1a.txt" in err
    assert "Nothing was changed" in err
    assert snapshot(root) == before
    code, out, err = tutorial(capsys, root, "build")  # chapters/ and the history agree
    assert code == 0 and "Up to date" in out + err
    # The hint's way to throw the edits away, run as the author would, lets it go through.
    discard = f"git -C {root / 'build' / 'repo'} checkout HEAD -- 1a.txt"
    assert f"`{discard}`" in " ".join(tutorial(capsys, root, *args)[2].split())
    git(root / "build" / "repo", *discard.split()[3:])
    code, out, err = tutorial(capsys, root, *args)
    assert code == 0, err


@pytest.mark.parametrize("command", [c for c in REWRITES if c != ("undo",)],
                         ids=lambda c: " ".join(c[:2]))
def test_a_tag_moved_by_hand_is_refused_before_anything_is_written(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: tuple[str, ...]) -> None:
    """The build at the end of a rewrite would refuse to overwrite the moved tag, with the
    step files already written: the rewrite refuses first, as `publish` does."""
    root, repo = project, project / "build" / "repo"
    if command == ("renumber",):
        yaml = root / "tutorial.yaml"
        yaml.write_text(yaml.read_text().replace("number: 2", "number: 3"))
    git(repo, "tag", "-f", "1a", "2b")
    before = snapshot(root)
    args = [str(write_patch(tmp_path)) if a == "PATCH" else a for a in command]
    code, out, err = tutorial(capsys, root, *args)
    assert code == 1, out
    assert f"error: refs in {repo} were moved outside tutorial: 1a" in err
    assert "Nothing was changed." in err and "`tutorial build --force`" in err
    assert snapshot(root) == before
    assert tutorial(capsys, root, "log")[1] == ""  # no operation, not even an interrupted one
    assert tutorial(capsys, root, "build", "--force")[0] == 0
    code, _, err = tutorial(capsys, root, *args)
    assert code == 0, err


def test_absorb_refuses_while_a_step_is_being_edited(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tutorial(capsys, project, "edit", "1b")[0] == 0
    patch = tmp_path / "fix.patch"
    patch.write_text("--- a/2b.txt\n+++ b/2b.txt\n@@ -1 +1 @@\n-2b\n+2b, fixed\n")
    before = snapshot(project)
    for dry_run in ((), ("--dry-run",)):
        code, _, err = tutorial(capsys, project, "absorb", str(patch), *dry_run)
        assert code == 1
        assert "error: step 1b is being edited" in err
        assert "Nothing was changed. Run `tutorial save` (or `tutorial abort`)" in err
    assert snapshot(project) == before


@pytest.mark.parametrize("staged", [False, True], ids=["edited", "staged"])
def test_while_editing_the_hints_discard_staged_edits_too(
        project: Path, capsys: pytest.CaptureFixture[str], staged: bool) -> None:
    """`edit` of another step and `abort` refuse while the step being edited holds edits;
    the command they give to throw them away also drops edits already staged."""
    repo = project / "build" / "repo"
    assert tutorial(capsys, project, "edit", "1b")[0] == 0
    (repo / "1a.txt").write_text("uncommitted\n")
    if staged:
        git(repo, "add", "1a.txt")
    discard = f"git -C {repo} checkout HEAD -- 1a.txt"
    for command in (("edit", "2a"), ("abort",)):
        code, _, err = tutorial(capsys, project, *command)
        assert code == 1
        assert "uncommitted edits that would be overwritten: 1a.txt" in err
        assert f"`{discard}`" in " ".join(err.split())
        assert "checkout -- ." not in err
    git(repo, *discard.split()[3:])
    assert git(repo, "status", "--porcelain") == ""
    code, _, err = tutorial(capsys, project, "abort")
    assert code == 0, err


# -- a change that changes nothing records nothing --------------------------------------


@pytest.mark.parametrize("command", [
    ("step", "retitle", "2a", "Part 2"),  # its title already, from its chapter
    ("step", "move", "1b", "--after", "1a"),  # where it is
    ("step", "rename", "1b", "1b"),
    ("renumber",),
], ids=lambda c: " ".join(c[:3]))
def test_a_change_that_changes_nothing_records_nothing(
        project: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    before = snapshot(project)
    code, out, err = tutorial(capsys, project, *command)
    assert code == 0, err
    assert "Nothing to change" in out + err
    assert "Undo with" not in out + err
    assert snapshot(project) == before
    assert tutorial(capsys, project, "log")[1] == ""


# -- a missing patch file is named as missing --------------------------------------------


@pytest.mark.parametrize("command", [("apply", "1a", "MISSING"), ("absorb", "MISSING"),
                                     ("step", "add", "1c", "--after", "1a", "--patch",
                                      "MISSING")], ids=lambda c: c[0] + " " + c[1])
def test_a_missing_patch_file_is_named(project: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       command: tuple[str, ...]) -> None:
    missing = tmp_path / "nowhere" / "fix.patch"
    before = snapshot(project)
    code, _, err = tutorial(capsys, project,
                            *[str(missing) if a == "MISSING" else a for a in command])
    assert code == 1
    assert f"the patch file {missing} does not exist" in err
    assert "git checkout" not in err
    assert snapshot(project) == before


# -- undo after hand edits ---------------------------------------------------------------


def test_undo_refuses_to_lose_a_hand_edit_of_the_manifest(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project
    original = published(root)
    assert tutorial(capsys, root, "step", "add", "1c", "--after", "1b")[0] == 0
    yaml = root / "tutorial.yaml"
    yaml.write_text(yaml.read_text().replace("title: project", "title: Mine"))
    before = snapshot(root)
    code, _, err = tutorial(capsys, root, "undo")
    assert code == 1
    assert "tutorial.yaml: not as #1 `tutorial step add 1c --after 1b` left it" in err
    assert "tutorial undo --force" in err and "Nothing was changed" in err
    assert snapshot(root) == before
    code, _, err = tutorial(capsys, root, "undo", "--force")
    assert code == 0, err
    assert published(root) == original
    assert "title: project" in yaml.read_text()


def test_undo_refuses_while_a_tag_was_moved_by_hand(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The build at the end of undo puts every tag back: a tag moved by hand since is
    refused first, with nothing restored; `--force` goes on, and the tag moves back."""
    root, repo = project, project / "build" / "repo"
    original = published(root)
    assert tutorial(capsys, root, "step", "add", "1c", "--after", "1b")[0] == 0
    git(repo, "tag", "-f", "1b", "1a")
    before = snapshot(root)
    code, out, err = tutorial(capsys, root, "undo")
    assert code == 1, out
    assert f"error: refs in {repo} were moved outside tutorial: 1b" in err
    assert "Nothing was changed." in err and "`tutorial undo --force`" in err
    assert snapshot(root) == before
    assert "[done]" in tutorial(capsys, root, "log")[1]  # still there to undo
    code, _, err = tutorial(capsys, root, "undo", "--force")
    assert code == 0, err
    assert published(root) == original


def test_undo_after_a_step_file_was_moved_by_hand(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's way to start a chapter: add a step, then move its entry and file."""
    root = project
    original = published(root)
    assert tutorial(capsys, root, "step", "add", "3a", "--after", "2b")[0] == 0
    old = root / "chapters" / "02-part-2" / "3a.patch"
    new = root / "chapters" / "03-more" / "3a.patch"
    new.parent.mkdir()
    old.rename(new)
    yaml = root / "tutorial.yaml"
    yaml.write_text(yaml.read_text().replace("      - tag: 3a\n", "") + (
        "  - number: 3\n    title: More\n    slug: 03-more\n    steps:\n      - tag: 3a\n"))
    before = snapshot(root)
    code, _, err = tutorial(capsys, root, "undo")
    assert code == 1
    assert "tutorial.yaml, chapters/02-part-2/3a.patch: not as #1" in err
    assert snapshot(root) == before
    code, _, err = tutorial(capsys, root, "undo", "--force")
    assert code == 0, err
    assert not new.exists() and not old.exists()  # no step file left behind
    assert published(root) == original
    assert sorted(p.name for p in (root / "chapters").rglob("*.patch")) == [
        "1a.patch", "1b.patch", "2a.patch", "2b.patch"]


def test_undo_force_names_a_step_file_it_does_not_know(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project
    assert tutorial(capsys, root, "step", "add", "3a", "--after", "2b")[0] == 0
    step = root / "chapters" / "02-part-2" / "3a.patch"
    step.write_bytes(step.read_bytes().replace(b"Chapter 2: Part 2 (3a)", b"Mine (3a)"))
    moved = root / "chapters" / "02-part-2" / "3b.patch"
    step.rename(moved)
    yaml = root / "tutorial.yaml"
    yaml.write_text(yaml.read_text().replace("tag: 3a", "tag: 3b"))
    code, _, err = tutorial(capsys, root, "undo", "--force")
    assert code == 0, err
    assert "chapters/02-part-2/3b.patch: no step in tutorial.yaml names it" in err
    assert moved.exists()  # the author's own text is not deleted


def test_undo_without_hand_edits_still_goes_back_twice(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = published(project)
    files = snapshot(project)["files"]
    assert tutorial(capsys, project, "step", "retitle", "1a", "One")[0] == 0
    assert tutorial(capsys, project, "step", "rename", "1b", "1z")[0] == 0
    assert tutorial(capsys, project, "undo")[0] == 0
    assert tutorial(capsys, project, "undo")[0] == 0
    assert published(project) == original
    after = snapshot(project)["files"]
    assert isinstance(after, dict) and isinstance(files, dict)
    assert {k: v for k, v in after.items() if not k.startswith(".tutorial")} == files


# -- renumber: subjects follow a chapter changed by hand ---------------------------------


def test_renumber_rederives_subjects_after_a_chapter_changed_by_hand(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project
    yaml = root / "tutorial.yaml"
    yaml.write_text(yaml.read_text().replace("title: Part 2", "title: Second"))
    assert tutorial(capsys, root, "build")[0] == 0
    assert subjects(root)["2a"] == "Chapter 2: Part 2 (2a)"  # the commit's, not the manifest's
    code, _, err = tutorial(capsys, root, "renumber")
    assert code == 0, err
    assert subjects(root) == {"1a": "Chapter 1: Part 1 (1a)", "1b": "Chapter 1: Part 1 (1b)",
                              "2a": "Chapter 2: Second (2a)", "2b": "Chapter 2: Second (2b)"}
    assert tutorial(capsys, root, "renumber")[0] == 0
    assert tutorial(capsys, root, "log")[1].count("tutorial renumber") == 1


def test_renumber_fixes_a_step_moved_into_a_new_chapter(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its tag is right already (3a); its subject still names chapter 2."""
    root = project
    assert tutorial(capsys, root, "step", "add", "3a", "--after", "2b")[0] == 0
    assert subjects(root)["3a"] == "Chapter 2: Part 2 (3a)"
    new = root / "chapters" / "03-more" / "3a.patch"
    new.parent.mkdir()
    (root / "chapters" / "02-part-2" / "3a.patch").rename(new)
    yaml = root / "tutorial.yaml"
    yaml.write_text(yaml.read_text().replace("      - tag: 3a\n", "") + (
        "  - number: 3\n    title: More\n    slug: 03-more\n    steps:\n"
        "      - tag: 3a\n      - tag: extra\n        message: My own words\n"))
    # extra: a step whose subject is its own (`message:`) keeps it.
    text = new.read_bytes().replace(b"Chapter 2: Part 2 (3a)", b"My own words")
    (new.parent / "extra.patch").write_bytes(text)
    assert tutorial(capsys, root, "build")[0] == 0
    code, out, err = tutorial(capsys, root, "renumber")
    assert code == 0, err
    assert "Changed 1 step(s)" in out + err
    assert subjects(root)["3a"] == "Chapter 3: More (3a)"
    assert subjects(root)["extra"] == "My own words"
    assert tutorial(capsys, root, "undo")[0] == 0
    assert subjects(root)["3a"] == "Chapter 2: Part 2 (3a)"

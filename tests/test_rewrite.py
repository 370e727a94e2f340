"""History editing on real repositories: `apply`, `edit`/`save`, conflicts with `continue`
and `abort`, remembered resolutions, `undo` and `log`.

The reference for what a carried fix must give is git itself: the same fix amended into a
scratch clone and the later commits replayed with `git rebase --onto`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testing.cli import tutorial
from testing.gitrepo import Repo, git, worktree_files
from testing.tutorials import import_and_build
from tutorial_tools import manifest
from tutorial_tools.engine import build as build_mod
from tutorial_tools.reporter import Recorder

Files = dict[str, str | None]  # path -> new content, None: delete it


def lines(n: int, prefix: str) -> list[str]:
    return [f"{prefix} line {i}\n" for i in range(n)]


def tag_of(i: int) -> str:
    """Step i's tag: 1a..1e, 2a..2e, ... (five steps a chapter)."""
    chapter, k = divmod(i, 5)
    return f"{chapter + 1}{'abcde'[k]}"


def make_project(tmp_path: Path, steps: list[Files]) -> Path:
    """A source repository with one tagged commit per entry of `steps` (every chapter's first
    tag annotated), imported into a tutorial project and built."""
    src = Repo(tmp_path / "src")
    for i, files in enumerate(steps):
        for path, content in files.items():
            if content is None:
                (src.path / path).unlink()
            else:
                src.write(path, content)
        tag = tag_of(i)
        chapter = tag[:-1]
        src.commit(f"Chapter {chapter}: Part {chapter} ({tag})", tag=tag,
                   annotate=f"Chapter {chapter} starts here\n" if tag.endswith("a") else None)
    root = tmp_path / "project"
    import_and_build(src, root)
    return root


def built(root: Path) -> Path:
    return root / "build" / "repo"


def refs(root: Path) -> dict[str, str]:
    """The branch and every tag with the object each names (tag objects for annotated tags)."""
    out = git(built(root), "for-each-ref", "--format=%(objectname) %(refname)",
              "refs/heads/", "refs/tags/")
    return {ref: oid for oid, ref in (line.split(" ") for line in out.splitlines())}


def commit_of(root: Path, tag: str) -> str:
    return git(built(root), "rev-parse", f"refs/tags/{tag}^{{commit}}")


def tree_of(root: Path, tag: str) -> str:
    return git(built(root), "rev-parse", f"refs/tags/{tag}^{{tree}}")


def show(root: Path, tag: str, path: str) -> str:
    return git(built(root), "show", f"refs/tags/{tag}:{path}")


def has(root: Path, tag: str, path: str) -> bool:
    proc = subprocess.run(["git", "-C", str(built(root)), "cat-file", "-e",
                           f"refs/tags/{tag}:{path}"], capture_output=True)
    return proc.returncode == 0


def project_files(root: Path) -> dict[str, bytes]:
    """tutorial.yaml and every file under chapters/, byte for byte."""
    files = {"tutorial.yaml": (root / "tutorial.yaml").read_bytes()}
    for p in sorted((root / "chapters").rglob("*")):
        if p.is_file():
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def snapshot(root: Path) -> dict[str, object]:
    """Everything a rewrite may touch: project files, every ref (with its object type), HEAD,
    the work tree's files and `git status`."""
    repo = built(root)
    return {
        "files": project_files(root),
        "refs": git(repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"),
        "head": (git(repo, "rev-parse", "--symbolic-full-name", "HEAD"),
                 git(repo, "rev-parse", "HEAD")),
        "worktree": worktree_files(repo),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
    }



def status(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, object]:
    code, out, err = tutorial(capsys, root, "status", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def fix_patch(root: Path, tmp: Path, tag: str, changes: dict[str, Callable[[str], str] | None],
              ) -> Path:
    """A `git diff` of `changes` (path -> a function of its text, or None: delete it) made on
    STEP's tree in a scratch clone, written to a file."""
    scratch = tmp / f"patch-{tag}"
    git(tmp, "clone", "-q", "--no-checkout", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    for path, change in changes.items():
        target = scratch / path
        if change is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(change(target.read_text() if target.exists() else ""))
    git(scratch, "add", "-A")
    patch = tmp / f"fix-{tag}.patch"
    patch.write_bytes(git(scratch, "diff", "--cached", "--full-index").encode() + b"\n")
    return patch


def rebased_trees(root: Path, tmp: Path, tag: str, patch: Path) -> list[str]:
    """What git makes of the fix: STEP amended with `patch` in a scratch clone, then every
    later commit replayed onto it with `git rebase --onto`. The trees of STEP and each later
    commit, in order."""
    scratch = tmp / f"rebase-{tag}"
    git(tmp, "clone", "-q", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    git(scratch, "apply", "--index", str(patch))
    git(scratch, "commit", "-q", "--amend", "--no-edit", "--allow-empty")
    fixed = git(scratch, "rev-parse", "HEAD")
    git(scratch, "rebase", "-q", "--onto", fixed, f"refs/tags/{tag}", "main")
    later = git(scratch, "rev-list", "--reverse", f"{fixed}..main").split()
    return [git(scratch, "rev-parse", f"{c}^{{tree}}") for c in (fixed, *later)]


def replace_line(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert text.count(old) == 1, (old, text)
        return text.replace(old, new)
    return change


# -- a long history: a fix at 1b carried through 30 steps ----------------------------------


def long_history(n: int = 32) -> list[Files]:
    """Step 1a makes app.py (400 lines), util.py, README.md and old.txt; 1b sets the line the
    fix will change; every later step edits app.py far from it, adds a note, and now and then
    edits util.py elsewhere, inserts lines at the top of app.py (moving the fixed line), renames
    util.py (with an edit), deletes old.txt or renames README.md."""
    app = lines(400, "app")
    util = lines(60, "util")
    steps: list[Files] = [{"app.py": "".join(app), "util.py": "".join(util),
                           "README.md": "# The app\n\nIt does things.\n",
                           "old.txt": "to be removed\n"}]
    app[5] = "value = 1  # set at 1b\n"
    steps.append({"app.py": "".join(app)})
    util_path = "util.py"
    for i in range(2, n):
        files: Files = {}
        at = 30 + 11 * i
        app[at] = f"app line {at}: changed at step {tag_of(i)}\n"
        if i in (9, 21):  # insert above the fixed line: it moves down
            app[0:0] = [f"# header {i}.{k}\n" for k in range(3)]
        files["app.py"] = "".join(app)
        files[f"notes/{tag_of(i)}.md"] = f"Notes for {tag_of(i)}\n"
        if i % 3 == 0:
            util[20 + i] = f"util line {20 + i}: changed at step {tag_of(i)}\n"
            files[util_path] = "".join(util)
        if i == 14:  # a rename with an edit
            util[50] = "util line 50: edited while moving\n"
            files[util_path] = None
            util_path = "pkg/util.py"
            files[util_path] = "".join(util)
        if i == 17:
            files["old.txt"] = None
        if i == 25:
            files["README.md"] = None
            files["docs/README.md"] = "# The app\n\nIt does things.\n"
        steps.append(files)
    return steps


@pytest.fixture
def long_project(tmp_path: Path) -> Path:
    return make_project(tmp_path, long_history())


def test_fix_is_carried_through_30_steps_like_git_rebase(
        long_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = long_project
    tags = [tag_of(i) for i in range(32)]
    before = refs(root)
    old_commits = {t: commit_of(root, t) for t in tags}
    patch = fix_patch(root, tmp_path, "1b", {
        "app.py": replace_line("value = 1  # set at 1b\n", "value = 2  # fixed\n"),
        "util.py": replace_line("util line 3\n", "util line 3: fixed\n"),
    })
    expected = rebased_trees(root, tmp_path, "1b", patch)
    assert len(expected) == 31  # 1b and the 30 steps after it

    code, _, err = tutorial(capsys, root, "apply", "1b", str(patch))
    assert code == 0, err
    assert err.splitlines()[-1] == (
        f"Rewrote 31 step(s) ({', '.join(tags[1:])}); 32 refs moved in one transaction. "
        "Undo with `tutorial undo`.")

    # Every step's tree is exactly the one git rebase makes.
    assert [tree_of(root, t) for t in tags[1:]] == expected
    # ... and the fix really is in every one of them, the renamed util.py included.
    for t in tags[1:]:
        assert "value = 2  # fixed\n" in show(root, t, "app.py") + "\n"
        util = "pkg/util.py" if tags.index(t) >= 14 else "util.py"
        assert "util line 3: fixed" in show(root, t, util)
    assert not has(root, "4e", "util.py")

    after = refs(root)
    assert after["refs/tags/1a"] == before["refs/tags/1a"]  # the earlier step keeps its id
    assert commit_of(root, "1a") == old_commits["1a"]
    moved = {r for r in before if after[r] != before[r]}
    assert moved == {"refs/heads/main"} | {f"refs/tags/{t}" for t in tags[1:]}
    assert after["refs/heads/main"] == commit_of(root, tags[-1])
    # Annotated tags stay annotated; the history is one chain, 1a's commit at its root.
    assert git(built(root), "cat-file", "-t", "refs/tags/2a") == "tag"
    chain = git(built(root), "rev-list", "--reverse", "--first-parent", "main").split()
    assert chain == [commit_of(root, t) for t in tags]
    # Messages, authors and dates are the old commits'.
    for t in tags:
        fmt = "--format=%an %ae %ad %cn %ce %cd %B"
        assert git(built(root), "log", "-1", fmt, commit_of(root, t)) == git(
            built(root), "log", "-1", fmt, old_commits[t])
    # The work tree is at the new tip, clean, and the project is up to date.
    assert git(built(root), "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(built(root), "rev-parse", "HEAD") == after["refs/heads/main"]
    assert git(built(root), "status", "--porcelain", "--untracked-files=all") == ""
    assert "value = 2  # fixed" in (built(root) / "app.py").read_text()
    st = status(capsys, root)
    assert (st["clean"], st["unbuilt"], st["rewrite"], st["head"]) == (True, [], None, "7b")
    # The step files now hold the fix: a fresh build from them gives the very same refs.
    fresh = tmp_path / "fresh"
    (root / "build").rename(fresh)
    build_mod.build(manifest.load(root / "tutorial.yaml"), Recorder())
    assert refs(root) == after


def test_dry_run_changes_nothing_and_lists_the_steps(
        long_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = long_project
    patch = fix_patch(root, tmp_path, "5b", {"app.py": replace_line(
        "app line 390\n", "app line 390: fixed\n")})
    before = snapshot(root)
    code, _, err = tutorial(capsys, root, "apply", "5b", str(patch), "--dry-run")
    assert code == 0, err
    later = [tag_of(i) for i in range(21, 32)]
    assert err.splitlines() == [f"Would change {len(later)} step(s): {', '.join(later)}"]
    assert snapshot(root) == before
    assert not (root / ".tutorial" / "log").exists()


# -- a short history where a later step changes the fixed line again -----------------------


def conflict_history() -> list[Files]:
    app = lines(40, "app")
    util = lines(30, "util")
    steps: list[Files] = [{"app.py": "".join(app), "util.py": "".join(util),
                           "README.md": "# The app\n"}]
    app[5] = "value = 1\n"
    steps.append({"app.py": "".join(app)})  # 1b
    app[20] = "app line 20: changed at 1c\n"
    steps.append({"app.py": "".join(app), "notes.txt": "notes\n"})  # 1c
    util[25] = "util line 25: changed at 1d\n"
    steps.append({"util.py": "".join(util)})  # 1d
    app[5] = "value = 10\n"
    steps.append({"app.py": "".join(app)})  # 1e: the same line as the fix
    app[30] = "app line 30: changed at 2a\n"
    steps.append({"app.py": "".join(app)})  # 2a
    steps.append({"extra.txt": "extra\n"})  # 2b
    app[35] = "app line 35: changed at 2c\n"
    steps.append({"app.py": "".join(app)})  # 2c
    return steps


CONFLICT_TAGS = ["1a", "1b", "1c", "1d", "1e", "2a", "2b", "2c"]


@pytest.fixture
def conflict_project(tmp_path: Path) -> Path:
    return make_project(tmp_path, conflict_history())


@pytest.fixture
def value_fix(conflict_project: Path, tmp_path: Path) -> Path:
    return fix_patch(conflict_project, tmp_path, "1b",
                     {"app.py": replace_line("value = 1\n", "value = 2\n")})


def resolve(root: Path, old: str = "value = 10\n", new: str = "value = 20\n") -> None:
    """Resolve the conflict in app.py: keep the step's change, made on the fixed value."""
    app = built(root) / "app.py"
    text = app.read_text()
    start = text.index("<<<<<<< ")
    end = text.index("\n", text.index(">>>>>>> ")) + 1
    app.write_text(text[:start] + new + text[end:])
    assert old not in app.read_text()


def test_dry_run_lists_conflicts(conflict_project: Path, value_fix: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(conflict_project)
    code, _, err = tutorial(capsys, conflict_project, "apply", "1b", str(value_fix), "--dry-run")
    assert code == 0, err
    lines_ = err.splitlines()
    assert lines_[0].startswith("Would change ")
    assert "1b" in lines_[0] and "1c" in lines_[0] and "1d" in lines_[0]
    assert lines_[1] == "Would stop for conflicts at: 1e"
    assert snapshot(conflict_project) == before


def test_conflict_stops_and_continue_finishes(conflict_project: Path, value_fix: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    before = refs(root)
    files_before = project_files(root)
    code, _, err = tutorial(capsys, root, "apply", "1b", str(value_fix))
    assert code == 1
    assert "Conflict at step 1e: app.py" in err
    # Nothing moved yet; status names the step, the files and the work tree.
    assert refs(root) == before
    assert project_files(root) == files_before
    st = status(capsys, root)
    assert st["rewrite"] is not None and st["clean"] is False
    rewrite = st["rewrite"]
    assert isinstance(rewrite, dict)
    assert {k: rewrite[k] for k in ("step", "conflicts", "worktree")} == {
        "step": "1e", "conflicts": ["app.py"], "worktree": str(built(root))}
    # The work tree shows step 1e with both sides of the conflict.
    text = (built(root) / "app.py").read_text()
    assert "<<<<<<< edited\nvalue = 2\n" in text
    assert "=======\nvalue = 10\n>>>>>>> 1e\n" in text
    assert "app line 20: changed at 1c" in text
    assert (built(root) / "notes.txt").exists() and not (built(root) / "extra.txt").exists()
    assert "util line 25: changed at 1d" in (built(root) / "util.py").read_text()

    # Another rewrite must wait.
    code, _, err = tutorial(capsys, root, "apply", "1b", str(value_fix))
    assert code == 1 and "a rewrite is stopped at step 1e" in err
    # continue refuses while markers remain, and changes nothing.
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 1
    assert "step 1e: still conflicted: app.py" in err
    assert refs(root) == before and "<<<<<<< edited" in (built(root) / "app.py").read_text()

    resolve(root)
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 0, err
    assert err.splitlines()[-1].startswith("Rewrote 7 step(s) (1b, 1c, 1d, 1e, 2a, 2b, 2c)")
    assert refs(root)["refs/tags/1a"] == before["refs/tags/1a"]
    for tag, value in zip(CONFLICT_TAGS[1:], ["2", "2", "2", "20", "20", "20", "20"],
                          strict=True):
        text = show(root, tag, "app.py")
        assert f"value = {value}\n" in text + "\n", tag
        assert "<<<<<<<" not in text
    assert "app line 35: changed at 2c" in show(root, "2c", "app.py")
    assert git(built(root), "diff", "refs/tags/1e", "refs/tags/2c", "--stat").endswith(
        "2 files changed, 3 insertions(+), 2 deletions(-)")
    st = status(capsys, root)
    assert (st["clean"], st["rewrite"], st["head"]) == (True, None, "2c")
    assert git(built(root), "status", "--porcelain", "--untracked-files=all") == ""


def test_abort_restores_everything_byte_for_byte(conflict_project: Path, value_fix: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    before = snapshot(root)
    assert tutorial(capsys, root, "apply", "1b", str(value_fix))[0] == 1
    assert snapshot(root) != before  # the work tree shows the conflict
    resolve(root, new="half resolved\n")  # an attempt, then the author gives up
    code, _, err = tutorial(capsys, root, "abort")
    assert code == 0, err
    assert err == "Aborted the rewrite stopped at 1e: everything is as it was before it.\n"
    assert snapshot(root) == before
    st = status(capsys, root)
    assert (st["clean"], st["rewrite"]) == (True, None)
    code, _, err = tutorial(capsys, root, "abort")
    assert code == 1 and "no rewrite is stopped" in err
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 1 and "no rewrite is stopped" in err
    # The same fix can be tried again.
    assert tutorial(capsys, root, "apply", "1b", str(value_fix))[0] == 1


def test_abort_of_a_save_returns_to_editing(conflict_project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    assert tutorial(capsys, root, "edit", "1b")[0] == 0
    app = built(root) / "app.py"
    app.write_text(app.read_text().replace("value = 1\n", "value = 3\n"))
    (built(root) / "new.txt").write_text("new\n")
    editing = snapshot(root)
    code, _, err = tutorial(capsys, root, "save")
    assert code == 1 and "Conflict at step 1e: app.py" in err
    assert tutorial(capsys, root, "abort")[0] == 0
    assert snapshot(root) == editing  # the edits are back in the work tree, at 1b
    assert status(capsys, root)["editing"] == "1b"
    # and saving again after all stops at the same place.
    assert tutorial(capsys, root, "save")[0] == 1


def test_remembered_resolution_is_reused_after_undo(conflict_project: Path, value_fix: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    original = refs(root)
    original_files = project_files(root)
    assert tutorial(capsys, root, "apply", "1b", str(value_fix))[0] == 1
    resolve(root)
    assert tutorial(capsys, root, "continue")[0] == 0
    first = refs(root)
    first_files = project_files(root)
    assert first != original

    code, _, err = tutorial(capsys, root, "undo")
    assert code == 0, err
    assert refs(root) == original
    assert project_files(root) == original_files

    code, _, err = tutorial(capsys, root, "apply", "1b", str(value_fix))
    assert code == 0, err  # no stop
    assert "step 1e: reused a remembered conflict resolution" in err.splitlines()
    assert refs(root) == first  # the very same commits as the first time
    assert project_files(root) == first_files
    assert status(capsys, root)["clean"] is True


def test_a_different_conflict_is_not_resolved_from_memory(
        conflict_project: Path, value_fix: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    assert tutorial(capsys, root, "apply", "1b", str(value_fix))[0] == 1
    resolve(root)
    assert tutorial(capsys, root, "continue")[0] == 0
    assert tutorial(capsys, root, "undo")[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    patch = fix_patch(root, other, "1b", {"app.py": replace_line("value = 1\n", "value = 5\n")})
    code, _, err = tutorial(capsys, root, "apply", "1b", str(patch))
    assert code == 1 and "Conflict at step 1e: app.py" in err
    assert "<<<<<<< edited\nvalue = 5\n" in (built(root) / "app.py").read_text()


# -- edit and save ------------------------------------------------------------------------


def test_edit_and_save_carry_modified_added_and_deleted_files(
        long_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = long_project
    tags = [tag_of(i) for i in range(32)]
    before = refs(root)
    code, _, err = tutorial(capsys, root, "edit", "1c")
    assert code == 0, err
    assert err == (f"Step 1c is in {built(root)}. Edit it with any editor, then run "
                   "`tutorial save`.\n")
    repo = built(root)
    assert git(repo, "rev-parse", "HEAD") == commit_of(root, "1c")
    assert not (repo / "notes" / "1d.md").exists()  # a later step's file
    st = status(capsys, root)
    assert (st["editing"], st["head"], st["clean"]) == ("1c", "1c", False)

    app = repo / "app.py"
    app.write_text(app.read_text().replace("app line 15\n", "app line 15: edited at 1c\n"))
    (repo / "lib").mkdir()
    (repo / "lib" / "added.py").write_text("ADDED = True\n")
    (repo / "old.txt").unlink()
    code, _, err = tutorial(capsys, root, "save")
    assert code == 0, err
    assert err.splitlines()[-1].startswith("Rewrote 30 step(s) (1c, 1d, ")

    # The work tree is back at the (new) tip, on the branch, clean.
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(repo, "rev-parse", "HEAD") == commit_of(root, "7b")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert (repo / "lib" / "added.py").read_text() == "ADDED = True\n"
    assert not (repo / "old.txt").exists()
    assert "app line 15: edited at 1c" in (repo / "app.py").read_text()
    st = status(capsys, root)
    assert (st["editing"], st["clean"], st["head"]) == (None, True, "7b")

    after = refs(root)
    for t in tags[:2]:
        assert after[f"refs/tags/{t}"] == before[f"refs/tags/{t}"]
    for t in tags[2:]:
        assert after[f"refs/tags/{t}"] != before[f"refs/tags/{t}"]
        assert "app line 15: edited at 1c" in show(root, t, "app.py")
        assert show(root, t, "lib/added.py") == "ADDED = True"
        assert not has(root, t, "old.txt")
        assert f"changed at step {t}" in show(root, t, "app.py") or t == "1c"
    # 1c's own change now adds lib/added.py and deletes old.txt; 4c (which deleted old.txt)
    # no longer does.
    assert git(repo, "diff", "--name-status", "refs/tags/1b", "refs/tags/1c").splitlines() == [
        "M\tapp.py", "A\tlib/added.py", "A\tnotes/1c.md", "D\told.txt"]
    assert git(repo, "diff", "--name-status", "refs/tags/4b", "refs/tags/4c").splitlines() == [
        "M\tapp.py", "A\tnotes/4c.md"]
    # The message is the old one.
    assert git(repo, "log", "-1", "--format=%B", "refs/tags/1c") == "Chapter 1: Part 1 (1c)"


def test_save_with_a_new_message(conflict_project: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    old_2a = commit_of(root, "2a")
    assert tutorial(capsys, root, "edit", "2b")[0] == 0
    (built(root) / "extra.txt").write_text("extra, improved\n")
    code, _, err = tutorial(capsys, root, "save", "-m", "Chapter 2: Part 2 (2b)\n\nImproved.")
    assert code == 0, err
    repo = built(root)
    assert git(repo, "log", "-1", "--format=%B", "refs/tags/2b") == (
        "Chapter 2: Part 2 (2b)\n\nImproved.")
    assert git(repo, "log", "-1", "--format=%B", "refs/tags/2c") == "Chapter 2: Part 2 (2c)"
    assert show(root, "2c", "extra.txt") == "extra, improved"
    assert commit_of(root, "2a") == old_2a
    step = (root / "chapters").glob("*/2b.patch")
    assert b"    Improved.\n" in next(step).read_bytes()
    assert status(capsys, root)["clean"] is True


def test_save_message_alone(conflict_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    trees = {t: tree_of(root, t) for t in CONFLICT_TAGS}
    assert tutorial(capsys, root, "edit", "2a")[0] == 0
    code, _, err = tutorial(capsys, root, "save", "-m", "Chapter 2: Reworded (2a)")
    assert code == 0, err
    assert git(built(root), "log", "-1", "--format=%s", "refs/tags/2a") == (
        "Chapter 2: Reworded (2a)")
    assert {t: tree_of(root, t) for t in CONFLICT_TAGS} == trees


def test_edit_refuses_a_dirty_work_tree(conflict_project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    app = built(root) / "app.py"
    app.write_text(app.read_text() + "uncommitted\n")
    before = snapshot(root)
    code, _, err = tutorial(capsys, root, "edit", "1b")
    assert code == 1
    assert f"{built(root)} has uncommitted edits that would be overwritten: app.py" in err
    assert snapshot(root) == before
    assert status(capsys, root)["editing"] is None
    # apply refuses too, and changes nothing.
    patch = fix_patch(root, root.parent, "1b",
                      {"app.py": replace_line("value = 1\n", "value = 2\n")})
    code, _, err = tutorial(capsys, root, "apply", "1b", str(patch))
    assert code == 1 and "uncommitted edits" in err
    assert snapshot(root) == before


def test_save_without_edit(conflict_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = tutorial(capsys, conflict_project, "save")
    assert code == 1 and "no step is being edited" in err


# -- undo and the log -------------------------------------------------------------------


def test_undo_twice_restores_the_original_ids(long_project: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = long_project
    original, original_files = refs(root), project_files(root)
    first = fix_patch(root, tmp_path, "1b", {"app.py": replace_line(
        "value = 1  # set at 1b\n", "value = 2  # fixed\n")})
    assert tutorial(capsys, root, "apply", "1b", str(first))[0] == 0
    after_first, first_files = refs(root), project_files(root)
    second = fix_patch(root, tmp_path, "3a", {"README.md": replace_line(
        "It does things.\n", "It does things well.\n")})
    assert tutorial(capsys, root, "apply", "3a", str(second))[0] == 0
    after_second = refs(root)
    assert len({tuple(sorted(r.items())) for r in (original, after_first, after_second)}) == 3
    assert "It does things well." in show(root, "6b", "docs/README.md")

    code, out, _ = tutorial(capsys, root, "log")
    assert code == 0
    log = out.splitlines()
    assert len(log) == 2
    assert log[0].startswith("#1  ") and f"tutorial apply 1b {first}  [done]" in log[0]
    assert log[1].startswith("#2  ") and f"tutorial apply 3a {second}  [done]" in log[1]
    assert f"{original['refs/heads/main'][:10]} -> {after_first['refs/heads/main'][:10]}" \
        in log[0]
    assert "steps: 3a, 3b, 3c, 3d, 3e, 4a ..." in log[1]

    code, _, err = tutorial(capsys, root, "undo")
    assert code == 0, err
    assert err.startswith(f"Undid #2 `tutorial apply 3a {second}`")
    assert refs(root) == after_first
    assert project_files(root) == first_files
    code, _, err = tutorial(capsys, root, "undo")
    assert code == 0, err
    assert refs(root) == original
    assert project_files(root) == original_files
    assert git(built(root), "status", "--porcelain", "--untracked-files=all") == ""
    assert git(built(root), "rev-parse", "HEAD") == original["refs/heads/main"]
    assert status(capsys, root)["clean"] is True

    code, out, _ = tutorial(capsys, root, "log", "--json")
    ops = json.loads(out)
    assert [(op["id"], op["done"], op["undone"]) for op in ops] == [(1, True, True),
                                                                    (2, True, True)]
    assert ops[0]["old_tip"] == original["refs/heads/main"]
    assert ops[0]["new_tip"] == after_first["refs/heads/main"]
    assert "[undone]" in tutorial(capsys, root, "log")[1].splitlines()[0]
    code, _, err = tutorial(capsys, root, "undo")
    assert code == 1 and "nothing to undo" in err
    assert refs(root) == original


# -- the lock -------------------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_lock_held_by_a_live_process(conflict_project: Path, value_fix: Path,
                                     sleeper: subprocess.Popen[bytes],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    lock = root / ".tutorial" / "lock"
    lock.parent.mkdir(exist_ok=True)
    lock.write_text(json.dumps({"pid": sleeper.pid, "host": os.uname().nodename,
                                "command": "tutorial edit 1c", "since": "2026-11-24 10:00:00"}))
    held = lock.read_bytes()
    before = snapshot(root)
    for args in (("apply", "1b", str(value_fix)), ("edit", "1b"), ("save",), ("continue",),
                 ("abort",), ("undo",)):
        code, _, err = tutorial(capsys, root, *args)
        assert code == 1, args
        assert err.startswith("error: another tutorial command is changing this project: "
                              f"`tutorial edit 1c` (process {sleeper.pid} on "), args
        assert lock.read_bytes() == held
    assert snapshot(root) == before

    sleeper.kill()
    sleeper.wait()
    assert tutorial(capsys, root, "edit", "1b")[0] == 0  # a dead holder's lock is taken over
    assert not lock.exists()


# -- patches that do not fit, renames, deletions ----------------------------------------------


def test_patch_that_does_not_apply_names_file_and_hunk(
        conflict_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = conflict_project
    # Made against 1e: its second hunk's context has 1c's change, so it does not fit 1b.
    patch = fix_patch(root, tmp_path, "1e", {
        "util.py": replace_line("util line 2\n", "util line 2: fixed\n"),
        "app.py": lambda t: t.replace("app line 0\n", "app line 0: fixed\n").replace(
            "app line 22\n", "app line 22: fixed\n")})
    assert patch.read_text().count("@@ -") == 3
    before = snapshot(root)
    code, _, err = tutorial(capsys, root, "apply", "1b", str(patch))
    assert code == 1
    assert err.splitlines()[0] == ("error: step 1b, file app.py, hunk 2: the patch does not "
                                   "apply: does not match the file at line 20")
    assert snapshot(root) == before
    assert not (root / ".tutorial" / "log").exists()
    assert status(capsys, root)["clean"] is True

    (tmp_path / "empty.patch").write_bytes(b"")
    code, _, err = tutorial(capsys, root, "apply", "1b", str(tmp_path / "empty.patch"))
    assert code == 1 and "the patch changes no file" in err
    code, _, err = tutorial(capsys, root, "apply", "9z", str(patch))
    assert code == 1 and "no step '9z'" in err
    assert snapshot(root) == before


def test_rename_in_a_later_step_carries_the_fix(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    body = lines(30, "helper")
    steps: list[Files] = [
        {"helper.py": "".join(body), "app.py": "import helper\n"},  # 1a
        {"app.py": "import helper\nhelper.run()\n"},  # 1b
        {"helper.py": None, "lib/helpers.py": "".join(body)},  # 1c: a pure rename
        {"lib/helpers.py": "".join([*body[:25], "helper line 25: changed at 1d\n",
                                    *body[26:]])},  # 1d
    ]
    root = make_project(tmp_path, steps)
    assert git(built(root), "diff", "-M", "--name-status", "refs/tags/1b",
               "refs/tags/1c") == "R100\thelper.py\tlib/helpers.py"
    patch = fix_patch(root, tmp_path, "1a", {"helper.py": replace_line(
        "helper line 3\n", "helper line 3: fixed\n")})
    expected = rebased_trees(root, tmp_path, "1a", patch)
    code, _, err = tutorial(capsys, root, "apply", "1a", str(patch))
    assert code == 0, err
    assert [tree_of(root, t) for t in ("1a", "1b", "1c", "1d")] == expected
    for t in ("1c", "1d"):
        assert "helper line 3: fixed" in show(root, t, "lib/helpers.py")
        assert not has(root, t, "helper.py")
    assert "helper line 25: changed at 1d" in show(root, "1d", "lib/helpers.py")
    assert git(built(root), "diff", "-M", "--name-status", "refs/tags/1b",
               "refs/tags/1c") == "R100\thelper.py\tlib/helpers.py"


def test_step_deleting_a_fixed_file_conflicts(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    steps: list[Files] = [
        {"legacy.py": "".join(lines(10, "legacy")), "app.py": "app\n"},  # 1a
        {"app.py": "app\nmore\n"},  # 1b
        {"legacy.py": None},  # 1c deletes legacy.py
        {"app.py": "app\nmore\nand more\n"},  # 1d
    ]
    root = make_project(tmp_path, steps)
    before = refs(root)
    patch = fix_patch(root, tmp_path, "1a", {"legacy.py": replace_line(
        "legacy line 4\n", "legacy line 4: fixed\n")})
    code, _, err = tutorial(capsys, root, "apply", "1a", str(patch))
    assert code == 1
    assert "Conflict at step 1c: legacy.py" in err
    assert refs(root) == before
    rewrite = status(capsys, root)["rewrite"]
    assert isinstance(rewrite, dict)
    assert (rewrite["step"], rewrite["conflicts"]) == ("1c", ["legacy.py"])
    # The work tree shows the edited file the step would delete: the author decides.
    assert "legacy line 4: fixed" in (built(root) / "legacy.py").read_text()
    (built(root) / "legacy.py").unlink()  # the step still deletes it
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 0, err
    assert "legacy line 4: fixed" in show(root, "1a", "legacy.py")
    assert "legacy line 4: fixed" in show(root, "1b", "legacy.py")
    for t in ("1c", "1d"):
        assert not has(root, t, "legacy.py")
    assert show(root, "1d", "app.py") == "app\nmore\nand more"
    assert git(built(root), "diff", "--name-status", "refs/tags/1b", "refs/tags/1c") == (
        "D\tlegacy.py")
    # The next time the same conflict comes up, the deletion is remembered.
    assert tutorial(capsys, root, "undo")[0] == 0
    code, _, err = tutorial(capsys, root, "apply", "1a", str(patch))
    assert code == 0 and "step 1c: reused a remembered conflict resolution" in err


def test_two_conflicts_in_one_rewrite_and_a_new_file_in_a_resolution(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = conflict_history()
    app = steps[-1]["app.py"]
    assert app is not None
    steps.append({"app.py": app.replace("value = 10\n", "value = 100\n")})  # 2d
    steps.append({"app.py": app.replace("value = 10\n", "value = 100\n") + "tail\n"})  # 2e
    root = make_project(tmp_path, steps)
    original = refs(root)
    patch = fix_patch(root, tmp_path, "1b", {"app.py": replace_line("value = 1\n",
                                                                     "value = 2\n")})
    assert tutorial(capsys, root, "apply", "1b", str(patch))[0] == 1
    resolve(root)
    (built(root) / "CHANGES.md").write_text("value is 20 from 1e on\n")  # a new file
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 1 and "Conflict at step 2d: app.py" in err
    assert status(capsys, root)["rewrite"]["step"] == "2d"  # type: ignore[index]
    assert "<<<<<<< edited\nvalue = 20\n=======\nvalue = 100\n" in (
        built(root) / "app.py").read_text()
    assert (built(root) / "CHANGES.md").read_text() == "value is 20 from 1e on\n"
    assert refs(root) == original
    resolve(root, old="value = 100\n", new="value = 200\n")
    code, _, err = tutorial(capsys, root, "continue")
    assert code == 0, err
    assert [show(root, t, "app.py").splitlines()[5] for t in
            ("1a", "1b", "1d", "1e", "2c", "2d", "2e")] == [
        "app line 5", "value = 2", "value = 2", "value = 20", "value = 20", "value = 200",
        "value = 200"]
    assert not has(root, "1d", "CHANGES.md")
    for t in ("1e", "2a", "2e"):
        assert show(root, t, "CHANGES.md") == "value is 20 from 1e on"
    assert git(built(root), "status", "--porcelain", "--untracked-files=all") == ""
    assert status(capsys, root)["clean"] is True
    # One operation: one undo puts everything back.
    assert len(json.loads(tutorial(capsys, root, "log", "--json")[1])) == 1
    assert tutorial(capsys, root, "undo")[0] == 0
    assert refs(root) == original


def test_fix_changing_a_mode_adding_and_deleting_files_matches_git_rebase(
        long_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = long_project
    scratch = tmp_path / "scratch"
    git(tmp_path, "clone", "-q", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", "refs/tags/2a")
    (scratch / "util.py").chmod(0o755)  # util.py is renamed (and edited) at 3e
    (scratch / "old.txt").unlink()  # which 4c deletes
    (scratch / "tools").mkdir()
    (scratch / "tools" / "run.sh").write_text("#!/bin/sh\necho run\n")
    (scratch / "tools" / "run.sh").chmod(0o755)
    app = scratch / "app.py"
    app.write_text(app.read_text().replace("app line 200\n", "app line 200: fixed\n"))
    git(scratch, "add", "-A")
    patch = tmp_path / "fix.patch"
    patch.write_bytes(git(scratch, "diff", "--cached").encode() + b"\n")
    text = patch.read_text()
    assert "new mode 100755" in text and "deleted file mode" in text and "new file mode" in text
    expected = rebased_trees(root, tmp_path, "2a", patch)
    code, _, err = tutorial(capsys, root, "apply", "2a", str(patch))
    assert code == 0, err
    assert [tree_of(root, t) for t in (tag_of(i) for i in range(5, 32))] == expected
    ls = git(built(root), "ls-tree", "-r", "refs/tags/7b", "pkg/util.py", "tools/run.sh")
    assert [line.split()[0] for line in ls.splitlines()] == ["100755", "100755"]
    assert not has(root, "7b", "old.txt")
    assert git(built(root), "diff", "--name-status", "refs/tags/4b", "refs/tags/4c").splitlines(
        ) == ["M\tapp.py", "A\tnotes/4c.md"]


def test_fix_renaming_a_file_that_later_steps_edit(
        conflict_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """git rebase follows a rename made by the fix: later edits land in the renamed file."""
    root = conflict_project
    scratch = tmp_path / "renamed"
    git(tmp_path, "clone", "-q", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", "refs/tags/1c")
    git(scratch, "mv", "util.py", "helpers.py")
    patch = tmp_path / "rename.patch"
    patch.write_bytes(git(scratch, "diff", "--cached", "-M").encode() + b"\n")
    expected = rebased_trees(root, tmp_path, "1c", patch)
    code, _, err = tutorial(capsys, root, "apply", "1c", str(patch))
    assert code == 0, err
    assert [tree_of(root, t) for t in CONFLICT_TAGS[2:]] == expected
    assert "util line 25: changed at 1d" in show(root, "2c", "helpers.py")
    assert not has(root, "2c", "util.py")


def test_rename_into_a_folder_the_fix_did_not_touch(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    steps: list[Files] = [
        {"top.txt": "".join(lines(10, "top")), "pkg/sub/x.txt": "x\n", "other.txt": "o\n"},
        {"top.txt": None, "pkg/sub/top.txt": "".join(lines(10, "top"))},  # 1b: a rename
        {"pkg/sub/x.txt": "x\ny\n"},  # 1c
    ]
    root = make_project(tmp_path, steps)
    patch = fix_patch(root, tmp_path, "1a", {"other.txt": lambda _: "o, fixed\n"})
    expected = rebased_trees(root, tmp_path, "1a", patch)
    code, _, err = tutorial(capsys, root, "apply", "1a", str(patch))
    assert code == 0, err
    assert [tree_of(root, t) for t in ("1a", "1b", "1c")] == expected
    assert show(root, "1c", "other.txt") == "o, fixed"

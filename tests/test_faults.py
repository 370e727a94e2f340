"""Crash safety of history editing: `tutorial apply` (and `save`) SIGKILLed at every named
point (`TUTORIAL_KILL_AT`, see tutorial_tools/faults.py) leaves either the old state or one
that `tutorial status` reports, never half-moved tags; `continue` then gives exactly what an
uninterrupted run gives, and `abort` exactly the old refs and step files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from testing.gitrepo import Repo, git, worktree_files
from testing.hermetic import hermetic
from tutorial_tools import manifest
from tutorial_tools.cli import cli
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer
from tutorial_tools.reporter import Recorder

ROOT = Path(__file__).resolve().parent.parent

KILL_POINTS = ("rewrite:computed", "rewrite:logged", "rewrite:first-file", "rewrite:files",
               "build:worktree", "build:refs")

TAGS = ("1a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "3c", "3d")


def _history(path: Path) -> None:
    """Ten steps in three chapters; app.py changes at every step, far from line 5."""
    src = Repo(path)
    app = [f"app line {i}\n" for i in range(120)]
    for i, tag in enumerate(TAGS):
        app[10 + 10 * i] = f"app line {10 + 10 * i}: {tag}\n"
        src.write("app.py", "".join(app))
        src.write(f"notes/{tag}.txt", f"{tag}\n")
        chapter = tag[0]
        src.commit(f"Chapter {chapter}: Part {chapter} ({tag})", tag=tag,
                   annotate=f"Chapter {chapter}\n" if tag.endswith("a") else None)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An imported and built project, copied by each test (module-wide: built once)."""
    with pytest.MonkeyPatch.context() as mp:  # the hermetic fixture is function-scoped
        hermetic(mp, tmp_path_factory.mktemp("template-home"))
        tmp = tmp_path_factory.mktemp("template")
        _history(tmp / "src")
        root = tmp / "project"
        importer.import_repository(str(tmp / "src"), root, Recorder())
        build_mod.build(manifest.load(root / "tutorial.yaml"), Recorder())
        fix = tmp / "fix.patch"
        fix.write_bytes(b"--- a/app.py\n+++ b/app.py\n@@ -4,5 +4,5 @@\n app line 3\n"
                        b" app line 4\n-app line 5\n+app line 5: fixed\n app line 6\n"
                        b" app line 7\n")
        # 2a changes line 40 too: this one stops there with a conflict.
        (tmp / "conflict.patch").write_bytes(
            b"--- a/app.py\n+++ b/app.py\n@@ -40,3 +40,3 @@\n app line 39\n-app line 40\n"
            b"+app line 40: fixed\n app line 41\n")
        return root


@pytest.fixture(scope="module")
def reference(template: Path) -> Path:
    """The template with the fix applied by an uninterrupted `tutorial apply`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("HOME", str(template.parent))
        root = copy(template, template.parent / "reference")
        proc = tutorial(root, "apply", "1b", str(template.parent / "fix.patch"))
        assert proc.returncode == 0, proc.stderr
        return root


def tutorial(root: Path, *args: str, kill_at: str | None = None,
             ) -> subprocess.CompletedProcess[str]:
    """`python -m tutorial_tools --project ROOT ARGS` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k != "TUTORIAL_KILL_AT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if kill_at:
        env["TUTORIAL_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "tutorial_tools", "--project", str(root),
                           *args], capture_output=True, text=True, env=env)


def copy(root: Path, to: Path) -> Path:
    """A copy of the project. Copied files have new timestamps, so the copy's index is
    refreshed, as on the machine where nothing was copied (`git read-tree -m`, which
    `tutorial build` uses to move the work tree, refuses entries whose stat data is stale)."""
    shutil.copytree(root, to, symlinks=True)
    if (built(to) / ".git").exists():
        subprocess.run(["git", "-C", str(built(to)), "update-index", "-q", "--refresh"],
                       capture_output=True)
    return to


def built(root: Path) -> Path:
    return root / "build" / "repo"


def refs(root: Path, *prefixes: str) -> dict[str, str]:
    out = git(built(root), "for-each-ref", "--format=%(objectname) %(refname)", *prefixes)
    return {ref: oid for oid, ref in (line.split(" ") for line in out.splitlines())}


def tags_and_branch(root: Path) -> dict[str, str]:
    return refs(root, "refs/heads/", "refs/tags/")


def chapters(root: Path) -> dict[str, bytes]:
    files = {"tutorial.yaml": (root / "tutorial.yaml").read_bytes()}
    for p in sorted((root / "chapters").rglob("*")):
        if p.is_file():
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def read_only(root: Path, *args: str) -> str:
    """The output of a command that changes nothing (`status`, `log`), run in this process."""
    result = CliRunner().invoke(cli, ["--project", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def status(root: Path) -> dict[str, object]:
    data = json.loads(read_only(root, "status", "--json"))
    assert isinstance(data, dict)
    return data


def at_tip_and_clean(root: Path) -> None:
    """The work tree is on the branch, at its tip, with nothing uncommitted."""
    repo = built(root)
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", "refs/heads/main")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_template_fix_is_clean(template: Path, tmp_path: Path) -> None:
    root = copy(template, tmp_path / "p")
    proc = tutorial(root, "apply", "1b", str(template.parent / "fix.patch"), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "Would change 9 step(s): 1b, 1c, 2a, 2b, 2c, 3a, 3b, 3c, 3d"]


# What each kill leaves: are the step files old, mixed or new; are the refs old or new; is
# the operation logged (and so interrupted)?
LEFT = {
    "rewrite:computed": ("old", "old", False),
    "rewrite:logged": ("old", "old", True),
    "rewrite:first-file": ("mixed", "old", True),
    "rewrite:files": ("new", "old", True),
    "build:worktree": ("new", "old", True),
    "build:refs": ("new", "new", True),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_apply_killed(point: str, template: Path, reference: Path, tmp_path: Path) -> None:
    fix = str(template.parent / "fix.patch")
    old_refs, old_files = tags_and_branch(template), chapters(template)
    old_worktree = worktree_files(built(template))

    # What an uninterrupted run gives.
    new_refs, new_files, all_new_refs = (tags_and_branch(reference), chapters(reference),
                                         refs(reference))
    assert {r for r in old_refs if old_refs[r] != new_refs[r]} == {"refs/heads/main"} | {
        f"refs/tags/{t}" for t in TAGS[1:]}

    # The run killed at `point`.
    root = copy(template, tmp_path / "killed")
    proc = tutorial(root, "apply", "1b", fix, kill_at=point)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    files_state, refs_state, logged = LEFT[point]

    # Tags are never half moved: every ref is old, or every ref is new.
    now = tags_and_branch(root)
    assert set(now) == set(old_refs)
    assert now == (old_refs if refs_state == "old" else new_refs)
    files = chapters(root)
    changed = {f for f in files if files[f] != old_files[f]}
    assert set(files) == set(old_files)
    if files_state == "old":
        assert not changed
    elif files_state == "new":
        assert files == new_files
    else:
        assert len(changed) == 1 and all(files[f] == new_files[f] for f in changed)

    st = status(root)
    if not logged:  # exactly the old state, and nothing to recover
        assert st["clean"] is True and st["interrupted"] is None
        assert worktree_files(built(root)) == old_worktree
        assert refs(root) == refs(template)
    else:
        assert st["clean"] is False
        assert st["interrupted"] == f"tutorial apply 1b {fix}"
        assert st["rewrite"] is None
        text = read_only(root, "status")
        assert "was interrupted while writing: finish it with `tutorial continue` or go " \
               "back with `tutorial abort`" in text
        # Nothing else starts until it is settled.
        proc = tutorial(root, "apply", "1c", fix)
        assert proc.returncode == 1 and "was interrupted" in proc.stderr
        assert tags_and_branch(root) == now

    aborted = copy(root, tmp_path / "aborted")

    # Recovery 1: forwards. An unlogged run is simply run again.
    proc = tutorial(root, "continue") if logged else tutorial(root, "apply", "1b", fix)
    assert proc.returncode == 0, proc.stderr
    assert refs(root) == all_new_refs  # the same commits, tags and backup ref
    assert chapters(root) == new_files
    st = status(root)
    assert (st["clean"], st["interrupted"], st["unbuilt"]) == (True, None, [])
    at_tip_and_clean(root)
    assert worktree_files(built(root)) == worktree_files(built(reference))
    log = json.loads(read_only(root, "log", "--json"))
    assert [(op["done"], op["undone"]) for op in log] == [(True, False)]
    # ... and it can be undone like any other.
    assert tutorial(root, "undo").returncode == 0
    assert tags_and_branch(root) == old_refs and chapters(root) == old_files

    # Recovery 2: backwards.
    proc = tutorial(aborted, "abort")
    if not logged:
        assert proc.returncode == 1 and "no rewrite is stopped" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(aborted) == old_refs
    assert chapters(aborted) == old_files
    assert worktree_files(built(aborted)) == old_worktree
    at_tip_and_clean(aborted)
    st = status(aborted)
    assert (st["clean"], st["interrupted"], st["unbuilt"]) == (True, None, [])
    # Afterwards the same fix goes through as if nothing had happened.
    proc = tutorial(aborted, "apply", "1b", fix)
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(aborted) == new_refs


@pytest.mark.parametrize("point", ("rewrite:files", "build:worktree", "build:refs"))
def test_build_settles_the_refs_after_a_kill(point: str, template: Path, reference: Path,
                                             tmp_path: Path) -> None:
    """Killed once the step files are written, `tutorial build` (which `status` suggests for
    the unbuilt steps) gives the new refs; `continue` then only closes the log entry."""
    fix = str(template.parent / "fix.patch")
    root = copy(template, tmp_path / "killed")
    assert tutorial(root, "apply", "1b", fix, kill_at=point).returncode == -signal.SIGKILL
    proc = tutorial(root, "build", *(["--force"] if point == "build:refs" else []))
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(root) == tags_and_branch(reference)
    at_tip_and_clean(root)
    assert status(root)["interrupted"] == f"tutorial apply 1b {fix}"
    assert tutorial(root, "continue").returncode == 0
    assert refs(root) == refs(reference)
    assert status(root)["clean"] is True


@pytest.mark.parametrize("point", KILL_POINTS)
def test_save_killed_never_loses_the_edits(point: str, template: Path, tmp_path: Path) -> None:
    """`save` SIGKILLed anywhere: `continue` (or `save` again, when nothing was logged) gives
    what an uninterrupted save gives, and `abort` gives back the old refs with the edits in
    the work tree, still being edited."""
    old_refs, old_files = tags_and_branch(template), chapters(template)

    def start_editing(root: Path) -> None:
        assert tutorial(root, "edit", "1c").returncode == 0
        app = built(root) / "app.py"
        app.write_text(app.read_text().replace("app line 5\n", "app line 5: edited\n"))
        (built(root) / "added.txt").write_text("added at 1c\n")

    reference = copy(template, tmp_path / "reference")
    start_editing(reference)
    proc = tutorial(reference, "save")
    assert proc.returncode == 0, proc.stderr
    new_refs, new_files = tags_and_branch(reference), chapters(reference)
    assert git(built(reference), "show", "refs/tags/3d:added.txt") == "added at 1c"

    root = copy(template, tmp_path / "killed")
    start_editing(root)
    editing_worktree = worktree_files(built(root))
    assert tutorial(root, "save", kill_at=point).returncode == -signal.SIGKILL
    now = tags_and_branch(root)
    assert now in (old_refs, new_refs)
    logged = LEFT[point][2]
    st = status(root)
    assert st["interrupted"] == ("tutorial save" if logged else None)
    aborted = copy(root, tmp_path / "aborted")

    proc = tutorial(root, "continue" if logged else "save")
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(root) == new_refs
    assert chapters(root) == new_files
    at_tip_and_clean(root)
    st = status(root)
    assert (st["clean"], st["editing"], st["interrupted"]) == (True, None, None)

    if logged:
        proc = tutorial(aborted, "abort")
        assert proc.returncode == 0, proc.stderr
        assert tags_and_branch(aborted) == old_refs
        assert chapters(aborted) == old_files
        assert status(aborted)["editing"] == "1c"
        assert worktree_files(built(aborted)) == editing_worktree
        assert git(built(aborted), "rev-parse", "HEAD") == git(
            built(aborted), "rev-parse", "refs/tags/1c^{commit}")
        proc = tutorial(aborted, "save")  # and saving again gives the same result
        assert proc.returncode == 0, proc.stderr
        assert tags_and_branch(aborted) == new_refs


def _resolve(root: Path) -> None:
    app = built(root) / "app.py"
    text = app.read_text()
    start, end = text.index("<<<<<<< "), text.index(">>>>>>> ")
    app.write_text(text[:start] + "app line 40: 2a, fixed\n" + text[text.index("\n", end) + 1:])


@pytest.mark.parametrize("point", ("rewrite:computed", "rewrite:logged", "build:refs"))
def test_continue_killed_keeps_the_resolution(point: str, template: Path,
                                              tmp_path: Path) -> None:
    """`continue` SIGKILLed after it took the resolution from the work tree: running it again
    finishes with that resolution; `abort` gives the old state."""
    fix = str(template.parent / "conflict.patch")
    old_refs, old_files = tags_and_branch(template), chapters(template)
    old_worktree = worktree_files(built(template))

    reference = copy(template, tmp_path / "reference")
    assert tutorial(reference, "apply", "1b", fix).returncode == 1
    _resolve(reference)
    proc = tutorial(reference, "continue")
    assert proc.returncode == 0, proc.stderr
    new_refs, new_files = tags_and_branch(reference), chapters(reference)
    assert git(built(reference), "show", "refs/tags/3d:app.py").count("2a, fixed") == 1

    root = copy(template, tmp_path / "killed")
    proc = tutorial(root, "apply", "1b", fix)
    assert proc.returncode == 1 and "Conflict at step 2a: app.py" in proc.stderr
    _resolve(root)
    assert tutorial(root, "continue", kill_at=point).returncode == -signal.SIGKILL
    assert tags_and_branch(root) in (old_refs, new_refs)
    aborted = copy(root, tmp_path / "aborted")

    proc = tutorial(root, "continue")
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(root) == new_refs
    assert chapters(root) == new_files
    at_tip_and_clean(root)
    st = status(root)
    assert (st["clean"], st["rewrite"], st["interrupted"]) == (True, None, None)

    proc = tutorial(aborted, "abort")
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(aborted) == old_refs
    assert chapters(aborted) == old_files
    assert worktree_files(built(aborted)) == old_worktree
    at_tip_and_clean(aborted)
    st = status(aborted)
    assert (st["clean"], st["rewrite"], st["interrupted"]) == (True, None, None)


def test_a_new_chapter_killed_before_its_step_file_is_written(template: Path,
                                                               tmp_path: Path) -> None:
    """Killed after the manifest names the new step, before its file exists: the commands
    that stop at the missing file point to `continue` and `abort` (restoring the file from
    the project's own git history cannot work: the operation was creating it), and both
    work."""
    root = copy(template, tmp_path / "killed")
    git(root, "init", "-q")  # a project kept in git: the usual hint is `git checkout`
    old_refs, old_files = tags_and_branch(root), chapters(root)
    add = ("step", "add", "4a", "--after", "3d", "--chapter", "Admin")
    assert tutorial(root, *add, kill_at="rewrite:first-file").returncode == -signal.SIGKILL
    aborted = copy(root, tmp_path / "aborted")
    other = copy(root, tmp_path / "other")  # a file the operation did not write, gone too
    (other / "chapters" / "01-part-1" / "1a.patch").unlink()
    proc = tutorial(other, "build")
    assert proc.returncode == 1
    assert "checkout -- chapters/01-part-1/1a.patch`" in proc.stderr
    assert "Then settle `tutorial step add 4a" in proc.stderr
    for command in (("build",), ("step", "drop", "1a")):
        proc = tutorial(root, *command)
        assert proc.returncode == 1
        assert "chapters/04-admin/4a.patch is missing" in proc.stderr
        assert "checkout --" not in proc.stderr
        assert ("`tutorial step add 4a --after 3d --chapter Admin` (#1) was interrupted "
                "while writing it: finish it with `tutorial continue`, or go back with "
                "`tutorial abort`") in " ".join(proc.stderr.split())
    text = read_only(root, "status")
    assert "restore with" not in text and "`tutorial continue`" in text
    proc = tutorial(root, "continue")
    assert proc.returncode == 0, proc.stderr
    assert (root / "chapters" / "04-admin" / "4a.patch").is_file()
    assert "refs/tags/4a" in tags_and_branch(root)
    proc = tutorial(aborted, "abort")
    assert proc.returncode == 0, proc.stderr
    assert tags_and_branch(aborted) == old_refs and chapters(aborted) == old_files

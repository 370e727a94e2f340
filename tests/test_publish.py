"""`tutorial publish` with real bare repositories as remotes: a first publish, a publish
after a rewrite (only the moved refs), a remote someone else changed (refused, nothing
changed), deleted steps, a dry run, and the refusals while a rewrite is unfinished."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testing.cli import tutorial
from testing.gitrepo import git
from testing.tutorials import load, make_project
from tutorial_tools.engine import changes as changes_mod
from tutorial_tools.gitstore import RefUpdate, Repository
from tutorial_tools.gitstore.remote import push


def numbered(n: int, **changed: str) -> str:
    return "".join(changed.get(f"l{i}", f"app line {i}") + "\n" for i in range(n))


STEPS = [
    ("1a", {"app.py": numbered(20), "README.md": "# App\n"}),
    ("1b", {"app.py": numbered(20, l5="value = 1")}),
    ("2a", {"app.py": numbered(20, l5="value = 10")}),
    ("2b", {"notes.md": "notes\n"}),
    ("2c", {"app.py": numbered(20, l5="value = 10", l15="app 15 at 2c")}),
]


def built(root: Path) -> Path:
    return root / "build" / "repo"


def refs_of(repo: Path) -> dict[str, str]:
    """The branches and tags of a repository, each with the object it names."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/",
              "refs/tags/")
    return {ref: oid for oid, ref in (line.split(" ") for line in out.splitlines())}



@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """(project, an empty bare repository that is the built repository's `origin`)."""
    root = make_project(tmp_path, STEPS)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(built(root), "remote", "add", "origin", str(remote))
    return root, remote


def fix(root: Path, tmp: Path, tag: str, path: str, old: str, new: str) -> Path:
    """A patch file replacing `old` by `new` in PATH as it is at TAG."""
    scratch = tmp / f"fix-{tag}"
    git(tmp, "clone", "-q", "--no-checkout", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    target = scratch / path
    target.write_text(target.read_text().replace(old, new))
    patch = tmp / f"fix-{tag}.patch"
    patch.write_text(git(scratch, "diff", "--full-index") + "\n")
    return patch


def record(root: Path) -> dict[str, str]:
    data = json.loads((built(root) / ".git/tutorial/published/origin.json").read_text())
    assert isinstance(data["refs"], dict)
    return data["refs"]


def test_first_publish_then_up_to_date(project: tuple[Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = project
    code, out, err = tutorial(capsys, root, "publish")
    assert code == 0, err
    assert err.startswith(f"Pushed 6 ref(s) to origin ({remote}) in one atomic push:")
    assert "  1a               new: " in out and "  refs/heads/main  new: " in out
    assert "First publish to origin: nothing to compare with yet." in err
    assert refs_of(remote) == refs_of(built(root))
    assert record(root) == refs_of(built(root))
    # The published commits stay reachable for `tutorial changes origin`.
    assert git(built(root), "rev-parse", "refs/tutorial/published/origin/tags/2c") == \
        refs_of(built(root))["refs/tags/2c"]

    code, out, err = tutorial(capsys, root, "publish", "origin")
    assert code == 0, err
    assert err.startswith(f"Up to date: origin ({remote}) holds every ref of the build")
    assert "5 step(s): 5 same, 0 changed" not in out and "5 step(s): 5 same; 0 fix(es)" in out
    assert refs_of(remote) == refs_of(built(root))


def test_publish_after_a_rewrite_pushes_only_the_moved_refs(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    assert tutorial(capsys, root, "publish")[0] == 0
    first = refs_of(remote)
    patch = fix(root, tmp_path, "2b", "notes.md", "notes\n", "notes, fixed\n")
    code, _, err = tutorial(capsys, root, "apply", "2b", str(patch))
    assert code == 0, err

    # `changes origin` compares with what was published, without the network.
    away = tmp_path / "away.git"
    remote.rename(away)
    code, out, err = tutorial(capsys, root, "changes", "origin", "--format", "json")
    away.rename(remote)
    assert code == 0, err
    data = json.loads(out)
    assert [(f["introduced_at"], f["inherited_by"]) for f in data["fixes"]] == [("2b", ["2c"])]

    errata = tmp_path / "docs" / "errata.md"
    code, out, err = tutorial(capsys, root, "publish", "--errata", str(errata))
    assert code == 0, err
    assert err.startswith("Pushed 3 ref(s) to origin")
    moved = [line.split()[0] for line in out.splitlines() if " -> " in line]
    assert moved == ["refs/heads/main", "2b", "2c"]
    assert "Fix introduced at 2b (notes.md): inherited by 2c" in out
    assert "A publish cannot be undone with `tutorial undo`" in err
    now = refs_of(remote)
    assert now == refs_of(built(root))
    assert {r for r in now if now[r] != first[r]} == {"refs/heads/main", "refs/tags/2b",
                                                      "refs/tags/2c"}
    assert "## Step 2b: `notes.md`" in errata.read_text()
    result = changes_mod.changes(load(root), "origin")
    assert {s.status for s in result.steps} == {"same"}


def test_a_remote_changed_by_someone_else_is_refused(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    assert tutorial(capsys, root, "publish")[0] == 0
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(remote), str(other))
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "commit", "-q", "-m", "Someone else's commit")
    git(other, "tag", "-f", "2c")
    git(other, "push", "-q", "--force", "origin", "main", "refs/tags/2c")
    theirs = refs_of(remote)
    patch = fix(root, tmp_path, "2b", "notes.md", "notes\n", "notes, fixed\n")
    assert tutorial(capsys, root, "apply", "2b", str(patch))[0] == 0
    published_before = record(root)

    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1
    assert "2 ref(s) on origin" in err and "changed since tutorial last published there: " \
        "someone else pushed" in err
    assert f"refs/heads/main: published {published_before['refs/heads/main'][:10]}, now " \
        f"{theirs['refs/heads/main'][:10]}" in err
    assert "Nothing was pushed." in err and "tutorial publish origin --force" in err
    assert refs_of(remote) == theirs and record(root) == published_before

    code, _, err = tutorial(capsys, root, "publish", "--force")
    assert code == 0, err
    assert refs_of(remote) == refs_of(built(root))


def test_the_lease_refuses_a_push_that_races_another(project: tuple[Path, Path]) -> None:
    """The push itself, atomic: one stale lease and no ref moves, not even the good one."""
    root, remote = project
    ours = refs_of(built(root))
    with Repository(built(root)) as repo:
        assert push(repo, "origin", [RefUpdate(r, oid, None) for r, oid in ours.items()]).ok
        one, two = ours["refs/tags/1a"], ours["refs/tags/1b"]
        result = push(repo, "origin", [RefUpdate("refs/tags/1a", two, one),
                                       RefUpdate("refs/tags/1b", one, ours["refs/tags/2a"])])
    assert not result.ok
    assert {r.ref: r.rejected for r in result.refs} == {"refs/tags/1a": True,
                                                        "refs/tags/1b": True}
    assert "stale info" in next(r for r in result.refs if r.ref == "refs/tags/1b").summary
    assert refs_of(remote) == ours


def test_deleted_steps_are_deleted_on_the_remote(
        project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = project
    assert tutorial(capsys, root, "publish")[0] == 0
    code, _, err = tutorial(capsys, root, "step", "drop", "2b")
    assert code == 0, err
    code, out, err = tutorial(capsys, root, "publish")
    assert code == 0, err
    assert "  2b               deleted (was " in out
    assert "refs/tags/2b" not in refs_of(remote)
    assert refs_of(remote) == refs_of(built(root))
    assert "refs/tags/2b" not in record(root)
    assert "  2b         removed" in out


def test_dry_run_lists_what_would_move_and_changes_nothing(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    code, out, err = tutorial(capsys, root, "publish", "--dry-run")
    assert code == 0, err
    assert err.startswith("Would push 6 ref(s) to origin")
    assert refs_of(remote) == {}
    assert not (built(root) / ".git/tutorial/published/origin.json").exists()
    assert tutorial(capsys, root, "publish")[0] == 0
    patch = fix(root, tmp_path, "2b", "notes.md", "notes\n", "notes, fixed\n")
    assert tutorial(capsys, root, "apply", "2b", str(patch))[0] == 0
    before, recorded = refs_of(remote), record(root)
    code, out, err = tutorial(capsys, root, "publish", "--dry-run")
    assert code == 0, err
    assert err.startswith("Would push 3 ref(s) to origin")
    assert [line.split()[0] for line in out.splitlines() if " -> " in line] == [
        "refs/heads/main", "2b", "2c"]
    assert refs_of(remote) == before and record(root) == recorded


def test_refuses_while_a_rewrite_is_stopped_or_the_work_tree_has_edits(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    (built(root) / "README.md").write_text("# App, edited\n")
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and "uncommitted edits" in err and "README.md" in err
    assert "Nothing was published." in err
    assert f"(`git -C {built(root)} checkout HEAD -- README.md`)" in " ".join(err.split())
    git(built(root), "checkout", "--", "README.md")
    patch = fix(root, tmp_path, "1b", "app.py", "value = 1\n", "value = 2\n")
    code, _, err = tutorial(capsys, root, "apply", "1b", str(patch))
    assert code == 1 and "Conflict at step 2a" in err
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and "a rewrite is stopped at step 2a" in err
    assert "tutorial continue" in err
    assert refs_of(remote) == {}


def test_refuses_what_a_rewrite_refuses_and_says_so(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The checks `publish` shares with the rewrites, each worded for publishing."""
    root, remote = project
    repo = built(root)
    assert tutorial(capsys, root, "edit", "1b")[0] == 0
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and "error: step 1b is being edited" in err
    assert "Nothing was published. Run `tutorial save` (or `tutorial abort`), then publish." \
        in " ".join(err.split())
    assert tutorial(capsys, root, "abort")[0] == 0
    git(repo, "tag", "-f", "1a", "2a")
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and f"error: refs in {repo} were moved outside tutorial: 1a" in err
    assert "Nothing was published." in err and "`tutorial build --force`" in err
    assert tutorial(capsys, root, "build", "--force")[0] == 0
    step = next((root / "chapters").glob("*/2b.patch"))
    step.write_bytes(step.read_bytes().replace(b"+notes\n", b"+notes, edited\n"))
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1
    assert "error: chapters/ has changes the built history does not have yet (from step 2b)" \
        in err
    assert "Nothing was published. Run `tutorial build`, then publish." in " ".join(err.split())
    assert refs_of(remote) == {}
    assert tutorial(capsys, root, "build")[0] == 0
    assert tutorial(capsys, root, "publish")[0] == 0
    assert refs_of(remote) == refs_of(repo)


def test_a_missing_remote_says_how_to_add_one(
        project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = project
    code, _, err = tutorial(capsys, root, "publish", "upstream")
    assert code == 1
    assert f"`git -C {built(root)} remote add upstream URL`" in err
    git(built(root), "remote", "remove", "origin")
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and "has no remote to publish to" in err
    assert f"`git -C {built(root)} remote add origin URL`" in err


def test_first_publish_to_a_remote_that_holds_other_refs(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    other = make_project(tmp_path / "other", [("1a", {"other.txt": "other\n"})])
    git(built(other), "push", "-q", str(remote), "main", "refs/tags/1a")
    theirs = refs_of(remote)
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1
    assert "already holds 2 of the refs to publish, with other values" in err
    assert refs_of(remote) == theirs
    code, _, err = tutorial(capsys, root, "publish", "--force")
    assert code == 0, err
    assert refs_of(remote) == refs_of(built(root))
    shutil.rmtree(other)


def test_killed_after_pushing_the_next_publish_records_it(
        project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root, remote = project
    assert tutorial(capsys, root, "publish")[0] == 0
    patch = fix(root, tmp_path, "2b", "notes.md", "notes\n", "notes, fixed\n")
    assert tutorial(capsys, root, "apply", "2b", str(patch))[0] == 0
    before = record(root)
    env = {**os.environ, "TUTORIAL_KILL_AT": "publish:pushed",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "tutorial_tools", "--project", str(root),
                           "publish"], capture_output=True, text=True, env=env)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert refs_of(remote) == refs_of(built(root)) and record(root) == before
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 0, err
    assert "Up to date" in err and "(recorded as published)" in err
    assert record(root) == refs_of(built(root))


def test_an_unreachable_remote_says_what_to_check_and_records_nothing(
        project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = project
    shutil.rmtree(remote)
    code, _, err = tutorial(capsys, root, "publish")
    assert code == 1 and "ls-remote" in err and str(remote) in err
    assert "Nothing was pushed" in err and "`tutorial publish origin`" in err
    assert not (built(root) / ".git/tutorial/published/origin.json").exists()


def test_a_remote_named_like_an_option_is_a_name(
        project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = project
    git(built(root), "remote", "rename", "--", "origin", "-x")
    code, out, err = tutorial(capsys, root, "publish")
    assert code == 0, err
    assert refs_of(remote) == refs_of(built(root))
    assert (built(root) / ".git/tutorial/published/-x.json").is_file()
    code, out, err = tutorial(capsys, root, "changes", "--", "-x")
    assert code == 0, err
    assert out.startswith("Changes from -x (as last published) to build/repo: 5 step(s): 5 same")
    code, _, err = tutorial(capsys, root, "publish", "--", "-y")
    assert code == 1 and f"`git -C {built(root)} remote add -- -y URL`" in err

"""Conflicts that markers cannot show (binary, delete/modify) put both versions beside the
path; `continue` takes the author's choice and drops the side files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from testing.tutorials import import_and_build
from tutorial_tools import manifest
from tutorial_tools.engine.rewrite import apply_patch, continue_
from tutorial_tools.reporter import Recorder


def test_binary_conflict_shows_both_versions(tmp_path: Path) -> None:
    src = Repo(tmp_path / "src")
    src.write("logo.bin", b"\x00v1\x00" * 20)
    src.commit("Chapter 1: Logo (1a)", tag="1a")
    src.write("logo.bin", b"\x00v2\x00" * 20)
    src.commit("Chapter 1: Logo (1b)", tag="1b")
    root = tmp_path / "project"
    import_and_build(src, root)
    repo = root / "build" / "repo"
    git(repo, "checkout", "-q", "--detach", "1a")
    (repo / "logo.bin").write_bytes(b"\x00fixed\x00" * 20)
    patch = git_bytes_diff(repo)
    git(repo, "checkout", "-q", "--", "logo.bin")
    git(repo, "checkout", "-q", "main")

    result = apply_patch(manifest.load(root / "tutorial.yaml"), "1a", patch, Recorder(),
                         command="apply")
    assert result.status == "stopped"
    assert result.conflicts == ("logo.bin",)
    assert set(result.sides) == {"logo.bin~edited", "logo.bin~1b"}
    assert (repo / "logo.bin~edited").read_bytes() == b"\x00fixed\x00" * 20
    assert (repo / "logo.bin~1b").read_bytes() == b"\x00v2\x00" * 20

    (repo / "logo.bin").write_bytes(b"\x00fixed v2\x00" * 20)
    done = continue_(manifest.load(root / "tutorial.yaml"), Recorder())
    assert done.status == "done"
    files = git(repo, "ls-tree", "-r", "--name-only", "1b").splitlines()
    assert files == ["logo.bin"]
    assert not (repo / "logo.bin~edited").exists()


def git_bytes_diff(repo: Path) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "diff", "--binary", "--full-index"],
                          capture_output=True, check=True).stdout


def test_save_with_a_title_or_a_message(tmp_path: Path) -> None:
    from tutorial_tools.engine.rewrite import edit, save
    from tutorial_tools.engine.status import status

    src = Repo(tmp_path / "src")
    for tag in ("1a", "1b", "1c"):
        src.write(f"{tag}.txt", tag)
        src.commit(f"Chapter 1: Start ({tag})", tag=tag)
    root = tmp_path / "project"
    import_and_build(src, root)
    repo = root / "build" / "repo"
    edit(manifest.load(root / "tutorial.yaml"), "1b")
    save(manifest.load(root / "tutorial.yaml"), Recorder(), command="save", title="Better")
    assert git(repo, "log", "-1", "--format=%s", "1b") == "Chapter 1: Better (1b)"
    assert manifest.load(root / "tutorial.yaml").step("1b").title == "Better"
    edit(manifest.load(root / "tutorial.yaml"), "1c")
    save(manifest.load(root / "tutorial.yaml"), Recorder(), command="save",
         message="Own words\n\nA body.")
    assert git(repo, "log", "-1", "--format=%B", "1c") == "Own words\n\nA body."
    assert manifest.load(root / "tutorial.yaml").step("1c").message == "Own words"
    assert status(manifest.load(root / "tutorial.yaml")).clean


def test_abort_ends_an_edit_without_edits_only(tmp_path: Path) -> None:
    from tutorial_tools.engine.ready import editing
    from tutorial_tools.engine.rewrite import abort, edit
    from tutorial_tools.errors import DirtyWorkTree

    src = Repo(tmp_path / "src")
    for tag in ("1a", "1b"):
        src.write(f"{tag}.txt", tag)
        src.commit(f"Chapter 1: Start ({tag})", tag=tag)
    root = tmp_path / "project"
    import_and_build(src, root)
    repo = root / "build" / "repo"
    edit(manifest.load(root / "tutorial.yaml"), "1a")
    (repo / "1a.txt").write_text("changed")
    with pytest.raises(DirtyWorkTree):
        abort(manifest.load(root / "tutorial.yaml"), Recorder())
    assert (repo / "1a.txt").read_text() == "changed"
    git(repo, "checkout", "--", "1a.txt")
    abort(manifest.load(root / "tutorial.yaml"), Recorder())
    assert editing(manifest.load(root / "tutorial.yaml")) is None
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert (repo / "1b.txt").exists()
    assert git(repo, "status", "--porcelain") == ""

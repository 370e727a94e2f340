"""Batched reads and the streamed `diff-tree`: one process for many objects and patches,
answers in order, failures named, and no process left behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from tutorial_tools.engine.changes import read_history
from tutorial_tools.errors import SourceError
from tutorial_tools.gitstore import EMPTY_TREE, Repository, git_env
from tutorial_tools.gitstore.difftree import PIPE_SIZE, DiffTree


def _history(path: Path, n: int) -> Repo:
    src = Repo(path)
    for i in range(n):
        src.write(f"f{i % 7}.txt", "line\n" * (i + 1))
        src.commit(f"step {i}", tag=f"t{i}")
    src.commit("empty")
    return src


def test_read_many_answers_in_order(tmp_path: Path) -> None:
    src = _history(tmp_path / "src", 30)
    commits = git(src.path, "rev-list", "--reverse", "HEAD").split()
    with Repository(src.path) as repo:
        many = repo.read_many([*commits, commits[0]], b"commit")
        assert many == [repo.read_kind(c, b"commit") for c in [*commits, commits[0]]]
        with pytest.raises(SourceError, match="is missing"):
            repo.read_many([commits[1], "0" * 40, commits[2]], b"commit")
        with pytest.raises(SourceError, match="not a tree"):
            repo.read_many([commits[0]], b"tree")
        assert repo.read_kind(commits[3], b"commit") == many[3]  # the pipe is still in step


def test_diff_trees_stream_matches_git_and_handles_empty_diffs(tmp_path: Path) -> None:
    src = _history(tmp_path / "src", 40)
    with Repository(src.path) as repo:
        chain = repo.first_parent_chain("refs/heads/main")
        trees = [tree for _, _, tree in chain]
        pairs = [(a, b) for a, b in zip([EMPTY_TREE, *trees], trees, strict=False)]
        pairs += [(trees[5], trees[5]), (trees[5], trees[5]), (trees[0], trees[-1])]
        patches = list(repo.diff_trees_stream(pairs))
    assert len(patches) == len(pairs)
    assert patches[-4] == b"" and patches[-3] == patches[-2] == b""  # the empty commit, a==b
    for (a, b), patch in zip(pairs[1:40], patches[1:40], strict=True):
        want = git(src.path, "diff-tree", "-p", "--full-index", "-M", "--histogram", a, b)
        assert patch.decode().strip() == want


def test_an_abandoned_stream_stops_its_process(tmp_path: Path) -> None:
    src = _history(tmp_path / "src", 40)
    with Repository(src.path) as repo:
        trees = [tree for _, _, tree in repo.first_parent_chain("refs/heads/main")]
        stream = repo.diff_trees_stream([(EMPTY_TREE, t) for t in trees] * 50)
        assert next(stream).startswith(b"diff --git ")
        started = time.monotonic()
        stream.close()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 5


def test_a_diff_never_read_is_stopped_when_the_repository_closes(tmp_path: Path) -> None:
    src = _history(tmp_path / "src", 3)
    with Repository(src.path) as repo:
        trees = [tree for _, _, tree in repo.first_parent_chain("refs/heads/main")]
        repo.diff_trees_stream([(EMPTY_TREE, t) for t in trees] * 100)  # never read
        assert repo.peeled_tags() == {f"t{i}": (c, c) for i, c in enumerate(
            git(src.path, "rev-list", "--reverse", "HEAD").split()[:3])}
    # (an unreaped process would fail the test: pytest turns ResourceWarning into an error)


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="Linux only")
def test_git_may_write_a_mebibyte_of_patches_ahead(tmp_path: Path) -> None:
    import fcntl

    src = _history(tmp_path / "src", 3)
    with Repository(src.path) as repo:
        trees = [tree for _, _, tree in repo.first_parent_chain("refs/heads/main")]
        proc = DiffTree(["git", f"--git-dir={repo.git_dir}", "diff-tree", "--stdin", "-p"],
                        ["diff-tree"], [(EMPTY_TREE, t) for t in trees], repo.git_dir,
                        git_env())
        try:
            stdout = proc.proc.stdout
            assert stdout is not None
            assert fcntl.fcntl(stdout.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_SIZE == 1 << 20
            assert sum(1 for _ in proc.patches()) == len(trees)
        finally:
            proc.stop()


def test_peel_follows_tags_of_tags_for_many_tags_at_once(tmp_path: Path) -> None:
    src = _history(tmp_path / "src", 40)  # lightweight tags t0 .. t39
    for i in range(0, 40, 2):  # many annotated tags, and tags of tags of them
        src.tag(f"a{i}", f"t{i}", annotate=f"annotated {i}\n")
    src.tag("nested", "a4", annotate="a tag of a tag\n")
    src.tag("deeper", "nested", annotate="a tag of a tag of a tag\n")
    src.tag("tree", "t7^{tree}", annotate="a tag of a tree\n")
    with Repository(src.path) as repo:
        tags = {r.removeprefix("refs/tags/"): oid for r, oid in repo.refs("refs/tags/").items()}
        peeled = repo.peel(tags.values())
        want = {name: git(src.path, "rev-parse", "--verify", f"refs/tags/{name}^{{}}")
                for name in tags}
        assert {name: peeled[oid] for name, oid in tags.items()} == want
        assert peeled[tags["deeper"]] == git(src.path, "rev-parse", "t4")
        assert peeled[tags["tree"]] == git(src.path, "rev-parse", "t7^{tree}")
        assert repo.peel([]) == {}
        # Every tag names the commit it peels to, once; the tag of a tree names no step.
        history = read_history(repo, "src", src.head(), tags)
        at = {s.tag: s.commit for s in history.steps}
        assert at == {name: want[name] for name in tags if name != "tree"}
        assert [s.tag for s in history.steps][:5] == ["a0", "t0", "t1", "a2", "t2"]
        assert {s.tag for s in history.steps if s.commit == want["t4"]} == {
            "a4", "deeper", "nested", "t4"}
        missing = "0" * 39 + "1"
        with pytest.raises(SourceError, match=f"object {missing} .*is missing"):
            repo.peel([tags["t1"], missing])
        with pytest.raises(SourceError, match="is not an object id"):
            repo.peel([tags["t1"] + "\nHEAD"])

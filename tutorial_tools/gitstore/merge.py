"""Plumbing for carrying a change through later steps: tree changes, file merges, work trees."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import GitError
from .diff3 import clean_merge
from .objects import ZERO_ID
from .repo import Repository, git_env


@dataclass(frozen=True)
class Change:
    """One path a step changed: git's raw diff status A, D, M, T or R (rename)."""

    status: str
    old_mode: bytes | None
    new_mode: bytes | None
    old_oid: str | None
    new_oid: str | None
    path: bytes  # the old path for D, M, T and R; the new path for A
    new_path: bytes  # where the content ends up (differs from `path` for R)


def raw_changes(repo: Repository, pairs: Sequence[tuple[str, str]]) -> list[list[Change]]:
    """What changed between each (old tree, new tree) pair, renames detected, from one process."""
    if not pairs:
        return []
    out = repo.git("diff-tree", "--stdin", "--always", "-r", "-z", "--raw", "-M",
                   input="".join(f"{a} {b}\n" for a, b in pairs).encode())
    result: list[list[Change]] = []
    pos = 0

    def field() -> bytes:
        nonlocal pos
        end = out.index(b"\0", pos)
        value = out[pos:end]
        pos = end + 1
        return value

    while pos < len(out):
        if out[pos:pos + 1] != b":":  # the echoed "<old> <new>" line starts a pair
            pos = out.index(b"\n", pos) + 1
            result.append([])
            continue
        old_mode, new_mode, old_oid, new_oid, status = field()[1:].split(b" ")
        kind = status[:1].decode()
        path = new_path = field()
        if kind in ("R", "C"):
            new_path = field()
        result[-1].append(Change(
            "A" if kind == "C" else kind,
            None if old_mode == b"000000" else old_mode,
            None if new_mode == b"000000" else new_mode,
            None if old_oid.decode() == ZERO_ID else old_oid.decode(),
            None if new_oid.decode() == ZERO_ID else new_oid.decode(),
            new_path if kind == "C" else path, new_path,
        ))
    if len(result) != len(pairs):
        raise GitError(["diff-tree", "--stdin", "--raw"], 0, b"", b"unexpected output")
    return result


@dataclass(frozen=True)
class FileMerge:
    content: bytes
    conflicts: int  # 0: clean


def merge_file(repo: Repository, base: bytes, ours: bytes, theirs: bytes,
               labels: tuple[str, str, str]) -> FileMerge | None:
    """A three-way content merge as git's `merge-file` makes it; None for binary content.

    Merges git is certain to make cleanly are made in memory (`diff3.clean_merge`); the
    rest, conflicts included, by `git merge-file` itself.
    """
    merged = clean_merge(base, ours, theirs)
    if merged is not None:
        return FileMerge(merged, 0)
    return git_merge_file(base, ours, theirs, labels)


def git_merge_file(base: bytes, ours: bytes, theirs: bytes,
                   labels: tuple[str, str, str]) -> FileMerge | None:
    """A three-way content merge by `git merge-file`; None for binary content."""
    with tempfile.TemporaryDirectory(prefix="tutorial-merge-") as tmp:
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            p = Path(tmp) / name
            p.write_bytes(data)
            paths.append(str(p))
        proc = subprocess.run(
            ["git", "merge-file", "-p", "-L", labels[0], "-L", labels[1], "-L", labels[2],
             "--", *paths], capture_output=True, env=git_env(), cwd=tmp,
        )
    if proc.returncode < 0 or proc.returncode > 127 or b"Cannot merge binary" in proc.stderr:
        return None
    return FileMerge(proc.stdout, proc.returncode)


def snapshot_worktree(repo: Repository, base_tree: str) -> str:
    """The tree of every file in the work tree (tracked or new, ignored ones excepted),
    made in a scratch index so the repository's own index is untouched."""
    assert repo.work_tree is not None
    fd, index = tempfile.mkstemp(prefix="tutorial-index-")
    os.close(fd)
    os.unlink(index)
    try:
        for args in (["read-tree", base_tree], ["add", "-A", "--", "."], ["write-tree"]):
            out = repo.git(*args, env={"GIT_INDEX_FILE": index})
        return out.decode().strip()
    finally:
        Path(index).unlink(missing_ok=True)


def reset_worktree(repo: Repository, tree: str, *, held: str | None = None) -> None:
    """Make the index and the work tree hold `tree`, discarding what they held.

    Only called once everything they held is saved as objects (see `snapshot_worktree`).
    `held` is that snapshot: files it has that the index lacks (new, untracked files) are
    removed too, instead of being left behind in the way of the next checkout.
    """
    if held is not None:
        repo.git("read-tree", held)
    repo.git("read-tree", "--reset", "-u", tree)


def move_worktree(repo: Repository, old_tree: str, new_tree: str) -> None:
    """Two-way merge from `old_tree` to `new_tree`: refuses rather than lose an edit."""
    repo.git("read-tree", "-m", "-u", old_tree, new_tree)


def detach_head(repo: Repository, commit: str) -> None:
    repo.git("update-ref", "--no-deref", "HEAD", commit)


def attach_head(repo: Repository, ref: str) -> None:
    repo.git("symbolic-ref", "HEAD", ref)


def blame(repo: Repository, commit: str, path: bytes) -> list[str]:
    """For each line of `path` at `commit`, the commit that last wrote it."""
    out = repo.git("blame", "--incremental", commit, "--",
                   path.decode("utf-8", "surrogateescape"))
    owners: dict[int, str] = {}
    for line in out.split(b"\n"):
        parts = line.split(b" ")
        if len(parts) == 4 and len(parts[0]) == 40:
            oid, _, final, count = parts
            start = int(final)
            for n in range(start, start + int(count)):
                owners[n] = oid.decode()
    return [owners[n] for n in sorted(owners)]

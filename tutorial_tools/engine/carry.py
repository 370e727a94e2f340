"""Carry a changed step through every later step: a three-way merge per step, on git objects.

For each later step, its own change (old parent tree -> old step tree, renames detected) is
replayed onto the new parent tree. Paths the edit did not touch take the step's version
outright; content merges (git's `merge-file`) run only for files both sides changed.
Resolutions of earlier conflicts are remembered by the conflict's content and reused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..gitstore import MutableTree, Repository, TreeEntry
from ..gitstore.merge import Change, git_merge_file, merge_file, raw_changes
from ..gitstore.objects import EMPTY_TREE


@dataclass(frozen=True)
class Conflict:
    index: int  # the step that did not merge cleanly
    paths: tuple[str, ...]
    tree: str  # its merge result, conflict markers included: what the work tree shows
    sides: tuple[str, ...] = ()  # both versions of conflicts markers cannot show


@dataclass(frozen=True)
class Carried:
    trees: dict[int, str]  # step index -> new tree, from the edited step on
    conflict: Conflict | None = None
    reused: tuple[int, ...] = ()  # steps where a remembered resolution was applied
    conflicted: tuple[int, ...] = field(default=())  # with keep_going: every conflicted step
    # Steps whose own change is still the one they had (the same files, from and to the
    # same versions): their patches need no new diff.
    same_change: frozenset[int] = frozenset()


class Resolutions:
    """Remembered conflict resolutions, keyed by (path, base, ours, theirs) like git's rerere."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, list[str] | None] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    @staticmethod
    def key(path: bytes, base: TreeEntry | None, ours: TreeEntry | None,
            theirs: TreeEntry | None) -> str:
        h = hashlib.sha1(path)
        for e in (base, ours, theirs):
            h.update(b"\0" + (e.mode + b" " + e.oid.encode() if e else b"-"))
        return h.hexdigest()

    def lookup(self, key: str) -> tuple[bool, TreeEntry | None]:
        """(known?, the remembered entry or None for "the path goes")."""
        if key not in self.data:
            return False, None
        value = self.data[key]
        return True, None if value is None else TreeEntry(value[0].encode(), b"", value[1])

    def remember(self, key: str, entry: TreeEntry | None) -> None:
        self.data[key] = None if entry is None else [entry.mode.decode(), entry.oid]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


@dataclass(frozen=True)
class PendingConflict:
    """What `continue` needs to remember the author's resolution of one path."""

    path: bytes
    key: str
    sides: tuple[bytes, ...] = ()  # `<path>~edited`, `<path>~<step>`: shown, never kept


def carry(repo: Repository, old_trees: Sequence[str], start: int, new_tree: str,
          labels: Sequence[str], resolutions: Resolutions, *,
          known: dict[int, str] | None = None, keep_going: bool = False,
          bases: Sequence[str] | None = None,
          ) -> tuple[Carried, list[PendingConflict]]:
    """New trees for steps `start`.. when step `start` now has `new_tree`.

    Step i's own change is `bases[i]` -> `old_trees[i]` (by default, its parent's old tree:
    a reordered sequence passes the parents each step had). `start` may be -1 (with the
    empty tree): every step is replayed. `known` gives trees already settled (a resolved
    conflict). Stops at the first step that does not merge cleanly, unless `keep_going`
    (a dry run), which lists them all.
    """
    if bases is None:
        bases = [old_trees[i - 1] if i else EMPTY_TREE for i in range(len(old_trees))]
    trees = {start: new_tree, **(known or {})}
    later = range(start + 1, len(old_trees))
    pairs = [(bases[i], old_trees[i]) for i in later]
    if start >= 0:  # and the edit itself, for the files it renamed
        pairs.append((old_trees[start], trees[start]))
    repo.flush()  # git reads the trees: any made in memory must be stored first
    diffs = raw_changes(repo, pairs)
    changes = dict(zip(later, diffs, strict=False))
    renamed = {c.path: c.new_path for c in diffs[-1] if c.status == "R"} if start >= 0 else {}
    # The files the edit changed are the ones later steps' changes will likely need merged:
    # their two versions are read ahead, a window of steps at a time.
    edited = {p for c in diffs[-1] for p in (c.path, c.new_path)} if start >= 0 else set()
    blobs: dict[str, bytes] = {}
    read_up_to = start
    reused: list[int] = []
    conflicted: list[int] = []
    same: set[int] = set()
    for i in later:
        if i in trees:
            continue
        ours = trees[i - 1]
        if ours == bases[i]:  # the parent came out as it was: so does the step
            trees[i] = old_trees[i]
            same.add(i)
            continue
        if i > read_up_to and edited:
            read_up_to = min(i + _READ_AHEAD, len(old_trees)) - 1
            blobs = _read_ahead(repo, [changes[j] for j in range(i, read_up_to + 1)], edited)
        tree_id, conflicts, used, unchanged = _merge_step(repo, ours, changes[i], resolutions,
                                                          labels[i], renamed, blobs)
        trees[i] = tree_id
        if unchanged:
            same.add(i)
        if used:
            reused.append(i)
        if conflicts:
            if not keep_going:
                paths = tuple(c.path.decode("utf-8", "surrogateescape") for c in conflicts)
                sides = tuple(s.decode("utf-8", "surrogateescape")
                              for c in conflicts for s in c.sides)
                return (Carried(trees, Conflict(i, paths, tree_id, sides), tuple(reused)),
                        conflicts)
            conflicted.append(i)
    trees.pop(-1, None)
    return Carried(trees, None, tuple(reused), tuple(conflicted), frozenset(same)), []


_READ_AHEAD = 64  # steps whose files are read at once


def _read_ahead(repo: Repository, changes: list[list[Change]], paths: set[bytes],
                ) -> dict[str, bytes]:
    """Both versions of every regular file these steps change among `paths`."""
    oids = [oid for step in changes for c in step if c.path in paths
            for mode, oid in ((c.old_mode, c.old_oid), (c.new_mode, c.new_oid))
            if oid is not None and mode is not None and mode.startswith(b"100")]
    return dict(zip(oids, repo.read_many(oids, b"blob"), strict=True))


def _blob(repo: Repository, blobs: dict[str, bytes], oid: str) -> bytes:
    data = blobs.get(oid)
    return data if data is not None else repo.read_kind(oid, b"blob")


def _merge_step(repo: Repository, ours_tree: str, changes: list[Change],
                resolutions: Resolutions, label: str, renamed: dict[bytes, bytes],
                blobs: dict[str, bytes]) -> tuple[str, list[PendingConflict], bool, bool]:
    """The step's new tree, its conflicts, whether a remembered resolution was used, and
    whether its change is the same as before (every path it changes was as it had it)."""
    tree = MutableTree(repo, ours_tree)
    conflicts: list[PendingConflict] = []
    reused = False
    same = True
    for ch in changes:
        base = _entry(ch.old_mode, ch.old_oid)
        theirs = _entry(ch.new_mode, ch.new_oid)
        # A rename in a later step carries edits made to the file under its old name.
        ours = tree.get(ch.path)
        target = ch.new_path
        if ours is None and ch.status in ("M", "T") and ch.path in renamed:
            # ... and a change to a file the edit renamed goes to its new name, as in git.
            moved = tree.get(renamed[ch.path])
            if moved is not None:
                ours, target = moved, renamed[ch.path]
        result: TreeEntry | None
        same = same and _same(ours, base) and target == ch.new_path and (
            ch.status != "R" or tree.get(ch.new_path) is None)
        if _same(ours, base) or _same(ours, theirs):
            result = theirs
        else:
            key = Resolutions.key(target, base, ours, theirs)
            known, remembered = resolutions.lookup(key)
            if known:
                result, reused = remembered, True
            else:
                result, clean = _merge_entries(repo, base, ours, theirs, label, blobs)
                if not clean:
                    sides = _sides(tree, target, ours, theirs, label, result)
                    conflicts.append(PendingConflict(target, key, sides))
        if ch.status == "R":
            tree.remove(ch.path)
        if result is None:
            tree.remove(target)
        else:
            tree.get(target)  # loads its folders: MutableTree.set fails on unloaded ones
            tree.set(target, result.mode, result.oid)
    return tree.write(), conflicts, reused, same and not conflicts


def _sides(tree: MutableTree, path: bytes, ours: TreeEntry | None, theirs: TreeEntry | None,
           label: str, shown: TreeEntry | None) -> tuple[bytes, ...]:
    """Where markers cannot show a conflict (binary files, a deletion on one side, links),
    put both versions beside the path: `<path>~edited` and `<path>~<step>`."""
    if shown is not None and shown is not ours and shown is not theirs:
        return ()  # text with conflict markers: that says it all
    sides = []
    for suffix, entry in ((b"~edited", ours), (b"~" + label.encode(), theirs)):
        side = path + suffix
        if entry is not None and tree.get(side) is None and not tree.is_dir(side):
            tree.set(side, entry.mode, entry.oid)
            sides.append(side)
    return tuple(sides)


def _entry(mode: bytes | None, oid: str | None) -> TreeEntry | None:
    return TreeEntry(mode, b"", oid) if mode is not None and oid is not None else None


def _same(a: TreeEntry | None, b: TreeEntry | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.mode == b.mode and a.oid == b.oid


def _merge_entries(repo: Repository, base: TreeEntry | None, ours: TreeEntry | None,
                   theirs: TreeEntry | None, label: str, blobs: dict[str, bytes],
                   ) -> tuple[TreeEntry | None, bool]:
    """One path both sides changed: (its clean merge, True), or (what the work tree shows for
    the conflict, False): both sides with conflict markers when they are text, else the
    step's own version (or the edited one, if the step deletes it)."""
    shown = theirs if theirs is not None else ours
    if ours is None or theirs is None:
        return shown, False  # deleted on one side, changed on the other
    if not (ours.mode.startswith(b"100") and theirs.mode.startswith(b"100")):
        return shown, False  # symlinks and submodules are the author's call
    mode = _merge_mode(base, ours, theirs)
    if mode is not None and ours.oid == theirs.oid:
        return TreeEntry(mode, b"", ours.oid), True
    base_data = _blob(repo, blobs, base.oid) if base and base.mode.startswith(b"100") else b""
    data = (base_data, _blob(repo, blobs, ours.oid), _blob(repo, blobs, theirs.oid))
    labels = ("edited", "before", label)
    if mode is None:  # a mode clash is a conflict, its content merged only to show it
        merged = git_merge_file(*data, labels)
    else:
        # A conflict here comes from `git merge-file` (an in-memory merge is always clean),
        # so its markers are the ones shown.
        merged = merge_file(repo, *data, labels)
        if merged is not None and not merged.conflicts:
            return TreeEntry(mode, b"", repo.write(b"blob", merged.content, like=ours.oid)), True
    if merged is None:
        return shown, False  # binary
    return TreeEntry(theirs.mode, b"", repo.write(b"blob", merged.content)), False


def _merge_mode(base: TreeEntry | None, ours: TreeEntry, theirs: TreeEntry) -> bytes | None:
    if ours.mode == theirs.mode:
        return ours.mode
    if base is not None and ours.mode == base.mode:
        return theirs.mode
    if base is not None and theirs.mode == base.mode:
        return ours.mode
    return None

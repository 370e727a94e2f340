"""A git tree edited in memory: subtrees load on first use, and only changed ones are written."""

from __future__ import annotations

from dataclasses import dataclass, field

from .objects import EMPTY_TREE, TREE_MODE, TreeEntry
from .repo import Repository


@dataclass
class _Dir:
    oid: str | None  # None once changed and not yet written
    entries: dict[bytes, TreeEntry | _Dir] | None = field(default=None)
    was: str | None = None  # the tree it was loaded from, once changed: new ones are like it
    # Loaded entries come in git's order, and keep it while entries are only replaced:
    # a new name, or a file that becomes a folder or back, needs a sort when written.
    unordered: bool = False


class MutableTree:
    """Paths are bytes relative to the root, separated by b"/"."""

    def __init__(self, repo: Repository, oid: str = EMPTY_TREE) -> None:
        self._repo = repo
        # An empty start is written on first use: git does not store the empty tree by itself.
        self._root = _Dir(None, {}) if oid == EMPTY_TREE else _Dir(oid)

    def _entries(self, d: _Dir) -> dict[bytes, TreeEntry | _Dir]:
        if d.entries is None:
            assert d.oid is not None
            d.entries = {e.name: _Dir(e.oid) if e.mode == TREE_MODE else e
                         for e in self._repo.tree_entries(d.oid)}
        return d.entries

    def _walk(self, parts: list[bytes], *, create: bool) -> _Dir | None:
        d = self._root
        for name in parts:
            entries = self._entries(d)
            child = entries.get(name)
            if not isinstance(child, _Dir):
                if not create:
                    return None
                child = entries[name] = _Dir(None, {})
                d.unordered = True
            d = child
        return d

    def get(self, path: bytes) -> TreeEntry | None:
        """The file, symlink or gitlink at `path`, or None."""
        *parents, name = path.split(b"/")
        d = self._walk(parents, create=False)
        if d is None:
            return None
        entry = self._entries(d).get(name)
        return entry if isinstance(entry, TreeEntry) else None

    def is_dir(self, path: bytes) -> bool:
        return self._walk(path.split(b"/"), create=False) is not None

    def set(self, path: bytes, mode: bytes, oid: str) -> None:
        *parents, name = path.split(b"/")
        self._touch(parents)
        d = self._walk(parents, create=True)
        assert d is not None
        entries = self._entries(d)
        if not isinstance(entries.get(name), TreeEntry):
            d.unordered = True
        entries[name] = TreeEntry(mode, name, oid)

    def remove(self, path: bytes) -> None:
        *parents, name = path.split(b"/")
        d = self._walk(parents, create=False)
        if d is None or name not in self._entries(d):
            return
        self._touch(parents)
        del self._entries(d)[name]
        # git keeps no empty directories: drop the ones this removal emptied.
        while parents and not self._entries(d):
            last = parents.pop()
            d = self._walk(parents, create=False)
            assert d is not None
            del self._entries(d)[last]

    def _touch(self, parents: list[bytes]) -> None:
        """Mark the folders down to `parents` changed (loading them first: a changed folder
        no longer knows the id to load from)."""
        d = self._root
        self._entries(d)
        d.was, d.oid = d.was or d.oid, None
        for name in parents:
            child = self._entries(d).get(name)
            if not isinstance(child, _Dir):
                return
            self._entries(child)
            child.was, child.oid = child.was or child.oid, None
            d = child

    def write(self) -> str:
        """Store every changed tree and return the root tree's id."""
        return self._write(self._root)

    def _write(self, d: _Dir) -> str:
        if d.oid is not None:
            return d.oid
        entries = [TreeEntry(TREE_MODE, name, self._write(child)) if isinstance(child, _Dir)
                   else child for name, child in self._entries(d).items()]
        d.oid = self._repo.write_tree(entries, like=d.was, ordered=not d.unordered)
        return d.oid

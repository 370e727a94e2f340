"""Apply a step's patch to a tree in memory, exactly as git would, refusing unsafe paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import PatchError, UnsafePath
from ..gitstore import MutableTree, Repository, TreeEntry, object_id
from ..gitstore.objects import GITLINK_MODE
from ..patch import FilePatch, HunkFailed, apply_binary, apply_hunks


def check_path(step: str, path: bytes) -> None:
    """Refuse absolute paths, `..`, empty parts, and anything inside `.git`."""
    parts = path.split(b"/")
    if (not path or path.startswith(b"/") or b"\0" in path
            or any(p in (b"", b".", b"..") or p.lower() == b".git" for p in parts)):
        raise UnsafePath(step, path.decode("utf-8", "replace"))


@dataclass(frozen=True)
class _Result:
    patch: FilePatch
    entry: TreeEntry | None  # what lands at new_path


def apply_to_tree(repo: Repository, tree: MutableTree, files: Sequence[FilePatch], step: str,
                  ) -> None:
    """Apply every file of a patch: all old contents are read before anything is written,
    so swaps and renames onto deleted paths behave as in `git apply`."""
    results = [_apply_file(repo, tree, fp, step) for fp in files]
    leaving = {fp.old_path for fp in files if fp.old_path is not None and not fp.copy
               and fp.old_path != fp.new_path}
    for path in leaving:
        tree.remove(path)
    for r in results:
        fp = r.patch
        if r.entry is None:
            continue
        assert fp.new_path is not None
        if fp.old_path is None and fp.new_path not in leaving and (
                tree.get(fp.new_path) is not None or tree.is_dir(fp.new_path)):
            raise PatchError(step, fp.display_path, None, "the patch creates it, but it exists")
        parts = fp.new_path.split(b"/")
        for depth in range(1, len(parts)):
            folder = b"/".join(parts[:depth])
            if tree.get(folder) is not None:
                raise PatchError(step, fp.display_path, None,
                                 f"its folder {folder.decode('utf-8', 'replace')} is a file")
        tree.set(fp.new_path, r.entry.mode, r.entry.oid)


def _apply_file(repo: Repository, tree: MutableTree, fp: FilePatch, step: str) -> _Result:
    for path in (fp.old_path, fp.new_path):
        if path is not None:
            check_path(step, path)
    old_entry = None
    if fp.old_path is not None:
        old_entry = tree.get(fp.old_path)
        if old_entry is None:
            raise PatchError(step, fp.old_path.decode("utf-8", "replace"), None,
                             "the patch changes it, but it does not exist")
    if fp.new_path is None:
        return _Result(fp, None)
    mode = fp.new_mode or (old_entry.mode if old_entry else b"100644")
    changes_content = bool(fp.hunks) or fp.is_binary
    if not changes_content:
        oid = old_entry.oid if old_entry else repo.write(b"blob", b"")
        return _Result(fp, TreeEntry(mode, fp.new_path.rsplit(b"/", 1)[-1], oid))
    old = _content(repo, old_entry)
    if fp.binary_without_data:
        if fp.new_oid and len(fp.new_oid) == 40 and repo.existing([fp.new_oid]):
            return _Result(fp, TreeEntry(mode, fp.new_path.rsplit(b"/", 1)[-1], fp.new_oid))
        raise PatchError(step, fp.display_path, None,
                         "binary change without its data (make patches with --binary)")
    try:
        new = apply_binary(old, fp.binary) if fp.binary else apply_hunks(old, fp.hunks)
    except HunkFailed as e:
        raise PatchError(step, fp.display_path, e.index, e.reason) from e
    except ValueError as e:
        raise PatchError(step, fp.display_path, None, str(e)) from e
    if fp.binary is not None:
        _check_binary(fp, old_entry, object_id(b"blob", new), step)
    if mode == GITLINK_MODE:
        oid = new.removeprefix(b"Subproject commit ").strip().decode()
    else:
        oid = repo.write(b"blob", new)
    return _Result(fp, TreeEntry(mode, fp.new_path.rsplit(b"/", 1)[-1], oid))


def _content(repo: Repository, entry: TreeEntry | None) -> bytes:
    if entry is None:
        return b""
    if entry.mode == GITLINK_MODE:
        return b"Subproject commit " + entry.oid.encode() + b"\n"
    return repo.read_kind(entry.oid, b"blob")


def _check_binary(fp: FilePatch, old_entry: TreeEntry | None, new_oid: str, step: str) -> None:
    """Binary patches are checked against the blob ids they record, as `git apply` does.

    (Text patches are not: an author may edit a step's `+` lines by hand, and later steps'
    hunks then apply by their context.)
    """
    old_oid = old_entry.oid if old_entry else None
    same_base = old_oid == fp.old_oid or (
        old_oid is not None and fp.old_oid is not None and old_oid.startswith(fp.old_oid))
    if not same_base:
        if fp.binary is not None and fp.binary.method == "delta":
            raise PatchError(step, fp.display_path, None,
                             "the binary delta was made against other content than the "
                             "file has at the step before")
        return
    if fp.new_oid and not new_oid.startswith(fp.new_oid):
        raise PatchError(step, fp.display_path, None,
                         f"the binary patch gives {new_oid[:12]}, but records "
                         f"{fp.new_oid[:12]}: the patch is damaged")

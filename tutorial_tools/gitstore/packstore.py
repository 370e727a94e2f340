"""Store new objects as one pack with its index, written here rather than by `git index-pack`.

The objects' ids are known already (they were hashed when written), so the index follows
from the pack as it is built (pack.py): no process to start, nothing to inflate and hash
again. The files appear as git's own do: the pack first, then its index (git finds a pack
by its index), each written under a temporary name, synced and renamed into place, read-only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .pack import build_indexed_pack


def objects_dir(git_dir: Path) -> Path:
    """The object store of the repository whose git directory is `git_dir` (a linked work
    tree's is in the common directory)."""
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return git_dir / "objects"
    return (git_dir / common).resolve() / "objects"


def store_pack(pack_dir: Path, objects: Mapping[str, tuple[bytes, bytes]],
               like: Mapping[str, str]) -> None:
    """Write `objects` (id -> (kind, content)) as one pack and index into `pack_dir`."""
    pack, index = build_indexed_pack(objects, like)
    name = pack_dir / f"pack-{pack[-20:].hex()}"
    if name.with_suffix(".idx").exists():
        return  # the very same objects, stored before
    _put(pack_dir, pack, name.with_suffix(".pack"))
    _put(pack_dir, index, name.with_suffix(".idx"))


def _put(folder: Path, data: bytes, dest: Path) -> None:
    import tempfile  # 1-3 ms to import: only when a pack is stored

    fd, tmp = tempfile.mkstemp(prefix="tmp_pack_", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise

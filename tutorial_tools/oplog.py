"""The operation log: every rewrite is one entry, holding the files it changed as they were.

`.tutorial/log/<n>.json` describes entry n; `.tutorial/log/<n>/before.zip` keeps the bytes
of every file the operation changed as they were before it (a file it created is recorded as
absent), and `<n>/after.zip` as the operation writes them (one archive each, not a file per
step file: a rewrite of 500 steps writes 2 files, not 1,000). `tutorial undo` puts the "before"
bytes back and rebuilds, and can be repeated to go further back. An entry not marked done
was interrupted: `tutorial continue` rolls it forward from "after", `tutorial abort` back.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .errors import TutorialError
from .project import STATE_DIR


@dataclass(frozen=True)
class Operation:
    id: int
    time: str
    command: str
    steps: tuple[str, ...]  # the steps it changed
    files: tuple[str, ...]  # project-relative paths it changed
    absent: tuple[str, ...]  # of those, the ones that did not exist before
    removes: tuple[str, ...]  # of those, the ones the operation deletes
    old_tip: str | None
    new_tip: str | None = None
    done: bool = False
    undone: bool = False
    folders: tuple[str, ...] = ()  # folders it creates (for a file), which undo removes


class OpLog:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / STATE_DIR / "log"

    def _path(self, op_id: int) -> Path:
        return self.dir / f"{op_id:05d}.json"

    def entries(self) -> list[Operation]:
        if not self.dir.is_dir():
            return []
        ops = []
        for p in sorted(self.dir.glob("*.json")):
            data = json.loads(p.read_text(encoding="utf-8"))
            for key in ("steps", "files", "absent", "removes", "folders"):
                data[key] = tuple(data.get(key, ()))
            ops.append(Operation(**data))
        return ops

    def _save(self, op: Operation) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self._path(op.id).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(op), indent=1), encoding="utf-8")
        tmp.replace(self._path(op.id))

    def begin(self, command: str, steps: Iterable[str], writes: Mapping[Path, bytes | None],
              old_tip: str | None) -> Operation:
        """Record an operation about to write `writes` (None: delete the file), keeping the
        files' current bytes."""
        ops = self.entries()
        op_id = ops[-1].id + 1 if ops else 1
        keep = self.dir / f"{op_id:05d}"
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir(parents=True)
        rel, absent, removes, folders = [], [], [], []
        root = self.root.resolve()
        prefix = str(root) + os.sep
        with zipfile.ZipFile(keep / "after.zip", "w") as after, \
                zipfile.ZipFile(keep / "before.zip", "w") as before:
            for f, data in writes.items():
                # Resolved only when not plainly under the root (a link, "..").
                plain = str(f)
                r = (plain[len(prefix):] if plain.startswith(prefix) and ".." not in f.parts
                     else str(f.resolve().relative_to(root))).replace(os.sep, "/")
                rel.append(r)
                if data is None:
                    removes.append(r)
                else:
                    after.writestr(r, data)
                    parent = r.rpartition("/")[0]
                    while parent and parent not in folders and not (root / parent).exists():
                        folders.append(parent)
                        parent = parent.rpartition("/")[0]
                try:
                    before.writestr(r, f.read_bytes())
                except FileNotFoundError:
                    absent.append(r)
        op = Operation(op_id, time.strftime("%Y-%m-%d %H:%M:%S"), command, tuple(steps),
                       tuple(rel), tuple(absent), tuple(removes), old_tip,
                       folders=tuple(folders))
        self._save(op)
        return op

    def finish(self, op: Operation, new_tip: str | None) -> Operation:
        done = replace(op, new_tip=new_tip, done=True)
        self._save(done)
        return done

    def interrupted(self) -> Operation | None:
        """The last operation, if it began and neither finished nor was undone."""
        ops = self.entries()
        return ops[-1] if ops and not ops[-1].done and not ops[-1].undone else None

    def last_undoable(self) -> Operation:
        for op in reversed(self.entries()):
            if not op.undone:
                return op
        raise TutorialError("nothing to undo", "`tutorial log` lists what was done.")

    def restore(self, op: Operation) -> None:
        """Put back every file `op` changed, as it was before it."""
        self._put(op, "before")
        self._save(replace(op, undone=True))

    def drifted(self, op: Operation) -> list[str]:
        """The files `op` changed that are no longer as it left them (edited, deleted or
        recreated by hand since): what undoing it would silently throw away."""
        keep = self.dir / f"{op.id:05d}"
        if not (keep / "after.zip").exists() and not (keep / "after").is_dir():
            return []  # logged before after-images were kept: nothing to compare with
        out = []
        with self._images(op, "after") as read:
            for r in op.files:
                try:
                    current: bytes | None = (self.root / r).read_bytes()
                except (FileNotFoundError, IsADirectoryError):
                    current = None
                if current != (None if r in op.removes else read(r)):
                    out.append(r)
        return out

    def created(self, op: Operation) -> set[bytes]:
        """The bytes of every file `op` created (that did not exist before it)."""
        made = []
        with self._images(op, "after") as read:
            for r in op.absent:
                if r in op.removes:
                    continue
                try:
                    made.append(read(r))
                except (FileNotFoundError, IsADirectoryError):
                    continue  # only a folder of images can lack one: an archive raises
        return set(made)

    def replay(self, op: Operation) -> None:
        """Write every file `op` changes, as the operation meant to."""
        self._put(op, "after")

    @contextmanager
    def _images(self, op: Operation, side: str) -> Iterator[Callable[[str], bytes]]:
        """A reader of the files as they were `side` ("before" or "after") of `op`: from its
        archive, or from the folder of files older logs kept instead."""
        keep = self.dir / f"{op.id:05d}"
        archive = keep / f"{side}.zip"
        if archive.exists():
            with zipfile.ZipFile(archive) as images:
                yield images.read
        else:
            yield lambda r: (keep / side / r).read_bytes()

    def _put(self, op: Operation, side: str) -> None:
        with self._images(op, side) as read:
            for r in op.files:
                target = self.root / r
                if r in (op.absent if side == "before" else op.removes):
                    target.unlink(missing_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".tutorial-tmp")
                tmp.write_bytes(read(r))
                tmp.replace(target)
        if side == "before":  # the folders it created go, when nothing else is in them
            for folder in sorted(op.folders, key=lambda f: -f.count("/")):
                # Kept when not empty (a file of the author's is in it), or gone already.
                with suppress(OSError):
                    (self.root / folder).rmdir()

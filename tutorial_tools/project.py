"""Finding the tutorial project, and the lock that keeps two commands from changing it at once."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockHeld, ProjectNotFound
from .manifest import MANIFEST

STATE_DIR = ".tutorial"


def find_project(start: Path | None = None) -> Path:
    """The folder holding `tutorial.yaml`: `start` or the nearest folder above it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    raise ProjectNotFound(
        f"no {MANIFEST} in {here} or any folder above it",
        "Run this inside a tutorial project (or pass --project DIR), or create one with "
        "`tutorial init` or `tutorial import SRC`.",
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def project_lock(root: Path, command: str) -> Iterator[None]:
    """Hold `.tutorial/lock` while `command` changes the project.

    A lock whose holder died is taken over.

    The lock file is created with O_EXCL, so of two processes starting at once only one wins.
    """
    lock = root / STATE_DIR / "lock"
    lock.parent.mkdir(exist_ok=True)
    me = {"pid": os.getpid(), "host": os.uname().nodename, "command": command,
          "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                holder = {}
            pid = holder.get("pid")
            if (holder.get("host") == me["host"] and isinstance(pid, int) and not _alive(pid)):
                lock.unlink(missing_ok=True)  # its holder died: take it over
                continue
            raise LockHeld(
                f"another tutorial command is changing this project: "
                f"`{holder.get('command', '?')}` (process {pid or '?'} on "
                f"{holder.get('host', '?')}, since {holder.get('since', '?')})",
                f"Wait for it to finish. If no such process exists, delete {lock}.",
            ) from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)

"""The site's disk cache: rendered fragments and downloads, keyed by what they are made of.

A step's rendered diff depends only on its parent's tree, its own tree, the renderer's
version and a few options; so after a fix at step k only the steps whose trees changed
are rendered again, and an unchanged tutorial renders nothing. Entries live in
`.tutorial/site-cache/` (never committed); each is written to a temporary file and
renamed, so two builds at once, or a build killed midway, leave whole entries only.

Pruning: after a build, the entries it did not use go once they are older than a number
of days (an entry's age is the time since it was written or since a pruning build last saw
it used). So the cache holds what the last build shows plus what recent builds showed
(another branch, the history before an undo), and an unchanged tutorial prunes nothing:
pruning walks the cache only after a build that wrote to it, or once a day. Whatever the
number of days, nothing younger than MIN_AGE goes: another build on the same cache (a
`mkdocs serve` beside a `mkdocs build`) may have just written it, or be writing it (a
`.tmp-` file), and not have used it yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR = Path(".tutorial") / "site-cache"
KEEP_DAYS = 14  # how long entries no build uses are kept (the plugin's `cache_days`)
PRUNE_EVERY = 24 * 3600.0  # seconds: how often a build that wrote nothing still prunes
MIN_AGE = 3600.0  # seconds: no entry younger than this is pruned, whatever `keep_days` says
_STAMP = "pruned"  # in the cache's root: when it was last pruned
_DAY = 24 * 3600.0


def cache_key(*parts: object) -> str:
    """A stable key for the parts (strings, numbers, None, lists of them)."""
    return hashlib.sha1(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


@dataclass
class CacheStats:
    """What a build took from the cache and what it made (tests and benchmarks read it)."""

    rendered: list[str] = field(default_factory=list)  # labels of steps rendered
    cached: int = 0  # steps taken from the cache
    downloads_made: int = 0

    def summary(self) -> str:
        """One line for the build's log."""
        return (f"{len(self.rendered)} step page(s) rendered, {self.cached} from the cache, "
                f"{self.downloads_made} download(s) made")


@dataclass(frozen=True)
class Pruned:
    """What a pruning removed."""

    removed: int  # files
    freed: int  # bytes
    kept: int  # files left


class DiskCache:
    """Files under `root/<kind>/<key[:2]>/<key><suffix>`. It remembers every entry asked
    for (read or written), which `prune` keeps."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.used: set[Path] = set()
        self.written = 0  # entries written

    def path(self, kind: str, key: str, suffix: str) -> Path:
        """Where the entry `key` of `kind` lives (it may not exist)."""
        target = self.root / kind / key[:2] / f"{key}{suffix}"
        self.used.add(target)
        return target

    def get_json(self, kind: str, key: str) -> dict[str, Any] | None:
        """The JSON object stored under `key`, or None when absent or unreadable."""
        try:
            data = json.loads(self.path(kind, key, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def get_text(self, kind: str, key: str, suffix: str) -> str | None:
        """The text stored under `key`, or None when absent or unreadable."""
        try:
            return self.path(kind, key, suffix).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, key: str, data: dict[str, Any]) -> None:
        """Store `data` as JSON under `key`."""
        self.put_bytes(kind, key, ".json", json.dumps(data).encode())

    def put_bytes(self, kind: str, key: str, suffix: str, data: bytes) -> Path:
        """Store `data` under `key` (whole or not at all); return its path."""
        target = self.path(kind, key, suffix)
        self.written += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def prune(self, keep_days: float, *, now: float | None = None) -> Pruned | None:
        """Remove the entries not asked for since this object was made that are older
        than `keep_days` and than MIN_AGE (so never what another build on the same cache
        is writing or has just written); refresh the age of old entries that were asked
        for. Runs only when something was written, or the last pruning is older than
        PRUNE_EVERY (None when it did not run). Only files in the cache's own layout
        (`<kind>/<xx>/<name>`) are considered; anything else under the root is left
        alone."""
        now = time.time() if now is None else now
        stamp = self.root / _STAMP
        if not self.written:
            try:
                if now - stamp.stat().st_mtime < PRUNE_EVERY:
                    return None
            except OSError:
                pass
        if not self.root.is_dir():
            return None
        cutoff = now - max(keep_days * _DAY, MIN_AGE)
        removed = freed = kept = 0
        for kind in _subdirs(self.root):
            for bucket in _subdirs(kind):
                if len(bucket.name) != 2:  # not a folder the cache made
                    continue
                for entry in _files(bucket):
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    path = Path(entry.path)
                    if path in self.used:
                        kept += 1
                        if info.st_mtime < now - _DAY:  # it is in use: not old
                            with _quiet():
                                os.utime(path, (now, now))
                    elif info.st_mtime < cutoff:
                        with _quiet():
                            path.unlink()
                            removed += 1
                            freed += info.st_size
                    else:
                        kept += 1
        with _quiet():
            stamp.touch()
        return Pruned(removed, freed, kept)

    def prune_later(self) -> None:
        """Have the next build prune, even if it writes nothing (this one could not)."""
        if self.written:
            with _quiet():
                (self.root / _STAMP).unlink()


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder)
                if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _files(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _quiet() -> contextlib.AbstractContextManager[None]:
    """Ignore what another build, removing or writing the same files, makes fail."""
    return contextlib.suppress(OSError)

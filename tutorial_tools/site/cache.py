"""The site's disk cache: rendered fragments and downloads, keyed by what they are made of.

A step's rendered diff depends only on its parent's tree, its own tree, the renderer's
version and a few options; so after a fix at step k only the steps whose trees changed
are rendered again, and an unchanged tutorial renders nothing. Entries live in
`.tutorial/site-cache/` (never committed); each is written to a temporary file and
renamed, so two builds at once, or a build killed midway, leave whole entries only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR = Path(".tutorial") / "site-cache"


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


class DiskCache:
    """Files under `root/<kind>/<key[:2]>/<key><suffix>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: str, key: str, suffix: str) -> Path:
        """Where the entry `key` of `kind` lives (it may not exist)."""
        return self.root / kind / key[:2] / f"{key}{suffix}"

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

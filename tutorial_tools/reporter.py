"""How core code tells the user what it does without printing: the CLI supplies the reporter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Advance = Callable[[int], None]


class Reporter(Protocol):
    def info(self, message: str) -> None:
        """A line the user wants to read (hidden with -q)."""

    def warn(self, message: str) -> None:
        """Something the user should know even with -q."""

    def detail(self, message: str) -> None:
        """Shown with -v only."""

    def progress(self, label: str, total: int) -> AbstractContextManager[Advance]:
        """A progress bar for long work; the callable advances it."""


class Recorder:
    """A reporter that keeps every message: for library use and tests."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.details: list[str] = []

    def info(self, message: str) -> None:
        self.infos.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def detail(self, message: str) -> None:
        self.details.append(message)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Advance]:
        yield lambda n: None

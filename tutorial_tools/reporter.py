"""How core code tells the user what it does without printing: the CLI supplies the reporter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

Advance = Callable[[int], None]
# Advances a progress bar by n and shows a short status beside it (the work in hand, counts).
AdvanceWithStatus = Callable[[int, str], None]


class Reporter(Protocol):
    def info(self, message: str) -> None:
        """A line the user wants to read (hidden with -q)."""

    def warn(self, message: str) -> None:
        """Something the user should know even with -q."""

    def detail(self, message: str) -> None:
        """Shown with -v only."""

    def progress(self, label: str, total: int) -> AbstractContextManager[Advance]:
        """A progress bar for long work; the callable advances it."""


@runtime_checkable
class StatusReporter(Protocol):
    """A reporter whose progress bars can also show a status line (optional)."""

    def status_progress(self, label: str, total: int,
                        ) -> AbstractContextManager[AdvanceWithStatus]:
        """A progress bar with a status; the callable advances it and sets the status."""


@contextmanager
def status_progress(reporter: Reporter, label: str, total: int) -> Iterator[AdvanceWithStatus]:
    """The reporter's progress bar with a status where it can show one, else a plain one."""
    if isinstance(reporter, StatusReporter):
        with reporter.status_progress(label, total) as update:
            yield update
        return
    with reporter.progress(label, total) as advance:
        yield lambda n, status: advance(n) if n else None


class Recorder:
    """A reporter that keeps every message: for library use and tests."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.details: list[str] = []
        self.statuses: list[str] = []  # the status lines of progress bars

    def info(self, message: str) -> None:
        self.infos.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def detail(self, message: str) -> None:
        self.details.append(message)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Advance]:
        yield lambda n: None

    @contextmanager
    def status_progress(self, label: str, total: int) -> Iterator[AdvanceWithStatus]:
        def update(n: int, status: str) -> None:
            self.statuses.append(status)

        yield update


def count(n: int, noun: str) -> str:
    """`1 step`, `2 steps`: a count and its noun, plural unless the count is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

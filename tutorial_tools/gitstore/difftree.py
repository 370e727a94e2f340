"""Patches from `git diff-tree --stdin`, cut apart as git writes them (Repository.diff_trees)."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, cast

from ..errors import GitError


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class DiffTree:
    """One `diff-tree --stdin --always` process over `pairs`, started at once: threads feed
    it its input and drain its output (so that neither pipe fills) while `patches` cuts
    that output at the echoed "<old> <new>" lines.

    No patch line can look like such a line: context lines start with a space and binary
    lines are at most 66 characters long.
    """

    def __init__(self, command: list[str], args: list[str], pairs: Sequence[tuple[str, str]],
                 cwd: Path, env: dict[str, str]) -> None:
        self.args, self.pairs = args, pairs
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        self.chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.errors: list[bytes] = []
        self.ended = False  # all of git's output is in
        self.stopped = False
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._feed, self._drain, self._drain_errors)]
        for t in self.threads:
            t.start()

    def _feed(self) -> None:
        stdin = cast(IO[bytes], self.proc.stdin)
        try:
            stdin.write("".join(f"{a} {b}\n" for a, b in self.pairs).encode())
            stdin.close()
        except OSError:  # git stopped reading: its exit status says why
            with contextlib.suppress(OSError):
                stdin.close()

    def _drain(self) -> None:
        fd = cast(IO[bytes], self.proc.stdout).fileno()
        while chunk := os.read(fd, 1 << 16):
            self.chunks.put(chunk)
        self.chunks.put(b"")

    def _drain_errors(self) -> None:
        self.errors.append(cast(IO[bytes], self.proc.stderr).read())

    def stop(self) -> int:
        """Wait for git (stopping it first if its output is not all in) and return its
        exit status."""
        if not self.stopped:
            self.stopped = True
            if not self.ended:
                self.proc.kill()  # abandoned, or its output made no sense
            for t in self.threads:
                t.join()
            cast(IO[bytes], self.proc.stdout).close()
            cast(IO[bytes], self.proc.stderr).close()
        return self.proc.wait()

    def _fail(self) -> GitError:
        code = self.stop()
        return GitError(self.args, code, b"",
                        self.errors[0] if self.errors and code else b"unexpected output")

    def _more(self, buf: bytearray) -> None:
        chunk = self.chunks.get()
        self.ended = not chunk
        buf.extend(chunk)

    def patches(self) -> Iterator[bytes]:
        markers = [f"{a} {b}\n".encode() for a, b in self.pairs] + [b""]
        buf = bytearray()
        for marker, following in itertools.pairwise(markers):
            while len(buf) < len(marker) and not self.ended:
                self._more(buf)
            if not buf.startswith(marker):
                raise self._fail()
            del buf[:len(marker) - 1]  # keep its newline: the next marker may follow it
            if following:
                needle, start = b"\n" + following, 0
                while (end := buf.find(needle, start)) < 0:
                    if self.ended:
                        raise self._fail()
                    start = max(0, len(buf) - len(needle))
                    self._more(buf)
                end += 1
            else:
                while not self.ended:
                    self._more(buf)
                end = len(buf)
            yield bytes(buf[1:end])
            del buf[:end]
        if self.stop():
            raise self._fail()

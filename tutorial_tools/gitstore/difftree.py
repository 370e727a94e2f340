"""Patches from `git diff-tree --stdin`, cut apart as git writes them (Repository.diff_trees)."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import queue
import select
import selectors
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


# How much git may write ahead of the reader: a 1 MiB pipe (Linux's limit for anyone)
# instead of 64 KiB lets git go on diffing while Python is busy elsewhere.
PIPE_SIZE = 1 << 20


def _widen(pipe: IO[bytes]) -> None:
    """Let `pipe` hold PIPE_SIZE bytes, where the system allows it."""
    if (set_size := getattr(fcntl, "F_SETPIPE_SZ", None)) is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_size, PIPE_SIZE)


class DiffTree:
    """One `diff-tree --stdin --always` process over `pairs`, started at once: a thread
    feeds it its input and drains its output and errors (as `communicate` does, so that no
    pipe fills) while `patches` cuts the output at the echoed "<old> <new>" lines.

    No patch line can look like such a line: context lines start with a space and binary
    lines are at most 66 characters long.
    """

    def __init__(self, command: list[str], args: list[str], pairs: Sequence[tuple[str, str]],
                 cwd: Path, env: dict[str, str]) -> None:
        self.args, self.pairs = args, pairs
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        _widen(cast(IO[bytes], self.proc.stdout))
        self.chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.errors: list[bytes] = []
        self.ended = False  # all of git's output is in
        self.stopped = False
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        stdin, stdout, stderr = (cast(IO[bytes], p) for p in
                                 (self.proc.stdin, self.proc.stdout, self.proc.stderr))
        data = memoryview("".join(f"{a} {b}\n" for a, b in self.pairs).encode())
        errors: list[bytes] = []
        with selectors.DefaultSelector() as sel:
            sel.register(stdin, selectors.EVENT_WRITE)
            sel.register(stdout, selectors.EVENT_READ)
            sel.register(stderr, selectors.EVENT_READ)
            while sel.get_map():
                for key, _ in sel.select():
                    if key.fileobj is stdin:
                        try:
                            data = data[os.write(key.fd, data[:select.PIPE_BUF]):]
                        except BrokenPipeError:  # git stopped reading: its exit status says why
                            data = data[:0]
                        if not data:
                            sel.unregister(stdin)
                            stdin.close()
                    elif chunk := os.read(key.fd, 1 << 16):
                        (self.chunks.put if key.fileobj is stdout else errors.append)(chunk)
                    else:
                        sel.unregister(key.fileobj)
        self.errors.append(b"".join(errors))
        self.chunks.put(b"")

    def stop(self) -> int:
        """Wait for git (stopping it first if its output is not all in) and return its
        exit status."""
        if not self.stopped:
            self.stopped = True
            if not self.ended:
                self.proc.kill()  # abandoned, or its output made no sense
            self.thread.join()
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

"""Running a step's commands for `tutorial verify`: a shell command with a time limit, and
the environments that setup commands build once and many steps share.

A command runs as `/bin/sh -c CMD` in a session of its own, so on a timeout (or when the
user interrupts) the whole process group is killed: the shell, the test runner and
anything they started. Its output goes straight to a log file, never through a pipe.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class Outcome:
    """How a command ended: its exit code (None when killed at the time limit), its time."""

    exit_code: int | None
    seconds: float
    timed_out: bool


class Processes:
    """The process groups running now, so an interrupt can end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self.stopping = False

    def add(self, pgid: int) -> bool:
        """Track a new group; False (and the group is killed) once `stop` was called."""
        with self._lock:
            if not self.stopping:
                self._groups.add(pgid)
                return True
        _kill_group(pgid)
        return False

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def stop(self) -> None:
        """Kill every running group, and any started from now on."""
        with self._lock:
            self.stopping = True
            groups = list(self._groups)
        for pgid in groups:
            _kill_group(pgid)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # gone already
        os.killpg(pgid, signal.SIGKILL)


def run_shell(command: str, cwd: Path, env: dict[str, str], timeout: float, log: BinaryIO,
              processes: Processes) -> Outcome:
    """Run `command` with `/bin/sh -c` in `cwd`, its output appended to `log`."""
    log.flush()
    start = time.perf_counter()
    proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    pgid = proc.pid  # a new session: the shell leads its own process group
    timed_out = threading.Event()
    seconds = 0.0

    def expire() -> None:
        timed_out.set()
        _kill_group(pgid)

    # A timer rather than `proc.wait(timeout)`, which polls and so adds up to 50 ms a step.
    timer = threading.Timer(timeout, expire)
    try:
        if processes.add(pgid):
            timer.start()
        # Wait without reaping: while the shell is a zombie its id cannot be reused, so
        # killing its group (what it left running in the background) is safe.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        seconds = time.perf_counter() - start
        timer.cancel()
        if timer.is_alive():
            timer.join()
        _kill_group(pgid)
    finally:
        processes.discard(pgid)
        code = proc.wait()
    if code == -signal.SIGKILL and (timed_out.is_set() or processes.stopping):
        return Outcome(None, seconds, timed_out.is_set())  # killed by us, not by itself
    return Outcome(code, seconds, False)


# -- environments ------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvSpec:
    """An environment: the setup command and the content of the files it depends on."""

    command: str
    files: tuple[tuple[str, str | None], ...]  # (path, blob or tree id; None: missing)

    @property
    def key(self) -> str:
        h = hashlib.sha1(b"env-v1\0" + self.command.encode() + b"\0")
        for path, oid in self.files:
            h.update(f"{path}\0{oid or '-'}\0".encode())
        return h.hexdigest()[:16]


class SetupFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def remove_tree(path: Path) -> None:
    """Delete a folder, if there is one, even where a command made folders in it read-only
    (a Go module cache does)."""
    if not os.path.lexists(path):
        return
    def retry(func: Callable[..., object], name: str, exc: object) -> None:
        with suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            func(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:  # `onerror`, its older name, warns from 3.12 on
        shutil.rmtree(path, onerror=retry)
    shutil.rmtree(path, ignore_errors=True)  # what even that could not delete is left


_ENV_NAME = re.compile(r"([0-9a-f]{16})(\.ready|\.lock)?")  # what `Environments` writes


class Environments:
    """The environments under `root`, each built once per distinct `EnvSpec`.

    `<key>.lock` is locked with `flock`: exclusively while the environment is built (and
    by threads too, with a per-key `threading.Lock`), so steps that share it, and other
    `tutorial verify` processes, wait for the first to build it; shared for as long as a
    step's commands use it, so no pruning run removes it from under them. `<key>.ready`
    marks a finished one: it is reused across runs, and its time is that of its last use
    (`prune` keeps the most recently used).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._failed: dict[str, str] = {}  # key -> why, for the rest of this run
        self.built = 0  # setups run by this object

    def path(self, spec: EnvSpec) -> Path:
        return self.root / spec.key

    @contextmanager
    def _flocked(self, key: str, how: int) -> Iterator[None]:
        """Hold `flock(how)` on the file at `<key>.lock` (made if missing)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / f"{key}.lock"
        while True:
            with open(lock_path, "a") as f:
                fcntl.flock(f, how)
                # A pruning run may have removed the lock file while this one waited:
                # holding a lock on a file no longer there locks nothing; start again.
                try:
                    same = os.path.samestat(os.fstat(f.fileno()), lock_path.stat())
                except FileNotFoundError:
                    same = False
                if same:
                    yield
                    return

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Hold the environment exclusively, against threads and processes."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock, self._flocked(key, fcntl.LOCK_EX):
            yield

    @contextmanager
    def using(self, spec: EnvSpec, label: str, run: Callable[[Path], Outcome]
              ) -> Iterator[bool]:
        """Make the environment ready, and keep it (a shared lock: `prune` leaves it
        alone) until the block ends; `run(path)` runs the setup command into `path`.

        Yields whether this call built it. Raises SetupFailed when the setup fails (or
        failed earlier in this run).
        """
        ready = self.root / f"{spec.key}.ready"
        built = False
        while True:
            with self._flocked(spec.key, fcntl.LOCK_SH):
                if ready.is_file():
                    with suppress(OSError):
                        os.utime(ready)  # used now
                    yield built
                    return
            # Not ready: build it (unless another builds it first), then take it shared.
            # Between the two a pruning run may remove it; it is then built again.
            built = self._build(spec, label, run) or built

    def _build(self, spec: EnvSpec, label: str, run: Callable[[Path], Outcome]) -> bool:
        """Build the environment unless it is ready; whether this call built it."""
        key = spec.key
        path = self.path(spec)
        ready = self.root / f"{key}.ready"
        with self._locked(key):
            if key in self._failed:
                raise SetupFailed(self._failed[key])
            if ready.is_file():
                return False
            remove_tree(path)  # what a killed setup left
            path.mkdir(parents=True)
            outcome = run(path)
            if outcome.exit_code == 0:
                ready.write_text(json.dumps({"command": spec.command,
                                             "files": dict(spec.files), "step": label}))
                with self._guard:
                    self.built += 1
                return True
            remove_tree(path)
            how = (f"timed out after {outcome.seconds:.1f} s" if outcome.timed_out
                   else f"exited with code {outcome.exit_code}" if outcome.exit_code is not None
                   else "was interrupted")
            why = f"setup `{spec.command}` {how} (at step {label})"
            if outcome.exit_code is not None or outcome.timed_out:
                self._failed[key] = why
            raise SetupFailed(why)

    def prune(self, keep: set[str], recent: int) -> list[str]:
        """Remove the environments whose key is not in `keep`, but the `recent` most
        recently used of them; return the keys removed. Only names this class writes are
        touched, and an environment that is locked (being built, or in use by a step's
        commands, in this process or another) is left alone."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        last_use: dict[str, float] = {}
        for name in names:
            found = _ENV_NAME.fullmatch(name)
            if found is None or found[1] in keep:
                continue
            when = 0.0
            if found[2] == ".ready":
                with suppress(OSError):
                    when = (self.root / name).stat().st_mtime
            last_use[found[1]] = max(last_use.get(found[1], 0.0), when)
        unused = sorted(last_use, key=lambda key: last_use[key], reverse=True)
        removed = []
        for key in unused[recent:]:
            if self._remove(key):
                removed.append(key)
        return removed

    def _remove(self, key: str) -> bool:
        """Delete one environment, unless its lock is held (shared or exclusive)."""
        lock_path = self.root / f"{key}.lock"
        try:
            with open(lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while it is in use
                (self.root / f"{key}.ready").unlink(missing_ok=True)  # first: never half-used
                remove_tree(self.root / key)
                lock_path.unlink()
        except OSError:
            return False
        return True

"""The build's stamp: proof, from file status alone, that a build would change nothing.

A successful build writes a `Stamp`: the status (device, inode, mode, size, mtime and
ctime in nanoseconds) of every file it read or wrote: the manifest, each step file, its
cache and the files holding the refs it wrote, and the files that must stay absent (the
project's lock, the build's journal). `check` takes those statuses again; when every one
is unchanged, a build would read the same bytes and find the same refs, so `tutorial
build` can say "Up to date" without parsing anything or starting git.

Any change to a file sets its ctime to the file system's clock (nothing else can set it),
so a status can only miss a change made in the same clock tick as the change before it.
As git does with "racily clean" index entries, a status counts only when the file last
changed before the tick in which the status was taken (see `Stamp`); otherwise no stamp
is written and the next build reads everything.

Only the standard library's os is imported here: this module runs before the rest of
the tool is loaded.
"""

from __future__ import annotations

import os

from .. import __version__

STAMP = os.path.join(".tutorial", "built")
MANIFEST = "tutorial.yaml"  # manifest.MANIFEST, named here to keep this module's imports light
# The first line; then one line per fact, fields separated by NUL bytes (no path holds
# one): `root`, `repo`, `steps`, `absent PATH`, `file PATH STATUS`.
_HEADER = f"tutorial build stamp 1 {__version__}".encode()


def _signature(st: os.stat_result) -> bytes:
    return b"%d %d %d %d %d %d" % (st.st_dev, st.st_ino, st.st_mode, st.st_size,
                                   st.st_mtime_ns, st.st_ctime_ns)


def project_root(start: str | None) -> str | None:
    """The folder holding the manifest, `start` (default: here) or above: as
    `project.find_project` finds it, or None."""
    here = os.path.realpath(start if start is not None else os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, MANIFEST)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def forget(root: str) -> None:
    """Remove the stamp (a build is starting: until it ends, the stamp would be stale)."""
    try:
        os.unlink(os.path.join(root, STAMP))
    except FileNotFoundError:
        return


class Clock:
    """The time of each file system holding `folders`, read from scratch files made there
    (a file system's clock can differ from the system's, and be coarser)."""

    def __init__(self, folders: list[str]) -> None:
        self.now: dict[int, int] = {}
        for folder in folders:
            scratch = os.path.join(folder, f".clock.{os.getpid()}.tmp")
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
                os.unlink(scratch)
            self.now.setdefault(st.st_dev, st.st_mtime_ns)

    def before(self, st: os.stat_result) -> bool:
        """Whether the file was last changed before this clock was read: any later change
        then shows in its status."""
        now = self.now.get(st.st_dev)
        return now is not None and max(st.st_mtime_ns, st.st_ctime_ns) < now


class Stamp:
    """The stamp of one build, collected as it runs and written when it succeeds.

    The rule for each file: read a clock, then take the file's status, then read the file
    (or check what it holds); the status counts only if the file last changed before the
    clock was read. Then a later status equal to it proves the file still holds what was
    read. Otherwise, or when a folder cannot take a scratch file, nothing is stamped.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.facts: list[bytes] = []
        self.sound = True
        try:
            os.makedirs(os.path.join(root, os.path.dirname(STAMP)), exist_ok=True)
            self.start = Clock([os.path.join(root, os.path.dirname(STAMP))])
        except OSError:
            self.sound = False  # a read-only project builds, only without the shortcut
            self.start = Clock([])

    def status(self, path: str, clock: Clock) -> bool:
        """Note `path`'s status (or that it is missing) as of `clock`; False when it
        changed too recently to count (it is not noted then)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self.absent(path)
            return True
        except OSError:
            self.sound = False
            return False
        if not clock.before(st):
            return False
        self.facts.append(b"file\0" + os.fsencode(path) + b"\0" + _signature(st))
        return True

    def read(self, path: str) -> None:
        """Note the status of a file about to be read."""
        if not self.status(path, self.start):
            self.sound = False

    def settled(self, paths: list[str], folders: list[str]) -> None:
        """Note the status of files written (or read) before now, whose content the caller
        checks next. When one changed within the file system's last clock tick, wait for
        the clock to move on (a few milliseconds) rather than stamp nothing."""
        import time

        facts = len(self.facts)
        for wait in (0.0, 0.002, 0.004, 0.008, 0.016):
            time.sleep(wait)
            del self.facts[facts:]
            try:
                clock = Clock([os.path.join(self.root, os.path.dirname(STAMP)), *folders])
            except OSError:
                break
            if all([self.status(path, clock) for path in paths]):
                return
        self.sound = False

    def absent(self, path: str) -> None:
        """`path` must not exist for a build to have nothing to do."""
        self.facts.append(b"absent\0" + os.fsencode(path))

    def spoil(self) -> None:
        """Something could not be proven: write no stamp."""
        self.sound = False

    def write(self, repo: str, steps: int) -> bool:
        """Write the stamp, unless anything was unsound; `repo` and `steps` are what "Up to
        date" reports. Returns whether it was written."""
        lines = [_HEADER, b"root\0" + os.fsencode(self.root), b"repo\0" + os.fsencode(repo),
                 b"steps\0%d" % steps, *self.facts]
        if not self.sound or any(b"\n" in line for line in lines):
            return False
        path = os.path.join(self.root, STAMP)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(b"\n".join(lines) + b"\n")
            os.replace(tmp, path)
        except OSError:
            return False
        return True


def check(root: str) -> tuple[int, str] | None:
    """(steps, repository path) when nothing a build reads changed since the stamp was
    written; None when anything did, or when unsure."""
    try:
        with open(os.path.join(root, STAMP), "rb") as f:
            lines = f.read().split(b"\n")
        if lines[0] != _HEADER or lines.pop() != b"":
            return None
        facts: dict[bytes, bytes] = {}
        for line in lines[1:]:
            kind, _, rest = line.partition(b"\0")
            if kind == b"file":
                name, _, signature = rest.partition(b"\0")
                if _signature(os.stat(name)) != signature:
                    return None
            elif kind == b"absent":
                if os.path.lexists(rest):
                    return None
            elif kind in (b"root", b"repo", b"steps") and kind not in facts:
                facts[kind] = rest
            else:
                return None
        if facts[b"root"] != os.fsencode(root):
            return None
        return int(facts[b"steps"]), os.fsdecode(facts[b"repo"])
    except (OSError, ValueError, KeyError):
        return None

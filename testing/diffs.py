"""A two-step history holding every kind of change a step page shows (no mocks of git)."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from testing.gitrepo import Repo, git
from tutorial_tools.gitstore import Repository


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG. Stored (level 0) deflate: the same bytes with any zlib."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0))
            + chunk(b"IEND", b""))


PNG_OLD = png(4, 4, (220, 40, 40))
PNG_NEW = png(6, 4, (40, 160, 60))

XSS_NAME = "<img src=x onerror=alert(1)>.py"
ODD_NAME = b'caf\xe9 "q" & <b>.txt'  # not UTF-8, with a space, quotes and markup

APP_OLD = '''\
"""The app.

It greets people.
Nothing else.
"""

import sys


def greet(name):
    return "Hello, " + name


def main():
    print(greet(sys.argv[1]))
'''

APP_NEW = '''\
"""The app.

It greets people
and says goodbye.
Nothing else.
"""

import sys


def greet(name):
    return "Hello there, " + name


def main():
    print(greet(sys.argv[1]))
'''

# A docstring long enough that a hunk inside it starts below its opening quotes.
DOC_OLD = '"""Module docstring.\n\n' + "".join(f"Line {i} of the story.\n" for i in range(20)) \
    + '"""\n\nVALUE = 1\n'
DOC_NEW = DOC_OLD.replace("Line 15 of the story.", "Line 15 of the new story.")

HELPERS_OLD = "".join(f"def helper_{i}():\n    return {i}\n\n\n" for i in range(12))
HELPERS_NEW = HELPERS_OLD.replace("return 5\n", "return 5 * 2\n")


@dataclass(frozen=True)
class History:
    repo: Repository
    path: Path
    first: str  # tree of the first step
    second: str  # tree of the second step


def build_history(root: Path) -> History:
    """Step 1 adds files; step 2 modifies, renames with edits, copies, deletes, changes a
    mode, a binary image, a symlink, CRLF lines and final newlines, and odd names."""
    src = Repo(root)
    src.write("app.py", APP_OLD)
    src.write("old_name.py", HELPERS_OLD)
    src.write("gone.txt", "one\ntwo\nthree\n")
    src.write("run.sh", "#!/bin/sh\necho hi\n", mode=0o644)
    src.write("logo.png", PNG_OLD)
    src.write("crlf.txt", "first\r\nsecond\r\nthird\r\n")
    src.write("nonl.txt", "alpha\nbeta")
    src.write("lone_cr.py", "x = 1\ry = 2\nz = 3\n")
    src.write(XSS_NAME, "print('<script>alert(1)</script>')\n")
    src.write(ODD_NAME, "caf\xe9\n".encode("latin-1"))
    src.write("target.txt", "the target\n")
    src.write("package-lock.json", "{\n  \"lockfileVersion\": 3\n}\n")
    src.write("template.py", "".join(f"value_{i} = {i}\n" for i in range(30)))
    src.write("doc.py", DOC_OLD)
    src.write("swap.txt", "a file, then a symlink\n")
    src.write(".gitattributes", "gen/* linguist-generated\n")
    src.write("gen/out.py", "X = 1\n")
    src.commit("Step 1")
    first = git(src.path, "rev-parse", "HEAD^{tree}")

    src.write("app.py", APP_NEW)
    (src.path / "old_name.py").unlink()
    src.write("new_name.py", HELPERS_NEW)
    (src.path / "gone.txt").unlink()
    (src.path / "run.sh").chmod(0o755)
    src.write("logo.png", PNG_NEW)
    src.write("crlf.txt", "first\r\nsecond changed\r\nthird\n")
    src.write("nonl.txt", "alpha\nbeta\ngamma")
    src.write("lone_cr.py", "x = 1\ry = 2\nz = 4\n")
    src.write(XSS_NAME, "print('<script>alert(2)</script>')\n")
    src.write(ODD_NAME, "caf\xe9 au lait\n".encode("latin-1"))
    os.symlink("target.txt", src.path / "link.txt")
    src.write("package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"name\": \"x\"\n}\n")
    src.write("copied.py", "".join(f"value_{i} = {i}\n" for i in range(30)) + "extra = 1\n")
    src.write("doc.py", DOC_NEW)
    (src.path / "swap.txt").unlink()
    os.symlink("target.txt", src.path / "swap.txt")
    src.write("gen/out.py", "X = 2\n")
    src.write("big.txt", "".join(f"row {i}\n" for i in range(450)))
    src.commit("Step 2")
    second = git(src.path, "rev-parse", "HEAD^{tree}")
    return History(Repository(src.path), src.path, first, second)

"""A step's downloads: its tree as a zip, and its change as a `git format-patch` mail.

The zip is written here rather than by `git archive`: each blob is compressed once per
build however many steps hold it (a 500-step tutorial shares most files between steps),
paths keep their bytes, modes and symlinks survive (Unix attributes, as Info-ZIP writes
them), and no `export-ignore` or `export-subst` of the tree's .gitattributes applies, so
the zip holds exactly what `git checkout <tag>` gives. Every entry carries the step's
commit date, so the same step always gives the same bytes. A tree naming `..` (which
`git fsck` refuses, but `git mktree` writes) gives no zip: it would extract outside.
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import re
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from ..gitstore import EMPTY_TREE, Repository
from ..gitstore.objects import GITLINK_MODE, TREE_MODE, Header, TreeEntry, split_object
from .cache import DiskCache
from .history import SiteStep

# A `..` between separators, `\\` counting as one (as zip tools on Windows read it).
_PARENT = re.compile(rb"(^|[/\\])\.\.([/\\]|$)")


@dataclass(frozen=True)
class _Blob:
    crc: int
    size: int
    method: int  # 0 stored, 8 deflated
    data: bytes  # as stored in the zip


def walk_tree(repo: Repository, tree: str, prefix: bytes = b"",
              ) -> Iterator[tuple[bytes, TreeEntry]]:
    """Every blob and link of `tree`, depth first in git's order: (path, entry).
    Submodules (gitlinks) have no content here and are left out."""
    for entry in repo.tree_entries(tree):
        path = prefix + entry.name
        if entry.mode == TREE_MODE:
            yield from walk_tree(repo, entry.oid, path + b"/")
        elif entry.mode != GITLINK_MODE:
            yield path, entry


class ZipMaker:
    """Makes zips of trees, compressing each distinct blob once."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._blobs: dict[str, _Blob] = {}

    def _blob(self, oid: str) -> _Blob:
        blob = self._blobs.get(oid)
        if blob is None:
            data = self.repo.read_kind(oid, b"blob")
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = packer.compress(data) + packer.flush()
            method, stored = (8, packed) if len(packed) < len(data) else (0, data)
            blob = self._blobs[oid] = _Blob(zlib.crc32(data), len(data), method, stored)
        return blob

    def make(self, tree: str, folder: str, when: int) -> bytes:
        """The zip of `tree`, every path under `folder/`, dated `when` (a Unix time)."""
        stamp = time.gmtime(max(when, 315532800))  # zip dates start in 1980
        dos_time = (stamp.tm_hour << 11) | (stamp.tm_min << 5) | (stamp.tm_sec // 2)
        dos_date = ((stamp.tm_year - 1980) << 9) | (stamp.tm_mon << 5) | stamp.tm_mday
        top = folder.encode("utf-8", "surrogateescape") + b"/"
        body: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for path, entry in walk_tree(self.repo, tree):
            if _PARENT.search(path):
                shown = path.decode("utf-8", "replace")
                raise RenderError(
                    f"{folder}.zip: refusing the path {shown!r} of tree {tree}: a '..' in "
                    "it would extract outside the step's folder",
                    "Rename it in the step (git itself refuses to check such a tree out), "
                    "or build the site with the option `downloads: false`.")
            name = top + path
            blob = self._blob(entry.oid)
            mode = int(entry.mode, 8)
            flags = 0x800 if _is_utf8(name) else 0  # bit 11: the name is UTF-8
            fixed = struct.pack("<HHHHHIIIHH", 20, flags, blob.method, dos_time, dos_date,
                                blob.crc, len(blob.data), blob.size, len(name), 0)
            central.append(b"PK\x01\x02" + struct.pack("<H", 0x0314) + fixed
                           + struct.pack("<HHHII", 0, 0, 0, mode << 16, offset) + name)
            local = b"PK\x03\x04" + fixed + name
            body += [local, blob.data]
            offset += len(local) + len(blob.data)
        if len(central) > 0xFFFF or offset > 0xFFFFFFFF:
            raise ValueError("the step is too large for a zip without zip64")
        directory = b"".join(central)
        end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central), len(central),
                                          len(directory), offset, 0)
        return b"".join(body) + directory + end


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not name.isascii()


def commit_date(repo: Repository, commit: str) -> int:
    """The committer date of `commit`, as a Unix time."""
    headers, _ = split_object(repo.read_kind(commit, b"commit"))
    for h in headers:
        if h.name == b"committer":
            return int(h.value.rsplit(b" ", 2)[-2])
    return 0


def _ident(headers: list[Header], name: bytes) -> tuple[str, str, str]:
    """(name, email, RFC 2822 date) of the commit's `author` or `committer`."""
    value = next((h.value for h in headers if h.name == name), b"")
    who, _, rest = value.partition(b" <")
    mail, _, when = rest.partition(b"> ")
    stamp, _, zone = when.decode("ascii", "replace").partition(" ")
    try:
        sign = -1 if zone.startswith("-") else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
        moment = dt.datetime.fromtimestamp(int(stamp), dt.timezone(dt.timedelta(seconds=offset)))
        date = email.utils.format_datetime(moment)
    except ValueError:
        date = email.utils.formatdate(0)
    return who.decode("utf-8", "replace"), mail.decode("utf-8", "replace"), date


def _encoded(text: str) -> str:
    return text if text.isascii() else email.header.Header(text, "utf-8").encode()


def format_patch(repo: Repository, commit: str, diff: bytes) -> bytes:
    """The step as `git format-patch` writes it: a mail `git am` applies, carrying the
    author, the date and the message. `diff` is the step's binary git diff."""
    headers, message = split_object(repo.read_kind(commit, b"commit"))
    encoding = next((h.value.decode("ascii", "replace") for h in headers
                     if h.name == b"encoding"), "utf-8")
    try:
        text = message.decode(encoding, "replace")
    except LookupError:
        text = message.decode("utf-8", "replace")
    paragraphs = text.strip("\n").split("\n\n", 1)
    subject = " ".join(paragraphs[0].split())
    body = paragraphs[1].strip("\n") + "\n" if len(paragraphs) > 1 else ""
    name, mail, date = _ident(headers, b"author")
    lines = [
        f"From {commit} Mon Sep 17 00:00:00 2001",
        f"From: {_encoded(name)} <{mail}>",
        f"Date: {date}",
        f"Subject: {_encoded('[PATCH] ' + subject)}",
    ]
    if not (subject + body).isascii():
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                  "Content-Transfer-Encoding: 8bit"]
    head = "\n".join(lines) + "\n\n" + body + "---\n"
    return head.encode("utf-8") + diff + b"-- \ntutorial-tools\n\n"


@dataclass(frozen=True)
class Downloads:
    """Where each step's downloads are, and how many had to be made."""
    paths: dict[str, tuple[Path, Path]]  # step label -> (zip, patch) in the cache
    made: int  # files made (not found in the cache)


def make_downloads(repo: Repository, cache: DiskCache, steps: tuple[SiteStep, ...],
                   ) -> Downloads:
    """Each step's zip and patch, from the cache (keyed by the step's commit) or made now.
    A cached file is named `<commit>-<step>.zip` / `.patch`; the diffs of the patches to
    make come from one git process."""
    zips = ZipMaker(repo)
    paths: dict[str, tuple[Path, Path]] = {}
    made = 0
    missing: list[SiteStep] = []
    for s in steps:
        zip_name, patch_name = f"-{s.file_stem}.zip", f"-{s.file_stem}.patch"
        zip_path = cache.path("downloads", s.commit, zip_name)
        patch_path = cache.path("downloads", s.commit, patch_name)
        if not zip_path.is_file():
            data = zips.make(s.tree, s.file_stem, commit_date(repo, s.commit))
            cache.put_bytes("downloads", s.commit, zip_name, data)
            made += 1
        if not patch_path.is_file():
            missing.append(s)
        paths[s.label] = (zip_path, patch_path)
    diffs = repo.diff_trees([(s.parent_tree or EMPTY_TREE, s.tree) for s in missing])
    for s, diff in zip(missing, diffs, strict=True):
        cache.put_bytes("downloads", s.commit, f"-{s.file_stem}.patch",
                        format_patch(repo, s.commit, diff))
        made += 1
    return Downloads(paths, made)

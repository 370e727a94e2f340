"""Git's object formats as bytes: parse and serialise commits, tags and trees. No IO here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
ZERO_ID = "0" * 40

TREE_MODE = b"40000"
GITLINK_MODE = b"160000"
SYMLINK_MODE = b"120000"

SIGNATURE_HEADERS = (b"gpgsig", b"gpgsig-sha256")
# Signatures that git appends to a tag's message.
TAG_SIGNATURE_STARTS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
)


def object_id(kind: bytes, data: bytes) -> str:
    """The id git gives an object of this kind and content."""
    return hashlib.sha1(b"%s %d\0%s" % (kind, len(data), data)).hexdigest()


@dataclass(frozen=True)
class Header:
    """One header of a commit or tag; `value` keeps continuation lines joined by newlines."""

    name: bytes
    value: bytes

    def raw(self) -> bytes:
        return self.name + b" " + self.value.replace(b"\n", b"\n ") + b"\n"


def split_object(data: bytes) -> tuple[list[Header], bytes]:
    """Split a commit or tag object into its headers, in order, and its message."""
    end = data.find(b"\n\n")
    head, message = (data, b"") if end < 0 else (data[:end + 1], data[end + 2:])
    headers: list[Header] = []
    for line in head.split(b"\n")[:-1] if head.endswith(b"\n") else head.split(b"\n"):
        if line.startswith(b" ") and headers:
            last = headers[-1]
            headers[-1] = Header(last.name, last.value + b"\n" + line[1:])
        else:
            name, _, value = line.partition(b" ")
            headers.append(Header(name, value))
    return headers, message


def join_object(headers: list[Header], message: bytes) -> bytes:
    return b"".join(h.raw() for h in headers) + b"\n" + message


def strip_tag_signature(message: bytes) -> bytes:
    """A tag's message without the signature git appends to it."""
    for start in TAG_SIGNATURE_STARTS:
        at = message.find(start)
        if at >= 0 and (at == 0 or message[at - 1:at] == b"\n"):
            return message[:at]
    return message


def has_tag_signature(message: bytes) -> bool:
    return strip_tag_signature(message) != message


@dataclass(frozen=True)
class TreeEntry:
    mode: bytes
    name: bytes
    oid: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE

    @cached_property
    def raw(self) -> bytes:
        """The entry as a tree object holds it (kept: entries are shared by many trees)."""
        return b"%s %s\0%s" % (self.mode, self.name, bytes.fromhex(self.oid))


def parse_tree(data: bytes) -> list[TreeEntry]:
    entries = []
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        oid = data[nul + 1:nul + 21].hex()
        entries.append(TreeEntry(data[pos:space], data[space + 1:nul], oid))
        pos = nul + 21
    return entries


def tree_sort_key(entry: TreeEntry) -> bytes:
    # git orders a directory as if its name ended in "/".
    return entry.name + b"/" if entry.is_tree else entry.name


def sort_tree(entries: Iterable[TreeEntry]) -> list[TreeEntry]:
    """Entries in git's order (`tree_sort_key`)."""
    return sorted(entries, key=tree_sort_key)


def serialize_tree(entries: Iterable[TreeEntry]) -> bytes:
    """A tree object's content, from entries in git's order (`sort_tree`)."""
    return b"".join([e.raw for e in entries])

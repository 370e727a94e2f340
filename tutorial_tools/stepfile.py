"""The step file: one checkpoint's commit metadata and its change, as reviewable plain text.

A step file holds everything needed to recreate its commit byte for byte, given the
commit before it::

    commit
    author Ada Lovelace <ada@example.com> 1514764800 +0100
    committer Ada Lovelace <ada@example.com> 1514764800 +0100

        Chapter 7: Error handling (7a)

        The message, indented by four spaces; empty lines stay empty.
    diff --git a/app.py b/app.py
    ...

- `commit` is followed by the commit's raw headers except `tree` and `parent`, in order
  (continuation lines of a multi-line header such as `gpgsig` start with one space).
- `\\ No newline at end of message` after the message says it has no final newline.
- `signed <id>`, only when the commit or its tag carries a signature: the commit id the
  signatures were made for. A rebuilt commit with any other id drops them.
- `tag`, only for an annotated tag: the tag object's headers except `object` and `tag`
  (those follow the step; `tag` stays when it differs from the tag's name), then its
  indented message.
- The rest is the step's change as a git patch (`git apply` reads the file as it is).

The format is bytes, not text: names, messages and file contents keep their own encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .errors import StepFileError
from .gitstore.objects import (
    SIGNATURE_HEADERS,
    Header,
    join_object,
    split_object,
    strip_tag_signature,
)
from .patch import lines_of

NO_NEWLINE = b"\\ No newline at end of message\n"
INDENT = b"    "


@dataclass(frozen=True)
class TagObject:
    headers: tuple[Header, ...]  # without `object` and `tag`
    message: bytes


@dataclass(frozen=True)
class StepCommit:
    """A step as its file records it."""

    headers: tuple[Header, ...]  # the commit's headers without `tree` and `parent`
    message: bytes
    patch: bytes
    signed: str | None = None
    tag: TagObject | None = None
    patch_line: int = 1  # where the patch starts in the file, for error messages

    @property
    def subject(self) -> str:
        return self.message.split(b"\n", 1)[0].decode("utf-8", "replace")

    def commit_bytes(self, tree: str, parent: str | None, *, signatures: bool) -> bytes:
        """The raw commit object on top of `parent`, with or without its signature headers."""
        head = [Header(b"tree", tree.encode())]
        if parent:
            head.append(Header(b"parent", parent.encode()))
        kept = [h for h in self.headers if signatures or h.name not in SIGNATURE_HEADERS]
        return join_object(head + kept, self.message)

    def tag_bytes(self, commit: str, name: str, *, signatures: bool) -> bytes:
        assert self.tag is not None
        headers = [Header(b"object", commit.encode())]
        named = any(h.name == b"tag" for h in self.tag.headers)
        for h in self.tag.headers:
            headers.append(h)
            if h.name == b"type" and not named:
                headers.append(Header(b"tag", name.encode()))
        message = self.tag.message if signatures else strip_tag_signature(self.tag.message)
        return join_object(headers, message)

    def with_patch(self, patch: bytes) -> StepCommit:
        return replace(self, patch=patch)

    def with_message(self, message: bytes) -> StepCommit:
        return replace(self, message=message)

    def with_subject(self, subject: str) -> StepCommit:
        """The same commit with its message's first line replaced by `subject`."""
        rest = self.message.split(b"\n", 1)
        return self.with_message(subject.encode() + (b"\n" + rest[1] if len(rest) > 1 else b""))


def from_objects(commit: bytes, tag: bytes | None, commit_id: str, patch: bytes, *,
                 tag_name: str | None = None) -> StepCommit:
    """A step from a raw commit object (and its annotated tag object, if any).

    The tag object's `tag` header is kept only when it differs from `tag_name`, the ref's
    name (a tag renamed with `git update-ref`): otherwise it follows the step's tag.
    """
    headers, message = split_object(commit)
    kept = tuple(h for h in headers if h.name not in (b"tree", b"parent"))
    tag_obj = None
    signed = any(h.name in SIGNATURE_HEADERS for h in kept)
    if tag is not None:
        theaders, tmessage = split_object(tag)
        own_name = (tag_name or "").encode()
        tag_obj = TagObject(tuple(h for h in theaders if h.name != b"object"
                                  and not (h.name == b"tag" and h.value == own_name)), tmessage)
        signed = signed or strip_tag_signature(tmessage) != tmessage
    return StepCommit(kept, message, patch, commit_id if signed else None, tag_obj)


def _message_lines(message: bytes) -> list[bytes]:
    out = [INDENT + line if line != b"\n" else line for line in lines_of(message)]
    if message and not message.endswith(b"\n"):
        out[-1] += b"\n"
        out.append(NO_NEWLINE)
    return out


def dump(step: StepCommit) -> bytes:
    parts = [b"commit\n"]
    parts += [h.raw() for h in step.headers]
    parts.append(b"\n")
    parts += _message_lines(step.message)
    if step.signed:
        parts.append(b"signed " + step.signed.encode() + b"\n")
    if step.tag is not None:
        parts.append(b"tag\n")
        parts += [h.raw() for h in step.tag.headers]
        parts.append(b"\n")
        parts += _message_lines(step.tag.message)
    parts.append(step.patch)
    return b"".join(parts)


class _Reader:
    """The file's lines, split only as far as they are read: the patch, most of the file,
    is taken whole."""

    def __init__(self, data: bytes, path: Path | str) -> None:
        self.data = data
        self.pos = 0  # where line `i` starts
        self.i = 0
        self.path = path

    def fail(self, message: str) -> StepFileError:
        return StepFileError(self.path, self.i + 1, message)

    def peek(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        return self.data[self.pos:] if end < 0 else self.data[self.pos:end + 1]

    def next(self) -> None:
        self.pos += len(self.peek())
        self.i += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def headers(self) -> tuple[Header, ...]:
        raw = bytearray()
        while self.peek() not in (b"\n", b""):
            raw += self.peek()
            self.next()
        if self.peek() != b"\n":
            raise self.fail("expected an empty line after the headers")
        self.next()
        headers, _ = split_object(bytes(raw) + b"\n")
        for h in headers:
            if not h.name or b"\n" in h.name:
                raise self.fail("malformed header")
        return tuple(headers)

    def message(self) -> bytes:
        out = bytearray()
        while self.peek() == b"\n" or self.peek().startswith(INDENT):
            line = self.peek()
            out += line if line == b"\n" else line[len(INDENT):]
            self.next()
        if self.peek() == NO_NEWLINE:
            if not out.endswith(b"\n"):
                raise self.fail("misplaced 'No newline at end of message'")
            del out[-1]
            self.next()
        return bytes(out)


def load(data: bytes, path: Path | str) -> StepCommit:
    """Read a step file; errors name the file and line."""
    r = _Reader(data, path)
    if r.peek() != b"commit\n":
        raise r.fail("a step file starts with a line 'commit' (see `tutorial import`)")
    r.next()
    headers = r.headers()
    names = [h.name for h in headers]
    for required in (b"author", b"committer"):
        if required not in names:
            raise StepFileError(path, 2, f"the commit has no '{required.decode()}' header")
    message = r.message()
    signed = None
    if r.peek().startswith(b"signed "):
        signed = r.peek()[7:].strip().decode("ascii", "replace")
        if len(signed) != 40 or any(c not in "0123456789abcdef" for c in signed):
            raise r.fail("'signed' takes a full commit id")
        r.next()
    tag = None
    if r.peek() == b"tag\n":
        r.next()
        theaders = r.headers()
        tag = TagObject(theaders, r.message())
    if not r.at_end() and not r.peek().startswith(b"diff --git "):
        raise r.fail("expected the step's patch ('diff --git ...') or the end of the file")
    patch = data[r.pos:]
    return StepCommit(headers, message, patch, signed, tag, patch_line=r.i + 1)


def read(path: Path) -> StepCommit:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise StepFileError(path, None, "step file is missing") from e
    return load(data, path)

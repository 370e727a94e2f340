"""Parse git-style patches as bytes, exactly: CRLF, missing final newlines, binary data."""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_SIMILARITY = re.compile(rb"similarity index (\d+)%")
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12,
            ord("r"): 13, ord('"'): 34, ord("\\"): 92}


class PatchSyntaxError(ValueError):
    """The patch text is malformed at `line` (1-based, within the patch)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    old_lines: tuple[bytes, ...]  # each with its line ending, if it has one
    new_lines: tuple[bytes, ...]
    line: int  # where the hunk starts in the patch
    ops: bytes = b""  # one of b" -+" per line, in order: which lines it removes and adds
    section: bytes = b""  # what follows the header's second @@ (often the enclosing function)

    def removed(self) -> list[int]:
        """The old line numbers (1-based) this hunk removes or changes."""
        out, n = [], self.old_start
        for op in self.ops:
            if op == ord("-"):
                out.append(n)
            if op != ord("+"):
                n += 1
        return out

    def insertion_neighbours(self) -> list[int]:
        """For a hunk that only adds lines: the old lines around its first added one."""
        n = self.old_start if self.old_count else self.old_start + 1
        for op in self.ops:
            if op == ord("+"):
                return [n - 1, n]
            n += 1
        return [n - 1, n]


@dataclass(frozen=True)
class BinaryPatch:
    method: str  # "literal" or "delta"
    size: int
    data: bytes  # inflated


@dataclass(frozen=True)
class FilePatch:
    """One file's part of a patch. Paths are bytes; None on the side where the file is absent."""

    old_path: bytes | None
    new_path: bytes | None
    old_mode: bytes | None
    new_mode: bytes | None
    old_oid: str | None
    new_oid: str | None
    hunks: tuple[Hunk, ...]
    binary: BinaryPatch | None
    binary_without_data: bool
    copy: bool
    line: int
    similarity: int | None = None  # the extended header's `similarity index N%`

    @property
    def path(self) -> bytes:
        return self.new_path if self.new_path is not None else self.old_path or b""

    @property
    def display_path(self) -> str:
        return self.path.decode("utf-8", "replace")

    @property
    def added(self) -> int:
        """Lines added, over all hunks."""
        return sum(h.ops.count(b"+") for h in self.hunks)

    @property
    def removed(self) -> int:
        """Lines removed, over all hunks."""
        return sum(h.ops.count(b"-") for h in self.hunks)

    @property
    def is_binary(self) -> bool:
        """A binary change, with its data or as a bare `Binary files ... differ`."""
        return self.binary is not None or self.binary_without_data


def lines_of(data: bytes) -> list[bytes]:
    """Split on b"\\n" only, keeping it: a CR or form feed is part of its line."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unquote(text: bytes) -> bytes:
    """A path as git prints it: plain, or C-quoted with octal escapes."""
    if not text.startswith(b'"'):
        return text
    out = bytearray()
    i = 1
    while i < len(text):
        c = text[i]
        if c == ord('"'):
            return bytes(out)
        if c == ord("\\"):
            nxt = text[i + 1]
            if ord("0") <= nxt <= ord("7"):
                out.append(int(text[i + 1:i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    raise ValueError("unterminated quoted path")


def _quoted_end(text: bytes) -> int:
    i = 1
    while i < len(text):
        if text[i] == ord("\\"):
            i += 2
        elif text[i] == ord('"'):
            return i + 1
        else:
            i += 1
    raise ValueError("unterminated quoted path")


def _strip_prefix(path: bytes) -> bytes:
    return path[2:] if path[:2] in (b"a/", b"b/") else path


def _git_line_names(rest: bytes) -> tuple[bytes, bytes] | None:
    """The two names of `diff --git a/X b/Y`, when they can be told apart."""
    if rest.startswith(b'"'):
        end = _quoted_end(rest)
        first, second = unquote(rest[:end]), rest[end + 1:]
        return _strip_prefix(first), _strip_prefix(unquote(second))
    if rest.endswith(b'"'):
        start = rest.rfind(b' "')
        return _strip_prefix(rest[:start]), _strip_prefix(unquote(rest[start + 1:]))
    # Unquoted names may hold spaces: the two halves are the same name (no rename here).
    half = (len(rest) - 1) // 2
    first, second = rest[:half], rest[half + 1:]
    if rest[half:half + 1] == b" " and _strip_prefix(first) == _strip_prefix(second):
        return _strip_prefix(first), _strip_prefix(second)
    return None


def _path_line(value: bytes) -> bytes | None:
    # GNU diff may add a tab and a date; git adds a tab only after names with spaces.
    value = value.rstrip(b"\n")
    if value.startswith(b'"'):
        value = value[:_quoted_end(value)]
    elif b"\t" in value:
        value = value.split(b"\t", 1)[0]
    if value == b"/dev/null":
        return None
    return unquote(value)


def _decode_base85(lines: list[bytes], start: int) -> bytes:
    out = bytearray()
    for n, line in enumerate(lines):
        line = line.rstrip(b"\n")
        c = line[0]
        length = c - ord("A") + 1 if c <= ord("Z") else c - ord("a") + 27
        try:
            out += base64.b85decode(line[1:])[:length]
        except ValueError as e:
            raise PatchSyntaxError(start + n, f"bad binary data: {e}") from e
    return bytes(out)


def _starts_file(lines: list[bytes], i: int) -> bool:
    """A file's part starts here: `diff --git`, or a plain diff's `---` and `+++` lines."""
    return lines[i].startswith(b"diff --git ") or (
        lines[i].startswith(b"--- ") and i + 1 < len(lines) and lines[i + 1].startswith(b"+++ "))


def parse_patch(data: bytes, first_line: int = 1) -> list[FilePatch]:
    """Every file of a git patch or a plain unified diff (text before the first file's
    header, such as an email or a commit message, is ignored)."""
    lines = lines_of(data)
    files: list[FilePatch] = []
    i = 0
    while i < len(lines) and not _starts_file(lines, i):
        i += 1
    while i < len(lines):
        i, fp = _parse_file(lines, i, first_line)
        files.append(fp)
    return files


def _strip_component(path: bytes | None) -> bytes | None:
    """`patch -p1` for plain diffs: drop the first folder (`a/`, `old/`, ...)."""
    if path is None or b"/" not in path:
        return path
    return path.split(b"/", 1)[1]


def _parse_file(lines: list[bytes], i: int, base: int) -> tuple[int, FilePatch]:
    start = i
    is_git = lines[i].startswith(b"diff --git ")
    names = _git_line_names(lines[i][len(b"diff --git "):].rstrip(b"\n")) if is_git else None
    old_path, new_path = names if names else (None, None)
    old_mode = new_mode = None
    old_oid = new_oid = None
    is_new = is_deleted = copy = False
    minus: bytes | None = b""
    plus: bytes | None = b""
    have_minus = have_plus = False
    hunks: list[Hunk] = []
    binary: BinaryPatch | None = None
    without_data = False
    similarity: int | None = None
    if is_git:
        i += 1
    while i < len(lines) and not lines[i].startswith(b"diff --git "):
        if have_plus and _starts_file(lines, i):
            break
        line = lines[i]
        text = line.rstrip(b"\n")
        if text.startswith(b"@@"):
            i, hunk = _parse_hunk(lines, i, base)
            hunks.append(hunk)
            continue
        if text.startswith(b"old mode "):
            old_mode = text[9:]
        elif text.startswith(b"new mode "):
            new_mode = text[9:]
        elif text.startswith(b"deleted file mode "):
            old_mode, is_deleted = text[18:], True
        elif text.startswith(b"new file mode "):
            new_mode, is_new = text[14:], True
        elif text.startswith((b"rename from ", b"copy from ")):
            old_path = unquote(text.split(b" from ", 1)[1])
            copy = text.startswith(b"copy")
        elif text.startswith((b"rename to ", b"copy to ")):
            new_path = unquote(text.split(b" to ", 1)[1])
        elif text.startswith(b"index "):
            ids, _, mode = text[6:].partition(b" ")
            a, _, b = ids.partition(b"..")
            old_oid, new_oid = a.decode(), b.decode()
            if mode:
                old_mode = new_mode = mode
        elif text.startswith(b"--- "):
            minus, have_minus = _path_line(line[4:]), True
        elif text.startswith(b"+++ "):
            plus, have_plus = _path_line(line[4:]), True
        elif text == b"GIT binary patch":
            i, binary = _parse_binary(lines, i + 1, base)
            continue
        elif text.startswith(b"Binary files "):
            without_data = True
        elif similarity is None and not (hunks or have_minus) and (
                m := _SIMILARITY.match(text)):
            similarity = int(m[1])
        i += 1
    strip = _strip_prefix if is_git else _strip_component
    if have_minus:
        old_path = strip(minus) if minus is not None else None
    if have_plus:
        new_path = strip(plus) if plus is not None else None
    if not is_git:
        is_new, is_deleted = old_path is None, new_path is None
    if is_new:
        old_path = None
    if is_deleted:
        new_path = None
    if old_path is None and new_path is None:
        raise PatchSyntaxError(base + start, "cannot tell which file this part of the patch is for")
    if old_mode is None and not is_new:
        old_mode = new_mode
    if new_mode is None and not is_deleted:
        new_mode = old_mode
    zero = {None, "0" * len(old_oid or "")}
    return i, FilePatch(
        old_path=old_path, new_path=new_path, old_mode=old_mode, new_mode=new_mode,
        old_oid=None if old_oid in zero else old_oid,
        new_oid=None if new_oid in zero else new_oid,
        hunks=tuple(hunks), binary=binary, binary_without_data=without_data and binary is None,
        copy=copy, line=base + start, similarity=similarity,
    )


def _parse_hunk(lines: list[bytes], i: int, base: int) -> tuple[int, Hunk]:
    m = _HUNK.match(lines[i])
    if not m:
        raise PatchSyntaxError(base + i, "malformed hunk header")
    old_start, new_start = int(m[1]), int(m[3])
    old_count = 1 if m[2] is None else int(m[2])
    new_count = 1 if m[4] is None else int(m[4])
    start = i
    old: list[bytes] = []
    new: list[bytes] = []
    ops: list[bytes] = []
    last: list[list[bytes]] = []
    i += 1
    while len(old) < old_count or len(new) < new_count:
        if i >= len(lines):
            raise PatchSyntaxError(base + start, "hunk is shorter than its header says")
        line = lines[i]
        tag, body = line[:1], line[1:]
        if line == b"\n":  # an empty context line whose space was trimmed
            tag, body = b" ", b"\n"
        if tag == b" ":
            old.append(body)
            new.append(body)
            last = [old, new]
            ops.append(tag)
        elif tag == b"-":
            old.append(body)
            last = [old]
            ops.append(tag)
        elif tag == b"+":
            new.append(body)
            last = [new]
            ops.append(tag)
        elif tag == b"\\":
            _drop_newline(last)
        else:
            raise PatchSyntaxError(base + i, f"unexpected line in hunk: {line[:40]!r}")
        i += 1
    if i < len(lines) and lines[i].startswith(b"\\"):
        _drop_newline(last)
        i += 1
    if len(old) != old_count or len(new) != new_count:
        raise PatchSyntaxError(base + start, "hunk line counts do not match its header")
    section = lines[start][m.end():].removeprefix(b" ").removesuffix(b"\n").removesuffix(b"\r")
    return i, Hunk(old_start, old_count, new_start, new_count, tuple(old), tuple(new),
                   base + start, b"".join(ops), section)


def _drop_newline(sides: list[list[bytes]]) -> None:
    """`\\ No newline at end of file`: the line before it has no line ending."""
    for side in sides:
        if side and side[-1].endswith(b"\n"):
            side[-1] = side[-1][:-1]


def _parse_binary(lines: list[bytes], i: int, base: int) -> tuple[int, BinaryPatch]:
    header = lines[i].rstrip(b"\n") if i < len(lines) else b""
    method, _, size = header.partition(b" ")
    if method not in (b"literal", b"delta") or not size.isdigit():
        raise PatchSyntaxError(base + i, "malformed binary patch header")
    start = i + 1
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    try:
        data = zlib.decompress(_decode_base85(lines[start:end], base + start))
    except zlib.error as e:
        raise PatchSyntaxError(base + start, f"corrupt binary data: {e}") from e
    patch = BinaryPatch(method.decode(), int(size), data)
    # Skip the reverse hunk git writes after the forward one.
    i = end + 1
    while i < len(lines) and not lines[i].startswith(b"diff --git "):
        i += 1
    return i, patch


def split_hunk(hunk: Hunk, context: int = 3) -> list[Hunk]:
    """One hunk per run of changed lines, each with up to `context` lines around it.

    git joins changes less than seven lines apart into one hunk; `absorb` needs them
    apart, since each may belong to a different step.
    """
    if not hunk.ops:
        return [hunk]
    # For each op: the index of its line in old_lines and new_lines.
    positions, o, n = [], 0, 0
    for op in hunk.ops:
        positions.append((o, n))
        o += op != ord("+")
        n += op != ord("-")
    runs: list[tuple[int, int]] = []
    for k, op in enumerate(hunk.ops):
        if op == ord(" "):
            continue
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    if len(runs) <= 1:
        return [hunk]
    out = []
    for first, last in runs:
        lo, hi = first, last
        while lo > 0 and first - lo < context and hunk.ops[lo - 1] == ord(" "):
            lo -= 1
        while hi + 1 < len(hunk.ops) and hi - last < context and hunk.ops[hi + 1] == ord(" "):
            hi += 1
        ops = hunk.ops[lo:hi + 1]
        o0, n0 = positions[lo]
        old_count = sum(1 for op in ops if op != ord("+"))
        new_count = sum(1 for op in ops if op != ord("-"))
        out.append(Hunk(
            hunk.old_start + o0 if hunk.old_count else hunk.old_start, old_count,
            hunk.new_start + n0 if hunk.new_count else hunk.new_start, new_count,
            hunk.old_lines[o0:o0 + old_count], hunk.new_lines[n0:n0 + new_count],
            hunk.line, ops,
        ))
    return out


def trim_context(hunk: Hunk, before: int, after: int) -> Hunk:
    """The hunk with at most `before` context lines ahead of its changes and `after` behind."""
    lead = len(hunk.ops) - len(hunk.ops.lstrip(b" "))
    tail = len(hunk.ops) - len(hunk.ops.rstrip(b" "))
    drop_lead, drop_tail = max(0, lead - before), max(0, tail - after)
    ops = hunk.ops[drop_lead:len(hunk.ops) - drop_tail]
    old_count = hunk.old_count - drop_lead - drop_tail
    new_count = hunk.new_count - drop_lead - drop_tail
    return Hunk(hunk.old_start + drop_lead, old_count, hunk.new_start + drop_lead, new_count,
                hunk.old_lines[drop_lead:drop_lead + old_count],
                hunk.new_lines[drop_lead:drop_lead + new_count], hunk.line, ops)

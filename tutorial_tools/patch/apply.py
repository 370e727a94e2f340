"""Apply one file's hunks or binary patch to its old content. Pure: bytes in, bytes out."""

from __future__ import annotations

from collections.abc import Sequence

from .parse import BinaryPatch, Hunk, lines_of


class HunkFailed(ValueError):
    """Hunk number `index` (1-based) does not match the content it should change."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def apply_hunks(old: bytes, hunks: Sequence[Hunk]) -> bytes:
    """Apply hunks in order; each is looked for at its line first, then nearby, like git apply."""
    lines = lines_of(old)
    out: list[bytes] = []
    pos = 0  # lines of `lines` consumed so far
    offset = 0
    for n, hunk in enumerate(hunks, 1):
        want = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        at = _find(lines, hunk.old_lines, max(want + offset, pos), pos)
        if at is None:
            raise HunkFailed(n, f"does not match the file at line {hunk.old_start}")
        offset = at - want
        out.extend(lines[pos:at])
        out.extend(hunk.new_lines)
        pos = at + len(hunk.old_lines)
    out.extend(lines[pos:])
    return b"".join(out)


def _find(lines: list[bytes], needle: tuple[bytes, ...], want: int, floor: int) -> int | None:
    def fits(at: int) -> bool:
        return lines[at:at + len(needle)] == list(needle)

    if not needle:
        return min(want, len(lines))
    for distance in range(len(lines) + 1):
        for at in (want - distance, want + distance) if distance else (want,):
            if floor <= at <= len(lines) - len(needle) and fits(at):
                return at
        if want - distance < floor and want + distance > len(lines) - len(needle):
            break
    return None


def apply_binary(old: bytes, patch: BinaryPatch) -> bytes:
    """A binary patch's result; its size counts the literal content or the delta itself."""
    if len(patch.data) != patch.size:
        raise ValueError(f"binary patch holds {len(patch.data)} bytes, expected {patch.size}")
    return patch.data if patch.method == "literal" else apply_delta(old, patch.data)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def apply_delta(base: bytes, delta: bytes) -> bytes:
    """Git's delta format: a copy-from-base / insert-literal instruction stream."""
    src_size, pos = _varint(delta, 0)
    dst_size, pos = _varint(delta, pos)
    if src_size != len(base):
        raise ValueError("binary delta was made against different content")
    out = bytearray()
    while pos < len(delta):
        cmd = delta[pos]
        pos += 1
        if cmd & 0x80:
            offset = size = 0
            for bit in range(4):
                if cmd & (1 << bit):
                    offset |= delta[pos] << (8 * bit)
                    pos += 1
            for bit in range(3):
                if cmd & (0x10 << bit):
                    size |= delta[pos] << (8 * bit)
                    pos += 1
            size = size or 0x10000
            if offset + size > len(base):  # git's patch_delta refuses it too
                raise ValueError("corrupt binary delta")
            out += base[offset:offset + size]
        elif cmd:
            out += delta[pos:pos + cmd]
            pos += cmd
        else:
            raise ValueError("corrupt binary delta")
    if len(out) != dst_size:
        raise ValueError("corrupt binary delta")
    return bytes(out)

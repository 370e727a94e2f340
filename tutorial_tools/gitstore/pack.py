"""Git's pack format as bytes: new objects in one pack, each whole or as a delta. No IO here.

A rewrite writes many objects that are small edits of one another: a folder's tree with one
entry changed, a file with a fix merged in. Each object may name a *like* object (the tree
or file it was made from); when that object is earlier in the same pack, the object is
stored as a delta against it, which is what git's own packs do: less to compress now, and
less for git to inflate when it reads them. The index comes with the pack (the ids are
known already), so no `git index-pack` runs. The delta is found cheaply: the bytes the two share
at their start and at their end are copied, the rest inserted. Chains stop at `MAX_DEPTH`
deltas, as `git pack-objects` does (its default `--depth` is 50).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Mapping

from .diff3 import NL, shared_end, shared_run, shared_start

PACK_TYPES = {b"commit": 1, b"tree": 2, b"blob": 3, b"tag": 4}
_OFS_DELTA = 6
MAX_DEPTH = 50
_MIN_SIZE = 512  # smaller objects are stored whole: a delta would save next to nothing
_MAX_COPY = 0xFFFFFF  # the largest size one copy instruction can give


def entry_header(kind: int, size: int) -> bytes:
    """A pack entry's type and size: 4 bits of size in the first byte, then 7 per byte."""
    out = bytearray([(kind << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        out[-1] |= 0x80
        out.append(size & 0x7F)
        size >>= 7
    return bytes(out)


def _offset(distance: int) -> bytes:
    """How far back an OFS_DELTA entry's base starts, in git's offset encoding (big-endian
    groups of 7 bits, each but the last marked and reduced by one)."""
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def _size(n: int) -> bytes:
    """A delta header's size: little-endian groups of 7 bits, all but the last marked."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _copy(offset: int, size: int) -> bytes:
    """Copy instructions for `size` bytes of the base from `offset`."""
    out = bytearray()
    while size:
        n = min(size, _MAX_COPY)
        cmd, args = 0x80, bytearray()
        for i in range(4):
            byte = (offset >> (8 * i)) & 0xFF
            if byte:
                cmd |= 1 << i
                args.append(byte)
        for i in range(3):
            byte = (n >> (8 * i)) & 0xFF
            if byte:
                cmd |= 0x10 << i
                args.append(byte)
        out.append(cmd)
        out += args
        offset += n
        size -= n
    return bytes(out)


def _insert(data: bytes) -> bytes:
    """Insert instructions: at most 127 literal bytes each."""
    return b"".join(bytes([len(data[i:i + 127])]) + data[i:i + 127]
                    for i in range(0, len(data), 127))


def delta(base: bytes, target: bytes) -> bytes | None:
    """`target` as a delta against `base`, or None when that saves less than an eighth."""
    start = shared_start(base, target)
    end = shared_end(base, target, min(len(base), len(target)) - start)
    if start + end < len(target) // 8:
        return None
    out = [_size(len(base)), _size(len(target))]
    if start:
        out.append(_copy(0, start))
    if len(target) - end > start:
        out += _middle(base, start, len(base) - end, target, len(target) - end)
    if end:
        out.append(_copy(len(base) - end, end))
    return b"".join(out)


_MIN_MATCH = 32  # shorter runs of lines found in the base are inserted, not copied


def _middle(base: bytes, start: int, base_stop: int, target: bytes, stop: int,
            ) -> list[bytes]:
    """Instructions for target[start:stop], where the base has base[start:base_stop] (both
    share what is before `start`).

    Text changes here and there: each line of the target is looked for in the base after
    the last part copied; when found, the run is extended as far as the two agree (bytes
    compared in blocks) and copied. Lines not found, and runs too short, are inserted.
    """
    out: list[bytes] = []
    literal = pos = after = start
    # Searches that find nothing may scan this many bytes of the base in all: the time
    # stays linear in the size of the objects, however little they share.
    budget = 8 * (stop - start) + 65536
    while pos < stop and budget > 0:
        eol = target.find(b"\n", pos, stop)
        eol = stop - 1 if eol < 0 else eol
        found = base.find(target[pos:eol + 1], after, base_stop)
        budget -= (found if found >= 0 else base_stop) - after
        if found >= 0:
            n = shared_run(base, found, base_stop, target, pos, stop)
            if n >= _MIN_MATCH:
                if pos > literal:
                    out.append(_insert(target[literal:pos]))
                out.append(_copy(found, n))
                literal = pos = pos + n
                after = found + n
                if target[pos - 1] != NL:  # go on from the next line
                    eol = target.find(b"\n", pos, stop)
                    pos = stop if eol < 0 else eol + 1
                continue
        pos = eol + 1
    if stop > literal:
        out.append(_insert(target[literal:stop]))
    return out


def build_indexed_pack(objects: Mapping[str, tuple[bytes, bytes]], like: Mapping[str, str],
                       ) -> tuple[bytes, bytes]:
    """A pack (with its trailing checksum) of `objects` (id -> (kind, content), in order),
    where an object whose `like` entry names an earlier object of the pack may be a delta
    on it, and the pack's index (version 2), as `git index-pack` would write it: the ids
    are known already, so nothing needs inflating or hashing again."""
    body = [b"PACK", struct.pack(">II", 2, len(objects))]
    where: dict[str, int] = {}
    depth: dict[str, int] = {}
    crcs: dict[str, int] = {}
    pos = 12
    for oid, (kind, data) in objects.items():
        base = like.get(oid)
        patch = None
        if base is not None and base in where and depth[base] < MAX_DEPTH \
                and len(data) >= _MIN_SIZE:
            patch = delta(objects[base][1], data)
        if patch is not None:
            assert base is not None
            header = entry_header(_OFS_DELTA, len(patch)) + _offset(pos - where[base])
            packed = zlib.compress(patch, 1)
            depth[oid] = depth[base] + 1
        else:
            header = entry_header(PACK_TYPES[kind], len(data))
            packed = zlib.compress(data, 1)
            depth[oid] = 0
        where[oid] = pos
        crcs[oid] = zlib.crc32(packed, zlib.crc32(header))
        body += (header, packed)
        pos += len(header) + len(packed)
    pack = b"".join(body)
    checksum = hashlib.sha1(pack).digest()
    return pack + checksum, _index(where, crcs, checksum)


def _index(where: Mapping[str, int], crcs: Mapping[str, int], checksum: bytes) -> bytes:
    """A pack index, version 2: fan-out table, sorted ids, CRC32s, offsets (those at or past
    2 GiB in a table of 8-byte ones), the pack's checksum, then the index's own."""
    ids = sorted(where)
    fanout = [0] * 256
    for oid in ids:
        fanout[int(oid[:2], 16)] += 1
    total = 0
    for i in range(256):
        total += fanout[i]
        fanout[i] = total
    small: list[int] = []
    large: list[int] = []
    for oid in ids:
        at = where[oid]
        if at < 0x80000000:
            small.append(at)
        else:
            small.append(0x80000000 | len(large))
            large.append(at)
    n = len(ids)
    out = b"".join((b"\377tOc", struct.pack(">I", 2), struct.pack(">256I", *fanout),
                    bytes.fromhex("".join(ids)), struct.pack(f">{n}I", *(crcs[o] for o in ids)),
                    struct.pack(f">{n}I", *small), struct.pack(f">{len(large)}Q", *large),
                    checksum))
    return out + hashlib.sha1(out).digest()

"""Three-way text merges decided without git, only where git's answer is certain. No IO.

`git merge-file` diffs the base against each side (xdiff's Myers diff, then its "compaction"
that slides each changed block along equal lines) and merges the two lists of changes: a
change of one side that ends at least one base line before the other side's next change
starts is taken as it is; changes that overlap or merely touch are a conflict. Myers diffs
of repetitive text are ambiguous, so this module does not try to reproduce git's diff.
It relies on three facts about xdiff instead:

1. Before diffing, xdiff sets aside the lines the two files share at their start and at
   their end: every change lies in the middle of what is left (the side's "zone").
2. Compaction only slides a changed block up by one line when the line above it equals the
   block's last line, and down when the line below it equals its first line. So if the
   lines just outside a zone occur nowhere inside it (in the base or in the side), no
   block can leave the zone. `_zone` widens a zone until that holds.
3. Outside the changes, the result is the base's lines.

When the two sides' zones are apart by at least one base line, git's merge is clean
whatever diff it picked within each zone, and equals the base with each zone replaced by
that side's text. Anything else (zones that touch or overlap, binary content) is left to
git: `clean_merge` returns None and the caller runs `git merge-file`, whose conflict
markers and refinements stay git's own.
"""

from __future__ import annotations

from collections.abc import Sequence

# git's `buffer_is_binary` looks for a NUL in the first 8,000 bytes; any NUL anywhere
# sends the merge to git.
_NUL = b"\0"


def split_lines(data: bytes) -> list[bytes]:
    """xdiff's records: each line with its newline, and a last line without one if any."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _zone(base: Sequence[bytes], side: Sequence[bytes]) -> tuple[int, int, int] | None:
    """(start, end in the base, end in the side) of the part of the base that the side may
    change in git's diff, or None when the side equals the base."""
    n, m = len(base), len(side)
    limit = min(n, m)
    start = 0
    while start < limit and base[start] == side[start]:
        start += 1
    if start == n == m:
        return None
    shared_end = 0
    while shared_end < limit - start and base[n - 1 - shared_end] == side[m - 1 - shared_end]:
        shared_end += 1
    end, side_end = n - shared_end, m - shared_end
    inside = set(base[start:end])
    inside.update(side[start:side_end])
    # Lines outside the zone are shared by both files, so base[i] == side[i] above it and
    # base[i] == side[i + m - n] below it: checking the base's line checks both.
    while start > 0 and base[start - 1] in inside:
        start -= 1
    while end < n and base[end] in inside:
        end += 1
        side_end += 1
    return start, end, side_end


def clean_merge(base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """What `git merge-file` gives when it is certain to merge cleanly, else None."""
    if _NUL in base or _NUL in ours or _NUL in theirs:
        return None
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    ours_zone, theirs_zone = _zone(b, o), _zone(b, t)
    if ours_zone is None:
        return theirs
    if theirs_zone is None:
        return ours
    if ours_zone[1] < theirs_zone[0]:
        return _join(o, ours_zone[2], b, ours_zone[1], theirs_zone[0], t)
    if theirs_zone[1] < ours_zone[0]:
        return _join(t, theirs_zone[2], b, theirs_zone[1], ours_zone[0], o)
    return None


def _join(first: list[bytes], first_end: int, base: list[bytes], gap_start: int,
          gap_end: int, second: list[bytes]) -> bytes:
    """The first side up to the end of its zone, the unchanged base lines between the two
    zones, then the second side from the start of its zone (before which it is the base)."""
    return b"".join(first[:first_end]) + b"".join(base[gap_start:gap_end]) \
        + b"".join(second[gap_end:])

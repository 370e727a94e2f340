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

# git's `buffer_is_binary` looks for a NUL in the first 8,000 bytes; any NUL anywhere
# sends the merge to git.
_NUL = b"\0"
NL = 10  # b"\n"[0]
_STEPS = (4096, 256, 16, 1)  # compare in blocks, then narrow down: no loop per byte


def shared_start(a: bytes, b: bytes) -> int:
    """How many bytes `a` and `b` share at their start."""
    return shared_run(a, 0, len(a), b, 0, len(b))


def shared_run(a: bytes, a_at: int, a_stop: int, b: bytes, b_at: int, b_stop: int) -> int:
    """How many bytes a[a_at:a_stop] and b[b_at:b_stop] share at their start (compared in
    blocks, so that a short run costs a short comparison)."""
    limit, i = min(a_stop - a_at, b_stop - b_at), 0
    for step in _STEPS:
        while i + step <= limit and a[a_at + i:a_at + i + step] == b[b_at + i:b_at + i + step]:
            i += step
    return i


def shared_end(a: bytes, b: bytes, limit: int) -> int:
    """How many bytes (at most `limit`) `a` and `b` share at their end."""
    na, nb, i = len(a), len(b), 0
    for step in _STEPS:
        while i + step <= limit and a[na - i - step:na - i] == b[nb - i - step:nb - i]:
            i += step
    return i


def _line_start(data: bytes, at: int) -> bool:
    return at == 0 or data[at - 1] == NL


def _zone(base: bytes, side: bytes) -> tuple[int, int, int] | None:
    """(start, end in the base, end in the side), in bytes at line boundaries, of the part
    of the base that the side may change in git's diff; None when the side is the base.

    The shared lines at the start and at the end are whole lines, as xdiff compares them:
    the shared end may not reach into the shared start in either file.
    """
    if base == side:
        return None
    start = base.rfind(b"\n", 0, shared_start(base, side)) + 1
    n, m = len(base), len(side)
    shared = shared_end(base, side, min(n, m) - start)
    end = n - shared
    if not (_line_start(base, end) and _line_start(side, m - shared)):
        # Past the first line boundary in the shared end, both files have the same ones.
        end = base.find(b"\n", end) + 1 or n
    side_end = end + m - n
    # Every line inside, each after a newline (a separator the base part may lack).
    inside = b"\n" + base[start:end] + b"\n" + side[start:side_end]
    # Lines outside the zone are the same in both files, so base[i] == side[i] above it
    # and base[i] == side[i + m - n] below it: checking the base's line checks both.
    while start > 0 and b"\n" + base[base.rfind(b"\n", 0, start - 1) + 1:start] in inside:
        start = base.rfind(b"\n", 0, start - 1) + 1
    while end < n:
        after = base.find(b"\n", end) + 1 or n
        if b"\n" + base[end:after] not in inside:
            break
        side_end += after - end
        end = after
    return start, end, side_end


def clean_merge(base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """What `git merge-file` gives when it is certain to merge cleanly, else None."""
    if _NUL in base or _NUL in ours or _NUL in theirs:
        return None
    ours_zone, theirs_zone = _zone(base, ours), _zone(base, theirs)
    if ours_zone is None:
        return theirs
    if theirs_zone is None:
        return ours
    # Zones start and end at line boundaries: `<` leaves at least one whole line between.
    if ours_zone[1] < theirs_zone[0]:
        return ours[:ours_zone[2]] + base[ours_zone[1]:theirs_zone[0]] + theirs[theirs_zone[0]:]
    if theirs_zone[1] < ours_zone[0]:
        return theirs[:theirs_zone[2]] + base[theirs_zone[1]:ours_zone[0]] + ours[ours_zone[0]:]
    return None

"""The in-memory merge against `git merge-file`: whenever it calls a merge clean, git merges
it cleanly too, to the same bytes; and it does decide the cases a carried fix meets."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutorial_tools.gitstore.diff3 import clean_merge
from tutorial_tools.gitstore.merge import git_merge_file

LABELS = ("edited", "before", "step")

# Few distinct lines, so that diffs are ambiguous: repeated lines, blank lines, a line
# with and without its newline, CRLF endings, a NUL now and then.
LINES = [b"a\n", b"b\n", b"c\n", b"\n", b"a\r\n", b"  a\n", b"}\n", b"x\n", b"a", b"b",
         b"\r\n", b"\0\n"]

line = st.sampled_from(LINES)
# An edit: at a position (a share of the length), delete some lines, insert some.
edit = st.tuples(st.floats(0, 1), st.integers(0, 3), st.lists(line, max_size=3))


def split_lines(data: bytes) -> list[bytes]:
    """Lines as xdiff sees them: each with its newline, the last one maybe without."""
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def text(lines: list[bytes]) -> bytes:
    """Lines joined; a line without its newline only counts at the very end."""
    return b"".join(ln if ln.endswith(b"\n") or i == len(lines) - 1 else ln + b"\n"
                    for i, ln in enumerate(lines))


def edited(base: bytes, edits: list[tuple[float, int, list[bytes]]]) -> bytes:
    lines = split_lines(base)
    for where, deleted, inserted in edits:
        at = int(where * len(lines))
        lines[at:at + deleted] = inserted
    return text(lines)


@st.composite
def triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    base = text(draw(st.lists(line, max_size=30)))
    if draw(st.integers(0, 9)) == 0:  # now and then: sides unrelated to the base
        return base, text(draw(st.lists(line, max_size=30))), text(draw(st.lists(line,
                                                                               max_size=30)))
    return (base, edited(base, draw(st.lists(edit, min_size=1, max_size=3))),
            edited(base, draw(st.lists(edit, min_size=1, max_size=3))))


def agrees_with_git(base: bytes, ours: bytes, theirs: bytes) -> bool:
    """False only when the in-memory merge calls a merge clean that git does not make
    cleanly, identically."""
    mine = clean_merge(base, ours, theirs)
    if mine is None:
        return True
    theirs_git = git_merge_file(base, ours, theirs, LABELS)
    return theirs_git is not None and theirs_git.conflicts == 0 and theirs_git.content == mine


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(triples())
def test_a_clean_merge_is_gits_clean_merge(case: tuple[bytes, bytes, bytes]) -> None:
    assert agrees_with_git(*case)


def numbered(n: int, *, start: int = 0) -> list[bytes]:
    return [b"line %d\n" % i for i in range(start, start + n)]


def test_far_apart_changes_merge_in_memory_as_git_does() -> None:
    base = numbered(60)
    ours = [*base[:4], b"fixed\n", *base[5:7], b"added\n", *base[7:]]
    theirs = [*base[:30], b"# step 1\n", b"new\n", *base[32:50], *base[52:]]
    merged = clean_merge(b"".join(base), b"".join(ours), b"".join(theirs))
    assert merged is not None
    git = git_merge_file(b"".join(base), b"".join(ours), b"".join(theirs), LABELS)
    assert git is not None and git.conflicts == 0 and git.content == merged
    assert b"fixed\n" in merged and b"# step 1\n" in merged and b"line 50\n" not in merged


def test_one_side_unchanged_gives_the_other() -> None:
    base, other = b"a\nb\n", b"a\nc\nd"
    assert clean_merge(base, base, other) == other
    assert clean_merge(base, other, base) == other


def test_touching_changes_are_left_to_git() -> None:
    base = b"".join(numbered(10))
    ours = base.replace(b"line 3\n", b"three\n")
    theirs = base.replace(b"line 4\n", b"four\n")
    assert clean_merge(base, ours, theirs) is None
    git = git_merge_file(base, ours, theirs, LABELS)
    assert git is not None and git.conflicts == 1  # adjacent changes conflict in git


def test_one_line_between_changes_is_clean() -> None:
    base = b"".join(numbered(10))
    ours = base.replace(b"line 3\n", b"three\n")
    theirs = base.replace(b"line 5\n", b"five\n")
    merged = clean_merge(base, ours, theirs)
    assert merged == base.replace(b"line 3\n", b"three\n").replace(b"line 5\n", b"five\n")
    assert agrees_with_git(base, ours, theirs)


def test_a_change_that_could_slide_widens_its_zone() -> None:
    # Inserting a blank line between two blank lines: git may place it at either; a change
    # next to the run of blanks must go to git.
    base = b"a\n\n\nb\nc\nd\n"
    ours = b"a\n\n\n\nb\nc\nd\n"
    theirs = b"A\n\n\nb\nc\nd\n"
    assert clean_merge(base, ours, theirs) is None
    assert clean_merge(base, ours, b"a\n\n\nb\nc\nD\n") == b"a\n\n\n\nb\nc\nD\n"


def test_binary_and_missing_final_newline() -> None:
    assert clean_merge(b"a\0\nb\n", b"A\0\nb\n", b"a\0\nB\n") is None
    base = b"".join(numbered(8)) + b"end"
    ours = base.replace(b"line 1\n", b"one\n")
    theirs = base[:-3] + b"END"
    merged = clean_merge(base, ours, theirs)
    assert merged is not None and merged.endswith(b"END") and b"one\n" in merged
    assert agrees_with_git(base, ours, theirs)

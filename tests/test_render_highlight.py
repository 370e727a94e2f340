"""Properties of one line's markup and of word-level changes (pure functions, no git)."""

from __future__ import annotations

from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from testing.html import Fragment
from tutorial_tools.render.highlight import highlight, line_html, split_lines, word_changes

TEXT = st.text(alphabet=st.sampled_from(list("ab <>&\"'\tx_1.\r\x1b\u00e9")), max_size=30)
SEGMENTS = st.lists(st.tuples(st.sampled_from(["", "k", "s2", "nf"]),
                              TEXT.filter(bool)), max_size=6)


def _plain(html: str) -> str:
    """The text a reader sees (and copies): tags dropped, control symbols as the CR etc."""
    doc = Fragment(f"<div>{html}</div>")
    assert doc.roots == 1
    out, pos = [], 0
    while pos < len(html):
        if html.startswith('<span class="tt-ctl" data-c="', pos):
            symbol = html[pos + 29]
            out.append(chr(ord(symbol) - 0x2400) if symbol != "\u2421" else "\x7f")
            pos = html.index("</span>", pos) + 7
        elif html[pos] == "<":
            pos = html.index(">", pos) + 1
        else:
            end = html.find("<", pos)
            end = len(html) if end < 0 else end
            out.append(unescape(html[pos:end]))
            pos = end
    return "".join(out)


@given(SEGMENTS, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=4))
def test_line_markup_is_well_formed_and_keeps_the_text(
        segments: list[tuple[str, str]], raw: list[tuple[int, int]]) -> None:
    text = "".join(t for _, t in segments)
    ranges = sorted({(min(a, b, len(text)), min(max(a, b), len(text))) for a, b in raw})
    ranges = [(a, b) for a, b in ranges if a < b]
    html = line_html(segments, ranges, "ins")
    assert _plain(html) == text
    assert "<script" not in html and "\r" not in html
    inner = [part.split(">", 1)[1].split("</ins>")[0] for part in html.split("<ins")[1:]]
    emphasised = "".join(_plain(part) for part in inner)
    assert len(emphasised) == len({i for a, b in ranges for i in range(a, b)})


@given(TEXT, TEXT)
def test_word_changes_are_ranges_outside_the_shared_text(old: str, new: str) -> None:
    ra, rb = word_changes(old, new)
    for ranges, line in ((ra, old), (rb, new)):
        assert all(0 <= a < b <= len(line) for a, b in ranges)
    keep_a = "".join(c for i, c in enumerate(old) if not any(a <= i < b for a, b in ra))
    keep_b = "".join(c for i, c in enumerate(new) if not any(a <= i < b for a, b in rb))
    if ra or rb:
        assert keep_a == keep_b  # what is not marked is what both lines share


@given(st.lists(st.sampled_from(['"""doc', "x = 'a'", "", "def f():", "  return 1", "# c",
                                 '"""', "\tt", "caf\u00e9"]), max_size=25))
def test_highlighting_keeps_every_line(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    got = highlight(text, "m.py")
    assert got is not None
    assert ["".join(t for _, t in row) for row in got] == split_lines(text)


def test_a_byte_order_mark_stays_on_line_one_and_empty_text_has_no_lines() -> None:
    got = highlight("\ufeffx = 1\ny = 2\n", "m.py")
    assert got is not None
    assert ["".join(t for _, t in row) for row in got] == ["\ufeffx = 1", "y = 2"]
    assert highlight("", "m.py") == []

"""Syntax highlighting of whole files, word-level emphasis, and the markup of one line.

A line is a list of segments (css class, text); its HTML is flat token spans, with runs of
emphasised segments wrapped in one `<del>`/`<ins>` around them, so the markup is always
well formed. No IO here: `highlight_blob` is given a function that reads the blob.
"""

from __future__ import annotations

import functools
import posixpath
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from difflib import SequenceMatcher
from html import escape
from typing import cast

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

from .model import LARGE_BYTES

Segment = tuple[str, str]  # (short Pygments class, or "" for plain text; text)

WORD_DIFF_MAX_CHARS = 500  # longer lines get no word-level emphasis (keeps it linear)
WORD_DIFF_MIN_SHARED = 0.3  # below this share of unchanged text, emphasis is only noise

_CLASSES: dict[_TokenType, str] = {}


def _css_class(ttype: _TokenType) -> str:
    found = _CLASSES.get(ttype)
    if found is None:
        t = ttype
        while t not in STANDARD_TYPES and t.parent is not None:
            t = t.parent
        found = _CLASSES[ttype] = STANDARD_TYPES.get(t, "")
    return found


@functools.lru_cache(maxsize=1024)
def lexer_for(path: str) -> Lexer:
    """The lexer for a file name (by name only: content sniffing would be slow and erratic)."""
    name = posixpath.basename(path)
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return cast(Lexer, TextLexer(stripnl=False, ensurenl=True))


def split_lines(text: str) -> list[str]:
    """Lines as git counts them (split on LF only), each without its LF."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def plain(lines: list[str]) -> list[list[Segment]]:
    return [[("", line.removesuffix("\r"))] if line else [] for line in lines]


def highlight(text: str, path: str, upto: int | None = None) -> list[list[Segment]] | None:
    """Each line of `text` (CR LF ending removed) as segments, or None when the lexer's
    lines do not line up with git's (a lone CR, which Pygments reads as a line break).

    With `upto`, lexing stops after that many lines (the lexer still sees the whole text,
    so they are the same as when lexing all of it); counting can then only be checked by
    comparing the lines' text, which callers do.
    """
    if not text:
        return []
    lexer = lexer_for(path)
    bom = text.startswith("\ufeff")  # Pygments drops it; keep it on line 1
    out: list[list[Segment]] = [[("", "\ufeff")] if bom else []]
    row = out[-1]
    for ttype, value in lexer.get_tokens(text[1:] if bom else text):
        cls = _CLASSES.get(ttype)
        if cls is None:  # a type not seen before (plain text's class is "")
            cls = _css_class(ttype)
        for k, part in enumerate(value.split("\n") if "\n" in value else (value,)):
            if k:
                row = []
                out.append(row)
            if part:
                if row and row[-1][0] == cls:
                    row[-1] = (cls, row[-1][1] + part)
                else:
                    row.append((cls, part))
        if upto is not None and len(out) > upto:
            return out[:upto]
    if not out[-1]:
        out.pop()
    if len(out) != len(split_lines(text)):
        return None
    return out


# Highlighted blobs, shared by the diff and the file renderer and by every call: a blob id
# names one content for ever, a step's new files are the next steps' old ones, and a
# `::file` directive shows a blob the step's diff showed. (blob, lexer) -> (lines lexed, or
# None for all; the lines, or None when the blob is too large or they do not line up).
# Bounded; the lock makes threads safe.
_BLOBS: OrderedDict[tuple[str, str], tuple[int | None, list[list[Segment]] | None]] = (
    OrderedDict())
_BLOBS_MAX = 256
_LOCK = threading.Lock()


def highlight_blob(oid: str, path: str, upto: int, data: Callable[[], bytes],
                   ) -> list[list[Segment]] | None:
    """The blob's first `upto` lines (or fewer, at its end) highlighted for `path`'s
    language, lexed once and kept; None when it is too large or the lexer's lines are not
    git's. `data()` gives the blob's content, and is called only when it must be lexed."""
    key = (oid, lexer_for(path).name)
    with _LOCK:
        done = _BLOBS.get(key)
        if done is not None and (done[0] is None or done[0] >= upto):
            _BLOBS.move_to_end(key)
            return done[1]
    content = data()
    lines = None if len(content) > LARGE_BYTES else highlight(
        content.decode("utf-8", "replace"), path, upto)
    complete = lines is None or len(lines) < upto
    with _LOCK:
        _BLOBS[key] = (None if complete else upto, lines)
        while len(_BLOBS) > _BLOBS_MAX:
            _BLOBS.popitem(last=False)
    return lines


def forget_highlighting() -> None:
    """Empty the shared cache of highlighted blobs (benchmarks start cold with it)."""
    with _LOCK:
        _BLOBS.clear()


def text_of(segments: list[Segment]) -> str:
    return "".join(t for _, t in segments)


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def word_changes(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges that differ between two versions of a line, compared word by
    word; empty when the lines are too long or share too little for emphasis to help."""
    if old == new or len(old) > WORD_DIFF_MAX_CHARS or len(new) > WORD_DIFF_MAX_CHARS:
        return [], []
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    shared = sum(len("".join(a[i:i + n])) for i, _, n in matcher.get_matching_blocks())
    if shared < WORD_DIFF_MIN_SHARED * max(len(old), len(new)):
        return [], []
    pos_a = _offsets(a)
    pos_b = _offsets(b)
    ra: list[tuple[int, int]] = []
    rb: list[tuple[int, int]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if i2 > i1:
            ra.append((pos_a[i1], pos_a[i2]))
        if j2 > j1:
            rb.append((pos_b[j1], pos_b[j2]))
    return ra, rb


def _offsets(tokens: list[str]) -> list[int]:
    out = [0]
    for t in tokens:
        out.append(out[-1] + len(t))
    return out


def display_path(path: str | None) -> str:
    """A path for HTML: bytes that are not UTF-8 show as U+FFFD."""
    raw = (path or "").encode("utf-8", "surrogateescape")
    return esc(raw.decode("utf-8", "replace"))


def esc(text: str) -> str:
    """Text for HTML element content or a double-quoted attribute."""
    return escape(text, quote=True)


def line_html(segments: list[Segment], ranges: list[tuple[int, int]], tag: str) -> str:
    """A line's markup: token spans, with the characters in `ranges` inside `<tag>`."""
    if not ranges:
        return "".join(_span(c, t) for c, t in segments)
    cuts = sorted({p for r in ranges for p in r})
    pieces: list[tuple[str, str, bool]] = []
    pos = 0
    for cls, text in segments:
        end = pos + len(text)
        start = pos
        for cut in cuts:
            if start < cut < end:
                pieces.append((cls, text[start - pos:cut - pos], _inside(start, ranges)))
                start = cut
        pieces.append((cls, text[start - pos:], _inside(start, ranges)))
        pos = end
    out: list[str] = []
    open_ = False
    for cls, text, emphasised in pieces:
        if emphasised and not open_:
            out.append(f'<{tag} class="tt-w">')
        elif open_ and not emphasised:
            out.append(f"</{tag}>")
        open_ = emphasised
        out.append(_span(cls, text))
    if open_:
        out.append(f"</{tag}>")
    return "".join(out)


def _inside(offset: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a <= offset < b for a, b in ranges)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _visible(text: str) -> str:
    """Escaped text where control characters (a lone CR, ESC, ...) show as their symbol
    (drawn by CSS, so copying leaves them out) instead of breaking or vanishing."""
    out = esc(text)
    if _CONTROL.search(out) is None:
        return out
    return _CONTROL.sub(lambda m: f'<span class="tt-ctl" data-c="{_symbol(m[0])}"></span>', out)


def _symbol(char: str) -> str:
    return "\u2421" if char == "\x7f" else chr(0x2400 + ord(char))


def _span(cls: str, text: str) -> str:
    return f'<span class="{cls}">{_visible(text)}</span>' if cls else _visible(text)

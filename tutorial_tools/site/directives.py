"""Directives in chapter narratives, in the CommonMark "generic directives" style.

Block directives stand alone on their line (up to three spaces of indentation, more in a
list item: as much as the item's text)::

    ::diff{step=3b}                      the whole change of step 3b
    ::diff{step=3b file=app/routes.py}   one file of it
    ::file{step=3b path=app/routes.py lines=10-24}
    ::file{step=3b path=app/routes.py start="# [create-app]" end="# [/create-app]"}

Inline: `:step[3b]` (a link to step 3b, text `3b`) and `:step[the form]{tag=3b}`.

Attribute values are bare words or double-quoted strings (`\\"` and `\\\\` inside).
Directives inside code (fenced, indented, or inline code spans) are left as they are, so a page
can show them. This module only parses: what a directive becomes is the caller's business
(a `Expander`), and every mistake is a `DirectiveError` carrying its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DirectiveError

# What each directive accepts: attribute -> required.
BLOCKS: dict[str, dict[str, bool]] = {
    "diff": {"step": True, "file": False},
    "file": {"step": True, "path": True, "lines": False, "start": False, "end": False},
}
INLINE: dict[str, dict[str, bool]] = {"step": {"tag": False}}

_BLOCK = re.compile(r"^ {0,3}::([A-Za-z][\w-]*)(.*?)\s*$")
_INLINE = re.compile(r"(?<![\w:\\]):([A-Za-z][\w-]*)\[([^\]\n]*)\]"
                     r'(\{(?:[^}"\n]|"(?:[^"\\\n]|\\.)*")*\})?')
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_ATTR = re.compile(r'\s*([A-Za-z][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|([^\s"}]+))')
_LINES = re.compile(r"^(\d+)-(\d+)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}\.)(?:[ \t]|$)")  # Python-Markdown: no `1)`


@dataclass(frozen=True)
class Directive:
    """One directive as written: its name, attributes and line."""
    name: str
    attrs: dict[str, str]
    line: int  # 1-based, in the file the markdown came from
    text: str | None = None  # an inline directive's [text]

    @property
    def lines(self) -> tuple[int, int] | None:
        """`lines=A-B` as a pair (checked by `parse_block`)."""
        value = self.attrs.get("lines")
        if value is None:
            return None
        m = _LINES.match(value)
        assert m is not None
        return int(m.group(1)), int(m.group(2))


# What a directive becomes: markdown for a block (it replaces the whole line) or inline.
Expander = Callable[[Directive], str]


def parse_attrs(raw: str, line: int) -> dict[str, str]:
    """`{a=b c="d e"}` -> {"a": "b", "c": "d e"}."""
    raw = raw.strip()
    if not (raw.startswith("{") and raw.endswith("}")):
        raise DirectiveError(line, f"expected attributes in braces, found {raw!r}")
    body, pos, attrs = raw[1:-1], 0, {}
    while pos < len(body.rstrip()):
        m = _ATTR.match(body, pos)
        if m is None:
            raise DirectiveError(
                line, f"cannot read the attributes at {body[pos:].strip()!r}: write "
                'name=value or name="a value"')
        key = m.group(1)
        if key in attrs:
            raise DirectiveError(line, f"attribute {key!r} is given twice")
        value = m.group(3) if m.group(3) is not None else re.sub(r"\\(.)", r"\1", m.group(2))
        attrs[key] = value
        pos = m.end()
    return attrs


def _check(name: str, attrs: dict[str, str], known: dict[str, bool], line: int,
           prefix: str = "::") -> None:
    for key in attrs:
        if key not in known:
            raise DirectiveError(line, f"unknown attribute {key!r} of {prefix}{name} "
                                 f"(it takes {', '.join(known)})")
    for key, required in known.items():
        if required and not attrs.get(key):
            raise DirectiveError(line, f"{prefix}{name} needs {key}=...")


def parse_block(text: str, line: int) -> Directive | None:
    """The block directive on this line, or None when the line is not one."""
    m = _BLOCK.match(text)
    if m is None:
        return None
    name, rest = m.group(1), m.group(2)
    if name not in BLOCKS:
        raise DirectiveError(line, f"unknown directive ::{name} "
                             f"(known: {', '.join('::' + n for n in BLOCKS)})")
    if not rest:
        raise DirectiveError(line, f"::{name} needs attributes, e.g. ::{name}{{step=1a}}")
    attrs = parse_attrs(rest, line)
    _check(name, attrs, BLOCKS[name], line)
    if name == "file":
        lines = attrs.get("lines")
        if lines is not None:
            if "start" in attrs or "end" in attrs:
                raise DirectiveError(line, "::file takes lines=A-B or start/end, not both")
            m_lines = _LINES.match(lines)
            if m_lines is None or not 1 <= int(m_lines.group(1)) <= int(m_lines.group(2)):
                raise DirectiveError(line, f"lines={lines!r}: write a range such as 10-24 "
                                     "(from line 1, first <= last)")
    return Directive(name, attrs, line)


def _inline(m: re.Match[str], line: int) -> Directive:
    name, text, raw = m.group(1), m.group(2), m.group(3)
    if name not in INLINE:
        raise DirectiveError(line, f"unknown inline directive :{name}[...] "
                             f"(known: {', '.join(':' + n + '[...]' for n in INLINE)})")
    attrs = parse_attrs(raw, line) if raw else {}
    _check(name, attrs, INLINE[name], line, prefix=":")
    if not text.strip() and not attrs.get("tag"):
        raise DirectiveError(line, f":{name}[] needs a step: :{name}[3b] or "
                             f":{name}[text]{{tag=3b}}")
    return Directive(name, attrs, line, text)


def _expand_inline(text: str, line: int, expand: Expander) -> str:
    """Inline directives of one line, outside code spans."""
    out, pos = [], 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_INLINE.sub(lambda m: expand(_inline(m, line)), text[pos:span.start()]))
        out.append(span.group(0))
        pos = span.end()
    out.append(_INLINE.sub(lambda m: expand(_inline(m, line)), text[pos:]))
    return "".join(out)


def _untab(text: str) -> str:
    """The line with its indentation in spaces, a tab reaching the next multiple of 4."""
    rest = text.lstrip(" \t")
    return text[:len(text) - len(rest)].expandtabs(4) + rest


class _Blocks:
    """Which lines are code to Markdown (Python-Markdown's rules, as far as a directive
    cares): indented code (4 columns more than the text around it, after a blank line) and
    list items, whose text is indented 4 columns per level."""

    def __init__(self) -> None:
        self.blank = True  # the previous line was blank (or there was none)
        self.code = False  # inside an indented code block
        self.level = 0  # the columns of the list item's text (0: not in a list)

    def line(self, text: str) -> int | None:
        """The columns to strip before reading the line as text; None for code."""
        if not text.strip():
            self.blank = True
            return 0
        width = len(_untab(text)) - len(text.lstrip(" \t"))
        blank, self.blank = self.blank, False
        if width >= self.level + 4 and (blank or self.code):
            self.code = True
            return None
        self.code = False
        item = _LIST_ITEM.match(text)
        if item is not None:
            self.level = width // 4 * 4 + 4
        elif blank and width < self.level:
            self.level = width // 4 * 4  # back out to the list (or text) it belongs to
        return min(width, self.level)


def expand(markdown: str, expand_block: Expander, expand_inline: Expander,
           first_line: int = 1) -> str:
    """`markdown` with every directive outside code replaced by what the expanders return.

    `first_line` is the file's line number of the markdown's first line (front matter
    before it shifts it), so errors name the line in the file. Block directives may stand
    in list items (indented as the item's text).
    """
    out: list[str] = []
    fence: tuple[str, int] | None = None  # the open fence's character and length
    blocks = _Blocks()
    for i, text in enumerate(markdown.split("\n")):
        line = first_line + i
        m = _FENCE.match(text)
        if fence is not None:
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= fence[1] \
                    and not m.group(3).strip():
                fence = None
            out.append(text)
            continue
        strip = blocks.line(text)
        if strip is None:  # indented code
            out.append(text)
            continue
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            fence = (m.group(2)[0], len(m.group(2)))
            out.append(text)
            continue
        directive = parse_block(_untab(text)[strip:], line)
        if directive is not None:
            # Blank lines around: the fragment is a block of its own, even mid-paragraph.
            indent = text[:len(text) - len(text.lstrip())]
            out.append(f"\n{indent}{expand_block(directive)}\n")
        elif ":" in text:
            out.append(_expand_inline(text, line, expand_inline))
        else:
            out.append(text)
    return "\n".join(out)

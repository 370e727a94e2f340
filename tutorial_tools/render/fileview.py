"""A file as a step has it, or an excerpt of it, highlighted with numbered lines."""

from __future__ import annotations

from ..errors import RenderError
from ..gitstore import Repository
from ..reporter import count
from .highlight import (
    Segment,
    display_path,
    esc,
    highlight_blob,
    line_html,
    plain,
    split_lines,
    text_of,
)


def _hint(tree: str) -> str:
    return (f"List the step's files with `git ls-tree -r --name-only {tree}` in the built "
            "repository, then fix the page.")


def excerpt_range(lines: list[str], path: str, tree: str, *,
                  span: tuple[int, int] | None, start: str | None, end: str | None,
                  ) -> tuple[int, int]:
    """The first and last line (1-based, inclusive) to show; (1, 0) for none."""
    total = len(lines)
    if span is not None:
        if start is not None or end is not None:
            raise RenderError(f"{path}: give either a line range or start/end markers, "
                              "not both")
        first, last = span
        if first < 1 or last < first or last > total:
            raise RenderError(f"{path}: lines {first}-{last} are outside the file, which "
                              f"has {count(total, 'line')}", _hint(tree))
        return first, last
    first, last = 1, total
    if start is not None:
        at = next((i for i, line in enumerate(lines) if start in line), None)
        if at is None:
            raise RenderError(f"{path}: no line contains the start marker {start!r}",
                              _hint(tree))
        first = at + 2
    if end is not None:
        at = next((i for i in range(first - 1, total) if end in lines[i]), None)
        if at is None:
            where = f" after the start marker {start!r}" if start is not None else ""
            raise RenderError(f"{path}: no line{where} contains the end marker {end!r}",
                              _hint(tree))
        last = at
    return first, last


def render_file(repo: Repository, tree: str, path: str, *,
                lines: tuple[int, int] | None = None, start: str | None = None,
                end: str | None = None, anchor: str) -> str:
    """`path` as `tree` has it (or lines `lines`, or the lines between the line holding
    `start` and the next line holding `end`), highlighted; root class `tt-file`, id
    `anchor`, line n's anchor `{anchor}-L{n}`."""
    oid = repo.entry_id(tree, path)
    if oid is None:
        raise RenderError(f"{path}: no such file in this step", _hint(tree))
    kind, data = repo.read(oid)
    if kind != b"blob":
        raise RenderError(f"{path} is a folder, not a file", _hint(tree))
    if b"\0" in data[:8000]:
        raise RenderError(f"{path} is a binary file: it cannot be shown as text")
    text = data.decode("utf-8", "replace")
    raw = split_lines(text)
    first, last = excerpt_range(raw, path, tree, span=lines, start=start, end=end)
    # The highlighting the diff renderer made of this blob, when it lexed as far.
    shown = highlight_blob(oid, path, last, lambda: data)
    if shown is None or len(shown) < last or any(
            text_of(s) != r.removesuffix("\r") for s, r in zip(shown, raw[:last], strict=False)):
        shown = plain(raw)
    rows = []
    for n in range(first, last + 1):
        ref = f"{anchor}-L{n}"
        segments: list[Segment] = shown[n - 1]
        rows.append(f'<tr><td class="tt-num"><a href="#{esc(ref)}" id="{esc(ref)}" '
                    f'data-n="{n}"></a></td><td class="tt-code tt-nc">'
                    f'{line_html(segments, [], "ins")}</td></tr>\n')
    where = "" if (first, last) == (1, len(raw)) else (
        f' <span class="tt-meta">lines {first}\u2013{last}</span>' if last >= first else "")
    return (f'<div class="tt-file" id="{esc(anchor)}"><div class="tt-file-head">'
            f'<span class="tt-path">{display_path(path)}</span>'
            f'{where}<button type="button" class="tt-copy" title="Copy the code">Copy</button>'
            f'</div><table class="tt-lines"><tbody>{"".join(rows)}</tbody></table></div>')

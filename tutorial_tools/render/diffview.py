"""A step's change as one HTML fragment: summary, file list, and each file's hunks in both a
unified and a split table (CSS shows the one the root's `tt-view-*` class names; an added or
deleted file has the unified one only).

Blobs are read through `Repository` and highlighted as whole files (lexing stops at the last
line shown), once per blob and shared between calls and with `render_file` (see
`highlight.highlight_blob`); lines are then picked by number.
Numbers and +/- markers are CSS pseudo-elements: never selected or copied.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable
from itertools import zip_longest

from ..gitstore import Repository
from ..reporter import count
from .highlight import (
    Segment,
    display_path,
    esc,
    highlight_blob,
    line_html,
    text_of,
    word_changes,
)
from .model import (
    GITLINK_MODE,
    IMAGE_TYPES,
    SYMLINK_MODE,
    FileDiff,
    Hunk,
    Line,
    StepDiff,
)

RENDER_MAX_LINES = 5000  # changed lines above which a file's lines are not rendered at all
IMAGE_MAX_BYTES = 1 << 20  # larger images are not inlined as data: URIs

# (blob id, path) -> URL of the blob's image; lets a site serve images as files.
ImageUrl = Callable[[str, str], str | None]

_KIND_CLASS = {"context": "tt-ctx", "added": "tt-add", "removed": "tt-del"}
_BADGE = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R", "copied": "C"}


class Blobs:
    """Blob contents (read once per render call) and their highlighted lines."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._data: dict[str, bytes] = {}

    def read(self, oid: str) -> bytes:
        if oid not in self._data:
            self._data[oid] = self.repo.read_kind(oid, b"blob")
        return self._data[oid]

    def highlighted(self, oid: str, path: str, upto: int) -> list[list[Segment]] | None:
        """The blob's first `upto` lines highlighted for `path` (see `highlight_blob`)."""
        return highlight_blob(oid, path, upto, lambda: self.read(oid))


def render_diff(repo: Repository, diff: StepDiff, *, anchor: str,
                image_url: ImageUrl | None = None) -> str:
    """The whole change as an HTML fragment whose root has class `tt-diff` and id `anchor`."""
    blobs = Blobs(repo)
    out = [f'<div class="tt-diff tt-view-unified" id="{esc(anchor)}">',
           _summary(diff), _file_list(diff, anchor)]
    for i, f in enumerate(diff.files):
        out.append(_file(blobs, f, f"{anchor}-{i}", image_url))
    out.append("</div>")
    return "".join(out)


def human_size(n: int) -> str:
    if n < 1000:
        return count(n, "byte")
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def _bar(additions: int, deletions: int) -> str:
    total = additions + deletions
    filled = min(5, total)
    add = round(filled * additions / total) if total else 0
    if additions and not add:
        add = 1
    if deletions and add == filled and filled > 1:
        add -= 1
    cells = ["tt-b-add"] * add + ["tt-b-del"] * (filled - add) + ["tt-b-none"] * (5 - filled)
    return ('<span class="tt-bar" aria-hidden="true">'
            + "".join(f'<i class="{c}"></i>' for c in cells) + "</span>")


def _counts(additions: int, deletions: int) -> str:
    return (f'<span class="tt-counts"><span class="tt-n-add">+{additions}</span> '
            f'<span class="tt-n-del">\u2212{deletions}</span></span>')


def _summary(diff: StepDiff) -> str:
    if not diff.files:
        return '<div class="tt-summary"><span class="tt-stat">No files changed.</span></div>'
    return (
        '<div class="tt-summary"><span class="tt-stat">'
        f'<strong>{count(len(diff.files), "file")} changed</strong>, '
        f'<span class="tt-n-add">{count(diff.additions, "addition")}</span>, '
        f'<span class="tt-n-del">{count(diff.deletions, "deletion")}</span></span> '
        f"{_bar(diff.additions, diff.deletions)}"
        '<span class="tt-toggle" role="group" aria-label="Diff layout">'
        '<button type="button" data-tt-view="unified" aria-pressed="true">Unified</button>'
        '<button type="button" data-tt-view="split" aria-pressed="false">Split</button>'
        "</span></div>\n"
    )


def _name(f: FileDiff) -> str:
    if f.status in ("renamed", "copied") and f.old_path != f.new_path:
        return (f'<span class="tt-path"><span class="tt-old-path">{display_path(f.old_path)}</span>'
                f' \u2192 <span class="tt-new-path">{display_path(f.new_path)}</span></span>')
    return f'<span class="tt-path">{display_path(f.path)}</span>'


def _badge(f: FileDiff) -> str:
    return (f'<span class="tt-badge tt-{f.status}" title="{f.status}">'
            f"{_BADGE[f.status]}</span>")


def _notes(f: FileDiff) -> list[str]:
    notes = []
    if f.similarity is not None and f.status in ("renamed", "copied"):
        notes.append(f"{f.similarity}% similar")
    kinds = {f.old_mode == SYMLINK_MODE, f.new_mode == SYMLINK_MODE}
    if f.mode_changed and kinds == {True, False}:
        notes.append("file \u2192 symlink" if f.new_mode == SYMLINK_MODE
                     else "symlink \u2192 file")
    elif f.mode_changed:
        notes.append(f"mode {f.old_mode} \u2192 {f.new_mode}")
    elif f.status == "added" and f.new_mode == "100755":
        notes.append("executable")
    elif f.symlink:
        notes.append("symlink")
    if f.new_mode == GITLINK_MODE or f.old_mode == GITLINK_MODE:
        notes.append("submodule")
    if f.binary:
        sizes = [human_size(s) for s in (f.old_size, f.new_size) if s is not None]
        notes.append("binary " + " \u2192 ".join(sizes))
    if f.generated:
        notes.append("generated")
    elif f.large:
        notes.append("large")
    return notes


def _meta(f: FileDiff) -> str:
    notes = _notes(f)
    if not notes:
        return ""
    return '<span class="tt-meta">' + " \u00b7 ".join(esc(n) for n in notes) + "</span>"


def _file_list(diff: StepDiff, anchor: str) -> str:
    if not diff.files:
        return ""
    items = []
    for i, f in enumerate(diff.files):
        items.append(
            f'<li class="tt-{f.status}">{_badge(f)}'
            f'<a href="#{esc(anchor)}-{i}">{_name(f)}</a>{_meta(f)}'
            f"{_counts(f.additions, f.deletions)}{_bar(f.additions, f.deletions)}</li>\n")
    return '<ul class="tt-files">\n' + "".join(items) + "</ul>\n"


def _file(blobs: Blobs, f: FileDiff, fid: str, image_url: ImageUrl | None) -> str:
    head = (f'<summary class="tt-dfile-head">{_badge(f)}{_name(f)}{_meta(f)}'
            f"{_counts(f.additions, f.deletions)}</summary>\n")
    opened = "" if f.collapsed else " open"
    return (f'<details class="tt-dfile tt-{f.status}" id="{esc(fid)}"{opened}>{head}'
            f'<div class="tt-dfile-body">{_body(blobs, f, fid, image_url)}</div></details>\n')


def _body(blobs: Blobs, f: FileDiff, fid: str, image_url: ImageUrl | None) -> str:
    if f.binary:
        if f.image:
            return _images(blobs, f, image_url)
        return '<p class="tt-note">Binary file not shown.</p>'
    if not f.hunks:
        if f.status == "renamed":
            return '<p class="tt-note">Renamed without changes.</p>'
        if f.status == "copied":
            return '<p class="tt-note">Copied without changes.</p>'
        if f.mode_changed:
            return '<p class="tt-note">Only the file mode changed.</p>'
        return '<p class="tt-note">Empty file.</p>'
    if f.additions + f.deletions > RENDER_MAX_LINES:
        return (f'<p class="tt-note">Not shown: {f.additions + f.deletions} changed lines.'
                "</p>")
    rows = _line_markup(blobs, f)
    unified = "".join(_unified_hunk(hunk, rows[k], fid) for k, hunk in enumerate(f.hunks))
    if f.status in ("added", "deleted"):  # one side is empty: no split layout
        return f'<table class="tt-lines tt-unified tt-one-side">{unified}</table>'
    split = "".join(_split_hunk(hunk, rows[k], fid) for k, hunk in enumerate(f.hunks))
    return (f'<table class="tt-lines tt-unified">{unified}</table>'
            f'<table class="tt-lines tt-split">{split}</table>')


def _images(blobs: Blobs, f: FileDiff, image_url: ImageUrl | None) -> str:
    mime = IMAGE_TYPES[posixpath.splitext(f.path.lower())[1]]
    figures = []
    for label, oid, path, size in (("Before", f.old_oid, f.old_path, f.old_size),
                                   ("After", f.new_oid, f.new_path, f.new_size)):
        if oid is None or path is None:
            continue
        url = image_url(oid, path) if image_url else None
        if url is None and (size or 0) <= IMAGE_MAX_BYTES:
            url = f"data:{mime};base64," + base64.b64encode(blobs.read(oid)).decode()
        caption = f"{label} \u00b7 {human_size(size or 0)}"
        img = (f'<img src="{esc(url)}" alt="{esc(label)}: {display_path(path)}" loading="lazy">'
               if url else '<span class="tt-note">Too large to show.</span>')
        figures.append(f'<figure class="tt-{label.lower()}">{img}'
                       f"<figcaption>{esc(caption)}</figcaption></figure>")
    return '<div class="tt-images">' + "".join(figures) + "</div>"


def _line_markup(blobs: Blobs, f: FileDiff) -> list[list[str]]:
    """Each hunk line's code markup, highlighted and with word-level emphasis."""
    old_hl: list[list[Segment]] | None = None
    new_hl: list[list[Segment]] | None = None
    if not f.symlink and GITLINK_MODE not in (f.old_mode, f.new_mode):
        # Only removed lines come from the old file; lexing stops at the last line shown.
        old_upto = max((ln.old or 0 for h in f.hunks for ln in h.lines
                        if ln.kind == "removed"), default=0)
        new_upto = max((ln.new or 0 for h in f.hunks for ln in h.lines
                        if ln.kind != "removed"), default=0)
        old_hl = blobs.highlighted(f.old_oid, f.old_path, old_upto) if (
            old_upto and f.old_oid and f.old_path) else []
        new_hl = blobs.highlighted(f.new_oid, f.new_path, new_upto) if (
            new_upto and f.new_oid and f.new_path) else []
        if old_hl is not None and new_hl is not None and not _aligned(f, old_hl, new_hl):
            old_hl = new_hl = None

    def segments(line: Line) -> list[Segment]:
        if line.kind == "removed":
            if old_hl and line.old is not None:
                return old_hl[line.old - 1]
        elif new_hl and line.new is not None:
            return new_hl[line.new - 1]
        return [("", line.text)] if line.text else []

    out = []
    for hunk in f.hunks:
        marks: dict[int, list[tuple[int, int]]] = {}
        eols: dict[int, str] = {}
        for removed, added in _pairs(hunk):
            a, b = hunk.lines[removed], hunk.lines[added]
            marks[removed], marks[added] = word_changes(a.text, b.text)
            if a.text == b.text and a.cr != b.cr:  # only the line ending changed
                eols[removed] = "CRLF" if a.cr else "LF"
                eols[added] = "CRLF" if b.cr else "LF"
        rows = []
        for k, line in enumerate(hunk.lines):
            tag = "del" if line.kind == "removed" else "ins"
            html = line_html(segments(line), marks.get(k, []), tag)
            if k in eols:
                html += f'<span class="tt-eol" data-eol="{eols[k]}" title="{eols[k]}"></span>'
            if line.no_newline and not f.symlink:
                html += ('<span class="tt-noeol" title="No newline at end of file" '
                         'aria-label="No newline at end of file"></span>')
            rows.append(html)
        out.append(rows)
    return out


def _aligned(f: FileDiff, old_hl: list[list[Segment]], new_hl: list[list[Segment]]) -> bool:
    """Whether every hunk line is where git says it is in the highlighted files."""
    for hunk in f.hunks:
        for line in hunk.lines:
            side, n = (old_hl, line.old) if line.kind == "removed" else (new_hl, line.new)
            if n is None or n > len(side):
                return False
            if text_of(side[n - 1]) != line.text:
                return False
    return True


def _blocks(hunk: Hunk) -> list[tuple[list[int], list[int]]]:
    """Runs of the hunk: ([k], []) for a context line, (removed ks, added ks) for a change."""
    out: list[tuple[list[int], list[int]]] = []
    change: tuple[list[int], list[int]] | None = None
    for k, line in enumerate(hunk.lines):
        if line.kind == "context":
            change = None
            out.append(([k], []))
            continue
        if change is None or (line.kind == "removed" and change[1]):
            change = ([], [])
            out.append(change)
        (change[0] if line.kind == "removed" else change[1]).append(k)
    return out


def _pairs(hunk: Hunk) -> list[tuple[int, int]]:
    """Removed and added lines facing each other in a change, by position."""
    out: list[tuple[int, int]] = []
    for removed, added in _blocks(hunk):
        out.extend(zip(removed, added, strict=False))
    return out


def _num(fid: str, side: str, n: int | None, kind: str, *, target: bool) -> str:
    if n is None:
        return f'<td class="tt-num {kind}"></td>'
    ref = f"{fid}-{side}{n}"
    ident = f' id="{esc(ref)}"' if target else f' data-tt-line="{esc(ref)}"'
    return f'<td class="tt-num {kind}"><a href="#{esc(ref)}"{ident} data-n="{n}"></a></td>'


def _head(hunk: Hunk, colspan: int) -> str:
    section = f' <span class="tt-section">{esc(hunk.section)}</span>' if hunk.section else ""
    copy = ('<button type="button" class="tt-copy" title="Copy the new code of this hunk">'
            "Copy</button>" if hunk.new_count else "")
    return (f'<tr class="tt-hunk-head"><td class="tt-hunk-nums" colspan="2"></td>'
            f'<td class="tt-hunk-text" colspan="{colspan}">{esc(hunk.header)}{section}'
            f"{copy}</td></tr>\n")


def _unified_hunk(hunk: Hunk, rows: list[str], fid: str) -> str:
    out = ["<tbody>\n", _head(hunk, 2)]
    for line, html in zip(hunk.lines, rows, strict=True):
        kind = _KIND_CLASS[line.kind]
        new_side = " tt-nc" if line.kind != "removed" else ""
        out.append(
            f"<tr>{_num(fid, 'R', line.old, kind, target=True)}"
            f"{_num(fid, 'L', line.new, kind, target=True)}"
            f'<td class="tt-mark {kind}"></td><td class="tt-code {kind}{new_side}">{html}</td>'
            "</tr>\n")
    out.append("</tbody>\n")
    return "".join(out)


def _split_hunk(hunk: Hunk, rows: list[str], fid: str) -> str:
    out = ["<tbody>\n", _head(hunk, 4)]

    def half(k: int | None, side: str) -> str:
        if k is None:
            return f'<td class="tt-num tt-empty"></td><td class="tt-mark tt-empty"></td>' \
                   f'<td class="tt-code tt-empty tt-{side}"></td>'
        line = hunk.lines[k]
        kind = _KIND_CLASS[line.kind]
        n = line.old if side == "old" else line.new
        extra = " tt-nc" if side == "new" else ""
        return (f"{_num(fid, 'R' if side == 'old' else 'L', n, kind, target=False)}"
                f'<td class="tt-mark {kind}"></td>'
                f'<td class="tt-code {kind} tt-{side}{extra}">{rows[k]}</td>')

    for removed, added in _blocks(hunk):
        if not added and len(removed) == 1 and hunk.lines[removed[0]].kind == "context":
            k = removed[0]
            out.append(f"<tr>{half(k, 'old')}{half(k, 'new')}</tr>\n")
            continue
        for a, b in zip_longest(removed, added):
            out.append(f"<tr>{half(a, 'old')}{half(b, 'new')}</tr>\n")
    out.append("</tbody>\n")
    return "".join(out)

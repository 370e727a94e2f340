"""The pages the plugin adds: the index, a page per step, a chapter page where the
author wrote none, and the navigation. Pure functions: data in, markdown or HTML out.

Titles, tags and paths come from the author and from the history: in markdown they are
HTML-escaped and their markdown punctuation backslash-escaped; in HTML, escaped.
"""

from __future__ import annotations

import html
import posixpath
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..manifest import Chapter, Manifest
from ..render.mdtext import md_text
from .history import SiteStep

# The step pages' own styles (the diffs' come with the renderer), for any theme.
SITE_CSS_PATH = "tutorial/site.css"
SITE_CSS = """\
.tt-step-header { margin: 0 0 1rem; }
.tt-step-nav { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .25rem 0; }
.tt-step-nav .tt-next { margin-left: auto; text-align: right; }
.tt-downloads { font-size: .9em; }
.tt-counts { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .85em; white-space: nowrap; }
.tt-count-add { color: #1a7f37; }
.tt-count-del { color: #cf222e; }
[data-md-color-scheme="slate"] .tt-count-add { color: #3fb950; }
[data-md-color-scheme="slate"] .tt-count-del { color: #f85149; }
@media (prefers-color-scheme: dark) {
  :root:not([data-md-color-scheme]) .tt-count-add { color: #3fb950; }
  :root:not([data-md-color-scheme]) .tt-count-del { color: #f85149; }
}
"""

def link(from_uri: str, to_uri: str) -> str:
    """A relative link from the page `from_uri` to the file `to_uri` (both docs paths);
    mkdocs turns it into the right URL."""
    return posixpath.relpath(to_uri, posixpath.dirname(from_uri) or ".")


@dataclass(frozen=True)
class Counts:
    """A step's changed lines and files."""
    additions: int
    deletions: int
    files: int


def counts_html(c: Counts) -> str:
    """The +/- counts of a step, as HTML."""
    return (f'<span class="tt-counts"><span class="tt-count-add">+{c.additions}</span> '
            f'<span class="tt-count-del">&minus;{c.deletions}</span></span>')


def step_title(s: SiteStep) -> str:
    """A step's title as its page shows it."""
    return f"Step {s.label}: {s.step.title}"


def chapter_title(chapter: Chapter) -> str:
    """A chapter's title as its page shows it."""
    return f"Chapter {chapter.number}: {chapter.title}"


def index_markdown(manifest: Manifest, steps: Sequence[SiteStep], counts: dict[str, Counts],
                   errata: str | None) -> str:
    """The site's home page: every chapter with its steps, their +/- counts, linked."""
    by_label = {s.label: s for s in steps}
    out = [f"# {md_text(manifest.title)}", ""]
    if errata:
        out += [f"Corrections since earlier editions: [errata]({errata}).", ""]
    for chapter in manifest.chapters:
        out += [f"## [{md_text(chapter_title(chapter))}]({chapter.slug}/index.md)", ""]
        for step in chapter.steps:
            s = by_label[step.label]
            c = counts[s.label]
            out.append(f"- [{md_text(s.label)}]({s.src_uri}): {md_text(step.title)} "
                       f"{counts_html(c)}")
        out.append("")
    return "\n".join(out)


def chapter_markdown(chapter: Chapter, steps: Sequence[SiteStep]) -> str:
    """A chapter page for a chapter without its own index.md: its title and steps."""
    src = f"{chapter.slug}/index.md"
    out = [f"# {md_text(chapter_title(chapter))}", ""]
    for s in steps:
        out.append(f"- [{md_text(step_title(s))}]({link(src, s.src_uri)})")
    return "\n".join(out) + "\n"


def step_markdown(s: SiteStep, prev: SiteStep | None, header: str, diff: str) -> str:
    """A step's page: its title, the header (a slot), git commands, its diff (a slot)."""
    ref = shlex.quote(s.step.tag) if s.step.tag else s.commit[:12]
    old = (shlex.quote(prev.step.tag) if prev.step.tag else prev.commit[:12]) if prev else None
    command = f"git diff {old} {ref}" if old else f"git show {ref}"
    return "\n".join([
        f"# {md_text(step_title(s))}", "", header, "",
        "```sh", f"git checkout {ref}", command, "```", "", diff, "",
    ])


def step_header_html(s: SiteStep, total: int, chapter: Chapter, url: Callable[[str], str],
                     prev: SiteStep | None, next_: SiteStep | None, counts: Counts,
                     downloads: tuple[str, str] | None) -> str:
    """The links at the top of a step page; `url(src_uri)` is the URL of a docs file
    relative to this page."""
    e = html.escape
    parts = [
        '<div class="tt-step-header">',
        f'<p class="tt-step-where">Step {s.number} of {total} in '
        f'<a class="tt-chapter-link" href="{e(url(chapter.slug + "/index.md"))}">'
        f'{e(chapter_title(chapter))}</a> {counts_html(counts)}</p>',
        '<nav class="tt-step-nav">',
    ]
    if prev is not None:
        parts.append(f'<a class="tt-prev" rel="prev" href="{e(url(prev.src_uri))}">'
                     f'&larr; {e(step_title(prev))}</a>')
    if next_ is not None:
        parts.append(f'<a class="tt-next" rel="next" href="{e(url(next_.src_uri))}">'
                     f'{e(step_title(next_))} &rarr;</a>')
    parts.append("</nav>")
    if downloads is not None:
        zip_uri, patch_uri = downloads
        parts.append(
            '<p class="tt-downloads">Download this step: '
            f'<a class="tt-download-zip" href="{e(url(zip_uri))}" download>'
            f'{e(posixpath.basename(zip_uri))}</a> (its files) &middot; '
            f'<a class="tt-download-patch" href="{e(url(patch_uri))}" download>'
            f'{e(posixpath.basename(patch_uri))}</a> (its change, for <code>git am</code>)</p>')
    parts.append("</div>")
    return "\n".join(parts)


def navigation(manifest: Manifest, steps: Sequence[SiteStep], *, steps_in_nav: bool,
               others: Sequence[str], errata: str | None) -> list[Any]:
    """mkdocs' `nav` for a site whose mkdocs.yml has none: the index, each chapter
    followed by its steps, the author's other pages, the errata."""
    by_label = {s.label: s for s in steps}
    nav: list[Any] = ["index.md"]
    for chapter in manifest.chapters:
        page = f"{chapter.slug}/index.md"
        if steps_in_nav:
            # Section titles go into the theme's HTML as they are: escape them here.
            nav.append({html.escape(chapter_title(chapter)):
                        [page, *(by_label[st.label].src_uri for st in chapter.steps)]})
        else:
            nav.append(page)
    nav.extend(others)
    if errata:
        nav.append(errata)
    return nav

"""The `tutorial` mkdocs plugin: the reader's site, from the manifest and the built history.

It adds (as generated files: nothing is written into chapters/) an index of chapters and
steps, a page per step (`steps/<tag>/`: links, git commands, downloads, the rendered
diff), a chapter page for a chapter without its own `index.md`, the errata page when
configured, the renderer's CSS and JS, and a navigation when mkdocs.yml has none. Chapter
narratives may embed diffs and files with directives (see directives.py). Rendered
fragments and downloads are cached in `.tutorial/site-cache/`.

Rendered HTML never goes through Markdown: pages hold a placeholder comment (a "slot")
that `on_post_page` replaces with the fragment, so Markdown cannot alter a diff.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from .. import render
from ..errors import DirectiveError, TutorialError
from ..gitstore import Repository
from ..manifest import MANIFEST, Manifest, load
from ..render.mdtext import md_text
from ..reporter import count
from . import directives, pages
from .cache import CACHE_DIR, KEEP_DAYS, CacheStats, DiskCache
from .downloads import make_downloads
from .fragments import Fragments, RenderedStep
from .history import SiteStep, check_built, load_history, open_history

log = get_plugin_logger("tutorial")


class TutorialConfig(base.Config):  # type: ignore[no-untyped-call]
    """The plugin's options in mkdocs.yml."""
    manifest = c.Type(str, default=MANIFEST)
    """The manifest, relative to mkdocs.yml."""
    repo = c.Optional(c.Type(str))
    """The built history to read, relative to mkdocs.yml (default: the manifest's `repo`)."""
    errata = c.Optional(c.Type(str))
    """A markdown file, relative to mkdocs.yml, shown as the page `errata.md` when it exists."""
    collapse_lines = c.Optional(c.Type(int))
    """Collapse a file's diff when it changes more lines than this (default: the renderer's)."""
    steps_in_nav = c.Optional(c.Type(bool))
    """List every step page under its chapter in the generated navigation (default: when
    the tutorial has at most 100 steps; every page of the site holds the whole nav)."""
    downloads = c.Type(bool, default=True)
    """Offer each step as a zip of its files and as a patch."""
    cache_days = c.Type(int, default=KEEP_DAYS)
    """Keep entries of `.tutorial/site-cache/` that a build no longer uses this many days
    (and never less than an hour: another build on the cache may not have used them yet)."""


STEPS_IN_NAV = 100  # the most steps whose pages the navigation lists by default
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


class TutorialPlugin(BasePlugin[TutorialConfig]):  # type: ignore[no-untyped-call]
    """Adds the tutorial's pages to a mkdocs site (see the module's docstring)."""

    def __init__(self) -> None:
        self.stats = CacheStats()
        self._nonce = secrets.token_hex(6)
        self._slots: dict[str, dict[str, str]] = {}  # page src_uri -> token -> HTML
        self._ours: set[str] = set()  # pages we generated (no directives to expand)
        self._repo: Repository | None = None
        self._user_nav = False
        self._steps: dict[str, SiteStep] = {}
        self._sources: dict[str, str] = {}  # generated page -> the file it shows, for errors
        self._cache: DiskCache | None = None
        self._authored: set[str] = set()  # the author's pages (directives expanded in them)
        self._expanded: set[str] = set()  # those this build expanded

    # -- setup -----------------------------------------------------------------------

    def _manifest(self, config: MkDocsConfig) -> Manifest:
        here = Path(config.config_file_path).parent
        try:
            manifest = load(here / self.config.manifest, check_files=False)
        except TutorialError as e:
            raise PluginError(str(e)) from e
        if self.config.repo:
            manifest = dataclasses.replace(manifest, repo=str(here / self.config.repo))
        return manifest

    def _errata_path(self, config: MkDocsConfig) -> Path | None:
        if not self.config.errata:
            return None
        return Path(config.config_file_path).parent / self.config.errata

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self._user_nav = config.nav is not None
        for path in [*render.assets(), pages.SITE_CSS_PATH]:
            target = config.extra_css if path.endswith(".css") else config.extra_javascript
            if path.endswith((".css", ".js")) and path not in target:
                target.append(path)
        return config

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig,
                 builder: Callable[..., Any]) -> LiveReloadServer:
        manifest = self._manifest(config)
        server.watch(str(manifest.path), recursive=False)
        server.watch(str(manifest.root / "chapters"))
        errata = self._errata_path(config)
        if errata is not None and errata.exists():
            server.watch(str(errata), recursive=False)
        git_dir = manifest.repo_path / ".git"
        for refs in (git_dir / "refs", git_dir / "packed-refs"):
            if refs.exists():
                server.watch(str(refs), recursive=refs.is_dir())
        return server

    # -- pages -----------------------------------------------------------------------

    def _slot(self, page: str, fragment: str) -> str:
        slots = self._slots.setdefault(page, {})
        token = f"<!--tutorial-slot:{self._nonce}:{len(slots)}-->"
        slots[token] = fragment
        return token

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        manifest = self._manifest(config)
        try:
            self._repo = open_history(manifest)
            steps = load_history(manifest, self._repo, check_built(manifest, self._repo))
        except TutorialError as e:
            raise PluginError(str(e)) from e
        self._steps = {s.label: s for s in steps}
        cache = self._cache = DiskCache(manifest.root / CACHE_DIR)
        self._fragments = Fragments(self._repo, cache, self.stats, self.config.collapse_lines)

        # Step files are the history's source, not pages: the steps' own pages replace them.
        step_files = {f"{s.step.chapter_slug}/{s.step.name}.patch" for s in steps}
        for f in list(files):
            if f.src_uri in step_files:
                files.remove(f)
        rendered = self._fragments.steps(steps, "d")
        counts = {label: r.counts for label, r in rendered.items()}
        errata = self._errata(files, config)
        if files.get_file_from_path("index.md") is None:
            self._add(files, config, "index.md",
                      pages.index_markdown(manifest, steps, counts, errata))
        for chapter in manifest.chapters:
            uri = f"{chapter.slug}/index.md"
            if files.get_file_from_path(uri) is None:
                own = [self._steps[st.label] for st in chapter.steps]
                self._add(files, config, uri, pages.chapter_markdown(chapter, own))
        downloads: dict[str, tuple[str, str]] = {}
        if self.config.downloads:
            try:
                made = make_downloads(self._repo, cache, steps)
            except TutorialError as e:
                raise PluginError(str(e)) from e
            self.stats.downloads_made += made.made
            for s in steps:
                downloads[s.label] = (f"{s.page}/{s.file_stem}.zip",
                                      f"{s.page}/{s.file_stem}.patch")
                for uri, path in zip(downloads[s.label], made.paths[s.label], strict=True):
                    files.append(File.generated(config, uri, abs_src_path=str(path)))
        self._step_pages(files, config, manifest, steps, rendered, downloads)

        assets = {**render.assets(), pages.SITE_CSS_PATH: pages.SITE_CSS.encode()}
        for uri, data in assets.items():
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, content=data))
        if not self._user_nav:
            ours = {s.src_uri for s in steps} | {"index.md", "errata.md"} | {
                f"{ch.slug}/index.md" for ch in manifest.chapters}
            others = [f.src_uri for f in files.documentation_pages()
                      if f.src_uri not in ours]
            in_nav = self.config.steps_in_nav
            if in_nav is None:
                in_nav = len(steps) <= STEPS_IN_NAV
            config.nav = pages.navigation(manifest, steps, steps_in_nav=in_nav,
                                          others=others, errata=errata)
        log.info(f"{len(steps)} steps: {self.stats.summary()}")
        self._authored = {f.src_uri for f in files.documentation_pages()} - self._ours
        self._expanded = set()
        return files

    def _add(self, files: Files, config: MkDocsConfig, uri: str, content: str,
             inclusion: InclusionLevel = InclusionLevel.UNDEFINED) -> File:
        f = File.generated(config, uri, content=content, inclusion=inclusion)
        files.append(f)
        self._ours.add(uri)
        return f

    def _errata(self, files: Files, config: MkDocsConfig) -> str | None:
        """The errata page, when the option names a file that exists."""
        path = self._errata_path(config)
        if path is None or not path.is_file():
            return None
        uri = "errata.md"
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"{config.docs_dir}/{uri} exists, and the `errata` option asks "
                              f"for {self.config.errata} to be shown as {uri}: keep one of them")
        self._sources[uri] = str(self.config.errata)
        files.append(File.generated(config, uri, content=path.read_text(encoding="utf-8")))
        return uri

    def _step_pages(self, files: Files, config: MkDocsConfig, manifest: Manifest,
                    steps: tuple[SiteStep, ...], rendered: dict[str, RenderedStep],
                    downloads: dict[str, tuple[str, str]]) -> None:
        # Step pages are linked from the index, the chapters and each other: mkdocs need
        # not list those missing from the nav.
        this_files = {s.label: self._add(files, config, s.src_uri, "", InclusionLevel.NOT_IN_NAV)
                      for s in steps}
        chapters = {ch.number: ch for ch in manifest.chapters}
        for i, s in enumerate(steps):
            this = this_files[s.label]

            def url(uri: str, this: File = this) -> str:
                target = files.get_file_from_path(uri)
                assert target is not None, uri
                return target.url_relative_to(this)

            prev = steps[i - 1] if i else None
            next_ = steps[i + 1] if i + 1 < len(steps) else None
            header = pages.step_header_html(s, len(steps), chapters[s.step.chapter], url,
                                            prev, next_, rendered[s.label].counts,
                                            downloads.get(s.label))
            # The page's markdown is known only now: the links needed every File.
            this.content_string = pages.step_markdown(
                s, prev, self._slot(s.src_uri, header),
                self._slot(s.src_uri, rendered[s.label].html))

    # -- the author's pages: directives ---------------------------------------------------

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig,
                         files: Files) -> str:
        uri = page.file.src_uri
        if uri in self._ours:
            return markdown
        self._expanded.add(uri)
        source = page.file.abs_src_path
        where = self._sources.get(uri, uri)
        first = 1
        if source:
            where = str(Path(config.docs_dir).name + "/" + uri)
            text = Path(source).read_text(encoding="utf-8-sig", errors="replace")
            if text.rstrip("\n").endswith(markdown.rstrip("\n")):
                first = 1 + text.rstrip("\n").count("\n") - markdown.rstrip("\n").count("\n")
        used: dict[str, int] = {}
        try:
            return directives.expand(
                markdown, lambda d: self._block(uri, d, used),
                lambda d: self._inline(uri, d), first_line=first)
        except DirectiveError as e:
            raise PluginError(f"{where}:{e.line}: {e.message}") from e

    def _step(self, label: str, line: int) -> SiteStep:
        s = self._steps.get(label)
        if s is None:
            known = ", ".join(list(self._steps)[:12])
            raise DirectiveError(line, f"no step {label!r} (steps: {known}"
                                 + (" ..." if len(self._steps) > 12 else "") + ")")
        return s

    def _block(self, uri: str, d: directives.Directive, used: dict[str, int]) -> str:
        s = self._step(d.attrs["step"], d.line)
        base = f"{d.name}-{_SLUG.sub('-', s.label)}"
        used[base] = used.get(base, 0) + 1
        anchor = base if used[base] == 1 else f"{base}-{used[base]}"
        if d.name == "diff":
            path = d.attrs.get("file")
            fragment = (self._fragments.step_file(s, path, anchor, d.line) if path
                        else self._fragments.step(s, anchor).html)
        else:
            fragment = self._fragments.file(s, d.attrs["path"], anchor, d.line,
                                            lines=d.lines, start=d.attrs.get("start"),
                                            end=d.attrs.get("end"))
        return self._slot(uri, fragment)

    def _inline(self, uri: str, d: directives.Directive) -> str:
        label = d.attrs.get("tag") or (d.text or "").strip()
        s = self._step(label, d.line)
        text = d.text if d.text and d.text.strip() else s.label
        return f"[{md_text(text)}]({pages.link(uri, s.src_uri)})"

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str:
        # Filled in the finished page rather than in `page.content`: the search plugin
        # indexes the narratives and titles, not every line of every diff (a 500-step
        # tutorial's index would be megabytes, and its build several times slower).
        for token, fragment in self._slots.pop(page.file.src_uri, {}).items():
            output = output.replace(token, fragment, 1)
        return output

    # -- the end ---------------------------------------------------------------------------

    def _close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _prune(self) -> None:
        """Drop cache entries this build did not use, once old enough. Not after a build
        that skipped some of the author's pages (`mkdocs serve --dirty`): the fragments
        of their directives were not asked for, yet are still in use."""
        if self._cache is None:
            return
        if not self._authored <= self._expanded:
            self._cache.prune_later()
            return
        pruned = self._cache.prune(self.config.cache_days)
        if pruned is not None and pruned.removed:
            log.info(f"removed {count(pruned.removed, 'unused cache file')} "
                     f"({render.human_size(pruned.freed)}) from {CACHE_DIR}")

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        self._close()
        self._prune()

    def on_build_error(self, *, error: Exception) -> None:
        self._close()


"""Rendered HTML fragments (a step's diff, one file of it, a file at a step), through the
disk cache: each is rendered only when what it shows changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pygments

from .. import render
from ..errors import DirectiveError, TutorialError
from ..gitstore import Repository
from ..render.model import LARGE_LINES
from .cache import CacheStats, DiskCache, cache_key
from .history import SiteStep
from .pages import Counts


def renderer() -> str:
    """What makes the HTML besides its inputs: the renderer's version and Pygments' (whose
    lexers decide the highlighting). Part of every fragment's cache key."""
    return f"{render.RENDERER_VERSION}/pygments-{pygments.__version__}"


@dataclass(frozen=True)
class RenderedStep:
    """A step's rendered change, with what the index and the header show of it."""
    html: str
    counts: Counts


class Fragments:
    """Renders fragments, or takes them from the disk cache, counting both in `stats`."""

    def __init__(self, repo: Repository, cache: DiskCache, stats: CacheStats,
                 collapse_lines: int | None) -> None:
        self.repo = repo
        self.cache = cache
        self.stats = stats
        self.collapse_lines = collapse_lines
        # The diffs `steps` read, for the directives that miss the cache in the same build.
        self._diffs: dict[str, render.StepDiff] = {}

        # The renderer's rule for large files, with the site's threshold (`collapse_lines`).
        self._large_lines = LARGE_LINES if collapse_lines is None else collapse_lines

    def _diff(self, s: SiteStep) -> render.StepDiff:
        diff = self._diffs.get(s.label)
        if diff is None:
            diff = self._diffs[s.label] = render.load_step_diff(
                self.repo, s.parent_tree, s.tree, large_lines=self._large_lines)
        return diff

    def _step_key(self, s: SiteStep, anchor: str) -> str:
        return cache_key("step", s.parent_tree, s.tree, renderer(), self.collapse_lines,
                         anchor)

    def steps(self, steps: Sequence[SiteStep], anchor: str) -> dict[str, RenderedStep]:
        """Each step's whole change, rendered or from the cache; the diffs of the steps
        to render are read with one git process."""
        out: dict[str, RenderedStep] = {}
        missing = []
        for s in steps:
            hit = self._cached(s, anchor)
            if hit is None:
                missing.append(s)
            else:
                out[s.label] = hit
        self.stats.cached += len(out)
        pairs = [(s.parent_tree, s.tree) for s in missing]
        diffs = render.load_step_diffs(self.repo, pairs, large_lines=self._large_lines)
        for s, diff in zip(missing, diffs, strict=True):
            self._diffs[s.label] = diff
            out[s.label] = self._store(s, anchor, diff)
            self.stats.rendered.append(s.label)
        return {s.label: out[s.label] for s in steps}

    def step(self, s: SiteStep, anchor: str) -> RenderedStep:
        """One step's whole change (`::diff{step=..}`), rendered or from the cache."""
        hit = self._cached(s, anchor)
        return hit if hit is not None else self._store(s, anchor, self._diff(s))

    def _cached(self, s: SiteStep, anchor: str) -> RenderedStep | None:
        # The HTML is a file of its own (read as it is: much faster than out of JSON),
        # written before the JSON that describes it.
        key = self._step_key(s, anchor)
        meta = self.cache.get_json("steps", key)
        html = self.cache.get_text("steps", key, ".html") if meta is not None else None
        if meta is None or html is None:
            return None
        return RenderedStep(html, Counts(*meta["counts"]))  # entries may also hold "paths"

    def _store(self, s: SiteStep, anchor: str, diff: render.StepDiff) -> RenderedStep:
        out = RenderedStep(
            render.render_diff(self.repo, diff, anchor=anchor),
            Counts(diff.additions, diff.deletions, len(diff.files)))
        key = self._step_key(s, anchor)
        self.cache.put_bytes("steps", key, ".html", out.html.encode())
        self.cache.put_json("steps", key, {"counts": dataclasses.astuple(out.counts)})
        return out

    def step_file(self, s: SiteStep, path: str, anchor: str, line: int) -> str:
        """One file of the step's change (`::diff{step=.. file=..}`)."""
        key = cache_key("step-file", s.parent_tree, s.tree, path, renderer(),
                        self.collapse_lines, anchor)
        hit = self.cache.get_json("files", key)
        if hit is not None:
            return str(hit["html"])
        diff = self._diff(s)
        one = diff.only([path])
        if not one.files:
            changed = ", ".join(f.path for f in diff.files[:8])
            raise DirectiveError(line, f"step {s.label} does not change {path!r} "
                                 f"(it changes: {changed or 'nothing'})")
        out = render.render_diff(self.repo, one, anchor=anchor)
        self.cache.put_json("files", key, {"html": out})
        return out

    def file(self, s: SiteStep, path: str, anchor: str, line: int, *,
             lines: tuple[int, int] | None, start: str | None, end: str | None) -> str:
        """A file as it is at the step (`::file{...}`), whole or an excerpt."""
        key = cache_key("file", s.tree, path, lines, start, end, renderer(), anchor)
        hit = self.cache.get_json("files", key)
        if hit is not None:
            return str(hit["html"])
        try:
            out = render.render_file(self.repo, s.tree, path, lines=lines, start=start,
                                     end=end, anchor=anchor)
        except TutorialError as e:
            raise DirectiveError(line, f"step {s.label}: {e.message}") from e
        self.cache.put_json("files", key, {"html": out})
        return out

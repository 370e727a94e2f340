"""Rendered HTML fragments (a step's diff, one file of it, a file at a step), through the
disk cache: each is rendered only when what it shows changed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import render
from ..errors import DirectiveError, TutorialError
from ..gitstore import Repository
from .cache import CacheStats, DiskCache, cache_key
from .history import SiteStep
from .pages import Counts


@dataclass(frozen=True)
class RenderedStep:
    html: str
    counts: Counts
    paths: tuple[str, ...]  # every path the diff names (old and new)


class Fragments:
    def __init__(self, repo: Repository, cache: DiskCache, stats: CacheStats,
                 collapse_lines: int | None) -> None:
        self.repo = repo
        self.cache = cache
        self.stats = stats
        self.collapse_lines = collapse_lines

    def _diff(self, s: SiteStep) -> render.StepDiff:
        diff = render.load_step_diff(self.repo, s.parent_tree, s.tree)
        if self.collapse_lines is None:
            return diff
        limit = self.collapse_lines
        files = tuple(dataclasses.replace(f, large=f.additions + f.deletions > limit)
                      for f in diff.files)
        return dataclasses.replace(diff, files=files)

    def step(self, s: SiteStep, anchor: str, *, count: bool = True) -> RenderedStep:
        """The step's whole change, rendered (or from the cache)."""
        key = cache_key("step", s.parent_tree, s.tree, render.RENDERER_VERSION,
                        self.collapse_lines, anchor)
        hit = self.cache.get_json("steps", key)
        if hit is not None:
            if count:
                self.stats.cached += 1
            return RenderedStep(hit["html"], Counts(*hit["counts"]), tuple(hit["paths"]))
        diff = self._diff(s)
        out = RenderedStep(
            render.render_diff(self.repo, diff, anchor=anchor),
            Counts(diff.additions, diff.deletions, len(diff.files)),
            tuple(dict.fromkeys(p for f in diff.files for p in (f.old_path, f.new_path)
                                if p is not None)))
        self.cache.put_json("steps", key, {"html": out.html, "paths": list(out.paths),
                                           "counts": dataclasses.astuple(out.counts)})
        if count:
            self.stats.rendered.append(s.label)
        return out

    def step_file(self, s: SiteStep, path: str, anchor: str, line: int) -> str:
        """One file of the step's change (`::diff{step=.. file=..}`)."""
        key = cache_key("step-file", s.parent_tree, s.tree, path, render.RENDERER_VERSION,
                        self.collapse_lines, anchor)
        hit = self.cache.get_json("files", key)
        if hit is not None:
            return str(hit["html"])
        diff = self._diff(s)
        files = tuple(f for f in diff.files if path in (f.new_path, f.old_path))
        if not files:
            changed = ", ".join(f.new_path or f.old_path or "?" for f in diff.files[:8])
            raise DirectiveError(line, f"step {s.label} does not change {path!r} "
                                 f"(it changes: {changed or 'nothing'})")
        one = dataclasses.replace(diff, files=files,
                                  additions=sum(f.additions for f in files),
                                  deletions=sum(f.deletions for f in files))
        out = render.render_diff(self.repo, one, anchor=anchor)
        self.cache.put_json("files", key, {"html": out})
        return out

    def file(self, s: SiteStep, path: str, anchor: str, line: int, *,
             lines: tuple[int, int] | None, start: str | None, end: str | None) -> str:
        """A file as it is at the step (`::file{...}`), whole or an excerpt."""
        key = cache_key("file", s.tree, path, lines, start, end, render.RENDERER_VERSION,
                        anchor)
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

"""The built history as the site sees it: each step with its commit, its tree, its
parent's tree and the page it gets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..engine.build import BuiltStep, built_steps
from ..errors import HistoryNotBuilt
from ..gitstore import Repository
from ..manifest import Manifest, Step, default_name

_SAFE_PAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


@dataclass(frozen=True)
class SiteStep:
    """A step of the built history, with what its page needs."""
    step: Step
    number: int  # 1-based, across the whole tutorial
    commit: str
    tree: str
    parent_tree: str | None  # None: the first step (its diff is against the empty tree)
    page: str  # the page's folder in the site: steps/<tag>

    @property
    def label(self) -> str:
        return self.step.label

    @property
    def file_stem(self) -> str:
        """A file name for the step's downloads (`1a`, `ch1-a` for `ch1/a`)."""
        return default_name(self.label)

    @property
    def src_uri(self) -> str:
        return f"{self.page}/index.md"


def page_folders(manifest: Manifest) -> list[str]:
    """`steps/<tag>` per step (`steps/<name>` for an untagged one); a tag that would not
    make a plain URL (`#`, `%`, non-ASCII) uses its step file's name; clashes get `-2`."""
    used: set[str] = set()
    out = []
    for step in manifest.steps:
        base = step.label if _SAFE_PAGE.match(step.label) else default_name(step.label)
        folder, n = f"steps/{base}", 1
        while folder.lower() in used:
            n += 1
            folder = f"steps/{base}-{n}"
        used.add(folder.lower())
        out.append(folder)
    return out


def open_history(manifest: Manifest) -> Repository:
    """The built history's repository; fail if there is none yet."""
    if not (manifest.repo_path / ".git").exists():
        raise HistoryNotBuilt(
            f"the history is not built yet (no repository at {manifest.repo_path})",
            "Run `tutorial build`, then build the site again.")
    return Repository(manifest.repo_path)


def check_built(manifest: Manifest, repo: Repository) -> list[BuiltStep]:
    """What the last build made of each step; fail unless the history is built from the
    current chapters/ (as `tutorial status` judges it: a step with no build, its file
    missing included, is out of date)."""
    built = built_steps(manifest, repo)
    stale = [s.label for s, b in zip(manifest.steps, built, strict=True) if b is None]
    if stale:
        shown = ", ".join(stale[:5]) + (" ..." if len(stale) > 5 else "")
        raise HistoryNotBuilt(
            f"the built history in {manifest.repo_path} is out of date with chapters/ "
            f"({len(stale)} step(s) changed since the last build: {shown})",
            "Run `tutorial build`, then build the site again.")
    return [b for b in built if b is not None]


def load_history(manifest: Manifest, repo: Repository,
                 built: Sequence[BuiltStep]) -> tuple[SiteStep, ...]:
    """Every step of the built history, in order, from what `check_built` returned."""
    out: list[SiteStep] = []
    parent: str | None = None
    folders = page_folders(manifest)
    trees = repo.trees_of([b.commit for b in built])
    for i, (b, tree) in enumerate(zip(built, trees, strict=True)):
        out.append(SiteStep(b.step, i + 1, b.commit, tree, parent, folders[i]))
        parent = tree
    return tuple(out)

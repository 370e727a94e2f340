"""`tutorial diff` and `tutorial show`: patches between built steps."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TutorialError
from ..gitstore import EMPTY_TREE, Repository
from ..gitstore.objects import split_object
from ..manifest import Manifest
from ..patch import parse_patch
from .build import BuiltStep, built_steps


@dataclass(frozen=True)
class StepDiff:
    old: BuiltStep | None  # None: the empty tree before the first step
    new: BuiltStep
    message: bytes
    patch: bytes


@dataclass(frozen=True)
class FileStat:
    """One file's line in `--stat`: its path (`old => new` when renamed) and its counts."""

    path: str
    added: int
    removed: int
    binary: bool = False


def stat(patch: bytes) -> tuple[FileStat, ...]:
    """Per file of a git patch, in its order: lines added and removed."""
    out = []
    for f in parse_patch(patch):
        old, new = f.old_path, f.new_path
        path = f.display_path
        if old is not None and new is not None and old != new:
            path = f"{old.decode('utf-8', 'replace')} => {new.decode('utf-8', 'replace')}"
        out.append(FileStat(path, f.added, f.removed, f.is_binary))
    return tuple(out)


def _built(manifest: Manifest, repo: Repository) -> list[BuiltStep]:
    built = built_steps(manifest, repo)
    if any(b is None for b in built):
        raise TutorialError("the built history is out of date with chapters/",
                            "Run `tutorial build` first.")
    return [b for b in built if b is not None]


def diff(manifest: Manifest, a: str, b: str | None = None) -> StepDiff:
    """The change from step `a` to step `b` (default: the step after `a`)."""
    labels = [s.label for s in manifest.steps]
    first = manifest.step(a)
    i = labels.index(first.label)
    if b is None:
        if i + 1 >= len(labels):
            raise TutorialError(f"{first.label} is the last step", f"Try `tutorial show {a}`.")
        j = i + 1
    else:
        j = labels.index(manifest.step(b).label)
    return _between(manifest, i, j)


def show(manifest: Manifest, step: str) -> StepDiff:
    """A step's own change: from the step before it."""
    i = [s.label for s in manifest.steps].index(manifest.step(step).label)
    return _between(manifest, i - 1 if i else None, i)


def _between(manifest: Manifest, i: int | None, j: int) -> StepDiff:
    if not (manifest.repo_path / ".git").exists():
        raise TutorialError("the history is not built yet", "Run `tutorial build` first.")
    with Repository(manifest.repo_path) as repo:
        built = _built(manifest, repo)
        old = built[i] if i is not None else None
        new = built[j]
        old_tree = repo.tree_of(old.commit) if old else EMPTY_TREE
        headers, message = split_object(repo.read_kind(new.commit, b"commit"))
        patch = repo.diff_trees([(old_tree, headers[0].value.decode())], binary=False)[0]
        return StepDiff(old, new, message, patch)

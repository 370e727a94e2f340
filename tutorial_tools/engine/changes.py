"""`tutorial changes`: compare two built histories step by step, and find where each fix began.

Steps are matched by tag. A step present in both whose tree changed either *inherited*
the change (its own change, old parent -> old step, merged onto its new parent gives
exactly its new tree: what carrying a fix produces), is the *origin* of a fix (the merge
is clean but differs from the new tree: the difference is the fix, exactly), or was
*adapted* (the merge conflicts: its new tree is what the author resolved; not a new fix).

A step that inherited is listed under every earlier fix whose files it differs in; the
files of a fix follow the renames of later steps. Where no fix touched a file it differs
in (a change that came from an added or removed step, say), it goes under the nearest
earlier source: a fix, an added step or a removed one.

Both histories are read, never written: the merges run in a scratch repository that
borrows their objects (git's alternates).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HistoryNotBuilt, TutorialError
from ..gitstore import EMPTY_TREE, Repository
from ..gitstore.merge import Change, raw_changes
from ..gitstore.remote import remotes, scratch_repository
from ..manifest import Manifest
from . import published
from .carry import Resolutions, carry


@dataclass(frozen=True)
class HistoryStep:
    """A tagged step of a history."""
    tag: str
    commit: str
    tree: str
    parent_tree: str  # the tree of the tagged step before it (the empty tree for the first)


@dataclass(frozen=True)
class History:
    """A built history's tagged steps, in order."""
    name: str  # what it is, for people: a path, or "origin (last published)"
    steps: tuple[HistoryStep, ...]


@dataclass(frozen=True)
class StepChange:
    """How one step differs between the two histories."""
    tag: str
    status: str  # "same" (same files), "changed", "added" or "removed"
    old: str | None  # its commit in each history
    new: str | None
    kind: str | None = None  # for "changed": "fix" (an origin), "inherited" or "adapted"
    sources: tuple[str, ...] = ()  # the earlier fixes (or added/removed steps) it carries


@dataclass(frozen=True)
class Fix:
    """A change that starts at one step, and the later steps that carry it."""
    introduced_at: str
    files: tuple[str, ...]
    diff: str  # the fix alone: from what carrying gives to the step's new tree
    inherited_by: tuple[str, ...] = ()  # later steps that carry it as a clean merge
    adapted: tuple[str, ...] = ()  # later steps where carrying it needed a resolution


@dataclass(frozen=True)
class Changes:
    """Everything `tutorial changes` reports."""
    old: str
    new: str
    steps: tuple[StepChange, ...]
    fixes: tuple[Fix, ...] = field(default=())

    def count(self, status: str) -> int:
        """How many steps have this status."""
        return sum(1 for s in self.steps if s.status == status)


# -- reading histories --------------------------------------------------------------------


def read_history(repo: Repository, name: str, tip: str, tags: dict[str, str]) -> History:
    """The tagged steps on the first-parent chain to `tip`. `tags` map names to objects
    (commits or annotated tags). Untagged commits count as part of the next tagged step;
    those after the last tag are not compared."""
    peeled = repo.peel(tags.values())
    at: dict[str, list[str]] = {}
    for tag, oid in sorted(tags.items()):
        at.setdefault(peeled[oid], []).append(tag)
    steps = []
    parent_tree = EMPTY_TREE
    for commit, _, tree in repo.first_parent_chain(tip):
        for tag in at.get(commit, ()):
            steps.append(HistoryStep(tag, commit, tree, parent_tree))
            parent_tree = tree
    return History(name, tuple(steps))


def _from_refs(repo: Repository, name: str, refs: dict[str, str], branch: str) -> History:
    tip = refs.get(f"refs/heads/{branch}")
    if tip is None:
        raise TutorialError(f"{name} has no branch {branch}")
    tags = {r.removeprefix("refs/tags/"): oid for r, oid in refs.items()
            if r.startswith("refs/tags/")}
    return read_history(repo, name, tip, tags)


@contextmanager
def open_history(manifest: Manifest, spec: str | None) -> Iterator[tuple[History, Repository]]:
    """The history `spec` names: None for the project's build, a remote of the built
    repository (what was last published to it), or the path of a repository."""
    built = manifest.repo_path
    with ExitStack() as stack:
        if spec is None or Path(spec).resolve() == built.resolve():
            if not (built / ".git").exists():
                raise HistoryNotBuilt("the history is not built yet", "Run `tutorial build` first.")
            repo = stack.enter_context(Repository(built))
            yield _from_refs(repo, build_name(manifest), repo.refs("refs/heads/", "refs/tags/"),
                             manifest.branch), repo
            return
        if (built / ".git").exists():
            repo = stack.enter_context(Repository(built))
            if spec in remotes(repo):
                refs = published.load(repo, spec)
                if refs is None:
                    raise TutorialError(
                        f"nothing was published to {spec} yet",
                        f"`tutorial publish {spec}` records what it pushes. To compare with "
                        f"what {spec} holds now, clone it (`git clone --mirror URL "
                        "/tmp/published`) and run `tutorial changes /tmp/published`.")
                # Its objects are in the built repository, kept by refs/tutorial/published/.
                yield _from_refs(repo, f"{spec} (as last published)", refs,
                                 manifest.branch), repo
                return
        path = Path(spec)
        if not path.exists():
            raise TutorialError(
                f"{spec} is neither a remote of {built} nor a folder",
                f"Give the path of a repository, or a remote (`git -C {built} remote -v` "
                "lists them).")
        repo = stack.enter_context(Repository(path))
        branch = manifest.branch
        refs = repo.refs("refs/heads/", "refs/tags/")
        if f"refs/heads/{branch}" not in refs:
            _, head = repo.head()
            if head is None:
                raise TutorialError(f"{spec} has no branch {branch} and no HEAD")
            refs[f"refs/heads/{branch}"] = head
        yield _from_refs(repo, spec, refs, branch), repo


def build_name(manifest: Manifest) -> str:
    """The built repository as people name it: relative to the project when inside it."""
    try:
        return manifest.repo_path.resolve().relative_to(manifest.root.resolve()).as_posix()
    except ValueError:
        return str(manifest.repo_path)


# -- comparing them -----------------------------------------------------------------------


class _NoResolutions(Resolutions):
    """Remembered resolutions must not apply here: a conflict is what makes a step adapted."""

    def __init__(self) -> None:
        self.path = Path("/nonexistent")
        self.data = {}


def changes(manifest: Manifest, old: str | None, new: str | None = None) -> Changes:
    """Compare the histories `old` and `new` name (see `open_history`)."""
    with ExitStack() as stack:
        a, old_repo = stack.enter_context(open_history(manifest, old))
        b, repo = stack.enter_context(open_history(manifest, new))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="tutorial-changes-"))
        scratch = stack.enter_context(scratch_repository(Path(tmp), [repo, old_repo]))
        return compare(scratch, a, b)


def between_refs(repo: Repository, branch: str, old: tuple[str, dict[str, str]],
                 new: tuple[str, dict[str, str]]) -> Changes:
    """Compare two sets of refs (name, ref -> object) of one repository, e.g. what was last
    published and what the build holds now."""
    with tempfile.TemporaryDirectory(prefix="tutorial-changes-") as tmp, \
            scratch_repository(Path(tmp), [repo]) as scratch:
        return compare(scratch, _from_refs(repo, old[0], old[1], branch),
                       _from_refs(repo, new[0], new[1], branch))


def compare(repo: Repository, old: History, new: History) -> Changes:
    """Step by step, matched by tag; `repo` holds both histories' objects and takes the
    merges' results."""
    before = {s.tag: s for s in old.steps}
    changed = [s for s in new.steps if s.tag in before and s.tree != before[s.tag].tree]
    merged, conflicted = _carry_each(repo, [(s, before[s.tag]) for s in changed])
    repo.flush()  # diff-tree reads the merged trees
    kept = {n.tag for n in new.steps}
    removed = [s for s in old.steps if s.tag not in kept]
    # One diff-tree process for every comparison below.
    pairs = ([(s.parent_tree, s.tree) for s in new.steps]  # own changes: renames, added
             + [(s.parent_tree, s.tree) for s in removed]
             + [(before[s.tag].tree, s.tree) for s in changed]  # what differs at all
             + [(before[s.tag].tree, merged[s.tag]) for s in changed]  # what it inherited
             + [(merged[s.tag], s.tree) for s in changed])  # the fix, or the resolution
    diffs = iter(raw_changes(repo, pairs))
    own = {s.tag: next(diffs) for s in new.steps}
    gone = {s.tag: next(diffs) for s in removed}
    differs = {s.tag: _paths(next(diffs)) for s in changed}
    # A conflicted merge holds markers and side files: only paths that differ count.
    inherited = {s.tag: _paths(next(diffs)) & differs[s.tag] for s in changed}
    added_here = {s.tag: _paths(next(diffs)) & differs[s.tag] for s in changed}
    origins = [s for s in changed if s.tag not in conflicted and added_here[s.tag]]
    patches = dict(zip([s.tag for s in origins], repo.diff_trees(
        [(merged[s.tag], s.tree) for s in origins], binary=False), strict=True))

    sources: list[_Source] = []
    steps: list[StepChange] = []
    for item in _in_order(old, new):
        if item.tag in gone:
            sources.append(_Source(item.tag, "removed", _paths(gone[item.tag])))
            steps.append(StepChange(item.tag, "removed", item.commit, None))
            continue
        for source in sources:
            source.follow(own[item.tag])
        was = before.get(item.tag)
        if was is None:
            sources.append(_Source(item.tag, "added", _paths(own[item.tag])))
            steps.append(StepChange(item.tag, "added", None, item.commit))
            continue
        if was.tree == item.tree:
            steps.append(StepChange(item.tag, "same", was.commit, item.commit))
            continue
        if item.tag in conflicted:  # the author resolved what carrying these gave
            kind = "adapted"
            adapted = _attribute(sources, added_here[item.tag])
        else:
            kind = "fix" if added_here[item.tag] else "inherited"
            adapted = []
        carried = [f for f in _attribute(sources, inherited[item.tag] - added_here[item.tag])
                   if f not in adapted]
        for f in adapted:
            f.adapted.append(item.tag)
        for f in carried:
            f.inherited_by.append(item.tag)
        froms = tuple(f.tag for f in sorted({*adapted, *carried}, key=sources.index))
        steps.append(StepChange(item.tag, "changed", was.commit, item.commit, kind, froms))
        if kind == "fix":
            sources.append(_Source(item.tag, "fix", set(added_here[item.tag])))
    fixes = tuple(
        Fix(src.tag, tuple(sorted(p.decode("utf-8", "surrogateescape")
                                  for p in added_here[src.tag])),
            patches[src.tag].decode("utf-8", "replace"), tuple(src.inherited_by),
            tuple(src.adapted))
        for src in sources if src.kind == "fix")
    return Changes(old.name, new.name, tuple(steps), fixes)


def _carry_each(repo: Repository, pairs: Sequence[tuple[HistoryStep, HistoryStep]],
                ) -> tuple[dict[str, str], set[str]]:
    """For each (new step, old step): the old step's own change merged onto the new parent.

    One `carry` does them all: the sequence alternates each new parent (given as settled)
    with the old step (its own change based on its old parent), so every merge lands on
    the parent the new history gives it, and one diff-tree process serves every step.
    """
    if not pairs:
        return {}, set()
    trees: list[str] = []
    bases: list[str] = []
    labels: list[str] = []
    known: dict[int, str] = {}
    for k, (new, old) in enumerate(pairs):
        trees += [new.parent_tree, old.tree]
        bases += [new.parent_tree, old.parent_tree]
        labels += [f"{new.tag} (new parent)", new.tag]
        if k:
            known[2 * k] = new.parent_tree
    carried, _ = carry(repo, trees, 0, trees[0], labels, _NoResolutions(), known=known,
                       keep_going=True, bases=bases)
    merged = {new.tag: carried.trees[2 * k + 1] for k, (new, _) in enumerate(pairs)}
    return merged, {pairs[(i - 1) // 2][0].tag for i in carried.conflicted}


@dataclass(eq=False)  # compared and hashed by identity
class _Source:
    """A fix, or an added or removed step: the files it changed, as later steps name them."""

    tag: str
    kind: str
    paths: set[bytes]
    inherited_by: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)

    def follow(self, change: list[Change]) -> None:
        """Follow the renames of a later step's own change."""
        for c in change:
            if c.status == "R" and c.path in self.paths:
                self.paths.discard(c.path)
                self.paths.add(c.new_path)


def _attribute(sources: list[_Source], paths: set[bytes]) -> list[_Source]:
    """The earlier sources that changed any of `paths`; for a path none of them changed,
    the nearest earlier source."""
    found: list[_Source] = []
    for path in sorted(paths):
        covering = [s for s in sources if path in s.paths] or sources[-1:]
        found += [s for s in covering if s not in found]
    return sorted(found, key=sources.index)


def _paths(change: list[Change]) -> set[bytes]:
    return {p for c in change for p in (c.path, c.new_path)}


def _in_order(old: History, new: History) -> list[HistoryStep]:
    """The new history's steps, with each removed step after the step it followed."""
    kept = {s.tag for s in new.steps}
    after: dict[str | None, list[HistoryStep]] = {}
    previous: str | None = None
    for s in old.steps:
        if s.tag in kept:
            previous = s.tag
        else:
            after.setdefault(previous, []).append(s)
    order = list(after.get(None, []))
    for s in new.steps:
        order.append(s)
        order += after.get(s.tag, [])
    return order

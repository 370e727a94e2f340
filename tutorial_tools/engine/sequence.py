"""Changing the sequence of steps: `step rename`, `step retitle` and `renumber` relabel
steps; `step add`, `step drop` and `step move` change which steps there are and their order.

Relabelling: tags, step files and commit subjects follow the manifest (a step whose subject
follows the message template gets the new subject; one with its own subject keeps it).
Trees do not change, so no merge runs.

Adding, dropping and moving: every step after the first one that changes place is
re-merged onto its new parent (`resequence`, with `carry`), and refused, changing
nothing, where that would conflict. chapters.py builds `step add --chapter` on the same
parts (`resequence`, `set_labels`, `require_free_tag`, `NUMBERED`).

Either way it is one operation: one entry in the operation log, and a build that moves,
creates and deletes the tags in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import stepfile
from ..errors import TutorialError
from ..gitstore import EMPTY_TREE, MutableTree
from ..manifest import (
    Manifest,
    Step,
    default_name,
    edited,
    from_text,
    render_message,
    tag_problem,
)
from ..patch import parse_patch
from ..reporter import Reporter
from .build import BuildResult
from .carry import carry
from .ready import REWRITING, open_built, require_clean, require_idle
from .rewrite import effective, open_history, publish, remembered
from .treepatch import apply_to_tree

NUMBERED = re.compile(r"^(\d+)([a-z]+)$")


@dataclass(frozen=True)
class RelabelResult:
    changed: tuple[str, ...]  # old labels of the steps that changed
    renamed: tuple[tuple[str, str], ...]  # (old tag, new tag)
    build: BuildResult | None


def rename(manifest: Manifest, old: str, new: str, reporter: Reporter, command: str,
           ) -> RelabelResult:
    """Give step OLD the tag NEW."""
    step = manifest.step(old)
    if (problem := tag_problem(new)) is not None:
        raise TutorialError(f"bad tag {new!r}: {problem}")
    # Its file's name follows the tag unless the manifest gives it a `name:` of its own.
    require_free_tag(new, step_idents(manifest, skip=step),
                     named=step.name == default_name(step.tag or ""))
    return _relabel(manifest, {step.label: (new, None)}, reporter, command)


def retitle(manifest: Manifest, ref: str, title: str, reporter: Reporter, command: str,
            ) -> RelabelResult:
    """Give a step a new title (and its commit a new subject, when it follows the template)."""
    return _relabel(manifest, {manifest.step(ref).label: (None, clean_title(title))},
                    reporter, command)


def clean_title(title: str, what: str = "a title", hint: str | None = None) -> str:
    """A title as the manifest keeps it: without surrounding spaces; refused when empty."""
    if not title.strip():
        raise TutorialError(f"{what} cannot be empty. Nothing was changed.", hint)
    return title.strip()


def renumber(manifest: Manifest, reporter: Reporter, command: str) -> RelabelResult:
    """Re-derive `<chapter><letter>` tags from chapter numbers and step order (5a.. -> 6a..),
    and the subject of every step whose message the manifest derives from its template
    (no `message:` of its own): after a chapter's number, title or place changed by hand."""
    changes: dict[str, tuple[str | None, str | None]] = {}
    for chapter in manifest.chapters:
        numbered = [s for s in chapter.steps if s.tag and NUMBERED.match(s.tag)]
        for n, s in enumerate(numbered):
            want = f"{chapter.number}{_letters(n)}"
            if s.tag != want:
                changes[s.label] = (want, None)
    return _relabel(manifest, changes, reporter, command, resubject=True)


def step_idents(manifest: Manifest, skip: Step | None = None) -> dict[str, str]:
    """Every step's tag and file name (but `skip`'s) -> the step's label."""
    return {ident: s.label for s in manifest.steps if s != skip
            for ident in (s.tag, s.name) if ident is not None}


def require_free_tag(tag: str, owners: Mapping[str, str], *, named: bool = True,
                     renamed: Mapping[str, str] | None = None) -> None:
    """Refuse a tag that a step in `owners` (tags and file names -> labels, as
    `step_idents` gives them) has already as its tag or file name, or, when the step's file
    is `named` after its tag, whose file name (`default_name`: `2a/x` gives 2a-x) one has:
    the manifest would name two steps alike. `renamed` (labels -> new tags) says which
    owners have their tags only after a renumbering."""
    idents = [tag, default_name(tag)] if named else [tag]
    for ident in dict.fromkeys(idents):
        owner = owners.get(ident)
        if owner is None:
            continue
        became = renamed is not None and renamed.get(owner) == ident
        if owner == ident or became:  # ident is its tag
            clash = f"there is a step {ident!r} already" + (
                f" (after renumbering, {owner} becomes {ident})" if became else "")
        else:
            clash = f"step {owner!r} is kept in {ident}.patch already"
        if ident != tag:
            clash += f": tag {tag!r} would keep the step in {ident}.patch too"
        raise TutorialError(f"{clash}. Nothing was changed.", "Choose another tag.")


def _follows(subject: str, manifest: Manifest, step: Step) -> bool:
    """Whether a commit subject reads as the manifest says, or did before the author changed
    the chapter's number (the chapter a `5a` tag names)."""
    if subject == manifest.subject(step):
        return True
    m = NUMBERED.match(step.tag or "")
    return bool(m and step.message is None
                and subject == render_message(manifest.message, replace(step, chapter=int(m[1]))))


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa, ..."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def set_labels(data: Any, labels: list[str],
                changes: dict[str, tuple[str | None, str | None]]) -> None:
    """In the manifest's YAML, give the steps named in `changes` (by their label, `labels`
    being every step's label in order) a new tag and/or title."""
    i = 0
    for chapter in data["chapters"]:
        steps = chapter.get("steps", [])
        for si in range(len(steps)):
            label = labels[i]
            i += 1
            if label not in changes:
                continue
            tag, title = changes[label]
            node = steps[si]
            if isinstance(node, str):
                if title is None:
                    steps[si] = tag
                    continue
                from ruamel.yaml.comments import CommentedMap

                node = steps[si] = CommentedMap(tag=node)
            if tag is not None:
                node["tag"] = tag
            if title is not None:
                node["title"] = title


def _resubjected(record: stepfile.StepCommit, manifest: Manifest, old: Step,
                 new_manifest: Manifest, new: Step, *, force: bool = False,
                 ) -> stepfile.StepCommit:
    """A step's commit with the subject the new manifest gives it, when its subject follows
    the old manifest's template (`force`: whenever the step has no `message:` of its own)."""
    follows = (force and new.message is None) or _follows(record.subject, manifest, old)
    if not follows or record.subject == new_manifest.subject(new):
        return record
    return record.with_subject(new_manifest.subject(new))


def _relabel(manifest: Manifest, changes: dict[str, tuple[str | None, str | None]],
             reporter: Reporter, command: str, *, resubject: bool = False) -> RelabelResult:
    """Apply `changes` (label -> new tag, new title) to the manifest; step files and
    subjects follow. `resubject`: every step without a `message:` of its own gets the
    template's subject, whatever its commit says now."""
    require_idle(manifest, REWRITING)
    labels = [s.label for s in manifest.steps]
    text = edited(manifest.path, lambda data: set_labels(data, labels, changes))
    new_manifest = from_text(manifest.path, text)
    repo, built = open_built(manifest, REWRITING)  # no tree is needed: nothing is merged
    with repo:
        require_clean(repo, REWRITING, f"refs/heads/{manifest.branch}")
        writes: dict[Path, bytes | None] = {manifest.path: text.encode("utf-8")}
        renamed = []
        changed = []
        for old, new in zip(manifest.steps, new_manifest.steps, strict=True):
            src, dst = manifest.step_file(old), new_manifest.step_file(new)
            data = src.read_bytes()
            record = _resubjected(stepfile.load(data, src), manifest, old, new_manifest, new,
                                  force=resubject)
            out = stepfile.dump(record)
            if old.tag != new.tag:
                renamed.append((old.label, new.label))
            if dst != src or out != data or old != new:
                changed.append(old.label)
            if dst != src:
                writes.setdefault(src, None)
            if dst != src or out != data:
                writes[dst] = out
        writes = effective(writes)
        if not changed or not writes:  # e.g. a step given the title it has
            return RelabelResult((), (), None)
        result = publish(manifest, repo, built[-1].commit, command, changed, writes, reporter)
    return RelabelResult(tuple(changed), tuple(renamed), result)


# -- adding, dropping and moving steps: later steps are re-merged ---------------------------


@dataclass(frozen=True)
class ResequenceResult:
    changed: tuple[str, ...]  # steps whose commits change (new labels)
    would_conflict: tuple[str, ...] = ()
    build: BuildResult | None = None
    renamed: tuple[tuple[str, str], ...] = ()  # (old tag, new tag)
    chapter: tuple[int, str, str] | None = None  # a new chapter: number, title, slug
    renumbered: tuple[tuple[int, int], ...] = ()  # chapters' numbers: (old, new)


def drop(manifest: Manifest, ref: str, reporter: Reporter, command: str, *,
         dry_run: bool = False) -> ResequenceResult:
    """Remove a step: its change folds into nothing and the later steps are re-merged."""
    label = manifest.step(ref).label
    labels = [s.label for s in manifest.steps]
    order: list[int | None] = [i for i, s in enumerate(labels) if s != label]

    def change(data: Any) -> None:
        seq, si = _node(data, labels, label)
        del seq[si]

    return resequence(manifest, order, change, None, reporter, command, dry_run)


def add(manifest: Manifest, tag: str, after: str, title: str | None, patch: bytes | None,
        reporter: Reporter, command: str, *, dry_run: bool = False) -> ResequenceResult:
    """Insert a step after AFTER: empty, or with the change PATCH (carried through the rest)."""
    if (problem := tag_problem(tag)) is not None:
        raise TutorialError(f"bad tag {tag!r}: {problem}")
    require_free_tag(tag, step_idents(manifest))
    title = None if title is None else clean_title(title)
    labels = [s.label for s in manifest.steps]
    anchor = labels.index(manifest.step(after).label)
    order: list[int | None] = list(range(len(labels)))
    order.insert(anchor + 1, None)

    def change(data: Any) -> None:
        from ruamel.yaml.comments import CommentedMap

        seq, si = _node(data, labels, labels[anchor])
        node = CommentedMap(tag=tag)
        if title:
            node["title"] = title
        seq.insert(si + 1, node)

    return resequence(manifest, order, change, (anchor, patch or b""), reporter, command,
                       dry_run)


def move(manifest: Manifest, ref: str, after: str, reporter: Reporter, command: str, *,
         dry_run: bool = False) -> ResequenceResult:
    """Move a step to just after AFTER; the steps between are re-merged."""
    labels = [s.label for s in manifest.steps]
    label, target = manifest.step(ref).label, manifest.step(after).label
    if label == target:
        raise TutorialError("a step cannot move after itself")
    i = labels.index(label)
    order: list[int | None] = [j for j in range(len(labels)) if j != i]
    order.insert(order.index(labels.index(target)) + 1, i)

    def change(data: Any) -> None:
        seq, si = _node(data, labels, label)
        node = seq.pop(si)
        tseq, ti = _node_live(data, target)
        tseq.insert(ti + 1, node)

    return resequence(manifest, order, change, None, reporter, command, dry_run)


def _node(data: Any, labels: list[str], label: str) -> tuple[Any, int]:
    """The YAML sequence holding step `label` and its position, before any change."""
    i = 0
    for chapter in data["chapters"]:
        steps = chapter.get("steps", [])
        for si in range(len(steps)):
            if labels[i] == label:
                return steps, si
            i += 1
    raise TutorialError(f"no step {label!r}")


def _node_live(data: Any, label: str) -> tuple[Any, int]:
    """Find a step's node by its tag or name in the (possibly changed) YAML."""
    for chapter in data["chapters"]:
        steps = chapter.get("steps", [])
        for si, node in enumerate(steps):
            if isinstance(node, str) and node == label:
                return steps, si
            if not isinstance(node, str) and label in (node.get("tag"), node.get("name")):
                return steps, si
    raise TutorialError(f"no step {label!r}")


def resequence(manifest: Manifest, order: list[int | None], change: Any,
                added: tuple[int, bytes] | None, reporter: Reporter, command: str,
                dry_run: bool, *, subjects: bool = False,
                extra: dict[Path, bytes] | None = None) -> ResequenceResult:
    """Re-merge the steps in `order` (old indexes; None: the added step) under the manifest
    that `change` makes. `subjects`: commit subjects that follow the template follow the new
    manifest; `extra`: other files the operation writes (a new chapter's narrative)."""
    require_idle(manifest, REWRITING)
    text = edited(manifest.path, change)
    new_manifest = from_text(manifest.path, text)
    new_steps = new_manifest.steps
    h = open_history(manifest)
    with h.repo:
        if not dry_run:
            require_clean(h.repo, REWRITING, h.branch_ref)
        own: list[str] = []
        bases: list[str] = []
        for j, i in enumerate(order):
            if i is None:
                assert added is not None
                anchor, patch = added
                tree = MutableTree(h.repo, h.trees[anchor])
                apply_to_tree(h.repo, tree, parse_patch(patch), new_steps[j].label)
                own.append(tree.write())
                bases.append(h.trees[anchor])
            else:
                own.append(h.trees[i])
                bases.append(h.trees[i - 1] if i else EMPTY_TREE)
        first = next((j for j, i in enumerate(order) if i != j), len(order))
        start = first - 1
        begin = own[start] if start >= 0 else EMPTY_TREE
        carried, _ = carry(h.repo, own, start, begin, [s.label for s in new_steps],
                           remembered(h.repo), keep_going=dry_run, bases=bases)
        labels = [s.label for s in new_steps]
        if dry_run:
            return ResequenceResult(tuple(labels[first:]),
                                    tuple(labels[j] for j in carried.conflicted))
        if carried.conflict is not None:
            c = carried.conflict
            raise TutorialError(
                f"step {labels[c.index]} does not merge after that change: "
                f"{', '.join(c.paths)}. Nothing was changed.",
                "Change the steps in smaller moves, or edit the conflicting step first "
                "(`tutorial edit`), then try again.")
        h.repo.flush()
        trees = {j: carried.trees.get(j, own[j]) for j in range(first, len(order))}
        pairs = [(trees[j - 1] if j - 1 >= first else (own[j - 1] if j else EMPTY_TREE),
                  trees[j]) for j in range(first, len(order))]
        patches = h.repo.diff_trees(pairs)
        writes: dict[Path, bytes | None] = {manifest.path: text.encode("utf-8")}
        kept = {new_manifest.step_file(s) for s in new_steps}
        for old in manifest.steps:
            if manifest.step_file(old) not in kept:
                writes[manifest.step_file(old)] = None
        records: dict[Path, stepfile.StepCommit] = {}
        for j, patch in zip(range(first, len(order)), patches, strict=True):
            i = order[j]
            if i is None:
                assert added is not None
                base = stepfile.read(manifest.step_file(manifest.steps[added[0]]))
                record = stepfile.StepCommit(
                    tuple(hd for hd in base.headers if hd.name in (b"author", b"committer")),
                    new_manifest.subject(new_steps[j]).encode() + b"\n", patch)
            else:
                record = stepfile.read(manifest.step_file(manifest.steps[i])).with_patch(patch)
                if subjects:
                    record = _resubjected(record, manifest, manifest.steps[i], new_manifest,
                                          new_steps[j])
            path = new_manifest.step_file(new_steps[j])
            writes[path] = stepfile.dump(record)
            records[path] = record
        writes.update(extra or {})
        writes = effective(writes)
        if not writes:
            return ResequenceResult(())
        result = publish(manifest, h.repo, h.tip, command, labels[first:], writes, reporter,
                         trees, records)
    return ResequenceResult(tuple(labels[first:]), (), result)

"""Changing the sequence's labels: `step rename`, `step retitle` and `renumber`.

Tags, step files and commit subjects follow the manifest: a step whose subject follows the
message template gets the new subject; one with its own subject keeps it. Trees do not
change, so no merge runs; the build moves, creates and deletes the tags in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import stepfile
from ..errors import TutorialError
from ..manifest import Manifest, Step, edited, from_text, render_message, tag_problem
from ..reporter import Reporter
from .build import BuildResult
from .rewrite import _open, _require_idle, editing, publish

_NUMBERED = re.compile(r"^(\d+)([a-z]+)$")


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
    if any(new in (s.tag, s.name) for s in manifest.steps if s != step):
        raise TutorialError(f"there is a step {new!r} already", "Choose another tag.")
    return _relabel(manifest, {step.label: (new, None)}, reporter, command)


def retitle(manifest: Manifest, ref: str, title: str, reporter: Reporter, command: str,
            ) -> RelabelResult:
    """Give a step a new title (and its commit a new subject, when it follows the template)."""
    if not title.strip():
        raise TutorialError("a title cannot be empty")
    return _relabel(manifest, {manifest.step(ref).label: (None, title)}, reporter, command)


def renumber(manifest: Manifest, reporter: Reporter, command: str) -> RelabelResult:
    """Re-derive `<chapter><letter>` tags from chapter numbers and step order (5a.. -> 6a..)."""
    changes: dict[str, tuple[str | None, str | None]] = {}
    for chapter in manifest.chapters:
        numbered = [s for s in chapter.steps if s.tag and _NUMBERED.match(s.tag)]
        for n, s in enumerate(numbered):
            want = f"{chapter.number}{_letters(n)}"
            if s.tag != want:
                changes[s.label] = (want, None)
    if not changes:
        return RelabelResult((), (), None)
    return _relabel(manifest, changes, reporter, command)


def _follows(subject: str, manifest: Manifest, step: Step) -> bool:
    """Whether a commit subject reads as the manifest says, or did before the author changed
    the chapter's number (the chapter a `5a` tag names)."""
    if subject == manifest.subject(step):
        return True
    m = _NUMBERED.match(step.tag or "")
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


def _relabel(manifest: Manifest, changes: dict[str, tuple[str | None, str | None]],
             reporter: Reporter, command: str) -> RelabelResult:
    _require_idle(manifest)
    if editing(manifest):
        raise TutorialError("a step is being edited", "Run `tutorial save` first.")
    labels = [s.label for s in manifest.steps]

    def change(data: Any) -> None:
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

    text = edited(manifest.path, change)
    new_manifest = from_text(manifest.path, text)
    h = _open(manifest)
    with h.repo:
        writes: dict[Path, bytes | None] = {manifest.path: text.encode("utf-8")}
        renamed = []
        changed = []
        for old, new in zip(manifest.steps, new_manifest.steps, strict=True):
            src, dst = manifest.step_file(old), new_manifest.step_file(new)
            data = src.read_bytes()
            record = stepfile.load(data, src)
            if _follows(record.subject, manifest, old) and \
                    record.subject != new_manifest.subject(new):
                rest = record.message.split(b"\n", 1)
                body = b"\n" + rest[1] if len(rest) > 1 else b""
                record = record.with_message(new_manifest.subject(new).encode() + body)
            out = stepfile.dump(record)
            if old.tag != new.tag:
                renamed.append((old.label, new.label))
            if dst != src or out != data or old != new:
                changed.append(old.label)
            if dst != src:
                writes.setdefault(src, None)
            if dst != src or out != data:
                writes[dst] = out
        result = publish(manifest, h.repo, h.tip, command, changed, writes, reporter)
    return RelabelResult(tuple(changed), tuple(renamed), result)

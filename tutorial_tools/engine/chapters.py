"""Starting a new chapter: `tutorial step add TAG --after STEP --chapter TITLE`.

The new chapter comes right after STEP's chapter, numbered one more, holding the new step.
Later chapters whose numbers would collide move up by one (cascading while they collide),
their `<chapter><letter>` tags, the commit subjects that follow the template and the
narratives' headings as a new chapter gets them with them; their folders and slugs stay, so
the chapter pages of a published site keep their URLs (step pages, named by tag, follow the
tags). It is one operation: the steps are re-merged as `step add` does, in one log entry and
one transaction.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import TutorialError
from ..manifest import Chapter, Manifest, default_name, slugify, tag_problem
from ..reporter import Reporter
from .scaffold import chapter_heading, chapter_index
from .sequence import (
    NUMBERED,
    ResequenceResult,
    clean_title,
    require_free_tag,
    resequence,
    set_labels,
)


def add(manifest: Manifest, tag: str, after: str, chapter_title: str, title: str | None,
        patch: bytes | None, reporter: Reporter, command: str, *, dry_run: bool = False,
        ) -> ResequenceResult:
    """Insert a chapter CHAPTER_TITLE after the chapter whose last step is AFTER, holding
    one step TAG: empty, or with the change PATCH (carried through the later steps)."""
    if (problem := tag_problem(tag)) is not None:
        raise TutorialError(f"bad tag {tag!r}: {problem}")
    chapter_title = clean_title(chapter_title, "a chapter's title", "Give one with `--chapter`.")
    title = None if title is None else clean_title(title)
    step = manifest.step(after)
    ci = next(k for k, c in enumerate(manifest.chapters) if step in c.steps)
    chapter = manifest.chapters[ci]
    if step != chapter.steps[-1]:
        following = chapter.steps[chapter.steps.index(step) + 1].label
        raise TutorialError(
            f"step {step.label} is not the last step of chapter {chapter.number} "
            f"({chapter.title}): {following} follows it. Nothing was changed.",
            f"Start it after the chapter's last step (`--after {chapter.steps[-1].label}`); "
            f"then `tutorial step move` can move {following} and the steps after it into it.")
    number = chapter.number + 1
    numbers = _cascade(manifest.chapters[ci + 1:], number)
    renamed = _renamed_tags(manifest.chapters[ci + 1:], numbers)
    _check_tags(manifest, tag, renamed)
    slug = slugify(number, chapter_title)
    folder = manifest.chapter_dir(Chapter(number, chapter_title, slug, ()))
    if folder.exists() or any(c.slug == slug for c in manifest.chapters):
        raise TutorialError(
            f"the new chapter's folder chapters/{slug} exists already (its slug is made "
            "from its number and title). Nothing was changed.",
            "Give the chapter another title (`--chapter`).")

    labels = [s.label for s in manifest.steps]
    anchor = labels.index(step.label)
    order: list[int | None] = list(range(len(labels)))
    order.insert(anchor + 1, None)

    def change(data: Any) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        set_labels(data, labels, {old: (new, None) for old, new in renamed})
        nodes = data["chapters"]
        for k, (later, new_number) in enumerate(zip(manifest.chapters[ci + 1:], numbers,
                                                    strict=True)):
            node = nodes[ci + 1 + k]
            implicit = ci + 3 + k  # its place after the insertion, counted from 1
            if node.get("number", implicit) != new_number:
                if "number" in node:
                    node["number"] = new_number
                else:
                    node.insert(0, "number", new_number)
            if "slug" not in node and slugify(new_number, later.title) != later.slug:
                node.insert(list(node).index("title") + 1, "slug", later.slug)
        entry = CommentedMap(tag=tag)
        if title:
            entry["title"] = title
        new = CommentedMap(number=number, title=chapter_title, slug=slug)
        new["steps"] = CommentedSeq([entry])
        nodes.insert(ci + 1, new)
        _move_comment_lines(nodes[ci], entry)

    moved = tuple((c, n) for c, n in zip(manifest.chapters[ci + 1:], numbers, strict=True)
                  if c.number != n)
    extra = {folder / "index.md": chapter_index(number, chapter_title).encode("utf-8")}
    extra.update(_headings(manifest, moved))
    result = resequence(manifest, order, change, (anchor, patch or b""), reporter, command,
                         dry_run, subjects=True, extra=extra)
    return replace(result, renamed=renamed, chapter=(number, chapter_title, slug),
                   renumbered=tuple((c.number, n) for c, n in moved))


def _move_comment_lines(before: Any, entry: Any) -> None:
    """Comment lines between two chapters (`# Part two`) belong to the chapter below them;
    ruamel keeps them with the last value above, so move them under the new chapter."""
    node = before
    while True:  # down to the chapter's last value, which holds the comments after it
        if isinstance(node, dict) and node:
            key, slot = list(node)[-1], 2  # a mapping's value: the comment after it
        elif isinstance(node, list) and node:
            key, slot = len(node) - 1, 0  # a sequence's item: the comment after it
        else:
            return
        if isinstance(node[key], dict | list) and node[key]:
            node = node[key]
            continue
        break
    slots = node.ca.items.get(key)
    token = slots[slot] if slots and len(slots) > slot else None
    if token is None:
        return
    end_of_line, _, lines = token.value.partition("\n")
    if not lines.strip():
        return
    moved = copy.copy(token)
    moved.value = "\n" + lines
    if end_of_line:
        token.value = end_of_line + "\n"
    else:
        slots[slot] = None
    entry.ca.items[list(entry)[-1]] = [None, None, moved, None]


def _headings(manifest: Manifest, moved: tuple[tuple[Chapter, int], ...]) -> dict[Path, bytes]:
    """The narratives of renumbered chapters whose first line is the heading a new chapter
    gets (`# Chapter 5: Forms`), with the new number; other narratives are left as written."""
    out = {}
    for chapter, number in moved:
        path = manifest.chapter_dir(chapter) / "index.md"
        try:
            text = path.read_bytes()
        except OSError:
            continue
        old = chapter_heading(chapter.number, chapter.title).encode("utf-8")
        if text.startswith(old):
            out[path] = chapter_heading(number, chapter.title).encode("utf-8") + text[len(old):]
    return out


def _cascade(later: tuple[Chapter, ...], number: int) -> list[int]:
    """The numbers of the chapters after a new chapter `number`: each one that would have
    the number of the chapter before it moves up by one."""
    out = []
    before = number
    for chapter in later:
        before = chapter.number + 1 if chapter.number == before else chapter.number
        out.append(before)
    return out


def _renamed_tags(later: tuple[Chapter, ...], numbers: list[int]) -> tuple[tuple[str, str], ...]:
    """(old, new) for every `<chapter><letter>` tag of a chapter whose number changes."""
    out = []
    for chapter, number in zip(later, numbers, strict=True):
        if number == chapter.number:
            continue
        for s in chapter.steps:
            m = NUMBERED.match(s.tag or "")
            if m and m[1] == str(chapter.number):
                out.append((s.label, f"{number}{m[2]}"))
    return tuple(out)


def _check_tags(manifest: Manifest, tag: str, renamed: tuple[tuple[str, str], ...]) -> None:
    """Refuse a new tag, or a renumbered one, that another step has after renumbering."""
    moving = dict(renamed)
    owner: dict[str, str] = {}  # each tag and name after renumbering -> the step's old label
    # The steps that keep their tags first, so that a clash names the step that moves.
    for s in sorted(manifest.steps, key=lambda s: s.label in moving):
        idents = {s.tag, s.name} - {None}
        if s.label in moving:
            new = moving[s.label]
            idents = {new, default_name(new) if s.name == default_name(s.label) else s.name}
        for ident in sorted(i for i in idents if i is not None):
            if owner.setdefault(ident, s.label) != s.label:
                raise TutorialError(
                    f"renumbering the later chapters would give step {s.label} the tag "
                    f"{ident}, which step {owner[ident]} has. Nothing was changed.",
                    f"Rename one of them first (`tutorial step rename {owner[ident]} NEW`).")
    require_free_tag(tag, owner, renamed=moving)

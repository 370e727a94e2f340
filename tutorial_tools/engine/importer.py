"""`tutorial import`: a tagged git history -> tutorial.yaml + chapters/, losslessly.

Reads the source with plumbing only (rev-list, for-each-ref, cat-file, diff-tree): no
hook, filter or diff driver of the source ever runs. The step patches come from
`diff-tree --stdin` (one process per CPU, each over a part of the steps); folders and files
are made by writer threads while the next step file is put together.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import queue
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .. import stepfile, yamltext
from ..errors import SourceError, TutorialError
from ..gitstore import EMPTY_TREE, Repository, clone_mirror
from ..gitstore.objects import split_object
from ..manifest import (
    DEFAULT_REPO,
    MANIFEST,
    Step,
    default_name,
    render_message,
    slugify,
)
from ..reporter import Reporter
from .scaffold import chapter_heading, write_support_files

_CHAPTER_MESSAGE = re.compile(r"^Chapter (\d+): (.*) \((.+)\)$")
_TAG_NUMBER_LETTER = re.compile(r"^(\d+)([a-z]+)$")
_TAG_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
_TAG_PREFIX = re.compile(r"^(.*?)[-_.]?\d+[a-z]?$")


@dataclass(frozen=True)
class ImportResult:
    root: Path
    branch: str
    steps: int
    chapters: int
    tagged: int
    squashed: dict[str, int]  # tag -> commits folded into it
    stray_tags: tuple[str, ...]
    template: str


@dataclass
class _Planned:
    commit: str
    tree: str
    tag: str | None
    tag_object: str | None
    subject: str
    chapter: int = 0
    title: str = ""
    name: str = ""


Chain = list[tuple[str, int, str]]  # (commit, number of parents, tree), from the root


def _chains(repo: Repository, heads: dict[str, str], branch: str | None) -> dict[str, Chain]:
    """Each candidate branch's chain: the one named, or every branch."""
    if branch is not None:
        ref = f"refs/heads/{branch}"
        if ref not in heads:
            known = ", ".join(r.removeprefix("refs/heads/") for r in heads) or "none"
            raise SourceError(f"no branch {branch!r} in the source", f"Branches: {known}")
        heads = {ref: heads[ref]}
    if not heads:
        raise SourceError("the source repository has no branches")
    return {ref: repo.first_parent_chain(ref) for ref in sorted(heads)}


def _pick_branch(repo: Repository, chains: dict[str, Chain], tags: dict[str, tuple[str, str]],
                 ) -> tuple[str, Chain]:
    """The branch holding the most tags (HEAD's among equals) and its chain."""
    tagged = {peeled for _, peeled in tags.values()}
    head_ref = repo.head()[0] if len(chains) > 1 else None
    best: tuple[tuple[int, int], str] | None = None
    for ref, chain in chains.items():
        score = (sum(1 for c, _, _ in chain if c in tagged), int(ref == head_ref))
        if best is None or score > best[0]:
            best = (score, ref)
    assert best is not None
    return best[1].removeprefix("refs/heads/"), chains[best[1]]


def _preferred_tag(names: list[str]) -> str:
    names = sorted(names)
    for pattern in (_TAG_NUMBER_LETTER, _TAG_VERSION):
        for n in names:
            if pattern.match(n):
                return n
    return names[0]


def import_repository(src: str, into: Path, reporter: Reporter, *, branch: str | None = None,
                      tags_glob: str | None = None, keep_untagged: bool = False) -> ImportResult:
    """Write tutorial.yaml, chapters/ and mkdocs.yml into `into` from the repository `src`."""
    if (into / MANIFEST).exists():
        raise TutorialError(f"{into / MANIFEST} already exists",
                            "Import into a new folder with `--into DIR`.")
    local = Path(src)
    if local.exists():
        repo = Repository(local)
        return _import(repo, src, into, reporter, branch, tags_glob, keep_untagged)
    if "://" not in src and not re.match(r"^[\w.@-]+:", src):
        raise SourceError(f"{src}: no such folder", "Give the path of a git repository or a URL.")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tutorial-import-") as tmp:
        reporter.info(f"Cloning {src} ...")
        repo = Repository(clone_mirror(src, Path(tmp) / "src.git"), bare=True)
        return _import(repo, src, into, reporter, branch, tags_glob, keep_untagged)


def _import(repo: Repository, src: str, into: Path, reporter: Reporter, branch: str | None,
            tags_glob: str | None, keep_untagged: bool) -> ImportResult:
    with repo:
        refs = repo.peeled_refs("refs/heads/", "refs/tags/")  # one process for both
        if any(len(oid) != 40 for oid, _ in refs.values()):
            raise SourceError(f"{src} uses sha256 object ids; only sha1 is supported")
        chains = _chains(repo, {r: oid for r, (oid, _) in refs.items()
                                if r.startswith("refs/heads/")}, branch)
        tags = {t: v for r, v in refs.items() if (t := r.removeprefix("refs/tags/")) != r
                and (tags_glob is None or fnmatch.fnmatchcase(t, tags_glob))}
        branch, chain = _pick_branch(repo, chains, tags)
        plan, squashed, stray = _plan(repo, chain, tags, keep_untagged, reporter)
        if not any(p.tag for p in plan):
            raise SourceError(f"no tags on branch {branch!r} of {src}",
                              "Name the branch with --branch, or widen --tags.")
        return _write(repo, into, branch, plan, squashed, stray, reporter)


def _plan(repo: Repository, chain: Chain, tags: dict[str, tuple[str, str]],
          keep_untagged: bool, reporter: Reporter,
          ) -> tuple[list[_Planned], dict[str, int], tuple[str, ...]]:
    by_commit: dict[str, list[str]] = {}
    for name, (_, peeled) in tags.items():
        by_commit.setdefault(peeled, []).append(name)
    on_chain = {c for c, _, _ in chain}
    stray = tuple(sorted(t for t, (_, peeled) in tags.items() if peeled not in on_chain))
    if stray:
        reporter.warn(f"{len(stray)} tag(s) are not on the branch and are left out: "
                      + ", ".join(stray[:10]) + (" ..." if len(stray) > 10 else ""))
    tagged_positions = [i for i, (c, _, _) in enumerate(chain) if c in by_commit]
    first = tagged_positions[0] if tagged_positions else len(chain)
    last = tagged_positions[-1] if tagged_positions else -1
    plan: list[_Planned] = []
    squashed: dict[str, int] = {}
    pending = 0
    for i, (commit, parents, tree) in enumerate(chain):
        names = by_commit.get(commit)
        if parents > 1:
            reporter.warn(f"commit {commit[:12]} is a merge: following its first parent")
        if not names and first < i < last and not keep_untagged:
            pending += 1
            continue
        tag = None
        if names:
            tag = _preferred_tag(names)
            for other in sorted(set(names) - {tag}):
                reporter.warn(f"tag {other} names the same commit as {tag}: left out")
            if pending:
                squashed[tag] = pending
        pending = 0
        oid = tags[tag][0] if tag else None
        plan.append(_Planned(commit, tree, tag, oid if oid != commit else None, ""))
    if squashed:
        reporter.warn(
            f"{sum(squashed.values())} untagged commit(s) between tags were folded into the "
            f"next tagged step ({', '.join(sorted(squashed))}): those steps and all after them "
            "get new commit ids (use --keep-untagged to keep every commit as a step)"
        )
    return plan, squashed, stray


def _write(repo: Repository, into: Path, branch: str, plan: list[_Planned],
           squashed: dict[str, int], stray: tuple[str, ...], reporter: Reporter) -> ImportResult:
    # git diffs every step (the longest part) while the commits are read and the manifest
    # and folders are written; each step file is handed to the writer threads as soon as its
    # patch is out.
    pairs = [(plan[i - 1].tree if i else EMPTY_TREE, p.tree) for i, p in enumerate(plan)]
    reporter.detail(f"diffing {len(pairs)} steps")
    patches = repo.diff_trees_stream(pairs)
    commits = repo.read_many([p.commit for p in plan], b"commit")
    for p, raw in zip(plan, commits, strict=True):
        p.subject = split_object(raw)[1].split(b"\n", 1)[0].decode("utf-8", "replace")
    tag_objects = _read_tags(repo, plan)
    template = _infer(plan)
    layout = _chapters(plan)
    folders: list[tuple[str, int]] = []  # each step's folder and the worker that makes it
    os.makedirs(into / "chapters", exist_ok=True)
    with _Writer() as writer:
        for n, (slug, number, title, members) in enumerate(layout):
            folder = os.path.join(into, "chapters", slug)
            writer.folder(n, folder)
            folders += [(folder, n)] * len(members)
            writer.put(n, os.path.join(folder, "index.md"),
                       chapter_heading(number, title).encode(), new=True)
        manifest = _manifest_text(into, branch, template, layout, plan)
        write_support_files(into, into.resolve().name)
        with reporter.progress("Writing steps", len(plan)) as advance:
            for idx, patch in enumerate(patches):
                p = plan[idx]
                tag_raw = tag_objects.get(p.tag_object) if p.tag_object else None
                if tag_raw is not None and split_object(tag_raw)[0][0].value.decode() != p.commit:
                    reporter.warn(f"tag {p.tag} is a tag of a tag: kept as a lightweight tag")
                    tag_raw = None
                record = stepfile.from_objects(commits[idx], tag_raw, p.commit, patch,
                                               tag_name=p.tag)
                folder, n = folders[idx]
                writer.put(n, os.path.join(folder, f"{p.name}.patch"), stepfile.dump(record))
                advance(1)
    (into / MANIFEST).write_text(manifest, encoding="utf-8")  # last: now it is a project
    return ImportResult(into, branch, len(plan), len(layout), sum(1 for p in plan if p.tag),
                        squashed, stray, template)


def _read_tags(repo: Repository, plan: list[_Planned]) -> dict[str, bytes]:
    """Each annotated tag object of the plan, by id, in one round trip."""
    oids = [p.tag_object for p in plan if p.tag_object]
    return dict(zip(oids, repo.read_many(oids, b"tag"), strict=True))


class _Writer:
    """Makes folders and writes new files from worker threads while the caller goes on.

    Creating a folder or a file is nearly all kernel time (0.1-0.8 ms each on a slow file
    system), which runs without the GIL: it overlaps the making of the next step file and
    git's diff. Jobs are given a key: those with the same key (a folder and its files) are
    done in order, by the same worker. The first error is raised when the writer closes.
    """

    WORKERS = 2

    def __init__(self) -> None:
        self.queues: list[queue.SimpleQueue[tuple[str, bytes | None, bool] | None]] = [
            queue.SimpleQueue() for _ in range(self.WORKERS)]
        self.errors: list[OSError] = []
        self.threads = [threading.Thread(target=self._work, args=(q,), daemon=True)
                        for q in self.queues]
        for t in self.threads:
            t.start()

    def folder(self, key: int, path: str) -> None:
        """Make the folder `path` (unless it exists)."""
        self.queues[key % self.WORKERS].put((path, None, True))

    def put(self, key: int, path: str, data: bytes, *, new: bool = False) -> None:
        """Write `data` to `path` (a new file; with `new`, only if `path` does not exist)."""
        self.queues[key % self.WORKERS].put((path, data, new))

    def _work(self, jobs: queue.SimpleQueue[tuple[str, bytes | None, bool] | None]) -> None:
        while (job := jobs.get()) is not None:
            path, data, new = job
            try:
                if data is None:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(path)
                else:
                    _write_file(path, data, new)
            except OSError as e:
                self.errors.append(e)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            t.join()
        if self.errors and exc[0] is None:
            raise self.errors[0]


def _write_file(path: str, data: bytes, new: bool = False) -> None:
    """Write a file in three system calls (open, write, close); with `new`, only if `path`
    does not exist."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if new else os.O_TRUNC)
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        if new:
            return
        raise
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def _infer(plan: list[_Planned]) -> str:
    """Chapter numbers and titles from messages like `Chapter 7: Title (7a)` or from tags."""
    tagged = [p for p in plan if p.tag]
    matches = {id(p): m for p in plan if (m := _CHAPTER_MESSAGE.match(p.subject))}
    chapter_style = sum(1 for p in tagged if id(p) in matches and matches[id(p)][3] == p.tag)
    template = "{title}"
    if chapter_style * 2 > len(tagged):
        template = "Chapter {chapter}: {title} ({tag})"
    prefixes: dict[str, int] = {}
    for p in plan:
        p.title = p.subject.strip() or "(no message)"
        m = matches.get(id(p))
        if template != "{title}" and m:
            p.chapter, p.title = int(m[1]), m[2]
        elif p.tag and (t := _TAG_NUMBER_LETTER.match(p.tag)):
            p.chapter = int(t[1])
        elif p.tag and (v := _TAG_VERSION.match(p.tag)):
            p.chapter = int(v[2]) if v[1] == "0" else int(v[1])
        elif p.tag:
            prefix = (_TAG_PREFIX.match(p.tag) or re.match("(.*)", p.tag))[1] or p.tag  # type: ignore[index]
            p.chapter = prefixes.setdefault(prefix, len(prefixes) + 1)
        else:
            p.chapter = -1  # untagged: joins its neighbour's chapter below
    known = [p.chapter for p in plan if p.chapter >= 0]
    current = known[0] if known else 1
    for p in plan:
        if p.chapter < 0:
            p.chapter = current
        current = p.chapter
    # Step names and tags share one namespace (`tutorial show X` takes either).
    tags = {p.tag for p in plan if p.tag}
    taken: set[str] = set()
    for p in plan:
        base = default_name(p.tag) if p.tag else (
            re.sub(r"[^a-z0-9]+", "-", p.subject.lower()).strip("-")[:40].strip("-") or "step")
        name, n = base, 2
        while name in taken or (name in tags and name != p.tag):
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        p.name = name
    return template


def _chapters(plan: list[_Planned]) -> list[tuple[str, int, str, list[int]]]:
    """Consecutive steps with the same chapter number form a chapter."""
    groups: list[tuple[int, list[int]]] = []
    for i, p in enumerate(plan):
        if groups and groups[-1][0] == p.chapter:
            groups[-1][1].append(i)
        else:
            groups.append((p.chapter, [i]))
    layout = []
    slugs: Counter[str] = Counter()
    for number, members in groups:
        tagged = [plan[i] for i in members if plan[i].tag] or [plan[members[0]]]
        title = tagged[0].title
        if len({plan[i].title for i in members}) > 1 and not _CHAPTER_MESSAGE.match(
                tagged[0].subject):
            title = f"Chapter {number}"
        slug = slugify(number, title)
        slugs[slug] += 1
        if slugs[slug] > 1:
            slug = f"{slug}-{slugs[slug]}"
        layout.append((slug, number, title, members))
    return layout


def _manifest_text(into: Path, branch: str, template: str,
                   layout: list[tuple[str, int, str, list[int]]], plan: list[_Planned]) -> str:
    chapters: list[yamltext.Value] = []
    for slug, number, title, members in layout:
        steps: list[yamltext.Value] = []
        for i in members:
            p = plan[i]
            s: dict[str, str] = {}
            if p.tag:
                s["tag"] = p.tag
            if not p.tag or p.name != default_name(p.tag):
                s["name"] = p.name
            if p.title != title:
                s["title"] = p.title
            probe = Step(p.tag, p.name, p.title, None, number, title, slug)
            if (not p.tag and "{tag}" in template) or render_message(template, probe) != p.subject:
                s["message"] = p.subject
            steps.append(s)
        chapters.append({"number": number, "title": title, "slug": slug, "steps": steps})
    data: dict[str, yamltext.Value] = {
        "title": into.resolve().name, "repo": DEFAULT_REPO, "branch": branch,
        "message": template, "chapters": chapters}
    return yamltext.dump(data, "The tutorial: chapters, their steps (one commit each) and their "
                         "tags.\nchapters/<slug>/<step>.patch holds each step's commit; "
                         "`tutorial build` makes the history.")

"""`tutorial build`: chapters/ -> a git history with one commit and one tag per step.

Incremental: each step's commit is cached under (its parent, its tag, its file's bytes),
so an unchanged step keeps its commit and a no-op build reads files and refs only.
All-or-nothing: objects are written first (harmless), then the work tree moves with git's
two-way merge (which refuses rather than overwrite an edit), then every ref moves in one
transaction with old-value checks. A journal makes a crash between the last two repairable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import manifest as manifest_mod
from .. import stepfile
from ..errors import DirtyWorkTree, RefsChanged, StepFileError, TutorialError
from ..faults import checkpoint
from ..gitstore import EMPTY_TREE, MutableTree, RefUpdate, Repository, object_id
from ..manifest import Manifest, Step
from ..patch import PatchSyntaxError, parse_patch
from ..project import STATE_DIR
from ..reporter import Reporter
from . import uptodate
from .treepatch import apply_to_tree

CACHE_VERSION = 1


@dataclass(frozen=True)
class BuiltStep:
    step: Step
    commit: str
    tag_object: str | None

    @property
    def tag_target(self) -> str:
        return self.tag_object or self.commit


@dataclass(frozen=True)
class BuildResult:
    repo: Path
    steps: tuple[BuiltStep, ...]
    computed: int  # steps whose commits were made (not taken from the cache)
    moved: tuple[str, ...]  # refs created, moved or deleted
    created: bool
    worktree: str  # "updated", "unchanged", or why it was left alone
    warnings: tuple[str, ...] = field(default=())

    @property
    def tip(self) -> str | None:
        return self.steps[-1].commit if self.steps else None


def _cache_key(parent: str | None, tag: str | None, data: bytes) -> str:
    h = hashlib.sha1(b"step-v1\0")
    h.update((parent or "").encode() + b"\0" + (tag or "").encode() + b"\0")
    h.update(data)
    return h.hexdigest()


def step_files(manifest: Manifest) -> list[Path]:
    """`manifest.step_file` of every step, in order: each folder's path is made once."""
    chapters = manifest.root / "chapters"
    folders: dict[str, Path] = {}
    out = []
    for step in manifest.steps:
        folder = folders.get(step.chapter_slug)
        if folder is None:
            folder = folders[step.chapter_slug] = chapters / step.chapter_slug
        out.append(folder / f"{step.name}.patch")
    return out


def state_dir(repo: Repository) -> Path:
    return repo.git_dir / "tutorial"


StepCache = dict[str, dict[str, str | None]]


def _load_state(repo: Repository) -> tuple[StepCache, dict[str, str]]:
    """The build cache (step key -> commit and tag object) and the refs the last build wrote."""
    try:
        state = json.loads((state_dir(repo) / "build.json").read_text())
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(state, dict) or state.get("version") != CACHE_VERSION:
        return {}, {}
    return dict(state.get("steps", {})), dict(state.get("refs", {}))


def owned_refs(repo: Repository, saved: tuple[StepCache, dict[str, str]] | None = None,
               ) -> dict[str, str]:
    """The refs the last build wrote, with the values it gave them (from `saved`, the
    state `_load_state` read, when the caller has it)."""
    return {k: v for k, v in (saved or _load_state(repo))[1].items() if v}


@dataclass(frozen=True)
class MovedRef:
    """A ref the last build wrote that is no longer where it left it."""
    ref: str
    built: str  # where the build left it
    now: str | None  # None: deleted

    @property
    def name(self) -> str:
        """The tag, or the branch, without `refs/tags/` or `refs/heads/`."""
        return self.ref.removeprefix("refs/tags/").removeprefix("refs/heads/")


def moved_refs(repo: Repository, branch: str, *, owned: Mapping[str, str] | None = None,
               current: Mapping[str, str] | None = None) -> list[MovedRef]:
    """The refs (the branch, the tags) the last build wrote that were moved or deleted
    since, outside tutorial: the one rule `status`, every rewrite, `publish` and the build
    apply. `owned` (the refs the build wrote) and `current` (the tags and the branch as they
    are) are read from the repository unless the caller has them already."""
    if owned is None:
        owned = owned_refs(repo)
    if current is None:
        current = repo.refs("refs/tags/", f"refs/heads/{branch}")
    return [MovedRef(ref, oid, current.get(ref)) for ref, oid in owned.items()
            if current.get(ref) != oid]


def _save_state(repo: Repository, steps: StepCache, refs: dict[str, str],
                saved: tuple[StepCache, dict[str, str]]) -> None:
    """Write the state unless it equals `saved`, what build.json held when it was loaded."""
    if saved == (steps, refs):
        return  # unchanged: keep the file (and its status, which the stamp records)
    d = state_dir(repo)
    d.mkdir(exist_ok=True)
    tmp = d / "build.json.tmp"
    tmp.write_text(json.dumps({"version": CACHE_VERSION, "steps": steps, "refs": refs}))
    tmp.replace(d / "build.json")


def open_or_create(path: Path, branch: str) -> tuple[Repository, bool]:
    if (path / ".git").exists():
        return Repository(path), False
    if path.exists() and any(path.iterdir()):
        raise TutorialError(
            f"{path} exists and is not a git repository",
            "Give `tutorial build --repo` an empty or new folder.",
        )
    return Repository.init(path, branch), True


def check_repo_location(manifest: Manifest, path: Path) -> None:
    root = manifest.root.resolve()
    path = path.resolve()
    if path == root or path in root.parents or (root / "chapters") in (path, *path.parents):
        raise TutorialError(
            f"refusing to build into {path}: it is the project itself, above it, or in chapters/",
            "Choose a folder of its own, e.g. `tutorial build --repo build/repo`.",
        )


def build(manifest: Manifest, reporter: Reporter, *, force: bool = False) -> BuildResult:
    """Make the history in `manifest.repo_path` match chapters/."""
    path = manifest.repo_path
    check_repo_location(manifest, path)
    stamp = uptodate.Stamp(os.path.realpath(manifest.root))
    uptodate.forget(stamp.root)
    repo, created = open_or_create(path, manifest.branch)
    with repo:
        _recover(repo)
        return _build(manifest, repo, created, reporter, force=force, stamp=stamp)


def _stamp(stamp: uptodate.Stamp, manifest: Manifest, repo: Repository, cache: StepCache,
           owned: dict[str, str], steps: int) -> None:
    """Finish the build's stamp (see uptodate.py): the step files' statuses are noted as
    they are read; here those of the manifest, the cache and the refs, then a check that
    they hold what this build read and wrote."""
    ref_files = repo.ref_files(owned)
    if ref_files is None:
        return
    state = state_dir(repo)
    stamp.settled([str(manifest.path), str(state / "build.json"), *map(str, ref_files)],
                  [str(state)])
    if (not manifest_mod.unchanged(manifest) or _load_state(repo) != (cache, owned)
            or moved_refs(repo, manifest.branch, owned=owned)):
        stamp.spoil()
    stamp.absent(os.path.join(stamp.root, STATE_DIR, "lock"))
    stamp.absent(str(state / "checkout.json"))
    stamp.write(str(manifest.repo_path), steps)


def _build(manifest: Manifest, repo: Repository, created: bool, reporter: Reporter, *,
           force: bool, stamp: uptodate.Stamp | None = None) -> BuildResult:
    saved = _load_state(repo)
    cache, owned = saved
    built: list[BuiltStep] = []
    new_cache: StepCache = {}
    computed = 0
    tree: MutableTree | None = None
    parent: str | None = None
    steps = manifest.steps
    with reporter.progress("Building", len(steps)) as advance:
        for step, file in zip(steps, step_files(manifest), strict=True):
            if stamp is not None:
                stamp.read(str(file))
            try:
                data = file.read_bytes()
            except FileNotFoundError as e:
                raise StepFileError(file, None, "step file is missing") from e
            key = _cache_key(parent, step.tag, data)
            hit = cache.get(key)
            if hit and hit.get("commit"):
                commit, tag_object = str(hit["commit"]), hit.get("tag")
                tree = None
            else:
                if tree is None:
                    tree = MutableTree(repo, repo.tree_of(parent) if parent else EMPTY_TREE)
                commit, tag_object = _make_step(repo, tree, manifest, step, file, data, parent)
                computed += 1
            new_cache[key] = {"commit": commit, "tag": tag_object}
            built.append(BuiltStep(step, commit, tag_object))
            parent = commit
            advance(1)
    current = repo.refs("refs/tags/", f"refs/heads/{manifest.branch}")
    if computed < len(steps):
        # Objects that refs name are present, and so is every ancestor of a present commit.
        present = set(current.values())
        wanted = {b.tag_object for b in built if b.tag_object}
        if not built or built[-1].commit not in present:
            wanted |= {b.commit for b in built}
        wanted -= present
        if wanted and repo.existing(wanted) != wanted:
            reporter.warn("The build cache names objects the repository lacks; rebuilding all.")
            _save_state(repo, {}, owned, saved)
            return _build(manifest, repo, created, reporter, force=force)
    return _publish(manifest, repo, created, tuple(built), new_cache, computed, current,
                    saved, reporter, force=force, stamp=stamp)


def _make_step(repo: Repository, tree: MutableTree, manifest: Manifest, step: Step, file: Path,
               data: bytes, parent: str | None) -> tuple[str, str | None]:
    record = stepfile.load(data, file)
    try:
        files = parse_patch(record.patch, record.patch_line)
    except PatchSyntaxError as e:
        raise StepFileError(file, e.line, e.reason) from e
    apply_to_tree(repo, tree, files, step.label)
    return make_commit(repo, record, tree.write(), parent, step.tag)


def make_commit(repo: Repository, record: stepfile.StepCommit, tree_id: str,
                parent: str | None, tag: str | None) -> tuple[str, str | None]:
    """The commit (and annotated tag object) a step file gives on `tree_id` and `parent`;
    signatures are kept only when the result is the very commit they signed."""
    raw = record.commit_bytes(tree_id, parent, signatures=record.signed is not None)
    if record.signed is not None and object_id(b"commit", raw) != record.signed:
        raw = record.commit_bytes(tree_id, parent, signatures=False)
    commit = repo.write(b"commit", raw)
    tag_object = None
    if record.tag is not None and tag is not None:
        keep = record.signed is not None and commit == record.signed
        tag_object = repo.write(b"tag", record.tag_bytes(commit, tag, signatures=keep))
    return commit, tag_object


def prime(manifest: Manifest, repo: Repository, trees: dict[int, str], *,
          files: Mapping[Path, bytes] | None = None,
          records: Mapping[Path, stepfile.StepCommit] | None = None) -> int:
    """Cache the commits of steps whose trees a rewrite already knows, so the build that
    follows takes them instead of applying every patch again. Returns how many it made.

    `files` gives step files' bytes as just written, `records` some of them as read (the
    rewrite has them): those are neither read nor parsed again."""
    saved = _load_state(repo)
    cache, owned = dict(saved[0]), saved[1]
    files, records = files or {}, records or {}
    parent: str | None = None
    made = 0
    for i, (step, file) in enumerate(zip(manifest.steps, step_files(manifest), strict=True)):
        data = files.get(file)
        if data is None:
            data = file.read_bytes()
        key = _cache_key(parent, step.tag, data)
        hit = cache.get(key)
        if hit and hit.get("commit"):
            parent = str(hit["commit"])
            continue
        if i not in trees:
            break
        record = records.get(file) or stepfile.load(data, file)
        commit, tag_object = make_commit(repo, record, trees[i], parent, step.tag)
        cache[key] = {"commit": commit, "tag": tag_object}
        parent = commit
        made += 1
    if made:
        repo.flush()
        _save_state(repo, cache, owned, saved)
    return made


def built_refs(manifest: Manifest, built: Sequence[BuiltStep]) -> dict[str, str]:
    """The branch and every tag as the build makes them from `built` (every step): what a
    build writes and what a publish puts on the remote."""
    refs = {f"refs/tags/{b.step.tag}": b.tag_target for b in built if b.step.tag}
    if built:
        refs[f"refs/heads/{manifest.branch}"] = built[-1].commit
    return refs


def _publish(manifest: Manifest, repo: Repository, created: bool, built: tuple[BuiltStep, ...],
             cache: StepCache, computed: int, current: dict[str, str],
             saved: tuple[StepCache, dict[str, str]], reporter: Reporter, *,
             force: bool, stamp: uptodate.Stamp | None = None) -> BuildResult:
    repo.flush()
    branch_ref = f"refs/heads/{manifest.branch}"
    desired = built_refs(manifest, built)
    previous = owned_refs(repo, saved)
    # Refs the last build wrote that the manifest no longer has: remove them.
    for ref, oid in previous.items():
        if ref not in desired and current.get(ref) == oid:
            desired[ref] = ""
    # Refs that would be overwritten: moved since the last build wrote them, or made by hand.
    moved = {m.ref for m in moved_refs(repo, manifest.branch, owned=previous, current=current)}
    foreign = [ref for ref, oid in desired.items()
               if oid and current.get(ref) not in (None, oid)
               and (ref in moved or ref not in previous)]
    if foreign and not force:
        names = ", ".join(r.removeprefix("refs/tags/") for r in foreign[:8])
        raise TutorialError(
            f"{len(foreign)} ref(s) in {repo.work_tree or repo.git_dir} were moved or made "
            f"outside tutorial and would be overwritten: {names}",
            "Nothing was changed. Check them with `tutorial status`; to put them back where "
            "chapters/ says, run `tutorial build --force`.",
        )
    updates = [RefUpdate(ref, oid or None, current.get(ref))
               for ref, oid in desired.items() if current.get(ref) != (oid or None)]
    head_ref, head_oid = repo.head(current)
    tip = built[-1].commit if built else None
    worktree = "unchanged"
    if repo.work_tree is None:
        worktree = "bare repository"
    elif head_ref != branch_ref:
        worktree = (f"left alone: HEAD is on {head_ref.removeprefix('refs/heads/')}"
                    if head_ref else "left alone: HEAD is detached")
    elif tip and tip != head_oid:
        if head_oid:
            dirty = repo.dirty_files()
            if dirty:
                raise DirtyWorkTree(repo.work_tree, dirty)
        _journal(repo, {"old": head_oid, "new": tip})
        try:
            repo.checkout_tree(head_oid, tip)
        except TutorialError as e:
            _journal(repo, None)
            raise TutorialError(
                f"cannot update the work tree of {repo.work_tree}: {e.message}",
                "Nothing was changed. Move the files git names out of the way and run "
                "`tutorial build` again.",
            ) from e
        worktree = "updated"
    checkpoint("build:worktree")
    try:
        repo.update_refs(updates)
    except TutorialError as e:
        if worktree == "updated" and tip and head_oid:
            repo.checkout_tree(tip, head_oid)
        _journal(repo, None)
        raise RefsChanged(
            f"refs changed while building: {e.message}",
            "Another process moved them. Nothing was changed; run `tutorial build` again.",
        ) from e
    checkpoint("build:refs")
    _journal(repo, None)
    owned = {ref: oid for ref, oid in desired.items() if oid}
    _save_state(repo, cache, owned, saved)
    if stamp is not None:
        _stamp(stamp, manifest, repo, cache, owned, len(built))
    return BuildResult(manifest.repo_path, built, computed, tuple(u.ref for u in updates),
                       created, worktree)


def _journal(repo: Repository, entry: dict[str, str | None] | None) -> None:
    path = state_dir(repo) / "checkout.json"
    if entry is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(entry))


def _recover(repo: Repository) -> None:
    """Finish or undo a work-tree move that a crash interrupted before its refs moved."""
    path = state_dir(repo) / "checkout.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    _, head = repo.head()
    old, new = entry.get("old"), entry.get("new")
    if head == new and old:
        repo.checkout_tree(old, new)
    elif head == old and old and new:
        repo.checkout_tree(new, old)
    path.unlink(missing_ok=True)


def built_steps(manifest: Manifest, repo: Repository) -> list[BuiltStep | None]:
    """What the last build made of each step, from its cache: None from the first step
    that chapters/ changed since (that step and every one after it needs a build)."""
    cache, _ = _load_state(repo)
    out: list[BuiltStep | None] = []
    parent: str | None = None
    for step, file in zip(manifest.steps, step_files(manifest), strict=True):
        hit = None
        if parent is not None or not out:
            try:
                data = file.read_bytes()
            except FileNotFoundError:
                data = None
            hit = cache.get(_cache_key(parent, step.tag, data)) if data is not None else None
        if hit and hit.get("commit"):
            commit = str(hit["commit"])
            out.append(BuiltStep(step, commit, hit.get("tag")))
            parent = commit
        else:
            out.append(None)
            parent = None
    return out

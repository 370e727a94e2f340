"""`tutorial status`: the manifest against chapters/, the built history and its work tree."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .. import stepfile
from ..errors import StepFileError
from ..gitstore import Repository
from ..manifest import Manifest
from ..oplog import OpLog
from .build import built_steps, owned_refs
from .rewrite import editing, rewrite_in_progress


@dataclass(frozen=True)
class MovedTag:
    tag: str
    built: str
    now: str | None  # None: deleted


@dataclass(frozen=True)
class Status:
    project: str
    repo: str
    built: bool  # the repository exists
    steps: int
    unbuilt: tuple[str, ...] = ()  # steps whose commit a build would make or change
    missing_files: tuple[str, ...] = ()
    extra_files: tuple[str, ...] = ()
    messages: tuple[tuple[str, str, str], ...] = ()  # (step, manifest says, commit says)
    moved_tags: tuple[MovedTag, ...] = ()
    worktree: str | None = None
    head: str | None = None  # the step (or commit) the work tree is at
    dirty: tuple[str, ...] = ()
    rewrite: dict[str, Any] | None = None
    problems: tuple[str, ...] = field(default=())
    editing: str | None = None  # the step `tutorial edit` put in the work tree
    interrupted: str | None = None  # a rewrite killed while writing: continue or abort

    @property
    def clean(self) -> bool:
        return self.built and not (self.unbuilt or self.missing_files or self.moved_tags
                                   or self.dirty or self.problems or self.rewrite
                                   or self.editing or self.interrupted)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = [dict(zip(("step", "manifest", "commit"), m, strict=True))
                            for m in self.messages]
        data["clean"] = self.clean
        return data


def status(manifest: Manifest) -> Status:
    root = manifest.root
    files = {manifest.step_file(s): s for s in manifest.steps}
    missing = tuple(s.label for f, s in files.items() if not f.is_file())
    chapters = root / "chapters"
    extra = tuple(sorted(str(p.relative_to(root)) for p in chapters.glob("*/*.patch")
                         if p not in files)) if chapters.is_dir() else ()
    messages = []
    problems = []
    for f, s in files.items():
        if not f.is_file():
            continue
        try:
            subject = stepfile.read(f).subject
        except StepFileError as e:
            problems.append(e.message)
            continue
        if subject != manifest.subject(s):
            messages.append((s.label, manifest.subject(s), subject))
    base = Status(str(root), str(manifest.repo_path), False, len(files), (), missing, extra,
                  tuple(messages), problems=tuple(problems))
    path = manifest.repo_path
    if not (path / ".git").exists():
        return replace(base, unbuilt=tuple(s.label for s in manifest.steps))
    with Repository(path) as repo:
        built = built_steps(manifest, repo)
        unbuilt = tuple(s.label for s, b in zip(manifest.steps, built, strict=True) if b is None)
        refs = repo.refs("refs/tags/", f"refs/heads/{manifest.branch}")
        moved = tuple(MovedTag(r.removeprefix("refs/tags/"), oid, refs.get(r))
                      for r, oid in owned_refs(repo).items() if refs.get(r) != oid)
        _, head_oid = repo.head()
        at = {peeled: name for name, (_, peeled) in repo.peeled_tags().items()}
        at.update({b.commit: b.step.label for b in built if b})
        head = at.get(head_oid or "", head_oid)
        dirty = tuple(repo.dirty_files()) if repo.work_tree and head_oid else ()
        return Status(str(root), str(path), True, len(files), unbuilt, missing, extra,
                      tuple(messages), moved, str(repo.work_tree) if repo.work_tree else None,
                      head, dirty, rewrite_in_progress(manifest), tuple(problems),
                      editing(manifest), _interrupted(manifest))


def _interrupted(manifest: Manifest) -> str | None:
    op = OpLog(manifest.root).interrupted()
    return f"tutorial {op.command}" if op else None

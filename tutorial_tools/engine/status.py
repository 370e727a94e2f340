"""`tutorial status`: the manifest against chapters/, the built history and its work tree."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .. import stepfile
from ..errors import StepFileError
from ..gitstore import Repository
from ..manifest import Manifest
from ..oplog import OpLog
from ..recovery import Restore, restore
from .build import built_steps, moved_refs
from .ready import editing, rewrite_in_progress


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
    missing_files: tuple[str, ...] = ()  # steps whose file is missing: labels
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
    broken_files: tuple[str, ...] = ()  # missing or unreadable step files, from the project
    restoring: Restore | None = None  # how to get the broken files back (not in the JSON)

    @property
    def clean(self) -> bool:
        return self.built and not (self.unbuilt or self.missing_files or self.moved_tags
                                   or self.dirty or self.problems or self.rewrite
                                   or self.editing or self.interrupted or self.messages)

    @property
    def next(self) -> str | None:
        """The one thing to do next, most urgent first: what the other commands need."""
        if self.interrupted or self.rewrite:
            return "tutorial continue"
        if self.broken_files:
            return self.restore
        if self.editing:
            return "tutorial save"
        if not self.built or self.unbuilt:
            return "tutorial build"
        if self.messages:
            return "tutorial renumber"
        return None

    @property
    def restore(self) -> str | None:
        """The command that gets the broken step files back (see `recovery.restore`)."""
        return self.restoring.command if self.broken_files and self.restoring else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["restoring"]  # `next` names its command
        data["messages"] = [dict(zip(("step", "manifest", "commit"), m, strict=True))
                            for m in self.messages]
        data["clean"] = self.clean
        data["next"] = self.next
        return data


def status(manifest: Manifest) -> Status:
    root = manifest.root
    files = {manifest.step_file(s): s for s in manifest.steps}
    labels: list[str] = []  # of the steps whose file is missing
    absent: list[str] = []  # their files, listed before the unreadable ones
    unreadable: list[str] = []
    extra = tuple(sorted(str(p.relative_to(root)) for p in manifest.unnamed_step_files()))
    messages = []
    problems = []
    for f, s in files.items():
        if not f.is_file():
            labels.append(s.label)
            absent.append(f.relative_to(root).as_posix())
            continue
        try:
            subject = stepfile.read(f).subject
        except StepFileError as e:
            problems.append(e.message)
            unreadable.append(f.relative_to(root).as_posix())
            continue
        if subject != manifest.subject(s):
            messages.append((s.label, manifest.subject(s), subject))
    missing, broken = tuple(labels), (*absent, *unreadable)
    restoring = restore(manifest, broken) if broken else None
    base = Status(str(root), str(manifest.repo_path), False, len(files), (), missing, extra,
                  tuple(messages), problems=tuple(problems), broken_files=tuple(broken),
                  restoring=restoring)
    path = manifest.repo_path
    if not (path / ".git").exists():
        return replace(base, unbuilt=tuple(s.label for s in manifest.steps))
    with Repository(path) as repo:
        built = built_steps(manifest, repo)
        unbuilt = tuple(s.label for s, b in zip(manifest.steps, built, strict=True) if b is None)
        moved = tuple(MovedTag(m.ref.removeprefix("refs/tags/"), m.built, m.now)
                      for m in moved_refs(repo, manifest.branch))
        _, head_oid = repo.head()
        at = {peeled: name for name, (_, peeled) in repo.peeled_tags().items()}
        at.update({b.commit: b.step.label for b in built if b})
        head = at.get(head_oid or "", head_oid)
        dirty = tuple(repo.dirty_files()) if repo.work_tree and head_oid else ()
        stopped = rewrite_in_progress(manifest)
        if stopped:
            # The work tree holds the conflicted step, not HEAD's: its changes against HEAD
            # are the rewrite's, not edits of the author's.
            head, dirty = stopped["step"], ()
        return Status(str(root), str(path), True, len(files), unbuilt, missing, extra,
                      tuple(messages), moved, str(repo.work_tree) if repo.work_tree else None,
                      head, dirty, stopped, tuple(problems),
                      editing(manifest), _interrupted(manifest), tuple(broken), restoring)


def _interrupted(manifest: Manifest) -> str | None:
    op = OpLog(manifest.root).interrupted()
    return f"tutorial {op.command}" if op else None

"""History editing: change one step, carry the change through every later step, move every tag.

The flow of every rewrite (`apply`, `save`, `continue`):

1. compute the new trees of the changed step and every later one (`carry`), on objects only;
2. on a conflict, stop: `.tutorial/rewrite.json` records where, the work tree shows the
   conflicted step, and nothing else has changed (`continue` or `abort` go on from there);
3. otherwise record an operation-log entry with the step files as they were, write the new
   step files, and build: the branch and all tags move in one transaction.

A crash before 3 leaves the old state (plus, at most, a resumable stop); a crash inside 3
leaves chapters/ ahead of the refs, which `tutorial status` reports and `tutorial build`
(or `tutorial undo`) settles. Tags never move one by one.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import stepfile
from ..errors import DirtyWorkTree, PatchError, TutorialError, discard
from ..faults import checkpoint
from ..gitstore import EMPTY_TREE, MutableTree, RefUpdate, Repository
from ..gitstore.merge import (
    attach_head,
    detach_head,
    move_worktree,
    reset_worktree,
    snapshot_worktree,
)
from ..manifest import Manifest, edited, from_text, load
from ..oplog import OpLog
from ..patch import PatchSyntaxError, parse_patch
from ..reporter import Reporter
from .build import BuildResult, prime, step_files
from .build import build as run_build
from .carry import Resolutions, carry
from .ready import (
    EDIT,
    REWRITE,
    REWRITING,
    open_built,
    read_state,
    require_clean,
    require_idle,
    require_unmoved,
    write_state,
)
from .treepatch import apply_to_tree

# A new message and/or title for the step being saved: {"message": ..., "title": ...}.
Reword = dict[str, str | None]


@dataclass(frozen=True)
class RewriteResult:
    status: str  # "done", "stopped", "dry-run" or "unchanged"
    changed: tuple[str, ...] = ()  # steps whose commits change
    conflict_step: str | None = None
    conflicts: tuple[str, ...] = ()
    sides: tuple[str, ...] = ()  # both versions of conflicts that markers cannot show
    would_conflict: tuple[str, ...] = ()  # dry run: steps that would stop
    reused: tuple[str, ...] = ()  # steps where a remembered resolution applied
    build: BuildResult | None = None
    worktree: str | None = None


@dataclass
class History:
    manifest: Manifest
    repo: Repository
    commits: list[str]
    trees: list[str]
    tip: str
    branch_ref: str

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.manifest.steps]

    def index(self, ref: str) -> int:
        return self.labels.index(self.manifest.step(ref).label)

    def parent_tree(self, i: int, new: dict[int, str]) -> str:
        if i == 0:
            return EMPTY_TREE
        return new.get(i - 1, self.trees[i - 1])


def open_history(manifest: Manifest) -> History:
    """The built history, once `ready` found it built from chapters/ as they are."""
    repo, built = open_built(manifest, REWRITING)
    commits = [b.commit for b in built]
    return History(manifest, repo, commits, repo.trees_of(commits), commits[-1],
                    f"refs/heads/{manifest.branch}")


def effective(writes: dict[Path, bytes | None]) -> dict[Path, bytes | None]:
    """The `writes` that change something: not a file's own bytes, not deleting a file
    that does not exist."""
    out: dict[Path, bytes | None] = {}
    for path, data in writes.items():
        try:
            current: bytes | None = path.read_bytes()
        except FileNotFoundError:
            current = None
        if data != current:
            out[path] = data
    return out


# -- the commands -------------------------------------------------------------------------


def apply_patch(manifest: Manifest, step: str, patch: bytes, reporter: Reporter, *,
                command: str, dry_run: bool = False) -> RewriteResult:
    """Apply a diff to STEP's tree and carry it through every later step."""
    require_idle(manifest, REWRITING)
    h = open_history(manifest)
    with h.repo:
        i = h.index(step)
        try:
            files = parse_patch(patch)
        except PatchSyntaxError as e:
            raise TutorialError(f"the patch is malformed at line {e.line}: {e.reason}") from e
        if not files:
            raise TutorialError("the patch changes no file",
                                "Give a unified or git diff (`git diff > fix.patch`).")
        tree = MutableTree(h.repo, h.trees[i])
        try:
            apply_to_tree(h.repo, tree, files, h.labels[i])
        except PatchError as e:
            raise PatchError(h.labels[i], e.path, e.hunk, "the patch does not apply: "
                             + e.message.split(": ", 1)[-1]) from e
        new_tree = tree.write()
        if not dry_run:
            require_clean(h.repo, REWRITING, h.branch_ref)
        return _start(h, i, new_tree, command, reporter, {"head": "branch"}, None, dry_run)


def edit(manifest: Manifest, step: str) -> str:
    """Put STEP in the built repository's work tree for editing; returns its path."""
    require_idle(manifest, REWRITING, editing_ok=True)  # editing another step is fine
    current = read_state(manifest, EDIT)
    h = open_history(manifest)
    with h.repo:
        i = h.index(step)
        assert h.repo.work_tree is not None
        dirty = h.repo.dirty_files()
        if dirty:
            hint = ("Run `tutorial save` to keep them, or discard them with "
                    f"`{discard(h.repo.work_tree, dirty)}`." if current else None)
            raise DirtyWorkTree(h.repo.work_tree, dirty, hint)
        _, head = h.repo.head()
        if current is None and head != h.tip:
            raise TutorialError(f"{h.repo.work_tree} is not at the last step",
                                f"Check out {manifest.branch} there first.")
        h.repo.checkout_tree(head, h.commits[i])
        detach_head(h.repo, h.commits[i])
        write_state(manifest, EDIT, {"step": h.labels[i], "commit": h.commits[i],
                                      "tip": h.tip})
        return str(h.repo.work_tree)


def save(manifest: Manifest, reporter: Reporter, *, command: str, message: str | None = None,
         title: str | None = None, dry_run: bool = False) -> RewriteResult:
    """Fold the work tree's edits into the step being edited and carry them forward;
    `message` replaces its commit message, `title` its title in the manifest (and its
    subject, when that follows the message template)."""
    require_idle(manifest, REWRITING, editing_ok=True)
    reword: Reword | None = {"message": message, "title": title} if message or title else None
    state = read_state(manifest, EDIT)
    if state is None:
        raise TutorialError("no step is being edited", "Start with `tutorial edit STEP`.")
    h = open_history(manifest)
    with h.repo:
        i = h.index(state["step"])
        head_ref, _ = h.repo.head()
        if head_ref is None:  # detached at the step: the edits are in the work tree
            new_tree = snapshot_worktree(h.repo, h.trees[i])
        elif "tree" in state and not h.repo.dirty_files():
            new_tree = state["tree"]  # an earlier `save` took them, then stopped short
        else:
            raise TutorialError(f"{h.repo.work_tree} is on {head_ref}, not at the step being "
                                f"edited ({state['step']})",
                                f"Run `tutorial edit {state['step']}` again.")
        if dry_run:
            return _start(h, i, new_tree, command, reporter, {}, reword, True)
        restore = {"head": h.commits[i], "tree": new_tree}
        # Recorded before the work tree leaves the edits: a crash from here on loses nothing.
        write_state(manifest, EDIT, {**state, "tree": new_tree})
        reset_worktree(h.repo, h.trees[-1], held=new_tree)  # the edits are safe in `new_tree`
        attach_head(h.repo, h.branch_ref)
        result = _start(h, i, new_tree, command, reporter, restore, reword, False)
        if result.status == "unchanged":
            write_state(manifest, EDIT, None)
        return result


def continue_(manifest: Manifest, reporter: Reporter) -> RewriteResult:
    """Take the resolved work tree as the stopped step and carry on."""
    state = read_state(manifest, REWRITE)
    log = OpLog(manifest.root)
    op = log.interrupted()
    if op is not None:  # killed while writing: roll forward
        log.replay(op)
        result = run_build(load(manifest.path), reporter, force=True)
        write_state(manifest, REWRITE, None)
        write_state(manifest, EDIT, None)
        log.finish(op, result.tip)
        return RewriteResult("done", op.steps, build=result, worktree=str(result.repo))
    if state is None:
        raise TutorialError("no rewrite is stopped", "`tutorial status` shows the state.")
    h = open_history(manifest)
    with h.repo:
        if h.labels != state["labels"]:
            raise TutorialError("the manifest's steps changed while the rewrite was stopped",
                                "Run `tutorial abort`.")
        stopped = state["stopped_at"]
        if "resolved" in state:  # an earlier `continue` took the resolution, then stopped short
            assert h.repo.work_tree is not None
            dirty = h.repo.dirty_files()
            if dirty:
                raise DirtyWorkTree(h.repo.work_tree, dirty)
            resolved = state["resolved"]
            held = state.get("held", resolved)
        else:
            resolved = held = snapshot_worktree(h.repo, state["conflict_tree"])
            if state.get("sides"):  # the side-by-side versions were for reading only
                cleaned = MutableTree(h.repo, resolved)
                for side in state["sides"]:
                    cleaned.remove(side.encode("utf-8", "surrogateescape"))
                resolved = cleaned.write()
                h.repo.flush()
        tree = MutableTree(h.repo, resolved)
        unresolved = [p for p in state["conflicts"] if _has_markers(h.repo, tree, p)]
        if unresolved:
            raise TutorialError(
                f"step {h.labels[stopped]}: still conflicted: {', '.join(unresolved)}",
                "Edit the files in the work tree to remove the <<<<<<< ======= >>>>>>> "
                "markers, then run `tutorial continue` again (or `tutorial abort`).")
        resolutions = remembered(h.repo)
        for path_hex, key in state["pending"]:
            resolutions.remember(key, tree.get(bytes.fromhex(path_hex)))
        resolutions.save()
        write_state(manifest, REWRITE, {**state, "resolved": resolved, "held": held})
        reset_worktree(h.repo, h.trees[-1], held=held)
        known = {int(k): v for k, v in state["trees"].items()}
        known[stopped] = resolved
        return _carry_on(h, state["start"], known, state["command"], reporter,
                         state["restore"], state.get("reword"))


def abort(manifest: Manifest, reporter: Reporter) -> str:
    """Put everything back as it was before the stopped (or interrupted) rewrite began, or
    before `tutorial edit`; returns what it undid, for people."""
    state = read_state(manifest, REWRITE)
    log = OpLog(manifest.root)
    op = log.interrupted()
    if op is not None:  # killed while writing: roll back
        log.restore(op)
        run_build(load(manifest.path), reporter, force=True)
        write_state(manifest, REWRITE, None)
        edit_state = read_state(manifest, EDIT)
        if edit_state is not None and "tree" in edit_state:  # a `save`: its edits return
            _back_to_editing(manifest, edit_state["commit"], edit_state["tree"])
        steps = ", ".join(op.steps[:3]) + (" ..." if len(op.steps) > 3 else "")
        return f"the interrupted rewrite #{op.id} ({steps})"
    if state is None and read_state(manifest, EDIT) is not None:
        return _stop_editing(manifest)
    if state is None:
        raise TutorialError("no rewrite is stopped", "`tutorial status` shows the state.")
    restore = state["restore"]
    if "tree" in restore:  # a `save`: back to editing, edits in the work tree
        _back_to_editing(manifest, restore["head"], restore["tree"])
    else:
        with Repository(manifest.repo_path) as repo:
            reset_worktree(repo, state["old_tip_tree"])
            attach_head(repo, f"refs/heads/{manifest.branch}")
    write_state(manifest, REWRITE, None)
    return f"the rewrite stopped at {state['labels'][state['stopped_at']]}"


def _stop_editing(manifest: Manifest) -> str:
    """`abort` during `tutorial edit`: the work tree back at the last step, as before `edit`.
    Refuses while it holds edits, which that would lose."""
    state = read_state(manifest, EDIT)
    assert state is not None
    with Repository(manifest.repo_path) as repo:
        assert repo.work_tree is not None
        dirty = repo.dirty_files()
        if dirty:
            raise DirtyWorkTree(repo.work_tree, dirty, "Nothing was changed. Keep the edits "
                                "with `tutorial save`, or discard them "
                                f"(`{discard(repo.work_tree, dirty)}`) and run `tutorial abort` "
                                "again.")
        branch_ref = f"refs/heads/{manifest.branch}"
        tip = repo.refs(branch_ref)[branch_ref]
        _, head = repo.head()
        repo.checkout_tree(head, tip)
        attach_head(repo, branch_ref)
    write_state(manifest, EDIT, None)
    return f"the edit of step {state['step']}"


def _back_to_editing(manifest: Manifest, commit: str, tree: str) -> None:
    """After an aborted `save`: the step's `commit` in the work tree again, with the edits
    `save` took (`tree`), unstaged as they were."""
    with Repository(manifest.repo_path) as repo:
        reset_worktree(repo, tree)
        detach_head(repo, commit)
        repo.git("read-tree", commit)
    state = read_state(manifest, EDIT)
    if state is not None:
        write_state(manifest, EDIT, {k: v for k, v in state.items() if k != "tree"})


@dataclass(frozen=True)
class UndoResult:
    id: int
    command: str
    build: BuildResult
    strays: tuple[str, ...] = ()  # step files no step names any more (after `--force`)


def undo(manifest: Manifest, reporter: Reporter, *, force: bool = False) -> UndoResult:
    """Undo the last operation not undone yet: its files come back, then a build.

    Refuses, changing nothing, while a file it would put back differs from what the
    operation left (edited by hand since), or while a tag or the branch was moved outside
    tutorial (the build at the end would move it back), unless `force`."""
    require_idle(manifest, REWRITING)
    log = OpLog(manifest.root)
    op = log.last_undoable()
    if (manifest.repo_path / ".git").exists():  # the build at the end would overwrite edits
        with Repository(manifest.repo_path) as repo:
            require_clean(repo, REWRITING)
            if not force:
                require_unmoved(manifest, repo, REWRITING, forcing=(
                    "Or undo anyway with `tutorial undo --force`: the refs go where the "
                    f"steps were before #{op.id}, and where they were moved to is lost "
                    f"(keep one first: `git -C {shlex.quote(str(repo.work_tree or repo.git_dir))}"
                    " tag NEW-NAME MOVED-TAG`)."))
    drifted = log.drifted(op)
    if drifted and not force:
        shown = ", ".join(drifted[:8]) + (f" and {len(drifted) - 8} more"
                                          if len(drifted) > 8 else "")
        raise TutorialError(
            f"{shown}: not as #{op.id} `tutorial {op.command}` left "
            f"{'it' if len(drifted) == 1 else 'them'} (changed by hand since); undoing it "
            "would lose those changes",
            "Nothing was changed. Keep the edits elsewhere, then run `tutorial undo --force` "
            f"to put the files back as they were before #{op.id} anyway.")
    created = log.created(op)
    log.restore(op)
    restored = load(manifest.path)
    # A step file the operation created and that was moved by hand since goes with it.
    strays = []
    for path in sorted(restored.unnamed_step_files()):
        if path.read_bytes() in created:
            path.unlink()
        else:
            strays.append(path.relative_to(manifest.root).as_posix())
    result = run_build(restored, reporter, force=True)
    return UndoResult(op.id, op.command, result, tuple(strays))


# -- the engine ---------------------------------------------------------------------------


def remembered(repo: Repository) -> Resolutions:
    """The conflict resolutions remembered in the built repository."""
    return Resolutions(repo.git_dir / "tutorial" / "resolutions.json")


def _has_markers(repo: Repository, tree: MutableTree, path: str) -> bool:
    entry = tree.get(path.encode("utf-8", "surrogateescape"))
    if entry is None or not entry.mode.startswith(b"100"):
        return False
    data = repo.read_kind(entry.oid, b"blob")
    return b"<<<<<<< " in data and b"\n>>>>>>> " in data


def _start(h: History, i: int, new_tree: str, command: str, reporter: Reporter,
           restore: dict[str, str], reword: Reword | None, dry_run: bool) -> RewriteResult:
    if dry_run:
        carried, _ = carry(h.repo, h.trees, i, new_tree, h.labels, remembered(h.repo),
                           keep_going=True)
        changed = tuple(h.labels[j] for j, t in sorted(carried.trees.items())
                        if t != h.trees[j] or (j == i and reword))
        return RewriteResult("dry-run", changed,
                             would_conflict=tuple(h.labels[j] for j in carried.conflicted),
                             reused=tuple(h.labels[j] for j in carried.reused))
    return _carry_on(h, i, {}, command, reporter, restore, reword, first_tree=new_tree)


def _carry_on(h: History, start: int, known: dict[int, str], command: str,
              reporter: Reporter, restore: dict[str, str], reword: Reword | None, *,
              first_tree: str | None = None) -> RewriteResult:
    resolutions = remembered(h.repo)
    new_tree = first_tree if first_tree is not None else known[start]
    carried, pending = carry(h.repo, h.trees, start, new_tree, h.labels, resolutions,
                             known=known)
    reused = tuple(h.labels[j] for j in carried.reused)
    if carried.conflict is not None:
        c = carried.conflict
        h.repo.flush()
        move_worktree(h.repo, h.trees[-1], c.tree)
        write_state(h.manifest, REWRITE, {
            "command": command, "labels": h.labels, "start": start, "stopped_at": c.index,
            "trees": {str(k): v for k, v in carried.trees.items() if k < c.index},
            "conflict_tree": c.tree, "conflicts": list(c.paths), "sides": list(c.sides),
            "pending": [[p.path.hex(), p.key] for p in pending],
            "old_tip": h.tip, "old_tip_tree": h.trees[-1], "restore": restore,
            "reword": reword,
        })
        return RewriteResult("stopped", conflict_step=h.labels[c.index], conflicts=c.paths,
                             sides=c.sides, reused=reused, worktree=str(h.repo.work_tree))
    return finish_rewrite(h, start, carried.trees, command, reporter, reword, reused,
                          carried.same_change)


def finish_rewrite(h: History, start: int, trees: dict[int, str], command: str,
                   reporter: Reporter, reword: Reword | None, reused: tuple[str, ...],
                   same_change: Collection[int] = ()) -> RewriteResult:
    """Write the step files of the new `trees` and publish them. Steps in `same_change`
    change the same files in the same way as before: their step files stay as they are."""
    h.repo.flush()  # diff-tree reads the new trees
    text, subject = _retitled(h, start, reword or {})
    order = sorted(trees)
    redo = [j for j in order if j == start or j not in same_change]
    patches = dict(zip(redo, h.repo.diff_trees([(h.parent_tree(j, trees), trees[j])
                                                 for j in redo]), strict=True))
    writes: dict[Path, bytes | None] = {}
    records: dict[Path, stepfile.StepCommit] = {}
    changed = []
    steps, files = h.manifest.steps, step_files(h.manifest)
    for j in order:
        step = steps[j]
        if j not in patches:
            if trees[j] != h.trees[j]:
                changed.append(step.label)
            continue
        patch = patches[j]
        path = files[j]
        old = path.read_bytes()
        record = stepfile.load(old, path).with_patch(patch)
        if j == start and reword and reword.get("message"):
            record = record.with_message(str(reword["message"]).rstrip("\n").encode() + b"\n")
        elif j == start and subject is not None and record.subject == h.manifest.subject(step):
            record = record.with_subject(subject)
        new = stepfile.dump(record)
        records[path] = record
        if new != old or trees[j] != h.trees[j]:
            changed.append(step.label)
        if new != old:
            writes[path] = new
    if text is not None:
        writes[h.manifest.path] = text.encode("utf-8")
        if h.labels[start] not in changed:
            changed.insert(0, h.labels[start])
    if not writes:
        write_state(h.manifest, REWRITE, None)
        write_state(h.manifest, EDIT, None)
        return RewriteResult("unchanged", reused=reused)
    checkpoint("rewrite:computed")
    result = publish(h.manifest, h.repo, h.tip, command, changed, writes, reporter, trees,
                     records)
    return RewriteResult("done", tuple(changed), reused=reused, build=result,
                         worktree=str(h.repo.work_tree))


def _retitled(h: History, index: int, reword: Reword) -> tuple[str | None, str | None]:
    """The manifest's text with step `index` retitled (or given the subject of its new
    message, where that does not follow the template), and the step's new subject."""
    title, message = reword.get("title"), reword.get("message")
    step = h.manifest.steps[index]
    own = message.split("\n", 1)[0] if message else None
    if own is not None and own == h.manifest.subject(step):
        own = None
    if title is None and own is None:
        return None, None

    def change(data: Any) -> None:
        n = 0
        for chapter in data["chapters"]:
            steps = chapter.get("steps", [])
            for si in range(len(steps)):
                if n == index:
                    if isinstance(steps[si], str):
                        from ruamel.yaml.comments import CommentedMap

                        steps[si] = CommentedMap(tag=steps[si])
                    if title is not None:
                        steps[si]["title"] = title
                    if own is not None:
                        steps[si]["message"] = own
                    return
                n += 1

    text = edited(h.manifest.path, change)
    new = from_text(h.manifest.path, text)
    return text, new.subject(new.steps[index])


def publish(manifest: Manifest, repo: Repository, tip: str, command: str,
            steps: Sequence[str], writes: dict[Path, bytes | None], reporter: Reporter,
            trees: dict[int, str] | None = None,
            records: Mapping[Path, stepfile.StepCommit] | None = None) -> BuildResult:
    """Log the operation, write (or delete) the files, then build: refs move at once.

    `trees` (by the new manifest's step index) are the trees the rewrite computed: their
    commits go into the build cache, so the build does not apply those patches again;
    `records` are step files among `writes` as the rewrite made them (not parsed again).
    """
    branch_ref = f"refs/heads/{manifest.branch}"
    # Asked again, not taken from the check before the rewrite: carrying a change through
    # hundreds of steps takes seconds, in which an editor may save into the work tree. The
    # build would then refuse with the step files already written (an interrupted rewrite);
    # refused here, nothing is written.
    if repo.work_tree is not None and repo.head({branch_ref: tip})[0] == branch_ref:
        require_clean(repo, REWRITING)
    log = OpLog(manifest.root)
    op = log.begin(command, steps, writes, tip)
    repo.update_refs([RefUpdate(f"refs/tutorial/backup/{op.id}", tip, None)])
    checkpoint("rewrite:logged")
    # Written in place: the log holds every file as it was and as it will be, so an
    # interrupted write is rolled back (`abort`) or forward (`continue`) from there.
    folders: set[Path] = set()
    for n, (path, data) in enumerate(writes.items()):
        if data is None:
            path.unlink(missing_ok=True)
        else:
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            path.write_bytes(data)
        if n == 0:
            checkpoint("rewrite:first-file")
    checkpoint("rewrite:files")
    new_manifest = load(manifest.path) if manifest.path in writes else manifest
    if trees:
        prime(new_manifest, repo, trees, records=records,
              files={p: d for p, d in writes.items() if d is not None})
    result = run_build(new_manifest, reporter)
    # Until the refs have moved, a stopped rewrite's or an edit's state stays: `abort` of
    # an interrupted `save` gives the edits back from it.
    write_state(manifest, REWRITE, None)
    write_state(manifest, EDIT, None)
    log.finish(op, result.tip)
    return result


def read_patch_file(path: str, stdin: bytes | None) -> bytes:
    """A patch from a file, or from standard input for "-"."""
    if path == "-":
        return stdin or b""
    hint = "Give the path of a diff (`git diff > fix.patch`), or - to read it from stdin."
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise TutorialError(f"the patch file {path} does not exist", hint) from e
    except OSError as e:
        raise TutorialError(f"cannot read the patch file {path}: {e.strerror}", hint) from e

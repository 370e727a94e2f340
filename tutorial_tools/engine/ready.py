"""Whether the history may be rewritten or published now: the checks, in one place.

Every rewrite (`apply`, `save`, `absorb`, `step ...`, `renumber`, `undo`) and `tutorial
publish` need the same things: no rewrite stopped at a conflict or interrupted while
writing, no step being edited, the history built from chapters/ as they are with its refs
where that build left them, and a work tree without edits that the build would overwrite.
Each command words its refusals its own way (`Say`: what did not happen, and what to do
once the way is clear); the errors and what they name are the same for all.

The state files of a rewrite stopped at a conflict and of `tutorial edit` live here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DirtyWorkTree, HistoryNotBuilt, TutorialError, discard
from ..gitstore import Repository
from ..manifest import Manifest
from ..oplog import OpLog
from ..project import STATE_DIR
from .build import BuiltStep, built_steps, moved_refs

REWRITE = "rewrite.json"  # a rewrite stopped at a conflict
EDIT = "edit.json"  # the step `tutorial edit` put in the work tree


@dataclass(frozen=True)
class Say:
    """How a command words a refusal: `nothing` says what did not happen ("Nothing was
    published."), `then` what to do once the way is clear ("then publish")."""
    nothing: str
    then: str


REWRITING = Say("Nothing was changed.", "then run the command again")
PUBLISHING = Say("Nothing was published.", "then publish")


# -- the state of a stopped rewrite and of an edit -------------------------------------


def state_path(manifest: Manifest, name: str) -> Path:
    """Where the state file `name` (REWRITE, EDIT) of the project lives."""
    return manifest.root / STATE_DIR / name


def read_state(manifest: Manifest, name: str) -> dict[str, Any] | None:
    """The state file `name`, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(state_path(manifest, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(manifest: Manifest, name: str, data: dict[str, Any] | None) -> None:
    """Replace the state file `name` with `data` at once; None removes it."""
    path = state_path(manifest, name)
    if data is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def rewrite_in_progress(manifest: Manifest) -> dict[str, Any] | None:
    """For `status --json`: the stopped rewrite's step, conflicted files and work tree."""
    state = read_state(manifest, REWRITE)
    if state is None:
        return None
    return {"step": state["labels"][state["stopped_at"]], "conflicts": state["conflicts"],
            "worktree": str(manifest.repo_path), "command": state["command"]}


def editing(manifest: Manifest) -> str | None:
    """The step `tutorial edit` put in the work tree, if any."""
    state = read_state(manifest, EDIT)
    return str(state["step"]) if state else None


# -- the checks ------------------------------------------------------------------------


def require_idle(manifest: Manifest, say: Say, *, editing_ok: bool = False) -> None:
    """Refuse while a rewrite is interrupted or stopped, or (unless `editing_ok`) while a
    step is being edited. Reads the project's state files only: no git."""
    op = OpLog(manifest.root).interrupted()
    if op is not None:
        raise TutorialError(f"the rewrite `tutorial {op.command}` (#{op.id}) was interrupted",
                            f"{say.nothing} Finish it with `tutorial continue`, or go back "
                            f"with `tutorial abort`; {say.then}.")
    stopped = rewrite_in_progress(manifest)
    if stopped is not None:
        raise TutorialError(f"a rewrite is stopped at step {stopped['step']} (`tutorial "
                            f"{stopped['command']}`)",
                            f"{say.nothing} Resolve it and run `tutorial continue` (or "
                            f"`tutorial abort`), {say.then}.")
    step = None if editing_ok else editing(manifest)
    if step is not None:
        raise TutorialError(f"step {step} is being edited",
                            f"{say.nothing} Run `tutorial save` (or `tutorial abort`), "
                            f"{say.then}.")


def open_built(manifest: Manifest, say: Say) -> tuple[Repository, list[BuiltStep]]:
    """The built repository, open, and what the last build made of every step (its commit
    and tag), once it is certain that the build made them from chapters/ as they are and
    that no ref it wrote (the branch, the tags) was moved since. Each step file is read once,
    here. The caller closes the repository."""
    if not (manifest.repo_path / ".git").exists():
        raise HistoryNotBuilt("the history is not built yet",
                              f"{say.nothing} Run `tutorial build`, {say.then}.")
    repo = Repository(manifest.repo_path)
    try:
        built = built_steps(manifest, repo)
        branch_ref = f"refs/heads/{manifest.branch}"
        current = repo.refs("refs/tags/", branch_ref)
        require_unmoved(manifest, repo, say, current=current)
        last = built[-1] if built else None
        if last is None or None in built or current.get(branch_ref) != last.commit:
            where = f" (from step {manifest.steps[built.index(None)].label})" \
                if None in built else ""
            raise TutorialError(f"chapters/ has changes the built history does not have "
                                f"yet{where}", f"{say.nothing} Run `tutorial build`, "
                                f"{say.then}.")
    except BaseException:
        repo.close()
        raise
    return repo, [b for b in built if b is not None]


def require_unmoved(manifest: Manifest, repo: Repository, say: Say, *,
                    current: dict[str, str] | None = None, forcing: str = "") -> None:
    """Refuse while a ref the last build wrote (the branch, a tag) was moved or deleted
    outside tutorial: the build at the end of the command would put it back, and the
    author's value would be lost without a word. `current`: the refs, when the caller read
    them already; `forcing`: a sentence on the command's own `--force`, for the hint."""
    moved = moved_refs(repo, manifest.branch, current=current)
    if moved:
        names = ", ".join(m.name for m in moved[:8]) + (f" and {len(moved) - 8} more"
                                                         if len(moved) > 8 else "")
        raise TutorialError(f"refs in {manifest.repo_path} were moved outside tutorial: "
                            f"{names}",
                            f"{say.nothing} See `tutorial status`; `tutorial build "
                            f"--force` puts them back where chapters/ says; {say.then}."
                            + (f" {forcing}" if forcing else ""))


def require_clean(repo: Repository, say: Say, branch_ref: str | None = None) -> None:
    """Refuse while the work tree holds edits (which the build at the end would overwrite)
    or, given `branch_ref`, while HEAD is not on that branch."""
    if repo.work_tree is None:
        return
    dirty = repo.dirty_files()
    if dirty:
        raise DirtyWorkTree(repo.work_tree, dirty,
                            f"{say.nothing} Keep the edits elsewhere or discard them "
                            f"(`{discard(repo.work_tree, dirty)}`), {say.then}; to fold "
                            "edits into a step, make them after `tutorial edit STEP` and run "
                            "`tutorial save`.")
    if branch_ref is not None:
        head_ref, _ = repo.head({branch_ref: ""})  # only the name matters: no rev-parse
        if head_ref != branch_ref:
            branch = branch_ref.removeprefix("refs/heads/")
            raise TutorialError(f"{repo.work_tree} is not on branch {branch}",
                                f"{say.nothing} Run `tutorial save` or `tutorial abort` if "
                                "you are editing a step, or `git -C "
                                f"{repo.work_tree} checkout {branch}`; {say.then}.")


"""The ways forward when a step file the manifest names is missing.

Asked only when loading the manifest finds a file missing (manifest.py imports this module
there, not at its top: the operation log it reads sits above the manifest). A rewrite
interrupted while writing is the likely cause, and then only `tutorial continue` or
`tutorial abort` can settle it: the file may be one the operation was creating, which no
history has.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST, Manifest, Step
from .oplog import OpLog


@dataclass(frozen=True)
class Restore:
    """The one command that gets broken step files back, and where it takes them from."""
    command: str
    source: str  # for the reader: "from the project's git history", ...
    from_git: bool


def in_git(root: Path) -> bool:
    """Whether the project is in a git repository (its step files then have a history)."""
    return any((folder / ".git").exists() for folder in (root, *root.parents))


def recovered_folder(manifest: Manifest) -> Path:
    """Where the built history's step files are written again, beside the project."""
    return manifest.root.parent / f"{manifest.root.name}-recovered"


def _import_command(manifest: Manifest) -> str:
    return (f"tutorial import {shlex.quote(str(manifest.repo_path))} --into "
            f"{shlex.quote(str(recovered_folder(manifest)))} "
            f"--branch {shlex.quote(manifest.branch)}")


def restore(manifest: Manifest, paths: Sequence[str]) -> Restore:
    """How to get the step files `paths` (relative to the project) back: a checkout from
    the project's git history; in a project outside git, an import of the built history
    into a folder beside the project, to copy them back from."""
    root = manifest.root
    if in_git(root):
        files = " ".join(shlex.quote(p) for p in paths)
        return Restore(f"git -C {shlex.quote(str(root))} checkout -- {files}",
                       "from the project's git history", True)
    return Restore(_import_command(manifest),
                   f"from the built history: copy them back from {recovered_folder(manifest)}"
                   "/chapters/", False)


def missing_file_hint(manifest: Manifest, step: Step) -> str:
    """What to do about `step`'s missing file: settle the interrupted operation that was
    writing it; else restore it (from the project's git history, else from the built
    history), or take the step out of the manifest."""
    root = manifest.root
    rel = manifest.step_file(step).relative_to(root).as_posix()
    op = OpLog(root).interrupted()
    settle = ""
    if op is not None:
        what = f"`tutorial {op.command}` (#{op.id}) was interrupted while writing"
        if rel in op.files:
            return (f"{what} it: finish it with `tutorial continue`, or go back with "
                    "`tutorial abort`.")
        settle = (f" Then settle {what}: `tutorial continue` finishes it, `tutorial abort` "
                  "goes back.")
    back = restore(manifest, [rel])
    if back.from_git:
        how = f"Restore it from the project's git history: `{back.command}`"
    else:
        how = ("Restore it from a copy of the project, or write it again from the built "
               f"history: `{back.command}` makes every built step's file, this one as "
               f"{recovered_folder(manifest)}/chapters/*/{step.name}.patch")
    return (f"{how}. Or drop step {step.label}: remove it from {MANIFEST} by hand, if "
            "no later step needs its change (`tutorial step drop` needs the file, to "
            f"re-merge the steps after it).{settle}")

"""The ways forward when a step file the manifest names is missing.

Asked only when loading the manifest finds a file missing (manifest.py imports this module
there, not at its top: the operation log it reads sits above the manifest). A rewrite
interrupted while writing is the likely cause, and then only `tutorial continue` or
`tutorial abort` can settle it: the file may be one the operation was creating, which no
history has.
"""

from __future__ import annotations

import shlex

from .manifest import MANIFEST, Manifest, Step
from .oplog import OpLog


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
    name = f"{step.name}.patch"
    if any((folder / ".git").exists() for folder in (root, *root.parents)):
        restore = (f"Restore it from the project's git history: `git -C {shlex.quote(str(root))}"
                   f" checkout -- {shlex.quote(rel)}`")
    else:
        into = root.parent / f"{root.name}-recovered"
        restore = ("Restore it from a copy of the project, or write it again from the built "
                   f"history: `tutorial import {shlex.quote(str(manifest.repo_path))} --into "
                   f"{shlex.quote(str(into))} --branch {shlex.quote(manifest.branch)}` makes "
                   f"every built step's file, this one as {into}/chapters/*/{name}")
    return (f"{restore}. Or drop step {step.label}: remove it from {MANIFEST} by hand, if "
            "no later step needs its change (`tutorial step drop` needs the file, to "
            f"re-merge the steps after it).{settle}")

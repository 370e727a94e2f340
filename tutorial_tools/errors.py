"""Every failure the tool expects, in one small hierarchy.

Each error carries what failed and, where there is one, the next thing to do (`hint`).
The CLI maps them to exit codes in one place (`cli.main`): expected failures exit 1,
unexpected ones 3, an interrupt 130.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path


class TutorialError(Exception):
    """A failure the user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class ProjectNotFound(TutorialError):
    """No `tutorial.yaml` in this folder or any folder above it."""


class ManifestError(TutorialError):
    """`tutorial.yaml` is malformed; names the file, line and column."""

    def __init__(
        self, path: Path, line: int | None, column: int | None, message: str,
        hint: str | None = None,
    ) -> None:
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}", hint)
        self.path = path
        self.line = line
        self.column = column


class StepFileError(TutorialError):
    """A step file in chapters/ cannot be read; names the file and line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        file = Path(path)
        super().__init__(
            f"{where}: {message}",
            f"Fix the file by hand, or restore it with `git -C {shlex.quote(str(file.parent))} "
            f"checkout -- {shlex.quote(file.name)}` (from the project's git history).",
        )


class PatchError(TutorialError):
    """A step's patch does not apply; names the step, file and hunk."""

    def __init__(self, step: str, path: str, hunk: int | None, reason: str) -> None:
        where = f"step {step}, file {path}"
        if hunk is not None:
            where += f", hunk {hunk}"
        super().__init__(
            f"{where}: {reason}",
            "The patch no longer fits the step before it. Edit the step's patch file, "
            "or undo the change to the earlier step.",
        )
        self.step = step
        self.path = path
        self.hunk = hunk


class UnsafePath(PatchError):
    """A patch names a path outside the repository or inside `.git`."""

    def __init__(self, step: str, path: str) -> None:
        TutorialError.__init__(
            self,
            f"step {step}: refusing path {path!r}: it would write outside the repository "
            "or into .git",
            "Remove that file from the step's patch.",
        )
        self.step = step
        self.path = path
        self.hunk = None


def discard(worktree: Path, files: Sequence[str]) -> str:
    """The git command that throws away the uncommitted edits of `files` in `worktree`."""
    paths = " ".join(shlex.quote(f) for f in files) if len(files) <= 10 else "."
    return f"git -C {shlex.quote(str(worktree))} checkout HEAD -- {paths}"  # staged ones too


class DirtyWorkTree(TutorialError):
    """The built repository's work tree holds edits that an update would overwrite."""

    def __init__(self, worktree: Path, files: Sequence[str], hint: str | None = None) -> None:
        shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
        super().__init__(
            f"{worktree} has uncommitted edits that would be overwritten: {shown}",
            hint
            or "Nothing was changed. Save the edits elsewhere (or discard them with "
            f"`{discard(worktree, files)}`), then run the command again.",
        )
        self.files = tuple(files)


class GitError(TutorialError):
    """A git command failed: shows the command, its exit code and its output."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        out = stderr.decode("utf-8", "replace").strip() or stdout.decode("utf-8", "replace").strip()
        super().__init__(
            f"`git {' '.join(args)}` failed with exit code {returncode}"
            + (f":\n{out}" if out else "")
        )
        self.args_ = tuple(args)
        self.returncode = returncode


class SourceError(TutorialError):
    """The repository given to `tutorial import` cannot be used."""


class LockHeld(TutorialError):
    """Another tutorial command is changing this project right now."""


class RefsChanged(TutorialError):
    """Refs moved between reading and writing them (another process was at work)."""


class StepsFailed(TutorialError):
    """`tutorial verify`: steps failed their tests (each was named above the message)."""


class RemoteChanged(TutorialError):
    """`tutorial publish`: the remote's refs are not what was last published there."""


class DirectiveError(TutorialError):
    """A directive in a chapter's narrative is malformed or names what does not exist;
    `line` is its line in the file (the site names the file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class HistoryNotBuilt(TutorialError):
    """The site needs the built history, and it is missing or older than chapters/."""


class RenderError(TutorialError):
    """A page asks to show a file, line range or marker that the step does not have."""

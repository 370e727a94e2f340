"""The `tutorial` command: the only code that imports click (see app.py for exit codes).

Each module in COMMANDS registers its commands on the `cli` group when imported.
`tutorial build` with nothing to do answers from the build's stamp (engine/uptodate.py)
before click or any of the rest is loaded; everything else goes through click.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

# The modules that register commands on `cli`, one per family of commands.
COMMANDS = (
    "project",  # init, import, build, status, diff, show
    "editing",  # history editing: apply, absorb, edit, save, continue, abort, undo, ...
    "checks",  # verify, ci
    "publishing",  # changes, publish
)


def _app() -> ModuleType:
    """app.py, with every command registered on its `cli` group."""
    import importlib

    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}")
    return importlib.import_module(f"{__name__}.app")


def __getattr__(name: str) -> object:
    if name == "cli":
        return _app().cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int | None:
    """Run the CLI as the installed `tutorial` script does (see app.main)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if _up_to_date_build(args):
        return None
    code: int | None = _app().main(args)
    return code


def _up_to_date_build(args: list[str]) -> bool:
    """`tutorial [--project DIR] [-q] [-v] build` when its stamp shows nothing changed:
    say so (as the build command would) and return True. Anything else, or any doubt:
    False, and click runs the command."""
    project, verbosity, i = None, 0, 0
    while i < len(args) and args[i] != "build":
        arg = args[i]
        if arg == "--project" and i + 1 < len(args):
            project, i = args[i + 1], i + 2
            continue
        if arg.startswith("--project="):
            project = arg.removeprefix("--project=")
        elif arg in ("--quiet", "--verbose"):
            verbosity += 1 if arg == "--verbose" else -1
        elif len(arg) > 1 and arg[0] == "-" and set(arg[1:]) <= {"q", "v"}:
            verbosity += arg.count("v") - arg.count("q")
        else:
            return False
        i += 1
    if args[i:] != ["build"] or project == "":
        return False
    from ..engine import uptodate

    root = uptodate.project_root(project)
    found = uptodate.check(root) if root is not None else None
    if found is None:
        return False
    steps, repo = found
    if verbosity >= 0:
        said = "1 step" if steps == 1 else f"{steps} steps"  # as project.count says it
        sys.stderr.write(f"Up to date: {said} in {os.path.relpath(repo)}.\n")
        sys.stderr.flush()
    return True

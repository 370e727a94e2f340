"""The `tutorial` command: parses options, calls the engine, prints what it returns.

The only module that imports click. Exit codes: 0 success, 1 an expected failure (a
message says what and what next), 2 bad usage, 3 an unexpected error (with the path of
the full report), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .. import __version__
from .. import manifest as manifest_mod
from ..errors import TutorialError
from ..manifest import MANIFEST, Manifest
from ..project import find_project
from ..reporter import Advance, AdvanceWithStatus


class ConsoleReporter:
    """Messages to stderr; progress bars only on a terminal and never in CI."""

    def __init__(self, verbosity: int) -> None:
        self.verbosity = verbosity
        self.bars = (verbosity >= 0 and sys.stderr.isatty() and not os.environ.get("CI"))

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            click.echo(message, err=True)

    def warn(self, message: str) -> None:
        click.secho(f"warning: {message}", err=True, fg="yellow")

    def detail(self, message: str) -> None:
        if self.verbosity > 0:
            click.echo(message, err=True)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Advance]:
        if not self.bars or total < 20:
            yield lambda n: None
            return
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update

    @contextmanager
    def status_progress(self, label: str, total: int) -> Iterator[AdvanceWithStatus]:
        """A progress bar with a status beside it (e.g. the steps being tested, counts)."""
        if not self.bars:
            yield lambda n, status: None
            return
        with click.progressbar(length=total, label=label, file=sys.stderr,
                               item_show_func=lambda status: status) as bar:
            def update(n: int, status: str) -> None:
                bar.current_item = status
                if n:
                    bar.update(n)
                else:
                    bar.render_progress()

            yield update


class Context:
    def __init__(self, project: Path | None, verbosity: int) -> None:
        self.project_arg = project
        self.reporter = ConsoleReporter(verbosity)

    def root(self) -> Path:
        return find_project(self.project_arg)

    def manifest(self, check_files: bool = True) -> Manifest:
        return manifest_mod.load(self.root() / MANIFEST, check_files=check_files)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tutorial")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path),
              help="The tutorial project (default: the folder holding tutorial.yaml, "
                   "here or above).")
@click.option("-q", "--quiet", count=True, help="Say less.")
@click.option("-v", "--verbose", count=True, help="Say more.")
@click.pass_context
def cli(ctx: click.Context, project: Path | None, quiet: int, verbose: int) -> None:
    """Keep a code-along tutorial's tagged git history as plain text."""
    ctx.obj = Context(project, verbose - quiet)



def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; map failures to exit codes and messages for people."""
    try:
        return cli.main(args=argv, prog_name="tutorial", standalone_mode=False)
    except TutorialError as e:
        click.secho(f"error: {e.message}", err=True, fg="red")
        if e.hint:
            click.echo(e.hint, err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception:
        import tempfile

        fd, report = tempfile.mkstemp(prefix="tutorial-error-", suffix=".log")
        with os.fdopen(fd, "w") as f:
            import traceback

            traceback.print_exc(file=f)
        click.secho(f"error: an unexpected error: {sys.exc_info()[1]!r}", err=True, fg="red")
        click.echo(f"The full report is in {report}; please include it when reporting this.",
                   err=True)
        sys.exit(3)


"""The `tutorial` command: parses options, calls the engine, prints what it returns.

The only module that imports click. Exit codes: 0 success, 1 an expected failure (a
message says what and what next), 2 bad usage, 3 an unexpected error (with the path of
the full report), 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__
from . import manifest as manifest_mod
from .engine import build as build_mod
from .errors import TutorialError
from .manifest import MANIFEST, Manifest
from .project import find_project, project_lock
from .reporter import Advance, AdvanceWithStatus


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


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", help="The tutorial's title (default: the folder's name).")
def init(directory: Path, title: str | None) -> None:
    """Scaffold a new tutorial in DIRECTORY: a manifest, chapter 1 and its first step."""
    from .engine import scaffold

    directory = directory.resolve()
    name = _git_identity()
    written = scaffold.init(directory, title or directory.name, *name)
    for path in written:
        click.echo(f"created {path.relative_to(directory)}")
    click.echo("Next: `tutorial build` makes the history in build/repo.")


def _git_identity() -> tuple[str, str]:
    import getpass

    name = os.environ.get("GIT_AUTHOR_NAME") or getpass.getuser()
    email = os.environ.get("GIT_AUTHOR_EMAIL") or f"{name}@localhost"
    return name, email


@cli.command("import")
@click.argument("src")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Folder for the tutorial project (default: here).")
@click.option("--branch", help="The branch to follow (default: the one holding most tags).")
@click.option("--tags", "tags_glob", metavar="GLOB", help="Only tags matching GLOB, e.g. 'v*'.")
@click.option("--keep-untagged", is_flag=True,
              help="Keep untagged commits between tags as steps of their own "
                   "(instead of folding them into the next tagged step).")
@pass_ctx
def import_(ctx: Context, src: str, into: Path, branch: str | None, tags_glob: str | None,
            keep_untagged: bool) -> None:
    """Turn the tagged repository SRC (a path or URL) into tutorial.yaml + chapters/."""
    from .engine import importer

    made = not into.exists()
    into.mkdir(parents=True, exist_ok=True)
    try:
        result = importer.import_repository(src, into, ctx.reporter, branch=branch,
                                            tags_glob=tags_glob, keep_untagged=keep_untagged)
    except BaseException:
        if made and not any(into.iterdir()):
            into.rmdir()  # a failed import leaves no empty folder behind
        raise
    ctx.reporter.info(
        f"Imported {result.steps} steps ({result.tagged} tagged) in {result.chapters} chapters "
        f"from branch {result.branch} into {result.root}"
    )
    ctx.reporter.info("Next: `tutorial build` recreates the history from chapters/.")


@cli.command()
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="Where to build the history (recorded in tutorial.yaml).")
@click.option("--force", is_flag=True, help="Move tags back that were moved outside tutorial.")
@pass_ctx
def build(ctx: Context, repo: Path | None, force: bool) -> None:
    """Make the history from chapters/: one commit and one tag per step."""
    root = ctx.root()
    with project_lock(root, "tutorial build"):
        if repo is not None:
            target = repo.resolve()
            stored = os.path.relpath(target, root) if target.is_relative_to(root) else str(target)
            manifest_mod.edit(root / MANIFEST, lambda data: data.__setitem__("repo", stored))
        manifest = ctx.manifest()
        result = build_mod.build(manifest, ctx.reporter, force=force)
    where = os.path.relpath(result.repo, Path.cwd())
    if not result.moved and not result.computed:
        ctx.reporter.info(f"Up to date: {len(result.steps)} steps in {where}.")
        return
    ctx.reporter.info(
        f"Built {len(result.steps)} steps into {where}: {result.computed} commits made, "
        f"{len(result.moved)} refs moved; work tree {result.worktree}."
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Compare the manifest, chapters/, the built history and its work tree."""
    from .engine import status as status_mod

    st = status_mod.status(ctx.manifest(check_files=False))
    if as_json:
        click.echo(json.dumps(st.to_json(), indent=2))
        return
    click.echo(f"Project {st.project}: {st.steps} steps; history in {st.repo}")
    for label in st.missing_files:
        click.echo(f"  missing step file: {label}")
    for path in st.extra_files:
        click.echo(f"  not in the manifest: {path}")
    for problem in st.problems:
        click.echo(f"  unreadable: {problem}")
    for step, want, got in st.messages:
        click.echo(f"  {step}: message is {got!r}, the manifest says {want!r}")
    if not st.built:
        click.echo("  not built yet: run `tutorial build`")
    elif st.unbuilt:
        click.echo(f"  {len(st.unbuilt)} step(s) changed since the last build, from "
                   f"{st.unbuilt[0]}: run `tutorial build`")
    for m in st.moved_tags:
        now = m.now[:12] if m.now else "deleted"
        click.echo(f"  {m.tag}: moved outside tutorial ({m.built[:12]} -> {now})")
    if st.worktree:
        click.echo(f"  work tree {st.worktree} at {st.head}")
    for path in st.dirty if not st.rewrite else ():
        click.echo(f"  uncommitted: {path}")
    if st.editing:
        click.echo(f"  editing step {st.editing}: `tutorial save` when done")
    if st.interrupted:
        click.echo(f"  `{st.interrupted}` was interrupted while writing: finish it with "
                   "`tutorial continue` or go back with `tutorial abort`")
    if st.rewrite:
        click.echo(f"  rewrite `tutorial {st.rewrite['command']}` stopped at step "
                   f"{st.rewrite['step']}; conflicts: {', '.join(st.rewrite['conflicts'])}")
        click.echo("  resolve them in the work tree, then `tutorial continue` "
                   "(or `tutorial abort`)")
    if st.clean:
        click.echo("  up to date")


def _print_patch(patch: bytes, color: bool | None) -> None:
    from pygments import highlight
    from pygments.formatters import TerminalFormatter
    from pygments.lexers import DiffLexer

    text = patch.decode("utf-8", "surrogateescape")
    use = sys.stdout.isatty() if color is None else color
    out = highlight(text, DiffLexer(), TerminalFormatter()) if use else text
    sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))


def _stat(patch: bytes) -> str:
    from unidiff.patch import PatchSet

    files = PatchSet(patch.decode("utf-8", "surrogateescape"))
    return (f"{len(files)} file(s) changed, {files.added} insertion(s)(+), "
            f"{files.removed} deletion(s)(-)")


@cli.command()
@click.argument("a")
@click.argument("b", required=False)
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal).")
@click.option("--stat", is_flag=True, help="Only count the changes.")
@pass_ctx
def diff(ctx: Context, a: str, b: str | None, color: bool | None, stat: bool) -> None:
    """Show the change from step A to step B (default: the step after A)."""
    from .engine import diff as diff_mod

    d = diff_mod.diff(ctx.manifest(), a, b)
    if stat:
        click.echo(_stat(d.patch))
    else:
        _print_patch(d.patch, color)


@cli.command()
@click.argument("step")
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal).")
@pass_ctx
def show(ctx: Context, step: str, color: bool | None) -> None:
    """Show a step: its message and its change."""
    from .engine import diff as diff_mod

    d = diff_mod.show(ctx.manifest(), step)
    s = d.new.step
    click.echo(f"step {s.label}  (chapter {s.chapter}: {s.chapter_title})  commit {d.new.commit}")
    click.echo(d.message.decode("utf-8", "replace").rstrip("\n"))
    click.echo(_stat(d.patch))
    click.echo()
    _print_patch(d.patch, color)


# -- history editing ----------------------------------------------------------------------


def _report_rewrite(ctx: Context, result: Any) -> None:
    r = ctx.reporter
    for label in result.reused:
        r.info(f"step {label}: reused a remembered conflict resolution")
    if result.status == "dry-run":
        r.info(f"Would change {len(result.changed)} step(s): {', '.join(result.changed) or '-'}")
        if result.would_conflict:
            r.info(f"Would stop for conflicts at: {', '.join(result.would_conflict)}")
        return
    if result.status == "unchanged":
        r.info("Nothing to change: the steps are already like that.")
        return
    if result.status == "stopped":
        click.secho(f"Conflict at step {result.conflict_step}: {', '.join(result.conflicts)}",
                    err=True, fg="yellow")
        click.echo(f"The work tree {result.worktree} holds step {result.conflict_step} with "
                   "conflict markers. Resolve them, then run `tutorial continue` "
                   "(or `tutorial abort` to put everything back).", err=True)
        if result.sides:
            click.echo("Both versions of what markers cannot show are beside it, for reading "
                       f"(`tutorial continue` drops them): {', '.join(result.sides)}", err=True)
        sys.exit(1)
    b = result.build
    r.info(f"Rewrote {len(result.changed)} step(s) ({', '.join(result.changed)}); "
           f"{len(b.moved)} refs moved in one transaction. Undo with `tutorial undo`.")


@cli.command()
@click.argument("step")
@click.argument("patch", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Say which steps would change or conflict.")
@pass_ctx
def apply(ctx: Context, step: str, patch: str, dry_run: bool) -> None:
    """Apply PATCH (a diff file, - for stdin) to STEP and carry it through later steps."""
    from .engine import rewrite

    data = rewrite.read_patch_file(patch, sys.stdin.buffer.read() if patch == "-" else None)
    root = ctx.root()
    with project_lock(root, f"tutorial apply {step} {patch}"):
        result = rewrite.apply_patch(ctx.manifest(), step, data, ctx.reporter,
                                     command=f"apply {step} {patch}", dry_run=dry_run)
    _report_rewrite(ctx, result)


@cli.command()
@click.argument("patch", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Only show where each hunk would go.")
@pass_ctx
def absorb(ctx: Context, patch: str, dry_run: bool) -> None:
    """Place each hunk of PATCH (made against the last step) at the step that wrote the
    lines it touches, and carry it forward: all in one rewrite."""
    from .engine import absorb as absorb_mod
    from .engine import rewrite

    data = rewrite.read_patch_file(patch, sys.stdin.buffer.read() if patch == "-" else None)
    with project_lock(ctx.root(), f"tutorial absorb {patch}"):
        result = absorb_mod.absorb(ctx.manifest(), data, ctx.reporter,
                                   command=f"absorb {patch}", dry_run=dry_run)
    for p in result.placements:
        where = f"{p.path} hunk {p.hunk}" if p.hunk else p.path
        click.echo(f"  {where} -> {p.step}" if p.step else f"  {where}: left out ({p.reason})")
    if result.rewrite is not None:
        _report_rewrite(ctx, result.rewrite)
    elif not dry_run:
        ctx.reporter.info("Nothing was placed; nothing changed.")


@cli.command()
@click.argument("step")
@pass_ctx
def edit(ctx: Context, step: str) -> None:
    """Put STEP in the built repository's work tree to edit it; then `tutorial save`."""
    from .engine import rewrite

    with project_lock(ctx.root(), f"tutorial edit {step}"):
        where = rewrite.edit(ctx.manifest(), step)
    ctx.reporter.info(f"Step {step} is in {where}. Edit it with any editor, then run "
                      "`tutorial save`.")


@cli.command()
@click.option("-m", "--message", help="A new commit message for the step.")
@click.option("--title", help="A new title for the step (its subject follows the template).")
@click.option("--dry-run", is_flag=True, help="Say which steps would change or conflict.")
@pass_ctx
def save(ctx: Context, message: str | None, title: str | None, dry_run: bool) -> None:
    """Fold the work tree's edits into the step being edited, and carry them forward."""
    from .engine import rewrite

    with project_lock(ctx.root(), "tutorial save"):
        result = rewrite.save(ctx.manifest(), ctx.reporter, command="save", message=message,
                              title=title, dry_run=dry_run)
    _report_rewrite(ctx, result)


@cli.command("continue")
@pass_ctx
def continue_(ctx: Context) -> None:
    """After resolving a conflict in the work tree: go on with the rewrite."""
    from .engine import rewrite

    with project_lock(ctx.root(), "tutorial continue"):
        result = rewrite.continue_(ctx.manifest(), ctx.reporter)
    _report_rewrite(ctx, result)


@cli.command()
@pass_ctx
def abort(ctx: Context) -> None:
    """Stop the stopped rewrite and put everything back as it was before it."""
    from .engine import rewrite

    with project_lock(ctx.root(), "tutorial abort"):
        step = rewrite.abort(ctx.manifest(check_files=False), ctx.reporter)
    ctx.reporter.info(f"Aborted the rewrite at {step}: everything is as it was before it.")


@cli.command()
@pass_ctx
def undo(ctx: Context) -> None:
    """Undo the last rewrite: its step files come back and the history is rebuilt."""
    from .engine import rewrite

    with project_lock(ctx.root(), "tutorial undo"):
        op_id, command, result = rewrite.undo(ctx.manifest(check_files=False), ctx.reporter)
    ctx.reporter.info(f"Undid #{op_id} `tutorial {command}`: {len(result.moved)} refs moved "
                      "back.")


def _report_relabel(ctx: Context, result: Any) -> None:
    if result.build is None:
        ctx.reporter.info("Nothing to change.")
        return
    for old, new in result.renamed:
        ctx.reporter.info(f"  {old} -> {new}")
    ctx.reporter.info(f"Changed {len(result.changed)} step(s); {len(result.build.moved)} refs "
                      "moved in one transaction. Undo with `tutorial undo`.")


@cli.group()
def step() -> None:
    """Change the sequence of steps: add, drop, move, rename or retitle one."""


def _report_resequence(ctx: Context, result: Any, dry_run: bool) -> None:
    if dry_run:
        ctx.reporter.info(f"Would change {len(result.changed)} step(s): "
                          f"{', '.join(result.changed) or '-'}")
        if result.would_conflict:
            ctx.reporter.info(f"Would conflict at: {', '.join(result.would_conflict)}")
        return
    ctx.reporter.info(f"Changed {len(result.changed)} step(s); {len(result.build.moved)} refs "
                      "moved in one transaction. Undo with `tutorial undo`.")


@step.command("add")
@click.argument("tag")
@click.option("--after", required=True, metavar="STEP", help="The step it follows.")
@click.option("--title", help="Its title (default: its chapter's).")
@click.option("--patch", "patch_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Its change, as a diff (default: none, an empty step).")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_add(ctx: Context, tag: str, after: str, title: str | None, patch_file: str | None,
             dry_run: bool) -> None:
    """Insert a step TAG after a step; later steps are re-merged on top of its change."""
    from .engine import rewrite, sequence

    data = None
    if patch_file is not None:
        data = rewrite.read_patch_file(
            patch_file, sys.stdin.buffer.read() if patch_file == "-" else None)
    with project_lock(ctx.root(), f"tutorial step add {tag}"):
        result = sequence.add(ctx.manifest(), tag, after, title, data, ctx.reporter,
                              f"step add {tag} --after {after}", dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("drop")
@click.argument("step_ref", metavar="STEP")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_drop(ctx: Context, step_ref: str, dry_run: bool) -> None:
    """Remove STEP; its change folds into nothing and later steps are re-merged."""
    from .engine import sequence

    with project_lock(ctx.root(), f"tutorial step drop {step_ref}"):
        result = sequence.drop(ctx.manifest(), step_ref, ctx.reporter, f"step drop {step_ref}",
                               dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("move")
@click.argument("step_ref", metavar="STEP")
@click.option("--after", required=True, metavar="OTHER", help="The step it will follow.")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_move(ctx: Context, step_ref: str, after: str, dry_run: bool) -> None:
    """Move STEP to just after OTHER; the steps in between are re-merged."""
    from .engine import sequence

    with project_lock(ctx.root(), f"tutorial step move {step_ref}"):
        result = sequence.move(ctx.manifest(), step_ref, after, ctx.reporter,
                               f"step move {step_ref} --after {after}", dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("rename")
@click.argument("old")
@click.argument("new")
@pass_ctx
def step_rename(ctx: Context, old: str, new: str) -> None:
    """Give step OLD the tag NEW (its file and its commit subject follow)."""
    from .engine import sequence

    with project_lock(ctx.root(), f"tutorial step rename {old} {new}"):
        result = sequence.rename(ctx.manifest(), old, new, ctx.reporter,
                                 f"step rename {old} {new}")
    _report_relabel(ctx, result)


@step.command("retitle")
@click.argument("step_ref", metavar="STEP")
@click.argument("title")
@pass_ctx
def step_retitle(ctx: Context, step_ref: str, title: str) -> None:
    """Give STEP a new title (and its commit subject, when it follows the template)."""
    from .engine import sequence

    with project_lock(ctx.root(), f"tutorial step retitle {step_ref}"):
        result = sequence.retitle(ctx.manifest(), step_ref, title, ctx.reporter,
                                  f"step retitle {step_ref} {title!r}")
    _report_relabel(ctx, result)


@cli.command()
@pass_ctx
def renumber(ctx: Context) -> None:
    """Re-derive tags like 5a, 5b from chapter numbers (after inserting a chapter)."""
    from .engine import sequence

    with project_lock(ctx.root(), "tutorial renumber"):
        result = sequence.renumber(ctx.manifest(), ctx.reporter, "renumber")
    _report_relabel(ctx, result)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def log(ctx: Context, as_json: bool) -> None:
    """The operation log: every rewrite, newest last."""
    from dataclasses import asdict

    from .oplog import OpLog

    ops = OpLog(ctx.root()).entries()
    if as_json:
        click.echo(json.dumps([asdict(op) for op in ops], indent=2))
        return
    for op in ops:
        state = "undone" if op.undone else ("done" if op.done else "interrupted")
        old = (op.old_tip or "-")[:10]
        new = (op.new_tip or "-")[:10]
        steps = ", ".join(op.steps[:6]) + (" ..." if len(op.steps) > 6 else "")
        click.echo(f"#{op.id}  {op.time}  tutorial {op.command}  [{state}]  "
                   f"{old} -> {new}  steps: {steps}")


# -- verify and ci --------------------------------------------------------------------------


def _shard_option(ctx: click.Context, param: click.Parameter, value: str | None,
                  ) -> tuple[int, int] | None:
    from .engine.verify import parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def _shown(path: Path) -> str:
    """A path as the user can type it: relative to here when below here."""
    rel = os.path.relpath(path, Path.cwd())
    return path.as_posix() if rel.startswith("..") else rel


@cli.command()
@click.argument("steps", nargs=-1, metavar="[STEP]...")
@click.option("--from", "from_step", metavar="STEP", help="STEP and every step after it.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N",
              help="Steps tested at once (default: the number of cores).")
@click.option("--command", metavar="CMD",
              help="Run CMD in every selected step instead of its test command, even in "
                   "steps without tests (like `git rebase -x`).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write a JUnit XML report (one test case per step).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write a JSON report.")
@click.option("--keep-going/--fail-fast", default=True,
              help="After a failure, test the other steps (default) or stop at once.")
@click.option("--no-cache", is_flag=True,
              help="Run every step, even those that passed before with the same tree.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="The time limit of each step's command (default: the manifest's "
                   "`timeout`, else 600).")
@click.option("--shard", metavar="K/N", callback=_shard_option,
              help="Only every N-th selected step, from the K-th (for parallel CI jobs).")
@pass_ctx
def verify(ctx: Context, steps: tuple[str, ...], from_step: str | None, jobs: int | None,
           command: str | None, junit: Path | None, json_file: Path | None, keep_going: bool,
           no_cache: bool, timeout: float | None, shard: tuple[int, int] | None) -> None:
    """Run each step's tests in a checkout of its own; passes are cached by tree."""
    from .engine import reports
    from .engine import verify as verify_engine
    from .errors import StepsFailed

    r = ctx.reporter
    result = verify_engine.verify(
        ctx.manifest(), r, steps=steps, from_step=from_step, shard=shard, jobs=jobs,
        command=command, timeout=timeout, use_cache=not no_cache, fail_fast=not keep_going)
    for f in result.failures:
        s = f.step
        click.secho(f"FAILED {s.label} (chapter {s.chapter}): {verify_engine.describe(f)}",
                    err=True, fg="red")
        for line in f.tail.splitlines():
            click.echo(f"  | {line}", err=True)
        if f.log is not None:
            click.echo(f"  full log: {_shown(f.log)}", err=True)
    for path, text in ((junit, reports.junit_xml), (json_file, reports.json_report)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(result), encoding="utf-8")
            r.detail(f"Wrote {path}")
    count = result.count
    skipped = count("skipped")
    extra = (f", {skipped} skipped (no tests)" if skipped else "") + (
        f", {count('not run')} not run" if count("not run") else "")
    if not result.results:
        r.info("No step selected: nothing to verify.")
    elif not result.ran and not count("not run"):
        cached = count("cached")
        said = (f"{cached} step(s) passed before with the same tree, command and setup "
                f"(cached){extra}" if cached else extra.removeprefix(", "))
        r.info(f"Nothing to run: {said}.")
    else:
        failed = len(result.failures)
        r.info(f"Verified {len(result.results)} step(s) in {result.seconds:.1f} s with "
               f"{result.jobs} job(s): {result.ran} ran ({count('passed')} passed, {failed} "
               f"failed), {count('cached')} cached{extra}.")
    if not result.ok:
        labels = [f.step.label for f in result.failures]
        raise StepsFailed(
            f"{len(labels)} step(s) failed: {', '.join(labels[:10])}"
            + (" ..." if len(labels) > 10 else "") if labels else "verify stopped early",
            "Fix a step with `tutorial edit STEP` and `tutorial save`, then run `tutorial "
            "verify` again (only the steps whose trees changed run).")


@cli.command()
@click.option("--provider", type=click.Choice(["github"]), default="github", show_default=True,
              help="The CI service.")
@click.option("--shards", type=click.IntRange(min=1), metavar="N",
              help="Parallel jobs (default: one per 25 steps, at most 20).")
@click.option("--install", metavar="SPEC",
              help="What the jobs `pip install` to get tutorial-tools (default: this version "
                   "from PyPI; e.g. a git URL).")
@click.option("--python", "python_version", default="3.12", show_default=True,
              metavar="VERSION", help="The Python the jobs use.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the workflow; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite a workflow `tutorial ci` did not write.")
@pass_ctx
def ci(ctx: Context, provider: str, shards: int | None, install: str | None,
       python_version: str, to_stdout: bool, force: bool) -> None:
    """Write a CI workflow that builds the history and verifies every step in parallel."""
    from .engine import ci as ci_engine

    manifest = ctx.manifest(check_files=False)
    workflow = ci_engine.github_workflow(manifest, shards=shards, install=install,
                                         python=python_version)
    if to_stdout:
        click.echo(workflow.text, nl=False)
        return
    done = ci_engine.write_workflow(workflow, force=force)
    ctx.reporter.info(f"{done.capitalize()} {_shown(workflow.path)}: {len(manifest.steps)} "
                      f"steps over {workflow.shards} parallel job(s).")
    if done != "unchanged":
        ctx.reporter.info("Next: commit it; each push then builds and verifies every step.")


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

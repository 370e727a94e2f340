"""History editing: apply, absorb, edit, save, continue, abort, undo, step, renumber, log."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import click

from ..project import project_lock
from .app import Context, cli, pass_ctx

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
    from ..engine import rewrite

    data = rewrite.read_patch_file(patch, sys.stdin.buffer.read() if patch == "-" else None)
    root = ctx.root()
    command = shlex.join(("apply", step, patch))
    with project_lock(root, f"tutorial {command}"):
        result = rewrite.apply_patch(ctx.manifest(), step, data, ctx.reporter,
                                     command=command, dry_run=dry_run)
    _report_rewrite(ctx, result)


@cli.command()
@click.argument("patch", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Only show where each hunk would go.")
@pass_ctx
def absorb(ctx: Context, patch: str, dry_run: bool) -> None:
    """Place each hunk of PATCH (made against the last step) at the step that wrote the
    lines it touches, and carry it forward: all in one rewrite."""
    from ..engine import absorb as absorb_mod
    from ..engine import rewrite

    data = rewrite.read_patch_file(patch, sys.stdin.buffer.read() if patch == "-" else None)
    command = shlex.join(("absorb", patch))
    with project_lock(ctx.root(), f"tutorial {command}"):
        result = absorb_mod.absorb(ctx.manifest(), data, ctx.reporter,
                                   command=command, dry_run=dry_run)
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
    from ..engine import rewrite

    with project_lock(ctx.root(), f"tutorial {shlex.join(('edit', step))}"):
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
    from ..engine import rewrite

    with project_lock(ctx.root(), "tutorial save"):
        result = rewrite.save(ctx.manifest(), ctx.reporter, command="save", message=message,
                              title=title, dry_run=dry_run)
    _report_rewrite(ctx, result)


@cli.command("continue")
@pass_ctx
def continue_(ctx: Context) -> None:
    """After resolving a conflict in the work tree: go on with the rewrite."""
    from ..engine import rewrite

    with project_lock(ctx.root(), "tutorial continue"):
        # Unchecked: an interrupted write may have left the manifest naming a step file
        # it was about to create, which continuing writes.
        result = rewrite.continue_(ctx.manifest(check_files=False), ctx.reporter)
    _report_rewrite(ctx, result)


@cli.command()
@pass_ctx
def abort(ctx: Context) -> None:
    """Stop the stopped rewrite and put everything back as it was before it."""
    from ..engine import rewrite

    with project_lock(ctx.root(), "tutorial abort"):
        step = rewrite.abort(ctx.manifest(check_files=False), ctx.reporter)
    ctx.reporter.info(f"Aborted {step}: everything is as it was before it.")


@cli.command()
@click.option("--force", is_flag=True,
              help="Undo even if its files were edited or refs moved by hand since (those "
              "edits and moves are lost).")
@pass_ctx
def undo(ctx: Context, force: bool) -> None:
    """Undo the last rewrite: its step files come back and the history is rebuilt."""
    from ..engine import rewrite

    with project_lock(ctx.root(), "tutorial undo"):
        result = rewrite.undo(ctx.manifest(check_files=False), ctx.reporter, force=force)
    ctx.reporter.info(f"Undid #{result.id} `tutorial {result.command}`: "
                      f"{len(result.build.moved)} refs moved back.")
    for path in result.strays:
        ctx.reporter.warn(f"{path}: no step in tutorial.yaml names it; delete it, or name "
                          "it in the manifest")


def _report_relabel(ctx: Context, result: Any) -> None:
    if result.build is None:
        ctx.reporter.info("Nothing to change: the steps are already like that.")
        return
    for old, new in result.renamed:
        ctx.reporter.info(f"  {old} -> {new}")
    ctx.reporter.info(f"Changed {len(result.changed)} step(s); {len(result.build.moved)} refs "
                      "moved in one transaction. Undo with `tutorial undo`.")


@cli.group()
def step() -> None:
    """Change the sequence of steps: add, drop, move, rename or retitle one."""


def _report_resequence(ctx: Context, result: Any, dry_run: bool) -> None:
    would = "Would add" if dry_run else "Added"
    if result.chapter is not None:
        number, title, slug = result.chapter
        ctx.reporter.info(f"{would} chapter {number}, {title} (chapters/{slug}/)")
    for old, new in result.renumbered:
        ctx.reporter.info(f"  chapter {old} -> {new} (its folder stays)")
    for old, new in result.renamed:
        ctx.reporter.info(f"  {old} -> {new}")
    if dry_run:
        ctx.reporter.info(f"Would change {len(result.changed)} step(s): "
                          f"{', '.join(result.changed) or '-'}")
        if result.would_conflict:
            ctx.reporter.info(f"Would conflict at: {', '.join(result.would_conflict)}")
        return
    if result.build is None:
        ctx.reporter.info("Nothing to change: the steps are already like that.")
        return
    ctx.reporter.info(f"Changed {len(result.changed)} step(s); {len(result.build.moved)} refs "
                      "moved in one transaction. Undo with `tutorial undo`.")


@step.command("add")
@click.argument("tag")
@click.option("--after", required=True, metavar="STEP", help="The step it follows.")
@click.option("--chapter", metavar="TITLE",
              help="Start a new chapter TITLE with it, after the chapter STEP ends.")
@click.option("--title", help="Its title (default: its chapter's).")
@click.option("--patch", "patch_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Its change, as a diff (default: none, an empty step).")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_add(ctx: Context, tag: str, after: str, chapter: str | None, title: str | None,
             patch_file: str | None, dry_run: bool) -> None:
    """Insert a step TAG after a step; later steps are re-merged on top of its change.
    With --chapter, the step starts a new chapter (later chapters and their tags move up)."""
    from ..engine import chapters, rewrite, sequence

    data = None
    if patch_file is not None:
        data = rewrite.read_patch_file(
            patch_file, sys.stdin.buffer.read() if patch_file == "-" else None)
    words = ["step", "add", tag, "--after", after]
    for option, value in (("--chapter", chapter), ("--title", title), ("--patch", patch_file)):
        if value is not None:
            words += [option, value]
    command = shlex.join(words)
    with project_lock(ctx.root(), f"tutorial {command}"):
        if chapter is not None:
            result = chapters.add(ctx.manifest(), tag, after, chapter, title, data,
                                  ctx.reporter, command, dry_run=dry_run)
        else:
            result = sequence.add(ctx.manifest(), tag, after, title, data, ctx.reporter,
                                  command, dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("drop")
@click.argument("step_ref", metavar="STEP")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_drop(ctx: Context, step_ref: str, dry_run: bool) -> None:
    """Remove STEP; its change folds into nothing and later steps are re-merged."""
    from ..engine import sequence

    command = shlex.join(("step", "drop", step_ref))
    with project_lock(ctx.root(), f"tutorial {command}"):
        result = sequence.drop(ctx.manifest(), step_ref, ctx.reporter, command,
                               dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("move")
@click.argument("step_ref", metavar="STEP")
@click.option("--after", required=True, metavar="OTHER", help="The step it will follow.")
@click.option("--dry-run", is_flag=True, help="Say what would change or conflict.")
@pass_ctx
def step_move(ctx: Context, step_ref: str, after: str, dry_run: bool) -> None:
    """Move STEP to just after OTHER; the steps in between are re-merged."""
    from ..engine import sequence

    command = shlex.join(("step", "move", step_ref, "--after", after))
    with project_lock(ctx.root(), f"tutorial {command}"):
        result = sequence.move(ctx.manifest(), step_ref, after, ctx.reporter, command,
                               dry_run=dry_run)
    _report_resequence(ctx, result, dry_run)


@step.command("rename")
@click.argument("old")
@click.argument("new")
@pass_ctx
def step_rename(ctx: Context, old: str, new: str) -> None:
    """Give step OLD the tag NEW (its file and its commit subject follow)."""
    from ..engine import sequence

    command = shlex.join(("step", "rename", old, new))
    with project_lock(ctx.root(), f"tutorial {command}"):
        result = sequence.rename(ctx.manifest(), old, new, ctx.reporter, command)
    _report_relabel(ctx, result)


@step.command("retitle")
@click.argument("step_ref", metavar="STEP")
@click.argument("title")
@pass_ctx
def step_retitle(ctx: Context, step_ref: str, title: str) -> None:
    """Give STEP a new title (and its commit subject, when it follows the template)."""
    from ..engine import sequence

    command = shlex.join(("step", "retitle", step_ref, title))
    with project_lock(ctx.root(), f"tutorial {command}"):
        result = sequence.retitle(ctx.manifest(), step_ref, title, ctx.reporter, command)
    _report_relabel(ctx, result)


@cli.command()
@pass_ctx
def renumber(ctx: Context) -> None:
    """Re-derive tags like 5a, 5b from chapter numbers, and the subjects the message
    template makes (after changing chapters in tutorial.yaml by hand)."""
    from ..engine import sequence

    with project_lock(ctx.root(), "tutorial renumber"):
        result = sequence.renumber(ctx.manifest(), ctx.reporter, "renumber")
    _report_relabel(ctx, result)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def log(ctx: Context, as_json: bool) -> None:
    """The operation log: every rewrite, newest last."""
    from dataclasses import asdict

    from ..oplog import OpLog

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



"""Publishing: `changes` (what changed between two built histories) and `publish`."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from .app import Context, cli, pass_ctx


@cli.command()
@click.argument("old")
@click.argument("new", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True, help="Text for a terminal, a markdown "
              "errata page, or JSON.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write to FILE instead of printing.")
@pass_ctx
def changes(ctx: Context, old: str, new: str | None, fmt: str, output: Path | None) -> None:
    """Compare two built histories step by step: which steps changed, where each fix began
    and which later steps inherited it. OLD and NEW are repositories, or a remote of the
    built repository (what was last published to it); NEW defaults to the build."""
    from ..engine import changes as changes_mod
    from ..engine import errata

    result = changes_mod.changes(ctx.manifest(check_files=False), old, new)
    if fmt == "json":
        body = errata.to_json(result)
    else:
        body = errata.markdown(result) if fmt == "markdown" else errata.text(result)
    if output is None:
        click.echo(body, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body, encoding="utf-8")
    ctx.reporter.info(f"Wrote {output}: {errata.summary(result)}.")


@cli.command()
@click.argument("remote", required=False)
@click.option("--dry-run", is_flag=True, help="List what would move; push nothing.")
@click.option("--force", is_flag=True,
              help="Replace refs someone else changed on the remote (their values are lost).")
@click.option("--errata", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the changes since the last publish as a markdown errata page.")
@pass_ctx
def publish(ctx: Context, remote: str | None, dry_run: bool, force: bool,
            errata: Path | None) -> None:
    """Push the branch and every tag that moved, appeared or went since the last publish:
    atomically, with a lease per ref. REMOTE is a remote of the built repository
    (default: origin, or its only remote)."""
    from ..engine import errata as errata_mod
    from ..engine import publish as publish_mod
    from ..project import project_lock

    r = ctx.reporter
    with project_lock(ctx.root(), shlex.join(("tutorial", "publish", *filter(None, [remote])))):
        result = publish_mod.publish(ctx.manifest(), remote, dry_run=dry_run, force=force)
    where = f"{result.remote} ({result.url})"
    if not result.moves:
        r.info(f"Up to date: {where} holds every ref of the build"
               + (" (recorded as published)." if not dry_run else "."))
    else:
        verb = "Would push" if dry_run else "Pushed"
        r.info(f"{verb} {len(result.moves)} ref(s) to {where}"
               + (" in one atomic push:" if not dry_run else ":"))
        for m in result.moves:
            if m.new is None:
                what = f"deleted (was {m.old[:10] if m.old else '?'})"
            elif m.old is None:
                what = f"new: {m.new[:10]}"
            else:
                what = f"{m.old[:10]} -> {m.new[:10]}"
            click.echo(f"  {m.name:<16} {what}")
    if result.changes is not None:
        click.echo(errata_mod.text(result.changes, diffs=False), nl=False)
    elif result.first:
        r.info(f"First publish to {result.remote}: nothing to compare with yet.")
    if errata is not None and result.changes is not None and not dry_run:
        errata.parent.mkdir(parents=True, exist_ok=True)
        errata.write_text(errata_mod.markdown(result.changes), encoding="utf-8")
        r.info(f"Wrote the errata page {errata}.")
    if not dry_run and result.moves:
        r.info(f"Recorded as published to {result.remote} (`tutorial changes {result.remote}` "
               "compares with it). A publish cannot be undone with `tutorial undo`: readers "
               "may have fetched it already.")

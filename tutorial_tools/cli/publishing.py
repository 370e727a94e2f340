"""Publishing: `changes` (what changed between two built histories) and `publish`."""

from __future__ import annotations

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

"""verify and ci: proving that every step passes its tests."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..reporter import count
from .app import Context, cli, pass_ctx

# -- verify and ci --------------------------------------------------------------------------


def _shard_option(ctx: click.Context, param: click.Parameter, value: str | None,
                  ) -> tuple[int, int] | None:
    from ..engine.verify import parse_shard

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
    from ..engine import reports
    from ..engine import verify as verify_engine
    from ..errors import StepsFailed

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
            f"Fix a step with `tutorial edit {labels[0] if labels else 'STEP'}` and `tutorial "
            "save`, then run `tutorial verify` again (only the steps whose trees changed run).")


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
@click.option("--force", is_flag=True,
              help="Write it even though no step has a `test:` command, or over a workflow "
                   "`tutorial ci` did not write.")
@pass_ctx
def ci(ctx: Context, provider: str, shards: int | None, install: str | None,
       python_version: str, to_stdout: bool, force: bool) -> None:
    """Write a CI workflow that builds the history and verifies every step in parallel."""
    from ..engine import ci as ci_engine

    manifest = ctx.manifest(check_files=False)
    workflow = ci_engine.github_workflow(manifest, shards=shards, install=install,
                                         python=python_version, force=force)
    if to_stdout:
        click.echo(workflow.text, nl=False)
        return
    done = ci_engine.write_workflow(workflow, force=force)
    ctx.reporter.info(f"{done.capitalize()} {_shown(workflow.path)}: "
                      f"{count(len(manifest.steps), 'step')} over {workflow.shards} parallel "
                      "job(s).")
    if done != "unchanged":
        ctx.reporter.info("Next: commit it; each push then builds and verifies every step.")



"""Commands that make and read a tutorial: init, import, build, status, diff, show."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .. import manifest as manifest_mod
from ..manifest import MANIFEST
from ..project import project_lock
from ..reporter import count
from .app import Context, cli, pass_ctx


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", help="The tutorial's title (default: the folder's name).")
def init(directory: Path, title: str | None) -> None:
    """Scaffold a new tutorial in DIRECTORY: a manifest, chapter 1 and its first step."""
    from ..engine import scaffold

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
    from ..engine import importer

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
        f"Imported {count(result.steps, 'step')} ({result.tagged} tagged) in "
        f"{count(result.chapters, 'chapter')} from branch {result.branch} into {result.root}"
    )
    ctx.reporter.info("Next: `tutorial build` recreates the history from chapters/.")


@cli.command()
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="Where to build the history (recorded in tutorial.yaml).")
@click.option("--force", is_flag=True, help="Move tags back that were moved outside tutorial.")
@pass_ctx
def build(ctx: Context, repo: Path | None, force: bool) -> None:
    """Make the history from chapters/: one commit and one tag per step."""
    from ..engine import build as build_mod

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
        ctx.reporter.info(f"Up to date: {count(len(result.steps), 'step')} in {where}.")
        return
    ctx.reporter.info(
        f"Built {count(len(result.steps), 'step')} into {where}: "
        f"{count(result.computed, 'commit')} made, {count(len(result.moved), 'ref')} moved; "
        f"work tree {result.worktree}."
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Compare the manifest, chapters/, the built history and its work tree."""
    from ..engine import status as status_mod

    st = status_mod.status(ctx.manifest(check_files=False))
    if as_json:
        click.echo(json.dumps(st.to_json(), indent=2))
        return
    click.echo(f"Project {st.project}: {count(st.steps, 'step')}; history in {st.repo}")
    for label, path in zip(st.missing_files, st.broken_files, strict=False):  # missing first
        click.echo(f"  missing step file: {path} (step {label})")
    for path in st.extra_files:
        click.echo(f"  not in the manifest: {path}")
    for problem in st.problems:
        click.echo(f"  unreadable: {problem}")
    for step, want, got in st.messages:
        click.echo(f"  {step}: message is {got!r}, the manifest says {want!r}")
    build_next = ": run `tutorial build`" if st.next == "tutorial build" else ""
    if not st.built:
        click.echo(f"  not built yet{build_next}")
    elif st.unbuilt:
        click.echo(f"  {len(st.unbuilt)} step(s) changed since the last build, from "
                   f"{st.unbuilt[0]}{build_next}")
    for m in st.moved_tags:
        now = m.now[:12] if m.now else "deleted"
        click.echo(f"  {m.tag}: moved outside tutorial ({m.built[:12]} -> {now})")
    if st.rewrite:
        click.echo(f"  work tree {st.worktree} holds step {st.head} with conflict markers")
    elif st.worktree:
        click.echo(f"  work tree {st.worktree} at {st.head}")
    for path in st.dirty:
        click.echo(f"  uncommitted: {path}")
    if st.interrupted:
        click.echo(f"  `{st.interrupted}` was interrupted while writing: finish it with "
                   "`tutorial continue` or go back with `tutorial abort`")
    elif st.rewrite:
        saving = f" of step {st.editing}" if st.editing else ""
        click.echo(f"  `tutorial {st.rewrite['command']}`{saving} stopped at step "
                   f"{st.rewrite['step']} for conflicts in:")
        for path in st.rewrite["conflicts"]:
            click.echo(f"    {path}")
        click.echo("  resolve them in the work tree, then run `tutorial continue` "
                   "(or `tutorial abort` to put everything back)")
    elif st.editing:
        click.echo(f"  editing step {st.editing}: `tutorial save` when done")
    # While a write is interrupted, the files are its own: `continue` or `abort` settles them.
    broken = () if st.interrupted else st.broken_files
    if broken and st.missing_files:
        steps = ("step " if len(st.missing_files) == 1 else "steps ") + ", ".join(
            st.missing_files)
        source = st.restoring.source if st.restoring else ""
        click.echo(f"  restore with `{st.restore}` ({source}), or remove {steps} from "
                   f"{MANIFEST}")
    elif broken:
        source = "" if st.restoring is None or st.restoring.from_git else (
            f" ({st.restoring.source})")
        click.echo(f"  fix by hand, or restore with `{st.restore}`{source}")
    elif st.next == "tutorial renumber":
        click.echo("  commit subjects differ from the manifest: run `tutorial renumber`")
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


def _stat(patch: bytes, width: int = 80) -> str:
    """Like `git diff --stat`: a line per file (path, count, a bar of + and -), then totals."""
    from ..engine.diff import stat

    files = stat(patch)
    added, removed = sum(f.added for f in files), sum(f.removed for f in files)
    total = (f"{len(files)} file(s) changed, {added} insertion(s)(+), "
             f"{removed} deletion(s)(-)")
    if not files:
        return total
    name_w = min(max(len(f.path) for f in files), 50)
    counts = ["Bin" if f.binary else str(f.added + f.removed) for f in files]
    count_w = max(len(c) for c in counts)
    bar_w = max(width - name_w - count_w - 5, 10)  # " name | count bar"
    most = max(f.added + f.removed for f in files)
    lines = []
    for f, shown in zip(files, counts, strict=True):
        name = f.path if len(f.path) <= name_w else "..." + f.path[-(name_w - 3):]
        plus, minus = _bar(f.added, f.removed, most, bar_w)
        bar = "" if f.binary else " " + "+" * plus + "-" * minus
        lines.append(f" {name:<{name_w}} | {shown:>{count_w}}{bar}".rstrip())
    return "\n".join([*lines, total])


def _bar(added: int, removed: int, most: int, width: int) -> tuple[int, int]:
    """The numbers of + and - for a file: its counts, scaled down to `width` for the file
    with the `most` changes; a side with any change keeps at least one sign."""
    if most <= width:
        return added, removed
    plus = round(added * width / most)
    minus = round(removed * width / most)
    return max(plus, 1 if added else 0), max(minus, 1 if removed else 0)


@cli.command()
@click.argument("a")
@click.argument("b", required=False)
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal).")
@click.option("--stat", is_flag=True, help="Only count the changes.")
@pass_ctx
def diff(ctx: Context, a: str, b: str | None, color: bool | None, stat: bool) -> None:
    """Show the change from step A to step B (default: the step after A)."""
    from ..engine import diff as diff_mod

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
    from ..engine import diff as diff_mod

    d = diff_mod.show(ctx.manifest(), step)
    s = d.new.step
    click.echo(f"step {s.label}  (chapter {s.chapter}: {s.chapter_title})  commit {d.new.commit}")
    click.echo(d.message.decode("utf-8", "replace").rstrip("\n"))
    click.echo(_stat(d.patch))
    click.echo()
    _print_patch(d.patch, color)



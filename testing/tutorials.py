"""Tutorial projects for tests: a real source history, imported and built (no mocks of git)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from testing.gitrepo import Repo
from tutorial_tools import manifest
from tutorial_tools.engine import build as build_mod
from tutorial_tools.engine import importer
from tutorial_tools.reporter import Recorder

# A step: its tag and the files it writes (path -> content); None deletes the file.
StepFiles = tuple[str, Mapping[str, str | None]]


def make_project(tmp_path: Path, steps: Sequence[StepFiles]) -> Path:
    """A project imported from a history with one commit per step and built; its root.

    Tags look like `2b`: the number is the chapter (`Chapter 2: Part 2 (2b)`).
    """
    src = Repo(tmp_path / "src")
    for tag, files in steps:
        for path, content in files.items():
            if content is None:
                (src.path / path).unlink()
            else:
                src.write(path, content)
        chapter = int("".join(c for c in tag if c.isdigit()) or "1")
        src.commit(f"Chapter {chapter}: Part {chapter} ({tag})", tag=tag)
    return import_and_build(src, tmp_path / "project")


def import_and_build(src: Repo, root: Path) -> Path:
    """`tutorial import` of `src` into `root`, then `tutorial build`; returns `root`."""
    importer.import_repository(str(src.path), root, Recorder())
    build(root)
    return root


def load(root: Path) -> manifest.Manifest:
    return manifest.load(root / manifest.MANIFEST)


def build(root: Path) -> build_mod.BuildResult:
    return build_mod.build(load(root), Recorder())


def configure(root: Path, top: Mapping[str, Any] | None = None,
              chapters: Mapping[int, Mapping[str, Any]] | None = None,
              steps: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Set manifest keys (`test`, `setup`, ...) at the top, on chapters (by number) and on
    steps (by tag), as an author would write them."""
    def change(data: Any) -> None:
        for key, value in (top or {}).items():
            data[key] = value
        for cnode in data["chapters"]:
            for key, value in (chapters or {}).get(cnode["number"], {}).items():
                cnode[key] = value
            for i, snode in enumerate(cnode["steps"]):
                tag = snode if isinstance(snode, str) else snode.get("tag")
                wanted = (steps or {}).get(tag)
                if wanted:
                    if isinstance(snode, str):
                        snode = cnode["steps"][i] = {"tag": snode}
                    snode.update(wanted)

    manifest.edit(root / manifest.MANIFEST, change)


def edit_step_file(root: Path, tag: str, old: bytes, new: bytes) -> None:
    """Change a step's patch file by hand, as an author fixing a typo would."""
    m = load(root)
    path = m.step_file(m.step(tag))
    data = path.read_bytes()
    assert old in data, f"{old!r} is not in {path}"
    path.write_bytes(data.replace(old, new))

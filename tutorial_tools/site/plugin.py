"""The `tutorial` mkdocs plugin. For now it adds an index of chapters and steps; chapter
pages are the narratives in chapters/<slug>/index.md."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from ..errors import TutorialError
from ..manifest import MANIFEST, Manifest, load


class TutorialConfig(base.Config):  # type: ignore[no-untyped-call]
    manifest = c.Type(str, default=MANIFEST)
    """The manifest, relative to mkdocs.yml."""


def index_markdown(manifest: Manifest) -> str:
    lines = [f"# {manifest.title}", ""]
    for chapter in manifest.chapters:
        lines.append(f"## [Chapter {chapter.number}: {chapter.title}]({chapter.slug}/index.md)")
        lines.append("")
        for step in chapter.steps:
            label = f"`{step.tag}`" if step.tag else step.name
            lines.append(f"- {label}: {step.title}")
        lines.append("")
    return "\n".join(lines)


class TutorialPlugin(BasePlugin[TutorialConfig]):  # type: ignore[no-untyped-call]
    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        path = Path(config.config_file_path).parent / self.config.manifest
        try:
            manifest = load(path, check_files=False)
        except TutorialError as e:
            raise PluginError(str(e)) from e
        if files.get_file_from_path("index.md") is None:
            files.append(File.generated(config, "index.md", content=index_markdown(manifest)))
        return files

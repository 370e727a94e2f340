"""A small tutorial with a narrative and a built history, and its site built by mkdocs'
own build (the same code `mkdocs build --strict` runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.commands.build import build
from mkdocs.config import load_config

from testing.gitrepo import Repo
from testing.tutorials import import_and_build
from tutorial_tools.site.plugin import TutorialPlugin

HOSTILE = "<script>alert(1)</script>&amp;.txt"

APP_1A = """\
def hello():
    return "Hello"
"""

APP_1B = """\
# [greet]
def hello(name):
    return f"Hello, {name}"
# [/greet]


def main():
    print(hello("world"))
"""

NARRATIVE = """\
# Chapter 1: The app

Start at :step[1a], then :step[the greeting]{tag=1b}.

::diff{step=1b}

Only the app:

::diff{step=1b file=app.py}

The greeting as it is at 1b:

::file{step=1b path=app.py start="# [greet]" end="# [/greet]"}

Its first two lines:

::file{step=1b path=app.py lines=1-2}

A page can show a directive without running it:

```markdown
::diff{step=nonexistent}
:step[nowhere]
```

and inline too: `:step[nowhere]`.
"""


def make_site_project(tmp_path: Path, steps: int = 0) -> Path:
    """A tutorial with chapters 1 (1a, 1b) and 2 (2a, 2b, 2c, plus `steps` more steps
    2d, 2e, ... that each add a line to notes.md), imported, built, with a narrative for
    chapter 1 and mkdocs.yml using the plugin."""
    src = Repo(tmp_path / "src")
    src.write("app.py", APP_1A)
    src.write("README.md", "# Demo\n")
    src.commit("Chapter 1: The app (1a)", tag="1a")
    src.write("app.py", APP_1B)
    src.write("run.sh", "#!/bin/sh\npython app.py\n", mode=0o755)
    src.commit("Chapter 1: The app (1b)", tag="1b")
    src.write(HOSTILE, "<b>not bold</b>\n")
    src.write("logo.bin", bytes(range(256)))
    (src.path / "current").symlink_to("app.py")
    src.commit("Chapter 2: More (2a)", tag="2a")
    src.write("notes.md", "# Notes\n")
    src.commit("Chapter 2: More (2b)", tag="2b")
    src.write("notes.md", "# Notes\n\nThe end.\n")
    src.commit("Chapter 2: More (2c)", tag="2c")
    letters = "defghijklmnopqrstuvwxyz"
    for i in range(steps):
        with (src.path / "notes.md").open("a") as f:
            f.write(f"Note {i}.\n")
        src.commit(f"Chapter 2: More (2{letters[i]})", tag=f"2{letters[i]}")
    root = import_and_build(src, tmp_path / "project")
    (root / "chapters" / "01-the-app" / "index.md").write_text(NARRATIVE, encoding="utf-8")
    return root


def write_mkdocs(root: Path, extra: str = "", options: str = "") -> None:
    plugin = "  - tutorial" + (":\n" + options if options else "")
    (root / "mkdocs.yml").write_text(
        f"site_name: Demo\ndocs_dir: chapters\nplugins:\n{plugin}\n{extra}", encoding="utf-8")


@dataclass
class Built:
    site: Path
    plugin: TutorialPlugin

    def page(self, path: str) -> str:
        return (self.site / path).read_text(encoding="utf-8")


def build_site(root: Path, **overrides: Any) -> Built:
    """Build the project's site as `mkdocs build --strict` does; the plugin instance lets
    tests read what it rendered."""
    config = load_config(str(root / "mkdocs.yml"), strict=True, **overrides)
    build(config)
    plugin = config.plugins["tutorial"]
    assert isinstance(plugin, TutorialPlugin)
    return Built(Path(config.site_dir), plugin)

"""`tutorial init` and the support files every tutorial project gets (mkdocs.yml, .gitignore)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import stepfile
from ..errors import TutorialError
from ..gitstore import Header
from ..manifest import DEFAULT_MESSAGE, DEFAULT_REPO, MANIFEST, dump_new

GITIGNORE = """\
# Built from chapters/ by `tutorial build` and `mkdocs build`: never committed.
/build/
/site/
/.tutorial/
"""

MKDOCS = """\
site_name: {title_json}
docs_dir: chapters
plugins:
  - search    # the default theme's script needs it
  - tutorial
"""


def chapter_heading(number: int, title: str) -> str:
    """The first line of a chapter's narrative (`chapters/<slug>/index.md`)."""
    return f"# Chapter {number}: {title}\n"


def chapter_index(number: int, title: str) -> str:
    """A new chapter's narrative: its heading and a line for the author to replace."""
    return f"{chapter_heading(number, title)}\nWhat the reader builds in this chapter.\n"


def write_support_files(root: Path, title: str) -> list[Path]:
    """mkdocs.yml and .gitignore, unless the project has its own."""
    written = []
    mkdocs = MKDOCS.format(title_json=json.dumps(title))
    for name, text in ((".gitignore", GITIGNORE), ("mkdocs.yml", mkdocs)):
        path = root / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def init(root: Path, title: str, author: str, email: str, now: int | None = None) -> list[Path]:
    """A new tutorial: a manifest, one chapter with one step that adds a README."""
    # Imported here: `tutorial import` uses this module's support files without ruamel.
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if (root / MANIFEST).exists():
        raise TutorialError(f"{root / MANIFEST} already exists", "This is a tutorial already.")
    root.mkdir(parents=True, exist_ok=True)
    slug = "01-getting-started"
    folder = root / "chapters" / slug
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now if now is not None else int(time.time())
    offset = -time.timezone if not time.daylight else -time.altzone
    zone = f"{'+' if offset >= 0 else '-'}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    ident = f"{author} <{email}> {stamp} {zone}".encode()
    readme = f"# {title}\n".encode()
    patch = (b"diff --git a/README.md b/README.md\nnew file mode 100644\n--- /dev/null\n"
             b"+++ b/README.md\n@@ -0,0 +1 @@\n+" + readme)
    step = stepfile.StepCommit(
        (Header(b"author", ident), Header(b"committer", ident)),
        b"Chapter 1: Getting started (1a)\n", patch,
    )
    (folder / "1a.patch").write_bytes(stepfile.dump(step))
    (folder / "index.md").write_text(chapter_index(1, "Getting started"), encoding="utf-8")
    data = CommentedMap()
    data["title"] = title
    data["repo"] = DEFAULT_REPO
    data["branch"] = "main"
    data["message"] = DEFAULT_MESSAGE
    chapter = CommentedMap(number=1, title="Getting started", slug=slug)
    chapter["steps"] = CommentedSeq([CommentedMap(tag="1a")])
    data["chapters"] = CommentedSeq([chapter])
    dump_new(root / MANIFEST, data,
             "The tutorial: chapters, their steps (one commit each) and their tags.")
    return [root / MANIFEST, folder / "1a.patch", folder / "index.md",
            *write_support_files(root, title)]

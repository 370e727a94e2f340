"""absorb: each hunk of a fix against the last step lands at the step that wrote its lines."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from testing.tutorials import import_and_build
from tutorial_tools import manifest
from tutorial_tools.engine.absorb import absorb
from tutorial_tools.patch import parse_patch
from tutorial_tools.patch.parse import split_hunk
from tutorial_tools.reporter import Recorder

LINES_1A = ["def hello():", '    return "helo"', "", "", "# More below."]
LINES_1B = [*LINES_1A, "", "", "def bye():", '    return "by"', "", "", "# Still more."]
LINES_2A = [*LINES_1B, "", "", "def shout():", '    return "HEY"']


@pytest.fixture
def project(tmp_path: Path) -> Path:
    src = Repo(tmp_path / "src")
    for tag, lines in (("1a", LINES_1A), ("1b", LINES_1B), ("2a", LINES_2A)):
        src.write("app.py", "\n".join(lines) + "\n")
        src.commit(f"Chapter {tag[0]}: App ({tag})", tag=tag)
    root = tmp_path / "project"
    import_and_build(src, root)
    return root


def _fix(project: Path) -> bytes:
    repo = project / "build" / "repo"
    app = repo / "app.py"
    app.write_text(app.read_text().replace('"helo"', '"hello"').replace('"by"', '"bye"'))
    out = subprocess.run(["git", "-C", str(repo), "diff"], capture_output=True,
                         check=True).stdout
    git(repo, "checkout", "--", "app.py")
    return out


def test_hunks_go_to_the_steps_that_wrote_them(project: Path) -> None:
    patch = _fix(project)
    assert len(parse_patch(patch)[0].hunks) == 1  # git made one hunk of two fixes
    dry = absorb(manifest.load(project / "tutorial.yaml"), patch, Recorder(), command="absorb",
                 dry_run=True)
    assert [p.step for p in dry.placements] == ["1a", "1b"]
    result = absorb(manifest.load(project / "tutorial.yaml"), patch, Recorder(),
                    command="absorb")
    assert result.rewrite is not None and result.rewrite.status == "done"
    repo = project / "build" / "repo"
    assert '"hello"' in git(repo, "show", "1a:app.py")
    assert 'return "bye"' in git(repo, "show", "1b:app.py")
    assert 'return "bye"' not in git(repo, "show", "1a:app.py")
    assert git(repo, "show", "2a:app.py") == "\n".join(LINES_2A).replace(
        '"helo"', '"hello"').replace('"by"', '"bye"')
    assert git(repo, "status", "--porcelain") == ""


def test_split_hunk_keeps_line_numbers(project: Path) -> None:
    (hunk,) = parse_patch(_fix(project))[0].hunks
    first, second = split_hunk(hunk)
    assert first.removed() == [2]
    assert second.removed() == [9]
    assert first.old_lines[0] == b"def hello():\n"
    assert second.old_start + second.ops.index(b"-") == 9

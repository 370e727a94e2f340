"""Carrying a fix: steps whose own change it leaves as it was keep their step files byte for
byte; steps that change the fixed file get new ones, merged as git merges them."""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import git
from testing.tutorials import build, load, make_project
from tutorial_tools.engine import rewrite
from tutorial_tools.reporter import Recorder


def numbered(n: int, word: str) -> list[str]:
    return [f"{word} {i}\n" for i in range(n)]


def test_unrelated_steps_keep_their_step_files(tmp_path: Path) -> None:
    a = numbered(30, "a")
    a_later = [*a[:20], "step 1c\n", *a[20:]]
    root = make_project(tmp_path, [
        ("1a", {"a.txt": "".join(a), "b.txt": "b\n"}),
        ("1b", {"b.txt": "b\nmore b\n"}),
        ("1c", {"a.txt": "".join(a_later)}),
        ("1d", {"c.txt": "c\n"}),
    ])
    m = load(root)
    files = {s.tag: m.step_file(s) for s in m.steps}
    before = {tag: (p.read_bytes(), p.stat().st_mtime_ns) for tag, p in files.items()}
    fix = (b"--- a/a.txt\n+++ b/a.txt\n@@ -2,3 +2,3 @@\n a 1\n-a 2\n+a 2, fixed\n a 3\n")

    result = rewrite.apply_patch(m, "1a", fix, Recorder(), command="apply")

    assert result.status == "done"
    assert result.changed == ("1a", "1b", "1c", "1d")  # every commit moves
    for tag in ("1b", "1d"):  # their changes are the same: their files are untouched
        assert (files[tag].read_bytes(), files[tag].stat().st_mtime_ns) == before[tag]
    for tag in ("1a", "1c"):
        assert files[tag].read_bytes() != before[tag][0]
    repo = root / "build" / "repo"
    merged = git(repo, "show", "refs/tags/1c:a.txt")
    assert merged == "".join([*a[:2], "a 2, fixed\n", *a[3:20], "step 1c\n", *a[20:]]).rstrip(
        "\n")
    assert git(repo, "show", "refs/tags/1d:c.txt") == "c"
    # The untouched step files still describe the built history: a build changes nothing.
    assert git(repo, "status", "--porcelain") == ""
    assert build(root).computed == 0

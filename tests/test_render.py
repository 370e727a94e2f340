"""The step diff renderer against a real history holding every kind of change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.diffs import History, build_history
from tutorial_tools.render import ASSETS, load_step_diff, render_diff, render_file


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Built once for the module, so under its own hermetic settings (the autouse fixture
    is function-scoped)."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("render-home")
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for who, name in (("AUTHOR", "Ada Author"), ("COMMITTER", "Cy Committer")):
            mp.setenv(f"GIT_{who}_NAME", name)
            mp.setenv(f"GIT_{who}_EMAIL", f"{name.split()[0].lower()}@example.com")
        built = build_history(tmp_path_factory.mktemp("render") / "src")
    with built.repo:
        yield built


def test_a_step_renders_end_to_end(history: History) -> None:
    diff = load_step_diff(history.repo, history.first, history.second)
    html = render_diff(history.repo, diff, anchor="s2")
    assert html.startswith('<div class="tt-diff tt-view-unified" id="s2">')
    assert 'id="s2-1-L12"' in html
    page = render_file(history.repo, history.second, "app.py", lines=(1, 3), anchor="f")
    assert 'id="f-L3"' in page and 'id="f-L4"' not in page
    assert set(ASSETS) == {"tutorial/diff.css", "tutorial/diff.js"}


def test_first_step_diffs_against_the_empty_tree(tmp_path: Path, history: History) -> None:
    diff = load_step_diff(history.repo, None, history.first)
    assert {f.status for f in diff.files} == {"added"}
    assert diff.deletions == 0

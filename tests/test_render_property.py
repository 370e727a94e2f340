"""Property: for any two versions of a file, committed with real git, the rendered diff is
well-formed and its code cells are exactly the lines of the old and new file at the numbers
they carry (whatever the language, line endings, control characters or markup inside)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.gitrepo import Repo, git
from testing.html import Fragment
from tutorial_tools.gitstore import Repository
from tutorial_tools.render import load_step_diff, render_diff

NAMES = ["app.py", "notes.md", "style.css", "Makefile", "data.txt", "run.sh"]
LINES = ['"""', "def f(x):", "    return x", "", "# <b>&</b>", "<script>alert(1)</script>",
         "x = 'a\tb'", "caf\u00e9", "a\rb", "  indented", "}", "{", "SELECT 1;", "\x1b[0m"]


@st.composite
def versions(draw: st.DrawFn) -> tuple[str, bytes, bytes]:
    def text() -> bytes:
        lines = draw(st.lists(st.sampled_from(LINES), max_size=20))
        end = draw(st.sampled_from(["\n", "\r\n"]))
        body = end.join(lines)
        if lines and draw(st.booleans()):
            body += end
        return body.encode()

    return draw(st.sampled_from(NAMES)), text(), text()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _shown(line: bytes) -> str:
    """A line as its code cell reads: without its line ending and control characters."""
    text = line.decode().removesuffix("\n").removesuffix("\r")
    return _CONTROL.sub("", text)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions())
def test_code_cells_are_the_files_lines(case: tuple[str, bytes, bytes]) -> None:
    name, old, new = case
    tmp = Path(tempfile.mkdtemp())
    try:
        src = Repo(tmp / "r")
        src.write(name, old)
        src.commit("old")
        before = git(src.path, "rev-parse", "HEAD^{tree}")
        src.write(name, new)
        src.commit("new")
        after = git(src.path, "rev-parse", "HEAD^{tree}")
        with Repository(src.path) as repo:
            diff = load_step_diff(repo, before, after)
            html = render_diff(repo, diff, anchor="p")
        doc = Fragment(html)
        assert len(doc.ids) == len(set(doc.ids))
        if old == new:
            assert diff.files == ()
            return
        (f,) = diff.files
        old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
        want_new = [_shown(new_lines[n - 1]) for h in f.hunks
                    for n in range(h.new_start, h.new_start + h.new_count)]
        want_old = [_shown(old_lines[ln.old - 1]) for h in f.hunks for ln in h.lines
                    if ln.kind == "removed" and ln.old is not None]
        assert doc.texts("tt-code", "tt-nc", "tt-unified") == want_new
        assert doc.texts("tt-code", "tt-del", "tt-unified") == want_old
        assert "<script>" not in html
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

"""`render_file`: a file as a step has it, its line ranges and marker excerpts, and the
errors that name the path or marker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import Repo, git
from testing.html import Fragment
from tutorial_tools.errors import RenderError, TutorialError
from tutorial_tools.gitstore import Repository
from tutorial_tools.render import highlight, load_step_diff, render_diff, render_file

ROUTES = '''\
"""Routes.

# [create-app]
is only mentioned in this docstring.
"""
from flask import Flask

# [create-app]
def create_app():
    return Flask(__name__)
# [/create-app]

# [index]
def index():
    return "<h1>Hi</h1>"
'''


@pytest.fixture
def step(tmp_path: Path) -> Iterator[tuple[Repository, str]]:
    src = Repo(tmp_path / "r")
    src.write("app/routes.py", ROUTES)
    src.write("crlf.txt", "one\r\ntwo\r\n")
    src.write("blob.bin", b"\0\1\2")
    src.write("<b>&.md", "# <script>x</script>\n")
    src.commit("step")
    with Repository(src.path) as repo:
        yield repo, git(src.path, "rev-parse", "HEAD^{tree}")


def _numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-n="(\d+)"', html)]


def _code(html: str) -> list[str]:
    return Fragment(html).texts("tt-code")


def test_whole_file_highlighted_with_numbered_anchors(step: tuple[Repository, str]) -> None:
    repo, tree = step
    html = render_file(repo, tree, "app/routes.py", anchor="f")
    assert _numbers(html) == list(range(1, 16))
    assert _code(html) == ROUTES.splitlines()
    assert '<a href="#f-L9" id="f-L9" data-n="9"></a>' in html
    assert '<span class="k">def</span>' in html
    assert 'class="tt-file" id="f"' in html and "lines " not in html
    Fragment(html)


def test_a_line_range(step: tuple[Repository, str]) -> None:
    repo, tree = step
    html = render_file(repo, tree, "app/routes.py", lines=(9, 10), anchor="r")
    assert _numbers(html) == [9, 10]
    assert _code(html) == ["def create_app():", "    return Flask(__name__)"]
    assert "lines 9\u201310" in html


def test_markers_take_the_lines_between_them(step: tuple[Repository, str]) -> None:
    """The first line holding the start marker (here inside the docstring) opens the
    excerpt; the next line holding the end marker closes it; neither is shown."""
    repo, tree = step
    html = render_file(repo, tree, "app/routes.py", start="# [index]", anchor="m")
    assert _numbers(html) == [14, 15]
    html = render_file(repo, tree, "app/routes.py", start="def create_app",
                       end="# [/create-app]", anchor="m")
    assert _numbers(html) == [10]
    html = render_file(repo, tree, "app/routes.py", start="# [create-app]",
                       end="# [/create-app]", anchor="m")
    assert _numbers(html) == list(range(4, 11))
    html = render_file(repo, tree, "app/routes.py", end="from flask", anchor="m")
    assert _numbers(html) == [1, 2, 3, 4, 5]


def test_highlighting_of_an_excerpt_comes_from_the_whole_file(
        step: tuple[Repository, str]) -> None:
    repo, tree = step
    html = render_file(repo, tree, "app/routes.py", lines=(4, 4), anchor="d")
    assert '<span class="sd">is only mentioned in this docstring.</span>' in html


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"path": "app/missing.py"}, ["app/missing.py", "no such file"]),
    ({"path": "app"}, ["app", "folder"]),
    ({"path": "blob.bin"}, ["blob.bin", "binary"]),
    ({"path": "app/routes.py", "start": "# [nowhere]"}, ["app/routes.py", "'# [nowhere]'"]),
    ({"path": "app/routes.py", "start": "# [index]", "end": "# [create-app]"},
     ["app/routes.py", "end marker '# [create-app]'", "after the start marker"]),
    ({"path": "app/routes.py", "lines": (14, 16)}, ["app/routes.py", "14-16", "15 lines"]),
    ({"path": "app/routes.py", "lines": (3, 2)}, ["app/routes.py", "3-2"]),
    ({"path": "app/routes.py", "lines": (0, 2)}, ["app/routes.py", "0-2"]),
    ({"path": "app/routes.py", "lines": (1, 2), "start": "x"}, ["either a line range"]),
])
def test_errors_name_the_path_and_marker(step: tuple[Repository, str], kwargs: dict[str, object],
                                         words: list[str]) -> None:
    repo, tree = step
    with pytest.raises(RenderError) as e:
        render_file(repo, tree, anchor="e", **kwargs)  # type: ignore[arg-type]
    assert isinstance(e.value, TutorialError)
    for word in words:
        assert word in e.value.message


def test_escaping_and_line_endings(step: tuple[Repository, str]) -> None:
    repo, tree = step
    html = render_file(repo, tree, "<b>&.md", anchor="x")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;b&gt;&amp;.md" in html
    assert _code(html) == ["# <script>x</script>"]
    crlf = render_file(repo, tree, "crlf.txt", anchor="c")
    assert "\r" not in crlf and _code(crlf) == ["one", "two"]


def test_a_file_the_step_diff_showed_is_not_lexed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`render_file` takes the highlighting the diff renderer made of the same blob: a file
    the step added (lexed whole), and an excerpt of a changed file up to the last line
    the diff showed. A file the diff did not show is lexed."""
    src = Repo(tmp_path / "r")
    src.write("app/routes.py", ROUTES)
    src.write("app/models.py", f"# {tmp_path}\n")  # a blob no other test has lexed
    src.commit("one")
    src.write("app/routes.py", ROUTES.replace('"<h1>Hi</h1>"', '"<h1>Hello</h1>"'))
    src.write("app/forms.py", "class LoginForm:\n    name = 'login'\n")
    src.commit("two")
    old, new = (git(src.path, "rev-parse", f"{c}^{{tree}}") for c in ("HEAD~", "HEAD"))
    lexed: list[str] = []
    real = highlight.highlight

    def counting(text: str, path: str, upto: int | None = None
                 ) -> list[list[highlight.Segment]] | None:
        lexed.append(path)
        return real(text, path, upto)

    with Repository(src.path) as repo:
        render_diff(repo, load_step_diff(repo, old, new), anchor="d")
        monkeypatch.setattr(highlight, "highlight", counting)
        whole = render_file(repo, new, "app/forms.py", anchor="f")
        part = render_file(repo, new, "app/routes.py", start="# [index]", anchor="g")
        assert lexed == []
        render_file(repo, new, "app/models.py", anchor="m")
    assert lexed == ["app/models.py"]
    assert _code(whole) == ["class LoginForm:", "    name = 'login'"]
    assert '<span class="k">class</span>' in whole
    assert _code(part) == ["def index():", '    return "<h1>Hello</h1>"']

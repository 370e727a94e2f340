"""The step diff renderer against a real two-step history holding every kind of change
(testing/diffs.py): what `load_step_diff` reads, and what `render_diff` shows.

Golden files for single files live in tests/golden/render/. After a deliberate change to the
HTML (bump RENDERER_VERSION too), regenerate them with
`UPDATE_GOLDEN=1 pytest tests/test_render.py`, then read their diff.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.diffs import (
    ODD_NAME,
    PNG_NEW,
    PNG_OLD,
    XSS_NAME,
    History,
    build_history,
)
from testing.gitrepo import Repo, git
from testing.hermetic import hermetic
from testing.html import Fragment
from tutorial_tools.gitstore import Repository
from tutorial_tools.render import (
    RENDERER_VERSION,
    StepDiff,
    assets,
    diffview,
    human_size,
    load_step_diff,
    load_step_diffs,
    render_diff,
)
from tutorial_tools.render.highlight import highlight, line_html, word_changes

GOLDEN = Path(__file__).parent / "golden" / "render"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Built once for the module, so under its own hermetic settings (the autouse fixture
    is function-scoped)."""
    with pytest.MonkeyPatch.context() as mp:
        hermetic(mp, tmp_path_factory.mktemp("render-home"))
        built = build_history(tmp_path_factory.mktemp("render") / "src")
    with built.repo:
        yield built


@pytest.fixture(scope="module")
def step(history: History) -> StepDiff:
    return load_step_diff(history.repo, history.first, history.second)


def _file(step: StepDiff, path: str) -> int:
    return next(i for i, f in enumerate(step.files) if f.path == path)


# -- what load_step_diff reads ------------------------------------------------------------

def test_every_status_and_flag(step: StepDiff) -> None:
    seen = {f.path: f for f in step.files}
    expected = {  # path: (status, old path, binary, symlink, image, generated, large)
        "app.py": ("modified", "app.py", False, False, False, False, False),
        "new_name.py": ("renamed", "old_name.py", False, False, False, False, False),
        "copied.py": ("copied", "template.py", False, False, False, False, False),
        "gone.txt": ("deleted", "gone.txt", False, False, False, False, False),
        "link.txt": ("added", None, False, True, False, False, False),
        "swap.txt": ("modified", "swap.txt", False, True, False, False, False),
        "logo.png": ("modified", "logo.png", True, False, True, False, False),
        "run.sh": ("modified", "run.sh", False, False, False, False, False),
        "package-lock.json": ("modified", "package-lock.json", False, False, False, True, False),
        "gen/out.py": ("modified", "gen/out.py", False, False, False, True, False),
        "big.txt": ("added", None, False, False, False, False, True),
    }
    for path, (status, old, binary, symlink, image, generated, large) in expected.items():
        f = seen[path]
        assert (f.status, f.old_path, f.binary, f.symlink, f.image, f.generated, f.large) == (
            status, old, binary, symlink, image, generated, large), path
    assert seen["gone.txt"].new_path is None and seen["gone.txt"].deletions == 3
    assert seen["app.py"].additions == 3 and seen["app.py"].deletions == 2
    assert step.additions == sum(f.additions for f in step.files)
    assert step.deletions == sum(f.deletions for f in step.files)


def test_renames_and_copies_keep_score_modes_and_ids(history: History, step: StepDiff) -> None:
    renamed = step.files[_file(step, "new_name.py")]
    assert renamed.similarity is not None and 80 <= renamed.similarity < 100
    assert (renamed.additions, renamed.deletions) == (1, 1)  # only the changed line
    assert renamed.old_oid == git(history.path, "rev-parse", "HEAD~1:old_name.py")
    copied = step.files[_file(step, "copied.py")]
    assert copied.similarity is not None and copied.additions == 1 and copied.deletions == 0
    mode = step.files[_file(step, "run.sh")]
    assert (mode.old_mode, mode.new_mode, mode.mode_changed, mode.hunks) == (
        "100644", "100755", True, ())
    assert mode.old_oid == mode.new_oid is not None


def test_a_file_replaced_by_a_symlink_is_one_entry(history: History, step: StepDiff) -> None:
    swap = [f for f in step.files if f.path == "swap.txt"]
    assert len(swap) == 1
    assert (swap[0].old_mode, swap[0].new_mode) == ("100644", "120000")
    assert [line.kind for h in swap[0].hunks for line in h.lines] == ["removed", "added"]
    html = render_diff(history.repo, step.only(["swap.txt"]), anchor="t")
    assert "file \u2192 symlink" in html and "mode 100644" not in html


def test_a_type_change_is_large_by_the_lines_of_both_halves(tmp_path: Path) -> None:
    """A file replaced by a symlink (or a submodule) is a deletion and an addition in git's
    patch: whether it is large counts their lines together, as for any other file, so the
    site's `collapse_lines` (which re-applies the rule) agrees with the default."""
    src = Repo(tmp_path / "src")
    src.write("long.txt", "".join(f"line {n}\n" for n in range(400)))
    src.write("short.txt", "".join(f"line {n}\n" for n in range(399)))
    src.write("data.txt", "".join(f"line {n}\n" for n in range(400)))
    src.commit("one")
    for name in ("long.txt", "short.txt"):
        (src.path / name).unlink()
        (src.path / name).symlink_to("data.txt")
    src.write("data.txt", bytes(range(256)) * 4)  # text -> binary
    src.commit("two")
    old, new = (git(src.path, "rev-parse", f"{c}^{{tree}}") for c in ("HEAD~", "HEAD"))
    with Repository(src.path) as repo:
        diffs = [load_step_diff(repo, old, new), load_step_diff(repo, old, new, large_lines=400)]
        lower = load_step_diff(repo, old, new, large_lines=399)
    for diff in diffs:
        files = {f.path: f for f in diff.files}
        assert (files["long.txt"].additions, files["long.txt"].deletions) == (1, 400)
        assert files["long.txt"].symlink and files["long.txt"].status == "modified"
        assert {p: f.large for p, f in files.items()} == {
            "long.txt": True, "short.txt": False, "data.txt": False}
        assert files["data.txt"].binary
    assert {f.path: f.large for f in lower.files} == {
        "long.txt": True, "short.txt": True, "data.txt": False}


def test_binary_sizes(step: StepDiff) -> None:
    logo = step.files[_file(step, "logo.png")]
    assert (logo.old_size, logo.new_size) == (len(PNG_OLD), len(PNG_NEW))
    assert logo.hunks == () and logo.additions == logo.deletions == 0


def test_odd_names_keep_their_bytes(step: StepDiff) -> None:
    names = [f.path.encode("utf-8", "surrogateescape") for f in step.files]
    assert ODD_NAME in names
    assert XSS_NAME.encode() in names


def test_crlf_and_missing_final_newline_lines(step: StepDiff) -> None:
    crlf = step.files[_file(step, "crlf.txt")]
    lines = [(ln.kind, ln.text, ln.cr) for h in crlf.hunks for ln in h.lines]
    assert ("removed", "third", True) in lines and ("added", "third", False) in lines
    assert all("\r" not in text for _, text, _ in lines)
    nonl = step.files[_file(step, "nonl.txt")]
    flagged = [(ln.kind, ln.text) for h in nonl.hunks for ln in h.lines if ln.no_newline]
    assert flagged == [("removed", "beta"), ("added", "gamma")]


def test_first_step_diffs_against_the_empty_tree(history: History) -> None:
    diff = load_step_diff(history.repo, None, history.first)
    assert {f.status for f in diff.files} == {"added"}
    assert diff.deletions == 0 and diff.additions > 0


def test_many_steps_with_one_call_match_one_by_one(history: History, step: StepDiff) -> None:
    first = load_step_diff(history.repo, None, history.first)
    assert load_step_diffs(history.repo, [(None, history.first),
                                          (history.first, history.second)]) == [first, step]


def test_only_keeps_some_files(step: StepDiff) -> None:
    part = step.only(["old_name.py", "app.py"])
    assert [f.path for f in part.files] == ["app.py", "new_name.py"]
    assert part.additions == 4 and part.deletions == 3


# -- what render_diff shows -----------------------------------------------------------------

@pytest.fixture(scope="module")
def page(history: History, step: StepDiff) -> str:
    return render_diff(history.repo, step, anchor="s2")


def test_the_fragment_is_well_formed_with_unique_ids_and_live_links(page: str) -> None:
    doc = Fragment(page)
    assert doc.roots == 1 and page.startswith('<div class="tt-diff tt-view-unified" id="s2">')
    assert len(doc.ids) == len(set(doc.ids))
    assert {h[1:] for h in doc.hrefs if h.startswith("#")} <= set(doc.ids)


def test_line_anchors_follow_the_documented_scheme(step: StepDiff, page: str) -> None:
    i = _file(step, "app.py")
    # Line 12 of the new app.py was added; line 11 of the old one removed; 13/14 are context.
    assert f'<a href="#s2-{i}-L12" id="s2-{i}-L12" data-n="12"></a>' in page
    assert f'id="s2-{i}-R11"' in page and f'id="s2-{i}-R13"' in page
    assert f'id="s2-{i}-L14"' in page
    assert f'data-tt-line="s2-{i}-L12"' in page  # the split table links there too
    assert f'<details class="tt-dfile tt-modified" id="s2-{i}" open>' in page


def test_numbers_and_markers_are_not_text(page: str) -> None:
    doc = Fragment(page)
    assert set(doc.texts("tt-num")) == {""}
    assert set(doc.texts("tt-mark")) == {""}
    css = assets()["tutorial/diff.css"].decode()
    for rule in ("td.tt-num {", "td.tt-mark {"):
        block = css[css.index(rule):css.index("}", css.index(rule))]
        assert "user-select: none" in block


def test_copied_text_is_the_code_only(history: History, step: StepDiff) -> None:
    """The new-side cells of a hunk are exactly the new file's lines (what Copy copies)."""
    i = _file(step, "app.py")
    doc = Fragment(render_diff(history.repo, step.only(["app.py"]), anchor="c"))
    new_lines = git(history.path, "show", "HEAD:app.py").split("\n")
    hunks = step.files[i].hunks
    expected = [new_lines[n - 1] for h in hunks for n in range(h.new_start,
                                                                h.new_start + h.new_count)]
    assert doc.texts("tt-code", "tt-nc", "tt-unified") == expected
    assert doc.texts("tt-code", "tt-nc", "tt-split") == expected


def test_summary_and_file_list(step: StepDiff, page: str) -> None:
    n = len(step.files)
    assert f"<strong>{n} files changed</strong>" in page
    assert f"{step.additions} additions" in page and f"{step.deletions} deletions" in page
    assert page.count('<li class="tt-') == n
    assert '<span class="tt-old-path">old_name.py</span> \u2192 ' \
        '<span class="tt-new-path">new_name.py</span>' in page
    assert "mode 100644 \u2192 100755" in page
    sizes = f"binary {human_size(len(PNG_OLD))} \u2192 {human_size(len(PNG_NEW))}"
    assert sizes in page
    assert page.count('data-tt-view="') == 2


def test_unified_and_split_markup(step: StepDiff, page: str) -> None:
    """Both layouts for a changed file; one table when a side is empty (added, deleted)."""
    both = [f for f in step.files if f.hunks and f.status not in ("added", "deleted")]
    one = [f for f in step.files if f.hunks and f.status in ("added", "deleted")]
    assert page.count('<table class="tt-lines tt-unified">') == len(both) > 5
    assert page.count('<table class="tt-lines tt-split">') == len(both)
    assert page.count('<table class="tt-lines tt-unified tt-one-side">') == len(one) > 2
    css = assets()["tutorial/diff.css"].decode()
    assert ".tt-view-split table.tt-unified.tt-one-side { display: table; }" in css


def test_lexing_can_stop_early_with_the_same_lines() -> None:
    text = '"""Doc\nstring\n"""\nx = 1\n' * 50
    whole = highlight(text, "m.py")
    assert whole is not None and len(whole) == 200
    assert highlight(text, "m.py", upto=7) == whole[:7]
    assert highlight(text, "m.py", upto=500) == whole


def test_large_and_generated_files_start_collapsed(step: StepDiff, page: str) -> None:
    for path in ("package-lock.json", "gen/out.py", "big.txt"):
        i = _file(step, path)
        assert re.search(rf'<details class="tt-dfile tt-\w+" id="s2-{i}">', page), path
    assert re.search(rf'id="s2-{_file(step, "app.py")}" open>', page)


def test_escaping_of_names_and_content(step: StepDiff, page: str) -> None:
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.py" in page
    assert "&lt;script&gt;alert(" in page
    assert "caf\ufffd &quot;q&quot; &amp; &lt;b&gt;.txt" in page
    # Read back as HTML, the markup is the text it was.
    doc = Fragment(page)
    assert "print('<script>alert(2)</script>')" in doc.texts("tt-code", "tt-unified")


def test_image_before_and_after(history: History, step: StepDiff, page: str) -> None:
    assert page.count('src="data:image/png;base64,') == 2
    served = render_diff(history.repo, step.only(["logo.png"]), anchor="i",
                         image_url=lambda oid, path: f"/blobs/{oid}.png")
    logo = step.files[_file(step, "logo.png")]
    assert f'src="/blobs/{logo.old_oid}.png"' in served
    assert f'src="/blobs/{logo.new_oid}.png"' in served
    assert "data:" not in served


def test_no_newline_and_line_ending_markers(history: History, step: StepDiff) -> None:
    nonl = render_diff(history.repo, step.only(["nonl.txt"]), anchor="n")
    assert nonl.count('title="No newline at end of file"') == 4  # 2 lines, 2 layouts
    crlf = render_diff(history.repo, step.only(["crlf.txt"]), anchor="c")
    assert crlf.count('data-eol="CRLF"') == 2 and crlf.count('data-eol="LF"') == 2  # 2 views
    assert "\r" not in crlf
    link = render_diff(history.repo, step.only(["link.txt"]), anchor="l")
    assert "No newline" not in link  # a symlink's target has no newline by nature


# -- highlighting ---------------------------------------------------------------------------

def test_a_hunk_inside_a_docstring_is_highlighted_as_a_docstring(history: History,
                                                                  step: StepDiff) -> None:
    html = render_diff(history.repo, step.only(["doc.py"]), anchor="d")
    (hunk,) = step.files[_file(step, "doc.py")].hunks
    assert hunk.new_start > 3  # starts well below the opening quotes
    rows = [r for r in html.split("<tr>") if "story." in r and r.startswith("<td")]
    assert rows and all('<span class="sd">' in r for r in rows)
    # Highlighting the hunk's own text would have read these lines as code.
    alone = highlight("Line 14 of the story.\n", "doc.py")
    assert alone is not None and alone[0][0][0] != "sd"


def test_word_level_emphasis(history: History, step: StepDiff) -> None:
    html = render_diff(history.repo, step.only(["app.py"]), anchor="w")
    assert '<ins class="tt-w"><span class="s2"> there</span></ins>' in html
    assert '<del class="tt-w"><span class="s2">,</span></del>' not in html  # "," kept
    old, new = word_changes('return "Hello, " + name', 'return "Hello there, " + name')
    assert old == [] and len(new) == 1
    assert 'return "Hello there, " + name'[new[0][0]:new[0][1]].strip() == "there"


def test_emphasis_inside_highlighted_tokens_is_well_formed() -> None:
    segments = [("k", "return"), ("", " "), ("s2", '"Hello there"')]
    html = line_html(segments, [(3, 10), (14, 19)], "ins")
    Fragment(f"<div>{html}</div>")
    assert html == ('<span class="k">ret</span><ins class="tt-w"><span class="k">urn</span>'
                    ' <span class="s2">&quot;He</span></ins><span class="s2">llo </span>'
                    '<ins class="tt-w"><span class="s2">there</span></ins>'
                    '<span class="s2">&quot;</span>')


def test_word_diff_skips_huge_lines_quickly() -> None:
    a, b = "x " * 50_000, "y " * 50_000
    start = time.perf_counter()
    assert word_changes(a, b) == ([], [])
    assert time.perf_counter() - start < 1.0


def test_line_count_mismatch_falls_back_to_plain_text(history: History,
                                                      step: StepDiff) -> None:
    """A lone CR is a line break to Pygments but not to git: that file is shown unhighlighted,
    the CR drawn as a symbol; other files keep their highlighting."""
    assert highlight("x = 1\ry = 2\n", "f.py") is None
    html = render_diff(history.repo, step.only(["lone_cr.py", "app.py"]), anchor="m")
    lone = html[html.index('id="m-1"'):]
    code = re.findall(r'<td class="tt-code[^"]*">(.*?)</td>', lone)
    assert code and not any('<span class="' in c.replace('<span class="tt-ctl"', "")
                            for c in code)
    assert '<span class="tt-ctl" data-c="\u240d"></span>' in lone
    assert '<span class="k">def</span>' in html[:html.index('id="m-1"')]


# -- golden files ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "path"), [
    ("modified", "app.py"), ("renamed", "new_name.py"), ("image", "logo.png"),
    ("mode", "run.sh"), ("symlink", "link.txt"), ("deleted", "gone.txt"),
])
def test_golden(history: History, step: StepDiff, name: str, path: str) -> None:
    html = render_diff(history.repo, step.only([path]), anchor="g") + "\n"
    golden = GOLDEN / f"{name}.html"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8"), f"differs from {golden}"
    Fragment(html)


def test_renderer_version_and_assets() -> None:
    assert RENDERER_VERSION
    css = assets()["tutorial/diff.css"].decode()
    js = assets()["tutorial/diff.js"].decode()
    assert '[data-md-color-scheme="slate"] .tt-diff' in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert ".tt-diff .tt-code .k" in css  # Pygments, scoped to our classes
    assert "localStorage" in js and "tt-view-split" in js


def test_an_empty_step(tmp_path: Path) -> None:
    src = Repo(tmp_path / "r")
    src.write("a.txt", "a\n")
    src.commit("one")
    tree = git(src.path, "rev-parse", "HEAD^{tree}")
    with Repository(src.path) as repo:
        diff = load_step_diff(repo, tree, tree)
        html = render_diff(repo, diff, anchor="e")
    assert diff.files == () and "No files changed." in html
    Fragment(html)


def test_a_file_with_too_many_changed_lines_is_not_drawn(history: History, step: StepDiff,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diffview, "RENDER_MAX_LINES", 100)
    html = render_diff(history.repo, step.only(["big.txt", "app.py"]), anchor="b")
    assert "Not shown: 450 changed lines." in html
    assert 'id="b-1-L1"' not in html and 'id="b-0-L12"' in html  # app.py is still drawn


def test_a_submodule_shows_its_commits(tmp_path: Path) -> None:
    """A gitlink names a commit of another repository: nothing may try to read it here."""
    src = Repo(tmp_path / "r")
    src.write("a.txt", "a\n")
    src.commit("one")
    before = git(src.path, "rev-parse", "HEAD^{tree}")
    for sha in ("1" * 40, "2" * 40):
        git(src.path, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
        git(src.path, "commit", "-q", "-m", "sub")
    after = git(src.path, "rev-parse", "HEAD^{tree}")
    with Repository(src.path) as repo:
        diff = load_step_diff(repo, before, after)
        html = render_diff(repo, diff, anchor="g")
    (sub,) = diff.files
    assert (sub.status, sub.new_mode, sub.new_size) == ("added", "160000", None)
    assert f"Subproject commit {'2' * 40}" in html and "submodule" in html
    Fragment(html)

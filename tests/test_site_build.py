"""The site, built for real by mkdocs (`--strict`) from a small built tutorial: its pages,
navigation, directives, errors, errata and escaping."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.exceptions import Abort, PluginError

from testing.gitrepo import Repo, git
from testing.site import HOSTILE, Built, build_site, make_site_project, write_mkdocs
from testing.tutorials import build, configure, edit_step_file, import_and_build, load
from tutorial_tools import render
from tutorial_tools.engine import importer
from tutorial_tools.engine.status import status
from tutorial_tools.gitstore import Repository
from tutorial_tools.reporter import Recorder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    return root


def main_html(page: str) -> str:
    """The page's content, without the theme's navigation around it."""
    m = re.search(r'<div class="col-md-9" role="main">(.*)</div>\s*</div>\s*</div>\s*<footer',
                  page, re.S)
    assert m, "the theme's main column is missing"
    return m.group(1)


def build_error(root: Path) -> str:
    """The PluginError a failing build raised (mkdocs logs it and aborts)."""
    with pytest.raises(Abort) as e:
        build_site(root)
    assert isinstance(e.value.__context__, PluginError)
    return str(e.value.__context__)


def nav_links(page: str) -> list[str]:
    """The hrefs of the theme's top navigation, in order."""
    nav = page[page.index('<ul class="nav navbar-nav">'):page.index("navbar-nav ms-md-auto")]
    return re.findall(r'<a href="([^"#][^"]*)" class="(?:nav-link|dropdown-item)', nav)


def test_index_lists_chapters_and_steps_with_counts_and_links(project: Path) -> None:
    site = build_site(project)
    index = main_html(site.page("index.html"))
    assert '<h1 id="project">project</h1>' in index
    assert '<a href="01-the-app/">Chapter 1: The app</a>' in index
    assert '<a href="02-more/">Chapter 2: More</a>' in index
    for tag in ("1a", "1b", "2a", "2b", "2c"):
        assert f'<a href="steps/{tag}/">{tag}</a>' in index
    # 1b: app.py loses 2 lines and gains 8; run.sh gains 2.
    assert re.search(r'steps/1b/">1b</a>: The app <span class="tt-counts">'
                     r'<span class="tt-count-add">\+10</span> '
                     r'<span class="tt-count-del">&minus;2</span>', index)
    # The step files are the history's source, not part of the site.
    assert not list(site.site.glob("*/*.patch"))


def test_step_page_has_links_commands_downloads_and_the_diff(project: Path) -> None:
    site = build_site(project)
    page = main_html(site.page("steps/1b/index.html"))
    assert '<h1 id="step-1b-the-app">Step 1b: The app</h1>' in page
    assert ('Step 2 of 5 in <a class="tt-chapter-link" href="../../01-the-app/">'
            "Chapter 1: The app</a>") in page
    assert '<a class="tt-prev" rel="prev" href="../1a/">&larr; Step 1a: The app</a>' in page
    assert '<a class="tt-next" rel="next" href="../2a/">Step 2a: More &rarr;</a>' in page
    assert "git checkout 1b\ngit diff 1a 1b\n" in page
    assert 'class="tt-download-zip" href="1b.zip"' in page
    assert 'class="tt-download-patch" href="1b.patch"' in page
    assert (site.site / "steps/1b/1b.zip").is_file()
    assert (site.site / "steps/1b/1b.patch").is_file()
    assert 'class="tt-diff' in page and "run.sh" in page

    first = main_html(site.page("steps/1a/index.html"))
    assert "git checkout 1a\ngit show 1a\n" in first
    assert "tt-prev" not in first and 'rel="next" href="../1b/"' in first
    last = main_html(site.page("steps/2c/index.html"))
    assert "tt-next" not in last and 'rel="prev" href="../2b/"' in last


def test_assets_are_copied_and_linked_from_every_page(project: Path) -> None:
    site = build_site(project)
    assets = render.assets()
    assert assets
    for path, data in assets.items():
        assert (site.site / path).read_bytes() == data
    page = site.page("steps/2a/index.html")
    for path in assets:
        if path.endswith(".css"):
            assert f'<link href="../../{path}" rel="stylesheet">' in page
        if path.endswith(".js"):
            assert f'<script src="../../{path}"></script>' in page


def test_generated_navigation_puts_each_chapters_steps_after_it(project: Path) -> None:
    (project / "chapters" / "about.md").write_text("# About\n", encoding="utf-8")
    (project / "errata.md").write_text("# Errata\n\n- 1b: a typo.\n", encoding="utf-8")
    write_mkdocs(project, options="      errata: errata.md")
    site = build_site(project)
    assert nav_links(site.page("index.html")) == [
        ".", "01-the-app/", "steps/1a/", "steps/1b/", "02-more/", "steps/2a/", "steps/2b/",
        "steps/2c/", "about/", "errata/"]
    assert "Corrections since earlier editions: <a href=\"errata/\">errata</a>" in \
        site.page("index.html")
    assert "<li>1b: a typo.</li>" in site.page("errata/index.html")


def test_a_chapter_without_a_narrative_gets_a_page_and_a_missing_errata_none(
        project: Path) -> None:
    (project / "chapters" / "02-more" / "index.md").unlink()
    write_mkdocs(project, options="      errata: ERRATA.md")
    site = build_site(project)
    page = main_html(site.page("02-more/index.html"))
    assert '<h1 id="chapter-2-more">Chapter 2: More</h1>' in page
    assert '<a href="../steps/2b/">Step 2b: More</a>' in page
    assert not (site.site / "errata").exists() and "errata" not in site.page("index.html")


def test_steps_can_stay_out_of_the_navigation(project: Path) -> None:
    write_mkdocs(project, options="      steps_in_nav: false")
    site = build_site(project)
    assert nav_links(site.page("index.html")) == [".", "01-the-app/", "02-more/"]
    assert (site.site / "steps/2b/index.html").is_file()


def test_the_authors_own_nav_is_kept(project: Path) -> None:
    write_mkdocs(project, extra="nav:\n  - index.md\n  - 02-more/index.md\n")
    site = build_site(project)
    assert nav_links(site.page("index.html")) == [".", "02-more/"]


def test_directives_in_a_chapter_are_expanded(project: Path) -> None:
    site = build_site(project)
    page = main_html(site.page("01-the-app/index.html"))
    assert ('Start at <a href="../steps/1a/">1a</a>, then '
            '<a href="../steps/1b/">the greeting</a>.') in page
    assert page.count('class="tt-diff') == 2
    assert 'id="diff-1b-0-' in page and 'id="diff-1b-2-0-' in page
    # The excerpt between the markers: lines 2 and 3 of app.py, markers left out.
    excerpt = page[page.index("as it is at 1b"):page.index("Its first two lines")]
    assert re.findall(r'id="(file-1b-L\d+)"', excerpt) == ["file-1b-L2", "file-1b-L3"]
    assert "hello" in excerpt and "[greet]" not in excerpt
    lines = page[page.index("Its first two lines"):page.index("A page can show")]
    assert re.findall(r'id="(file-1b-2-L\d+)"', lines) == ["file-1b-2-L1", "file-1b-2-L2"]
    # Fenced code and code spans show directives as text.
    assert "::diff{step=nonexistent}\n:step[nowhere]" in page
    assert "<code>:step[nowhere]</code>" in page


def test_rendered_html_reaches_the_page_untouched_by_markdown(project: Path) -> None:
    """A diff holds `<b>`, `*`, `_`, indented lines and entities: Markdown must change
    none of it (it never sees the fragment)."""
    narrative = project / "chapters" / "02-more" / "index.md"
    narrative.write_text("# Chapter 2\n\nText.\n::diff{step=2a}\nMore text.\n", "utf-8")
    site = build_site(project)
    page = site.page("02-more/index.html")
    root = project / "build" / "repo"
    with Repository(root) as repo:
        parent, tree = repo.tree_of(_commit(root, "1b")), repo.tree_of(_commit(root, "2a"))
        expected = render.render_diff(repo, render.load_step_diff(repo, parent, tree),
                                      anchor="diff-2a")
    assert expected in page
    assert "<p>Text.</p>" in page and "<p>More text.</p>" in page


def _commit(repo: Path, tag: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", f"refs/tags/{tag}^{{commit}}"],
                          capture_output=True, check=True, text=True).stdout.strip()


NARRATIVE_START = "---\ntitle: The app\n---\n# Chapter 1\n\nSome text.\n\n"  # 7 lines


@pytest.mark.parametrize(("directive", "message"), [
    ("::diff{step=9z}", "no step '9z' (steps: 1a, 1b, 2a, 2b, 2c)"),
    ("::diff{step=1b file=nothere.py}",
     "step 1b does not change 'nothere.py' (it changes: app.py, run.sh)"),
    ("::file{step=1a path=nothere.py}", "step 1a: "),
    ('::file{step=1b path=app.py start="# [nope]" end="# [/greet]"}', "# [nope]"),
    ("::dif{step=1a}", "unknown directive ::dif"),
    ("::diff{step=1a color=red}", "unknown attribute 'color'"),
    ("See :step[9z].", "no step '9z'"),
])
def test_a_directive_error_names_the_file_and_line(project: Path, directive: str,
                                                  message: str) -> None:
    narrative = project / "chapters" / "01-the-app" / "index.md"
    narrative.write_text(NARRATIVE_START + directive + "\n", encoding="utf-8")
    error = build_error(project)
    assert error.startswith("chapters/01-the-app/index.md:8: ")
    assert message in error


def test_mkdocs_build_strict_fails_with_the_error_on_the_command_line(project: Path) -> None:
    narrative = project / "chapters" / "01-the-app" / "index.md"
    narrative.write_text("# One\n\n::diff{step=9z}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "chapters/01-the-app/index.md:3: no step '9z'" in proc.stderr


def test_an_unbuilt_or_stale_history_asks_for_tutorial_build(project: Path) -> None:
    edit_step_file(project, "2b", b"+# Notes", b"+# Notes, revised")
    error = build_error(project)
    assert "out of date with chapters/" in error and "2b" in error
    assert "Run `tutorial build`" in error

    shutil.rmtree(project / "build")
    error = build_error(project)
    assert "the history is not built yet" in error and "Run `tutorial build`" in error


def test_a_stale_history_names_the_steps_tutorial_status_calls_unbuilt(project: Path) -> None:
    manifest = load(project)
    manifest.step_file(manifest.step("2b")).unlink()  # a missing file is unbuilt too
    unbuilt = status(manifest).unbuilt
    assert unbuilt == ("2b", "2c")
    error = build_error(project)
    assert "(2 step(s) changed since the last build: 2b, 2c)" in error


def test_hostile_file_names_and_titles_are_shown_as_text(project: Path) -> None:
    title = '<img src=x onerror="alert(1)"> *bold* [x](y) & co'
    configure(project, steps={"2b": {"title": title}})
    site = build_site(project)
    escaped = html.escape(title, quote=False)
    for path in ("index.html", "steps/2a/index.html", "steps/2b/index.html",
                 "steps/2c/index.html"):
        text = site.page(path)
        assert "<script>alert(1)" not in text and "<img src=x" not in text, path
    step = site.page("steps/2b/index.html")
    assert "<h1 id=" in step and f"Step 2b: {escaped}</h1>" in step
    assert f"<title>Step 2b: {escaped} - Demo</title>" in step
    assert f"&larr; Step 2b: {html.escape(title)}</a>" in site.page("steps/2c/index.html")
    assert f": {escaped} <span class" in site.page("index.html")
    assert html.escape("<script>alert(1)</script>") in site.page("steps/2a/index.html")
    assert HOSTILE.startswith("<script>")


def test_mkdocs_serve_watches_the_manifest_the_narratives_and_the_refs(project: Path) -> None:
    from mkdocs.config import load_config
    from mkdocs.livereload import LiveReloadServer

    config = load_config(str(project / "mkdocs.yml"))
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0,
                              root=str(project / "site"))
    try:
        config.plugins.on_serve(server, config=config, builder=lambda: None)
        watched = set(server._watched_paths)
    finally:
        server.server_close()
    assert str(project / "tutorial.yaml") in watched
    assert str(project / "chapters") in watched
    assert str(project / "build" / "repo" / ".git" / "refs") in watched


def test_the_material_theme_builds_too(project: Path) -> None:
    write_mkdocs(project, extra="theme:\n  name: material\n")
    site: Built = build_site(project)
    page = site.page("steps/1b/index.html")
    assert "git checkout 1b" in page and 'class="tt-diff' in page
    assert 'rel="next" href="../2a/"' in page


def test_an_untagged_step_gets_a_page_under_its_name(tmp_path: Path) -> None:
    src = Repo(tmp_path / "src")
    src.write("a.txt", "one\n")
    src.commit("Chapter 1: Start (1a)", tag="1a")
    src.write("a.txt", "one\ntwo\n")
    src.commit("Tidy up")
    src.write("a.txt", "one\ntwo\nthree\n")
    src.commit("Chapter 1: Start (1b)", tag="1b")
    root = tmp_path / "project"
    importer.import_repository(str(src.path), root, Recorder(), keep_untagged=True)
    build(root)
    write_mkdocs(root)
    untagged = [s for s in load(root).steps if s.tag is None]
    assert len(untagged) == 1
    name = untagged[0].name
    site = build_site(root)
    page = main_html(site.page(f"steps/{name}/index.html"))
    commit = git(root / "build" / "repo", "rev-parse", "1b^")
    assert f"git checkout {commit[:12]}\ngit diff 1a {commit[:12]}\n" in page
    assert 'rel="next" href="../1b/"' in page
    assert f"git diff {commit[:12]} 1b" in site.page("steps/1b/index.html")


def test_the_repo_option_reads_another_built_history(project: Path) -> None:
    shutil.move(project / "build" / "repo", project / "elsewhere")
    assert "not built yet" in build_error(project)
    write_mkdocs(project, options="      repo: elsewhere\n      downloads: false")
    site = build_site(project)
    page = site.page("steps/1b/index.html")
    assert 'class="tt-diff' in page and "tt-downloads" not in page
    assert not list(site.site.glob("steps/*/*.zip"))


def test_search_indexes_the_narratives_and_titles_not_the_diffs(project: Path) -> None:
    write_mkdocs(project, extra="")
    text = (project / "mkdocs.yml").read_text().replace("plugins:\n", "plugins:\n  - search\n")
    (project / "mkdocs.yml").write_text(text)
    site = build_site(project)
    index = (site.site / "search" / "search_index.json").read_text()
    assert "Step 1b: The app" in index and "the greeting" in index
    assert "hello" in site.page("steps/1b/index.html")
    assert "hello" not in index.lower() and "tt-diff" not in index


def test_links_follow_use_directory_urls_false(project: Path) -> None:
    write_mkdocs(project, extra="use_directory_urls: false\n")
    site = build_site(project)
    page = site.page("steps/1b/index.html")
    assert 'class="tt-chapter-link" href="../../01-the-app/index.html"' in page
    assert 'rel="prev" href="../1a/index.html"' in page
    assert 'class="tt-download-zip" href="1b.zip"' in page
    assert '<a href="steps/2a/index.html">2a</a>' in site.page("index.html")
    assert '<a href="../steps/1a/index.html">1a</a>' in site.page("01-the-app/index.html")


def test_a_diff_in_a_list_item_and_indented_code_in_a_chapter(project: Path) -> None:
    narrative = project / "chapters" / "02-more" / "index.md"
    narrative.write_text("# Chapter 2\n\n1. Look at the change:\n\n    ::diff{step=2a}\n\n"
                         "2. Then go on.\n\nCode:\n\n    see :step[2a]\n", "utf-8")
    page = main_html(build_site(project).page("02-more/index.html"))
    item = page[page.index("<li>"):page.index("</li>")]
    assert "Look at the change:" in item and item.count('class="tt-diff') == 1
    assert "<pre><code>see :step[2a]\n</code></pre>" in page


def test_hostile_tags_are_shown_as_text(tmp_path: Path) -> None:
    # Git allows `<`, `>`, `"`, `'`, `=` and `/` in tags: none may become markup.
    tags = ["</title><script>alert(1)</script>\"x='y", "<img/src=x/onerror=alert(2)>"]
    src = Repo(tmp_path / "src")
    for n, tag in enumerate([*tags, "1c"]):
        src.write("a.txt", f"{n}\n")
        src.commit(f"Chapter 1: One ({tag})", tag=tag)
    root = import_and_build(src, tmp_path / "project")
    quoted = tags[0].replace('"', '\\"')
    (root / "chapters" / "01-one" / "index.md").write_text(
        f'# One\n\n::diff{{step="{tags[1]}"}}\n\nSee :step[it]{{tag="{quoted}"}}.\n', "utf-8")
    write_mkdocs(root)
    site = build_site(root)
    pages = {p.relative_to(site.site).as_posix(): p.read_text("utf-8")
             for p in site.site.rglob("*.html")}
    for path, text in pages.items():
        assert "<script>alert" not in text and "<img/src" not in text, path
    step = pages["steps/img-src-x-onerror-alert-2--/index.html"]
    assert f"Step {html.escape(tags[1], quote=False)}: One</h1>" in step
    assert 'href="../steps/title--script-alert-1---script--x--y/">it</a>' in pages[
        "01-one/index.html"]


def test_collapse_lines_applies_the_renderers_rule_to_a_type_change(tmp_path: Path) -> None:
    """A 400-line file replaced by a symlink changes 401 lines: collapsed by default, and
    with `collapse_lines: 400` too (the site's threshold goes through the same rule)."""
    src = Repo(tmp_path / "src")
    src.write("long.txt", "".join(f"line {n}\n" for n in range(400)))
    src.write("short.txt", "one\n")
    src.commit("Chapter 1: Start (1a)", tag="1a")
    (src.path / "long.txt").unlink()
    (src.path / "long.txt").symlink_to("short.txt")
    src.commit("Chapter 1: Start (1b)", tag="1b")
    root = import_and_build(src, tmp_path / "project")
    opened = {}
    for options in ("", "      collapse_lines: 400", "      collapse_lines: 500"):
        write_mkdocs(root, options=options)
        page = build_site(root).page("steps/1b/index.html")
        found = re.search(r'<details class="tt-dfile tt-modified" id="d-0"( open)?>', page)
        assert found is not None and "file \u2192 symlink" in page
        opened[options] = found[1] is not None
    assert opened == {"": False, "      collapse_lines: 400": False,
                      "      collapse_lines: 500": True}

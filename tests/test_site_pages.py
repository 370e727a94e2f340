"""The plugin's page pieces on their own: escaping, page folders for awkward tags, the
navigation, the git commands."""

from __future__ import annotations

from pathlib import Path

import markdown

from tutorial_tools.manifest import Chapter, Manifest, Step
from tutorial_tools.render.mdtext import md_text
from tutorial_tools.site.history import SiteStep, page_folders
from tutorial_tools.site.pages import navigation, step_markdown


def manifest(*tags: str | None) -> Manifest:
    steps = tuple(Step(tag, tag.replace("/", "-") if tag else f"step-{i}", f"Title {i}", None,
                       1, "One", "01-one") for i, tag in enumerate(tags))
    return Manifest(Path("/p/tutorial.yaml"), "T", "build/repo", "main", "{title}",
                    (Chapter(1, "One", "01-one", steps),))


def site_steps(m: Manifest) -> list[SiteStep]:
    return [SiteStep(s, i + 1, f"{i:040x}", f"{i + 100:040x}", None, folder)
            for i, (s, folder) in enumerate(zip(m.steps, page_folders(m), strict=True))]


def test_markdown_shows_hostile_text_as_it_is() -> None:
    for text in ["<script>alert(1)</script>", "*not em* _nor_ `code`", "[link](http://x)",
                 "# not a heading", "1. not a list", "a & b &amp; c", "back\\slash", "!x|y"]:
        # mkdocs always enables these three
        html = markdown.markdown(md_text(text), extensions=["toc", "tables", "fenced_code"])
        assert html.startswith("<p>") and html.endswith("</p>")
        inner = html[3:-4]
        assert "<" not in inner.replace("&lt;", "")
        assert inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_page_folders_are_plain_urls_and_unique() -> None:
    m = manifest("1a", "ch1/a", "v1#x", "café", "v1-x", "1A", None)
    assert page_folders(m) == ["steps/1a", "steps/ch1/a", "steps/v1-x", "steps/caf-",
                               "steps/v1-x-2", "steps/1A-2", "steps/step-6"]


def test_git_commands_quote_what_the_shell_would_read() -> None:
    plain = site_steps(manifest("2a", "ch1/a"))
    assert "git diff 2a ch1/a\n" in step_markdown(plain[1], plain[0], "H", "D")
    hostile = site_steps(manifest("1a", "a;rm&~x"))
    assert "git checkout 'a;rm&~x'\n" in step_markdown(hostile[1], hostile[0], "H", "D")
    m = manifest("1a", "it's")
    first, second = site_steps(m)
    text = step_markdown(second, first, "HEADER", "DIFF")
    assert "git checkout 'it'\"'\"'s'\ngit diff 1a 'it'\"'\"'s'\n" in text
    untagged = site_steps(manifest("1a", None))[1]
    assert f"git checkout {untagged.commit[:12]}" in step_markdown(untagged, first, "H", "D")


def test_navigation_with_and_without_steps() -> None:
    m = manifest("1a", "1b")
    steps = site_steps(m)
    assert navigation(m, steps, steps_in_nav=True, others=["about.md"], errata="errata.md") == [
        "index.md", {"Chapter 1: One": ["01-one/index.md", "steps/1a/index.md",
                                        "steps/1b/index.md"]}, "about.md", "errata.md"]
    assert navigation(m, steps, steps_in_nav=False, others=[], errata=None) == [
        "index.md", "01-one/index.md"]

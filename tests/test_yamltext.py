"""A new manifest's YAML text is written without ruamel.yaml: every string must read back
through ruamel.yaml (as the tool reads manifests) as the very same string."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from testing.gitrepo import Repo
from tutorial_tools import manifest, yamltext
from tutorial_tools.engine import importer
from tutorial_tools.reporter import Recorder


def read(text: str) -> object:
    return manifest._yaml().load(io.StringIO(text))


TRICKY = ["1a", "2e", "1e5", "0x1f", "0o17", "1_000", "1.10", "010", "v0.7", "2026-11-27",
          "12:30", "yes", "No", "ON", "y", "~", "null", "NULL", "true", ".inf", "-.inf", ".NaN",
          "nan", "", " ", " lead", "trail ", "a  b", "- x", "-", "? x", "a: b", "a #b", "#a",
          "[x]", "{x}", "*x", "&x", "!x", "|", ">", "'q'", '"q"', "%x", "@x", "`x", "a\tb",
          "line\nbreak", "cr\r", "\x00\x07\x1b\x7f\x85\xa0", "\u2028\u2029\ufeff", "Über",
          "日本語", "emoji \U0001f600", "back\\slash", "Chapter {chapter}: {title} ({tag})",
          "01-hello-world", "Hello, World!", "C++ (part 2)", "a/b.c_d-e", "<<", "=", "..."]


def test_tricky_strings_read_back_unchanged() -> None:
    data = {"chapters": [{"title": s, "steps": [{"tag": s}, s]} for s in TRICKY]}
    assert read(yamltext.dump(data)) == data
    assert yamltext.scalar("1a") == "1a"  # the usual tags and titles stay plain
    assert yamltext.scalar("Title 1") == "Title 1"
    assert yamltext.scalar("01-hello-world") == "01-hello-world"
    assert yamltext.scalar("1.10") == "'1.10'"
    assert yamltext.scalar("it's") == "'it''s'"
    assert yamltext.scalar("tab\tbell\a") == '"tab\\x09bell\\x07"'


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_any_string_reads_back_unchanged(text: str) -> None:
    doc = yamltext.dump({"title": text, "steps": [text, {"tag": text, "n": 3}]})
    assert read(doc) == {"title": text, "steps": [text, {"tag": text, "n": 3}]}


def test_layout_and_header_as_ruamel_writes_them() -> None:
    doc = yamltext.dump({"title": "T", "chapters": [
        {"number": 1, "steps": [{"tag": "1a"}, {"tag": "1b", "name": "x"}], "more": []}],
        "empty": {}}, "first line\nsecond line")
    assert doc == ("# first line\n# second line\ntitle: T\nchapters:\n  - number: 1\n"
                   "    steps:\n      - tag: 1a\n      - tag: 1b\n        name: x\n"
                   "    more: []\nempty: {}\n")


def test_an_imported_manifest_is_what_ruamel_would_have_written(tmp_path: Path) -> None:
    src = Repo(tmp_path / "src")
    for tag, message in (("1a", "Chapter 1: Hello, World! (1a)"), ("1b", "no: template"),
                         ("2a", "Chapter 2: Über 'quotes' (2a)")):
        src.write("f.txt", tag)
        src.commit(message, tag=tag)
    src.write("f.txt", "untagged")
    src.commit("yes")
    root = tmp_path / "p"
    importer.import_repository(str(src.path), root, Recorder(), keep_untagged=True)
    text = (root / manifest.MANIFEST).read_text()
    out = io.StringIO()
    manifest._yaml().dump(read(text), out)
    assert read(out.getvalue()) == read(text)
    m = manifest.load(root / manifest.MANIFEST)
    assert [(s.tag, s.title, s.message) for s in m.steps] == [
        ("1a", "Hello, World!", None), ("1b", "no: template", "no: template"),
        ("2a", "Über 'quotes'", None), (None, "yes", "yes")]

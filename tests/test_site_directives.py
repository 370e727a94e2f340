"""The directive syntax of chapter narratives, parsed on its own (no site, no git)."""

from __future__ import annotations

import pytest

from tutorial_tools.errors import DirectiveError
from tutorial_tools.site.directives import Directive, expand, parse_attrs, parse_block


def run(markdown: str, first_line: int = 1) -> tuple[str, list[Directive]]:
    seen: list[Directive] = []

    def block(d: Directive) -> str:
        seen.append(d)
        return f"[BLOCK {d.name} {sorted(d.attrs.items())}]"

    def inline(d: Directive) -> str:
        seen.append(d)
        return f"[LINK {d.text!r} {d.attrs}]"

    return expand(markdown, block, inline, first_line=first_line), seen


def test_each_block_form_is_parsed_with_its_attributes_and_line() -> None:
    text = "\n".join([
        "# Title",
        "::diff{step=3b}",
        "::diff{step=3b file=app/routes.py}",
        "::file{step=3b path=app/routes.py lines=10-24}",
        '::file{step=3b path="app/my routes.py" start="# [create-app]" end="# [/create-app]"}',
        '   ::file{step=1a path=a.py start="say \\"hi\\" \\\\ there"}',
    ])
    out, seen = run(text, first_line=5)
    assert [(d.name, d.attrs, d.line) for d in seen] == [
        ("diff", {"step": "3b"}, 6),
        ("diff", {"step": "3b", "file": "app/routes.py"}, 7),
        ("file", {"step": "3b", "path": "app/routes.py", "lines": "10-24"}, 8),
        ("file", {"step": "3b", "path": "app/my routes.py", "start": "# [create-app]",
                  "end": "# [/create-app]"}, 9),
        ("file", {"step": "1a", "path": "a.py", "start": 'say "hi" \\ there'}, 10),
    ]
    assert seen[2].lines == (10, 24)
    # Each block stands alone, with blank lines around it, indentation kept.
    assert "\n\n[BLOCK diff [('step', '3b')]]\n\n" in out
    assert "\n   [BLOCK file" in out
    assert out.startswith("# Title\n")


def test_inline_forms_become_links_and_text_around_them_stays() -> None:
    out, seen = run("See :step[3b] and :step[the form]{tag=3b}, or a:b[c] and x :: y.")
    assert out == ("See [LINK '3b' {}] and [LINK 'the form' {'tag': '3b'}], "
                   "or a:b[c] and x :: y.")
    assert [(d.name, d.text, d.attrs) for d in seen] == [
        ("step", "3b", {}), ("step", "the form", {"tag": "3b"})]


@pytest.mark.parametrize("fence", ["```", "~~~~", "````markdown"])
def test_directives_in_fenced_code_and_code_spans_are_left_as_text(fence: str) -> None:
    closing = fence.rstrip("markdown")
    text = "\n".join([
        "Show the syntax:", "", fence, "::diff{step=nowhere}", ":step[nowhere]",
        "```" if fence.startswith("~") else "~~~",  # the other kind does not close it
        "::bogus{x=1}", closing, "", "Inline: `:step[nowhere]` and ``a `:step[x]` b``.",
        "::diff{step=1a}",
    ])
    out, seen = run(text)
    assert [(d.name, d.line) for d in seen] == [("diff", 11)]
    assert "::diff{step=nowhere}\n:step[nowhere]\n" in out
    assert "::bogus{x=1}" in out
    assert "`:step[nowhere]`" in out and "``a `:step[x]` b``" in out


def test_an_indented_code_block_is_not_a_directive() -> None:
    out, seen = run("Code:\n\n    ::diff{step=1a}\n")
    assert seen == [] and "    ::diff{step=1a}" in out


@pytest.mark.parametrize(("line", "message"), [
    ("::dif{step=1a}", "unknown directive ::dif (known: ::diff, ::file)"),
    ("::diff", "::diff needs attributes"),
    ("::diff{}", "::diff needs step=..."),
    ("::diff{step=1a colour=red}", "unknown attribute 'colour' of ::diff (it takes step, file)"),
    ("::diff{step=1a step=1b}", "attribute 'step' is given twice"),
    ("::diff{step=1a} trailing", "expected attributes in braces"),
    ('::diff{step="1a}', "cannot read the attributes"),
    ("::file{step=1a}", "::file needs path=..."),
    ("::file{step=1a path=a.py lines=9-3}", "lines='9-3': write a range such as 10-24"),
    ("::file{step=1a path=a.py lines=ten}", "lines='ten'"),
    ('::file{step=1a path=a.py lines=1-2 start="x"}', "lines=A-B or start/end, not both"),
    ("Text :stpe[1a] here.", "unknown inline directive :stpe[...]"),
    ("Text :step[x]{name=1a} here.", "unknown attribute 'name' of :step (it takes tag)"),
    ("Text :step[] here.", ":step[] needs a step"),
])
def test_malformed_directives_name_their_line(line: str, message: str) -> None:
    with pytest.raises(DirectiveError) as e:
        run(f"# T\n\nok\n{line}\n", first_line=3)
    assert e.value.line == 6
    assert message in e.value.message


def test_attribute_values_bare_and_quoted() -> None:
    assert parse_attrs('{a=b  c="d e" f="x\\"y"}', 1) == {"a": "b", "c": "d e", "f": 'x"y'}
    assert parse_block("not a directive", 1) is None
    assert parse_block("    ::diff{step=1a}", 1) is None  # four spaces: code


def test_inline_directives_in_indented_code_are_left_as_text() -> None:
    text = ("Code:\n\n    x = :step[nowhere]\n\n    y = :step[nowhere]\n"
            "\tz = :step[nowhere]\n\nafter :step[1a]\n    and :step[1b], the same paragraph")
    out, seen = run(text)
    assert [(d.text, d.line) for d in seen] == [("1a", 8), ("1b", 9)]
    assert "    x = :step[nowhere]\n\n    y = :step[nowhere]\n\tz = :step[nowhere]\n" in out


@pytest.mark.parametrize("marker", ["-", "*", "+", "1.", "10."])
def test_directives_in_list_items(marker: str) -> None:
    text = "\n".join([
        f"{marker} First, see :step[1a]:", "",
        "    ::diff{step=1a}", "",
        "    Then:", "",
        "        ::diff{step=nowhere}", "",  # code inside the item
        "    - nested", "",
        "        ::file{step=1b path=a.py}", "",
        "Not in the list any more:", "",
        "    ::diff{step=nowhere} :step[nowhere]",
    ])
    out, seen = run(text)
    assert [(d.name, d.line) for d in seen] == [("step", 1), ("diff", 3), ("file", 11)]
    assert "\n\n    [BLOCK diff [('step', '1a')]]\n\n" in out
    assert "\n\n        [BLOCK file [('path', 'a.py'), ('step', '1b')]]\n\n" in out
    assert "        ::diff{step=nowhere}\n" in out
    assert out.endswith("\n    ::diff{step=nowhere} :step[nowhere]")


def test_quoted_values_may_hold_braces() -> None:
    out, seen = run(':step[it]{tag="v{1}"} and\n::diff{step="v{1}" file="a}b.py"}')
    assert [(d.name, d.attrs) for d in seen] == [
        ("step", {"tag": "v{1}"}), ("diff", {"step": "v{1}", "file": "a}b.py"})]
    assert out.startswith("[LINK 'it' {'tag': 'v{1}'}] and\n")


def test_a_paren_number_starts_no_list_in_python_markdown() -> None:
    out, seen = run("1) Not a list:\n\n    ::diff{step=nowhere}\n")
    assert seen == [] and "\n    ::diff{step=nowhere}\n" in out

"""`tutorial.yaml`: loading valid manifests, every validation error with its exact place, and
editing that keeps the author's comments, order and quoting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tutorial_tools import manifest
from tutorial_tools.errors import ManifestError
from tutorial_tools.manifest import DEFAULT_MESSAGE, tag_problem


def _project(tmp_path: Path, text: str, files: tuple[str, ...] = ()) -> Path:
    """A project folder named `demo` holding `text` as tutorial.yaml and empty step files."""
    root = tmp_path / "demo"
    root.mkdir()
    (root / "tutorial.yaml").write_text(text, encoding="utf-8")
    for name in files:
        f = root / "chapters" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    return root / "tutorial.yaml"


def _error(tmp_path: Path, text: str, *, check_files: bool = False) -> ManifestError:
    path = _project(tmp_path, text)
    with pytest.raises(ManifestError) as e:
        manifest.load(path, check_files=check_files)
    return e.value


# -- valid manifests -------------------------------------------------------------------


def test_shorthand_steps_and_defaults(tmp_path: Path) -> None:
    path = _project(tmp_path, "chapters:\n"
                              "  - title: Hello, World!\n"
                              "    steps:\n"
                              "      - 1a\n"
                              "      - 1b\n"
                              "  - title: Templates\n"
                              "    steps:\n"
                              "      - 2a\n",
                    files=("01-hello-world/1a.patch", "01-hello-world/1b.patch",
                           "02-templates/2a.patch"))
    m = manifest.load(path)
    root = path.parent
    assert (m.title, m.repo, m.branch, m.message) == ("demo", "build/repo", "main",
                                                       DEFAULT_MESSAGE)
    assert m.repo_path == (root / "build" / "repo").resolve()
    assert [(c.number, c.title, c.slug) for c in m.chapters] == [
        (1, "Hello, World!", "01-hello-world"), (2, "Templates", "02-templates")]
    assert [(s.tag, s.name, s.title, s.message, s.chapter) for s in m.steps] == [
        ("1a", "1a", "Hello, World!", None, 1),
        ("1b", "1b", "Hello, World!", None, 1),
        ("2a", "2a", "Templates", None, 2),
    ]
    s1b = m.step("1b")
    assert m.step_file(s1b) == root / "chapters" / "01-hello-world" / "1b.patch"
    assert m.subject(s1b) == "Chapter 1: Hello, World! (1b)"
    assert m.subject(m.step("2a")) == "Chapter 2: Templates (2a)"


def test_explicit_values_and_untagged_steps(tmp_path: Path) -> None:
    path = _project(tmp_path, "title: The Flask Mega-Tutorial\n"
                              "repo: out/history\n"
                              "branch: trunk\n"
                              "message: '{chapter_title} / {title} [{name}]'\n"
                              "chapters:\n"
                              "  - number: 7\n"
                              "    title: Error handling\n"
                              "    slug: errors\n"
                              "    steps:\n"
                              "      - tag: 7a\n"
                              "        title: Debug mode\n"
                              "      - name: readme-update\n"
                              "        message: Update the README\n"
                              "      - tag: v7.1\n"
                              "        name: seven-one\n",
                    files=("errors/7a.patch", "errors/readme-update.patch",
                           "errors/seven-one.patch"))
    m = manifest.load(path)
    assert (m.title, m.repo, m.branch) == ("The Flask Mega-Tutorial", "out/history", "trunk")
    assert m.repo_path == (path.parent / "out" / "history").resolve()
    (chapter,) = m.chapters
    assert (chapter.number, chapter.title, chapter.slug) == (7, "Error handling", "errors")
    s7a, readme, v71 = m.steps
    assert (s7a.tag, s7a.name, s7a.title) == ("7a", "7a", "Debug mode")
    assert m.subject(s7a) == "Error handling / Debug mode [7a]"
    assert (readme.tag, readme.name, readme.label) == (None, "readme-update", "readme-update")
    assert m.subject(readme) == "Update the README"
    assert (v71.tag, v71.name, v71.label) == ("v7.1", "seven-one", "v7.1")
    assert m.step("seven-one") == m.step("v7.1") == v71
    assert m.step_file(v71).name == "seven-one.patch"
    with pytest.raises(ManifestError, match=r"no step 'nope'"):
        m.step("nope")


def test_untagged_step_without_message_is_fine_when_the_template_has_no_tag(
        tmp_path: Path) -> None:
    path = _project(tmp_path, "message: '{title}'\n"
                              "chapters:\n"
                              "  - title: Start\n"
                              "    steps:\n"
                              "      - name: setup\n"
                              "        title: Set things up\n")
    m = manifest.load(path, check_files=False)
    (step,) = m.steps
    assert (step.tag, step.name, step.message) == (None, "setup", None)
    assert m.subject(step) == "Set things up"


def test_chapter_numbers_default_to_their_position(tmp_path: Path) -> None:
    path = _project(tmp_path, "chapters:\n"
                              "  - title: One\n"
                              "  - title: Two\n"
                              "    steps: [2a]\n")
    m = manifest.load(path, check_files=False)
    assert [(c.number, c.slug, len(c.steps)) for c in m.chapters] == [(1, "01-one", 0),
                                                                       (2, "02-two", 1)]



VERIFY_SETTINGS = """\
test: pytest -q
timeout: 120
setup: python -m venv "$TUTORIAL_ENV"
setup_files: [requirements.txt]
chapters:
  - title: Intro
    test: false                  # no tests in the first chapter
    steps:
      - 1a
      - tag: 1b
        test: ./run-tests.sh     # ... except this step
  - title: App
    timeout: 30.5
    steps:
      - 2a
      - tag: 2b
        setup: false
      - tag: 2c
        setup: make env
        setup_files: [Makefile, ./requirements/]
        timeout: 5
"""


def test_verify_settings_inherit_from_manifest_to_chapter_to_step(tmp_path: Path) -> None:
    m = manifest.load(_project(tmp_path, VERIFY_SETTINGS), check_files=False)
    got = {s.label: (s.test, s.timeout, s.setup, s.setup_files) for s in m.steps}
    venv = 'python -m venv "$TUTORIAL_ENV"'
    assert got == {
        "1a": (None, 120.0, venv, ("requirements.txt",)),
        "1b": ("./run-tests.sh", 120.0, venv, ("requirements.txt",)),
        "2a": ("pytest -q", 30.5, venv, ("requirements.txt",)),
        "2b": ("pytest -q", 30.5, None, ()),
        "2c": ("pytest -q", 5.0, "make env", ("Makefile", "requirements")),
    }


def test_verify_settings_default_to_none(tmp_path: Path) -> None:
    m = manifest.load(_project(tmp_path, STEPS + "      - 1a\n"), check_files=False)
    (step,) = m.steps
    assert (step.test, step.timeout, step.setup, step.setup_files) == (None, None, None, ())


def test_verify_settings_survive_the_manifest_cache(tmp_path: Path) -> None:
    path = _project(tmp_path, VERIFY_SETTINGS)
    first = manifest.load(path, check_files=False)
    assert (path.parent / ".tutorial" / "manifest.json").is_file()
    again = manifest.load(path, check_files=False)  # from the cache this time
    assert again == first
    assert again.step("2c").setup_files == ("Makefile", "requirements")
    assert hash(again.step("2c")) == hash(first.step("2c"))


# -- errors: each with its exact place -------------------------------------------------

STEPS = "chapters:\n  - title: A\n    steps:\n"

ERRORS = [
    pytest.param("title: x\nchapters:\n  - title: A\n    steps: [1a, 1b\n", 5, 1,
                 "not valid YAML: expected ',' or ']', but got '<stream end>'",
                 id="malformed-yaml"),
    pytest.param("title: x\nchapters: [\n  title: A\n", 4, 1,
                 "not valid YAML: expected ',' or ']', but got '<stream end>'",
                 id="unclosed-flow"),
    pytest.param("title: x\nrepos: build/repo\nchapters: []\n", 2, 1,
                 "unknown key 'repos' in the manifest", id="unknown-top-key"),
    pytest.param("chapters:\n  - title: A\n    stepz: []\n", 3, 5,
                 "unknown key 'stepz' in chapter #1", id="unknown-chapter-key"),
    pytest.param(STEPS + "      - tag: 1a\n        titel: x\n", 5, 9,
                 "unknown key 'titel' in step #1 of chapter 1", id="unknown-step-key"),
    pytest.param("chapters:\n  - title: A\n    steps:\n      - 1a\n"
                 "  - title: B\n    steps:\n      - tag: 2a\n      - tag: 1a\n", 8, 14,
                 "duplicate step '1a' (also in chapter 1)", id="duplicate-tag"),
    pytest.param(STEPS + "      - 1a\n      - 1a\n", 5, 9,
                 "duplicate step '1a' (also in chapter 1)", id="duplicate-shorthand"),
    pytest.param(STEPS + "      - tag: a b\n", 4, 14,
                 "bad tag 'a b': a tag cannot hold spaces, control characters or any of "
                 "~^:?*[\\", id="tag-with-space"),
    pytest.param(STEPS + "      - a b\n", 4, 9,
                 "bad tag 'a b': a tag cannot hold spaces, control characters or any of "
                 "~^:?*[\\", id="shorthand-with-space"),
    pytest.param(STEPS + "      - tag: 1a..1b\n", 4, 14,
                 "bad tag '1a..1b': a tag cannot hold '..', '@{' or '//', nor be '@'",
                 id="tag-with-dotdot"),
    pytest.param(STEPS + "      - tag: v1.lock\n", 4, 14,
                 "bad tag 'v1.lock': a tag cannot end with '.' or '/', nor have a part that "
                 "is empty, starts with '.' or ends with '.lock'", id="tag-ending-in-lock"),
    pytest.param(STEPS + "      - tag: ch1.lock/a\n", 4, 14,
                 "bad tag 'ch1.lock/a': a tag cannot end with '.' or '/', nor have a part "
                 "that is empty, starts with '.' or ends with '.lock'", id="part-ending-in-lock"),
    pytest.param(STEPS + "      - tag: -f\n", 4, 14,
                 "bad tag '-f': a tag cannot start with '-' (git would read it as an option)",
                 id="tag-like-an-option"),
    pytest.param(STEPS + "      - '--force'\n", 4, 9,
                 "bad tag '--force': a tag cannot start with '-' (git would read it as an "
                 "option)", id="shorthand-like-an-option"),
    pytest.param(STEPS + "      - tag: 7\n", 4, 14,
                 "tag 7 must be a string (quote it: '7')", id="tag-as-number"),
    pytest.param(STEPS + "      - 7\n", 4, 9,
                 "tag 7 must be a string (quote it: '7')", id="shorthand-as-number"),
    pytest.param(STEPS + "      - tag: 1.10   # YAML reads 1.1\n", 4, 14,
                 "tag 1.10 must be a string (quote it: '1.10')", id="tag-as-float"),
    pytest.param(STEPS + "      - tag: 1a\n        name: a/b\n", 5, 15,
                 "bad step name 'a/b': use letters, digits, '.', '_' or '-'", id="bad-name"),
    pytest.param("message: 'Step {chapter}{letter}: {title}'\n" + STEPS + "      - 1a\n", 1, 10,
                 "unknown placeholder {letter}", id="unknown-placeholder"),
    pytest.param("message: 'Step {chapter'\n" + STEPS + "      - 1a\n", 1, 10,
                 "bad message template: expected '}' before end of string",
                 id="broken-template"),
    pytest.param(STEPS + "      - tag: 1a\n      - name: fixup\n", 5, 9,
                 "untagged step 'fixup' needs a 'message': the message template uses {tag}",
                 id="untagged-without-message"),
    pytest.param("branch: a..b\n" + STEPS + "      - 1a\n", 1, 9,
                 "a branch cannot hold '..', '@{' or '//', nor be '@'", id="bad-branch"),
    pytest.param("chapters:\n  - title: A\n    slug: a b\n", 3, 11,
                 "slug 'a b' must be letters, digits, '.', '_' or '-'", id="bad-slug"),
    pytest.param("title: x\n", 1, 1, "the manifest needs 'chapters', a list",
                 id="no-chapters"),
    pytest.param("test: 5\n" + STEPS, 1, 7,
                 "'test' must be a command (a non-empty string) or false (for no tests)",
                 id="test-as-number"),
    pytest.param("test:\n" + STEPS, 1, 1, "'test' needs a command, or false (for no tests)",
                 id="test-null"),
    pytest.param("setup: make\nsetup_files: [./a/./b]\n" + STEPS, 2, 15,
                 "each of 'setup_files' must be a relative path in the step's tree, without "
                 "'.' or '..' parts", id="setup-files-dot-inside"),
    pytest.param(STEPS + "      - tag: 1a\n        test: true\n", 5, 15,
                 "'test' must be a command (a non-empty string) or false (for no tests)",
                 id="step-test-true"),
    pytest.param("chapters:\n  - title: A\n    setup: ''\n", 3, 12,
                 "'setup' must be a command (a non-empty string) or false (for no setup)",
                 id="setup-empty"),
    pytest.param("timeout: 0\n" + STEPS, 1, 10,
                 "'timeout' must be a number of seconds above 0", id="timeout-zero"),
    pytest.param(STEPS + "      - tag: 1a\n        timeout: '10'\n", 5, 18,
                 "'timeout' must be a number of seconds above 0", id="timeout-string"),
    pytest.param("setup: make\nsetup_files: requirements.txt\n" + STEPS, 2, 14,
                 "'setup_files' must be a list of paths", id="setup-files-not-a-list"),
    pytest.param("setup: make\nsetup_files: [a, ../b]\n" + STEPS, 2, 18,
                 "each of 'setup_files' must be a relative path in the step's tree, without "
                 "'.' or '..' parts", id="setup-files-dotdot"),
    pytest.param("setup: make\nsetup_files:\n  - /etc/passwd\n" + STEPS, 3, 5,
                 "each of 'setup_files' must be a relative path in the step's tree, without "
                 "'.' or '..' parts", id="setup-files-absolute"),
    pytest.param("setup_files: [requirements.txt]\n" + STEPS, 1, 1,
                 "'setup_files' needs a 'setup' command: they say when to run it again",
                 id="setup-files-without-setup"),
    pytest.param("", 1, 1, "the manifest is empty", id="empty"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), ERRORS)
def test_errors_name_line_and_column(tmp_path: Path, text: str, line: int, col: int,
                                     message: str) -> None:
    err = _error(tmp_path, text)
    path = tmp_path / "demo" / "tutorial.yaml"
    assert (err.line, err.column) == (line, col)
    assert err.message == f"{path}:{line}:{col}: {message}"


def test_unknown_key_hint_lists_the_known_keys(tmp_path: Path) -> None:
    (tmp_path / "step").mkdir()
    err = _error(tmp_path / "step", STEPS + "      - tag: 1a\n        titel: x\n")
    assert err.hint == ("Known keys: message, name, setup, setup_files, tag, test, timeout, "
                        "title")
    (tmp_path / "top").mkdir()
    err = _error(tmp_path / "top", "title: x\nrepos: y\nchapters: []\n")
    assert err.hint == ("Known keys: branch, chapters, message, repo, setup, setup_files, test, "
                        "timeout, title")


def test_unknown_placeholder_hint_lists_the_placeholders(tmp_path: Path) -> None:
    err = _error(tmp_path, "message: '{chapter}{letter}'\n" + STEPS + "      - 1a\n")
    assert err.hint == "Placeholders: {chapter}, {chapter_title}, {name}, {tag}, {title}"


def test_missing_step_file_names_the_step_and_file(tmp_path: Path) -> None:
    text = STEPS + "      - 1a\n      - tag: 1b\n        title: Second\n"
    path = _project(tmp_path, text, files=("01-a/1a.patch",))
    manifest.load(path, check_files=False)  # the files are checked only when asked
    with pytest.raises(ManifestError) as e:
        manifest.load(path)
    assert e.value.message == (f"{path}:5:9: step 1b: its file chapters/01-a/1b.patch "
                               "is missing")
    assert e.value.hint is not None and "remove it from tutorial.yaml" in e.value.hint
    (path.parent / "chapters" / "01-a" / "1b.patch").write_bytes(b"")
    assert [s.tag for s in manifest.load(path).steps] == ["1a", "1b"]


def test_missing_manifest_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"tutorial\.yaml: file not found$"):
        manifest.load(tmp_path / "tutorial.yaml")
    (tmp_path / "tutorial.yaml").write_bytes(b"title: caf\xe9\n")
    with pytest.raises(ManifestError, match=r"tutorial\.yaml: not UTF-8 text"):
        manifest.load(tmp_path / "tutorial.yaml")


CANDIDATE_TAGS = ["1a", "v1.0", "ch1/a", "a@b", "caf\u00e9", "x-", "HEAD", "a.lock.b",
                  "a b", "a..b", "v1.lock", "a.lock/b", "a/b.lock/c", "/a", "a/", "a//b",
                  "a.", ".a", "a/.b", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
                  "a\tb", "a\x7f", "a@{1}", "@{", ""]


@pytest.mark.parametrize("tag", CANDIDATE_TAGS)
def test_tag_check_agrees_with_git(tmp_path: Path, tag: str) -> None:
    """tag_problem() refuses exactly the names `git check-ref-format` refuses."""
    git_ok = subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"],
                            capture_output=True).returncode == 0
    assert (tag_problem(tag) is None) == git_ok, tag_problem(tag)


def test_tags_git_allows_but_the_tool_refuses() -> None:
    # `-x` would be read as an option, `@` is HEAD's shorthand.
    for tag in ("-x", "@"):
        assert subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"]).returncode == 0
        assert tag_problem(tag) is not None


# -- editing ---------------------------------------------------------------------------

COMMENTED = """\
# The tutorial, with the author's notes.
title: "My tutorial"   # shown on the site
repo: build/repo       # where the history goes
branch: main
message: 'Chapter {chapter}: {title} ({tag})'

chapters:
  # first things first
  - number: 1
    title: Hello, World!
    slug: 01-hello
    steps:
      - 1a             # shorthand
      - tag: 1b
        title: A second step
  - title: Templates   # title before number: the author's order
    number: 2
    steps:
      - tag: 2a
      - name: readme-update
        message: Update the README
"""


def test_edit_keeps_comments_order_and_quoting(tmp_path: Path) -> None:
    path = _project(tmp_path, COMMENTED)
    manifest.edit(path, lambda data: data.__setitem__("repo", "out/history"))
    assert path.read_text(encoding="utf-8") == COMMENTED.replace(
        "repo: build/repo       #", "repo: out/history      #")
    assert manifest.load(path, check_files=False).repo == "out/history"


def test_edit_without_change_is_byte_identical(tmp_path: Path) -> None:
    path = _project(tmp_path, COMMENTED)
    manifest.edit(path, lambda data: None)
    assert path.read_text(encoding="utf-8") == COMMENTED


def test_edit_that_breaks_the_manifest_writes_nothing(tmp_path: Path) -> None:
    path = _project(tmp_path, COMMENTED)
    with pytest.raises(ManifestError, match=r"unknown key 'bogus' in the manifest"):
        manifest.edit(path, lambda data: data.__setitem__("bogus", 1))
    assert path.read_text(encoding="utf-8") == COMMENTED

"""`tutorial changes` on real histories: fixes made at several steps with the rewrite engine
(one of them needing a conflict resolution further on), added and removed steps; origins,
inheritance and adaptation must come out exactly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import markdown
import pytest

from testing.cli import run_main
from testing.gitrepo import git
from testing.tutorials import load, make_project
from tutorial_tools.engine import changes as changes_mod
from tutorial_tools.engine import errata, rewrite
from tutorial_tools.reporter import Recorder


def numbered(prefix: str, n: int, **changed: str) -> str:
    """n lines `<prefix> line i`, with line i replaced where `changed` has `l<i>`."""
    return "".join(changed.get(f"l{i}", f"{prefix} line {i}") + "\n" for i in range(n))


STEPS = [
    ("1a", {"app.py": numbered("app", 30), "util.py": numbered("util", 20),
            "README.md": "# App\n"}),
    ("1b", {"app.py": numbered("app", 30, l10="value = 1")}),
    ("1c", {"util.py": numbered("util", 20, l15="util 15 at 1c")}),
    ("2a", {"app.py": numbered("app", 30, l10="value = 1", l25="app 25 at 2a")}),
    ("2b", {"util.py": None, "lib/util.py": numbered("util", 20, l15="util 15 at 1c")}),
    ("2c", {"app.py": numbered("app", 30, l10="value = 10", l25="app 25 at 2a")}),
    ("2d", {"notes.md": "notes\n"}),
    ("3a", {"lib/util.py": numbered("util", 20, l15="util 15 at 1c", l18="util 18 at 3a")}),
]


def built(root: Path) -> Path:
    return root / "build" / "repo"


def published_copy(root: Path, dest: Path) -> Path:
    """A bare copy of the built history, as readers cloned it."""
    git(root, "clone", "-q", "--mirror", str(built(root)), str(dest))
    return dest


def fix(root: Path, tmp: Path, tag: str, path: str, old: str, new: str) -> bytes:
    """A `git diff` replacing `old` by `new` in PATH as it is at TAG."""
    scratch = tmp / f"fix-{tag}"
    git(tmp, "clone", "-q", "--no-checkout", str(built(root)), str(scratch))
    git(scratch, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    target = scratch / path
    text = target.read_text()
    assert text.count(old) == 1
    target.write_text(text.replace(old, new))
    return (git(scratch, "diff", "--full-index") + "\n").encode()


def apply(root: Path, tag: str, patch: bytes) -> rewrite.RewriteResult:
    return rewrite.apply_patch(load(root), tag, patch, Recorder(), command=f"apply {tag}")


def folder_digest(path: Path) -> str:
    """Every file under `path` (names, bytes) in one hash: proof nothing was written."""
    h = hashlib.sha1()
    for folder, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(files):
            p = Path(folder) / name
            h.update(str(p.relative_to(path)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def fixed(tmp_path: Path) -> tuple[Path, Path]:
    """(project, bare copy of its first edition): three fixes made since, at 1b, 1c and 2d;
    the one at 1b conflicts at 2c (both change line 10 of app.py) and is resolved there."""
    root = make_project(tmp_path, STEPS)
    old = published_copy(root, tmp_path / "first-edition.git")
    result = apply(root, "1b", fix(root, tmp_path, "1b", "app.py", "value = 1\n",
                                   "value = 2\n"))
    assert (result.status, result.conflict_step) == ("stopped", "2c")
    app = built(root) / "app.py"
    assert "<<<<<<<" in app.read_text()
    app.write_text(numbered("app", 30, l10="value = 20", l25="app 25 at 2a"))
    assert rewrite.continue_(load(root), Recorder()).status == "done"
    assert apply(root, "1c", fix(root, tmp_path, "1c", "util.py", "util line 3\n",
                                 "util line 3, fixed\n")).status == "done"
    assert apply(root, "2d", fix(root, tmp_path, "2d", "notes.md", "notes\n",
                                 "notes, fixed\n")).status == "done"
    return root, old


def test_origins_inheritance_and_an_adapted_step_are_exact(fixed: tuple[Path, Path]) -> None:
    root, old = fixed
    before = folder_digest(old)
    result = changes_mod.changes(load(root), str(old))
    assert folder_digest(old) == before  # OLD is only read
    assert [(s.tag, s.status, s.kind, s.sources) for s in result.steps] == [
        ("1a", "same", None, ()),
        ("1b", "changed", "fix", ()),
        ("1c", "changed", "fix", ("1b",)),  # its own fix, and it carries 1b's
        ("2a", "changed", "inherited", ("1b", "1c")),
        ("2b", "changed", "inherited", ("1b", "1c")),  # 1c's fix follows util.py's rename
        ("2c", "changed", "adapted", ("1b", "1c")),
        ("2d", "changed", "fix", ("1b", "1c")),
        ("3a", "changed", "inherited", ("1b", "1c", "2d")),
    ]
    by_origin = {f.introduced_at: f for f in result.fixes}
    assert list(by_origin) == ["1b", "1c", "2d"]
    a, b, c = by_origin["1b"], by_origin["1c"], by_origin["2d"]
    assert (a.files, a.inherited_by, a.adapted) == (("app.py",), ("1c", "2a", "2b", "2d", "3a"),
                                                    ("2c",))
    # 2c carries 1c's fix cleanly (in lib/util.py); only 1b's needed the resolution.
    assert (b.files, b.inherited_by, b.adapted) == (("util.py",),
                                                    ("2a", "2b", "2c", "2d", "3a"), ())
    assert (c.files, c.inherited_by, c.adapted) == (("notes.md",), ("3a",), ())
    # Each diff is the fix alone: nothing the step inherited, nothing of its own change.
    assert "-value = 1\n+value = 2\n" in a.diff and "util" not in a.diff
    assert "-util line 3\n+util line 3, fixed\n" in b.diff and "value" not in b.diff
    assert "-notes\n+notes, fixed\n" in c.diff and c.diff.count("@@ ") == 1


def test_same_history_has_no_changes(fixed: tuple[Path, Path]) -> None:
    root, _ = fixed
    result = changes_mod.changes(load(root), str(built(root)))
    assert {s.status for s in result.steps} == {"same"} and result.fixes == ()
    assert "No step's code has changed." in errata.markdown(result)


def test_added_and_removed_steps(fixed: tuple[Path, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    root, old = fixed
    second = published_copy(root, tmp_path / "second-edition.git")
    patch = tmp_path / "extra.patch"
    patch.write_bytes(b"--- /dev/null\n+++ b/extra.txt\n@@ -0,0 +1 @@\n+extra\n")
    for args in (["step", "add", "1d", "--after", "1c", "--patch", str(patch)],
                 ["step", "drop", "2d"]):
        code, _, err = run_main(capsys, "--project", str(root), *args)
        assert code == 0, err
    result = changes_mod.changes(load(root), str(second))
    assert [(s.tag, s.status, s.kind, s.sources) for s in result.steps] == [
        ("1a", "same", None, ()), ("1b", "same", None, ()), ("1c", "same", None, ()),
        ("1d", "added", None, ()),
        ("2a", "changed", "inherited", ("1d",)), ("2b", "changed", "inherited", ("1d",)),
        ("2c", "changed", "inherited", ("1d",)),
        ("2d", "removed", None, ()),
        ("3a", "changed", "inherited", ("1d", "2d")),
    ]
    assert result.fixes == ()
    page = errata.markdown(result)
    assert "New steps: 1d." in page and "Removed steps: 2d." in page
    # Against the first edition, the fixes are still found where they were made.
    first = changes_mod.changes(load(root), str(old))
    assert [f.introduced_at for f in first.fixes] == ["1b", "1c"]
    assert [s.tag for s in first.steps if s.status == "removed"] == ["2d"]


def test_cli_formats(fixed: tuple[Path, Path], tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    root, old = fixed
    code, out, err = run_main(capsys, "--project", str(root), "changes", str(old),
                              "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [(s["tag"], s["status"]) for s in data["steps"]][:3] == [
        ("1a", "same"), ("1b", "changed"), ("1c", "changed")]
    assert data["fixes"][2] == {"introduced_at": "2d", "inherited_by": ["3a"], "adapted": [],
                                "files": ["notes.md"], "diff": data["fixes"][2]["diff"]}
    assert "+notes, fixed" in data["fixes"][2]["diff"]

    code, out, err = run_main(capsys, "--project", str(root), "changes", str(old))
    assert code == 0, err
    assert out.splitlines()[0].endswith(
        "8 step(s): 1 same, 7 changed; 3 fix(es) (introduced at 1b, 1c, 2d)")
    assert "  2c         adapted (carrying the change needed a resolution) from 1b, 1c" in out
    assert "Fix introduced at 1b (app.py): inherited by 1c, 2a, 2b, 2d, 3a; adapted at 2c" \
        in out

    page = tmp_path / "docs" / "errata.md"
    code, out, err = run_main(capsys, "--project", str(root), "changes", str(old),
                              "--format", "markdown", "--output", str(page))
    assert code == 0 and out == "", err
    text = page.read_text()
    assert text.startswith("# Errata\n")
    assert "## Step 1b: `app.py`" in text
    assert "Steps that have it: **1b** (where it was made), 1c, 2a, 2b, 2c (adapted by hand), " \
           "2d, 3a." in text
    assert "```diff\ndiff --git a/app.py b/app.py\n--- a/app.py\n" in text
    assert "```sh\ngit fetch --tags --force\ngit checkout TAG\n```" in text
    assert "git stash pop" in text


def test_unknown_old(fixed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = fixed
    code, _, err = run_main(capsys, "--project", str(root), "changes", "nowhere")
    assert code == 1
    assert "nowhere is neither a remote of" in err and "git -C" in err


def test_errata_markdown_shows_hostile_tags_and_paths_as_text() -> None:
    # Git allows `<`, `>`, `=`, `(` and `/` in tags, and any byte but NUL in paths.
    tag = "<img/src=x/onerror=alert(1)>"
    path = "a`<script>alert(2)</script>`\n<script>alert(3)</script>.py"
    fixes = (changes_mod.Fix(tag, (path, "<b>bold.py"), "diff --git a/x b/x\n", ("2a",),
                             ("<b>c",)),)
    steps = (changes_mod.StepChange(tag, "changed", "1" * 40, "2" * 40, "fix"),
             changes_mod.StepChange("2a", "changed", "3" * 40, "4" * 40, "inherited", (tag,)),
             changes_mod.StepChange("<b>c", "changed", "5" * 40, "6" * 40, "adapted", (tag,)),
             changes_mod.StepChange("<i>new", "added", None, "7" * 40),
             changes_mod.StepChange("<u>gone", "removed", "8" * 40, None))
    page = errata.markdown(changes_mod.Changes("old", "new", steps, fixes))
    html = markdown.markdown(page, extensions=["toc", "tables", "fenced_code"])
    for element in ("<img", "<script", "<b>", "<i>", "<u>"):
        assert element not in html, page
    plain = html.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    for shown in (tag, "<b>c (adapted by hand)", "<i>new", "<u>gone", "<b>bold.py",
                  "a`<script>alert(2)</script>`\\n<script>alert(3)</script>.py"):
        assert shown in plain, html

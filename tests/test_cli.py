"""The `tutorial` command's wiring: options reach the engine, results reach the user, and
failures become messages and exit codes (through `cli.main`, as the installed script runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from testing.cli import run_main
from testing.gitrepo import Repo, git
from tutorial_tools import __version__
from tutorial_tools.cli import cli


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result




def _source(path: Path) -> Repo:
    src = Repo(path)
    src.write("app.py", "print('one')\n")
    src.commit("Chapter 1: Start (1a)", tag="1a")
    src.write("app.py", "print('one')\nprint('two')\n")
    src.commit("Chapter 1: Start (1b)", tag="1b")
    src.write("README.md", "# App\n")
    src.commit("Chapter 2: Docs (2a)", tag="2a")
    return src


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An imported and built project; the current folder is its root."""
    src = _source(tmp_path / "src")
    root = tmp_path / "project"
    monkeypatch.chdir(tmp_path)
    assert run("import", str(src.path), "--into", "project").exit_code == 0
    monkeypatch.chdir(root)
    assert run("build").exit_code == 0
    return root


def test_init_build_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "demo", "--title", "My Demo")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "created tutorial.yaml", "created chapters/01-getting-started/1a.patch",
        "created chapters/01-getting-started/index.md", "created .gitignore",
        "created mkdocs.yml", "Next: `tutorial build` makes the history in build/repo."]
    root = tmp_path / "demo"
    assert "title: My Demo" in (root / "tutorial.yaml").read_text()

    monkeypatch.chdir(root)
    st = json.loads(run("status", "--json").stdout)
    assert (st["built"], st["unbuilt"], st["worktree"], st["rewrite"]) == (False, ["1a"],
                                                                          None, None)
    assert "  not built yet: run `tutorial build`" in run("status").stdout

    result = run("build")
    assert result.exit_code == 0
    assert result.stderr == ("Built 1 step into build/repo: 1 commit made, 2 refs moved; "
                             "work tree updated.\n")
    built = root / "build" / "repo"
    assert git(built, "tag") == "1a"
    assert git(built, "log", "--format=%an <%ae>|%s", "main") == (
        "Ada Author <ada@example.com>|Chapter 1: Getting started (1a)")
    assert (built / "README.md").read_text() == "# My Demo\n"
    assert run("build").stderr == "Up to date: 1 step in build/repo.\n"
    capsys.readouterr()
    assert run_main(capsys, "build") == (0, "", "Up to date: 1 step in build/repo.\n")

    text = run("status").stdout
    assert text.splitlines() == [
        f"Project {root}: 1 step; history in {built}",
        f"  work tree {built} at 1a",
        "  up to date",
    ]
    st = json.loads(run("status", "--json").stdout)
    assert {"worktree", "rewrite"} <= st.keys()
    assert st["worktree"] == str(built)
    assert st["rewrite"] is None
    assert (st["built"], st["clean"], st["head"], st["steps"], st["unbuilt"]) == (
        True, True, "1a", 1, [])


def test_status_reports_a_changed_step(project: Path) -> None:
    step = project / "chapters" / "01-start" / "1b.patch"
    step.write_bytes(step.read_bytes().replace(b"+print('two')", b"+print('TWO')"))
    assert "  2 step(s) changed since the last build, from 1b: run `tutorial build`" in (
        run("status").stdout.splitlines())
    st = json.loads(run("status", "--json").stdout)
    assert (st["unbuilt"], st["clean"]) == (["1b", "2a"], False)
    assert run("build").stderr == ("Built 3 steps into build/repo: 2 commits made, 3 refs "
                                   "moved; work tree updated.\n")
    assert git(project / "build" / "repo", "show", "1b:app.py") == "print('one')\nprint('TWO')"


def test_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _source(tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    result = run("import", str(src.path), "--into", "tut")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Imported 3 steps (3 tagged) in 2 chapters from branch main into tut",
        "Next: `tutorial build` recreates the history from chapters/."]
    assert sorted(p.relative_to(tmp_path / "tut").as_posix()
                  for p in (tmp_path / "tut" / "chapters").glob("*/*.patch")) == [
        "chapters/01-start/1a.patch", "chapters/01-start/1b.patch", "chapters/02-docs/2a.patch"]
    assert run("--project", "tut", "build").exit_code == 0
    assert git(tmp_path / "tut" / "build" / "repo", "show-ref") == git(src.path, "show-ref")


def test_import_quiet_says_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _source(tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    result = run("-q", "import", str(src.path), "--into", "tut", "--tags", "1*")
    assert (result.exit_code, result.stderr) == (0, "")
    # 2a does not match: its commit, after the last tag, becomes an untagged step.
    assert sorted(p.name for p in (tmp_path / "tut" / "chapters").glob("*/*.patch")) == [
        "1a.patch", "1b.patch", "chapter-2-docs-2a.patch"]
    assert run("-q", "--project", "tut", "build").stderr == ""
    built = tmp_path / "tut" / "build" / "repo"
    assert git(built, "tag") == "1a\n1b"
    assert git(built, "rev-parse", "main") == git(src.path, "rev-parse", "main")


def test_diff_between_two_steps(project: Path) -> None:
    result = run("diff", "1a", "2a")
    assert result.exit_code == 0
    built = project / "build" / "repo"
    expected = subprocess.run(["git", "-C", str(built), "diff", "--full-index", "1a", "2a"],
                              capture_output=True, check=True).stdout.decode()
    assert result.stdout == expected
    assert "+print('two')" in result.stdout and "+# App" in result.stdout


def test_diff_defaults_to_the_next_step_and_stat(project: Path) -> None:
    assert run("diff", "1a").stdout == run("diff", "1a", "1b").stdout
    assert run("diff", "1a", "--stat").stdout == (
        " app.py | 1 +\n1 file(s) changed, 1 insertion(s)(+), 0 deletion(s)(-)\n")
    assert run("diff", "1a", "2a", "--stat").stdout == (
        " README.md | 1 +\n app.py    | 1 +\n"
        "2 file(s) changed, 2 insertion(s)(+), 0 deletion(s)(-)\n")
    assert run("diff", "2a", "1a", "--stat").stdout == (
        " README.md | 1 -\n app.py    | 1 -\n"
        "2 file(s) changed, 0 insertion(s)(+), 2 deletion(s)(-)\n")


def test_diff_color_option(project: Path) -> None:
    assert "\x1b[" not in run("diff", "1a").stdout  # not a terminal: no colour
    assert "\x1b[" in run("diff", "1a", "--color").stdout


def test_show(project: Path) -> None:
    commit = git(project / "build" / "repo", "rev-parse", "1b^{commit}")
    lines = run("show", "1b").stdout.splitlines()
    assert lines[:5] == [
        f"step 1b  (chapter 1: Start)  commit {commit}",
        "Chapter 1: Start (1b)",
        " app.py | 1 +",
        "1 file(s) changed, 1 insertion(s)(+), 0 deletion(s)(-)",
        "",
    ]
    assert lines[5] == "diff --git a/app.py b/app.py"
    assert lines[-1] == "+print('two')"
    first = run("show", "1a").stdout.splitlines()
    assert "new file mode 100644" in first and first[-1] == "+print('one')"


def test_from_a_subfolder_and_with_project(project: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    here = run("status").stdout
    assert here.startswith(f"Project {project}: 3 steps")
    monkeypatch.chdir(project / "chapters" / "01-start")
    assert run("status").stdout == here
    monkeypatch.chdir(tmp_path)
    assert run("--project", "project", "status").stdout == here
    assert run("--project", str(project), "show", "2a").exit_code == 0


def test_build_repo_is_recorded_in_the_manifest(project: Path) -> None:
    result = run("build", "--repo", "out/history")
    assert result.exit_code == 0
    manifest = (project / "tutorial.yaml").read_text()
    assert "\nrepo: out/history\n" in manifest
    assert manifest.startswith("# The tutorial: chapters")  # the comment survives
    assert git(project / "out" / "history", "show-ref") == git(project / "build" / "repo",
                                                              "show-ref")
    assert run("status", "--json").stdout.count(str(project / "out" / "history")) == 2


def test_outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for command in (["status"], ["build"], ["diff", "1a"], ["show", "1a"]):
        code, out, err = run_main(capsys, *command)
        assert code == 1, command
        assert out == ""
        assert err.splitlines()[0] == (f"error: no tutorial.yaml in {tmp_path} or any folder "
                                       "above it")
        assert "`tutorial init`" in err and "`tutorial import SRC`" in err
        assert "Traceback" not in err


def test_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "status")[0] == 0
    code, _, err = run_main(capsys, "show", "9z")
    assert code == 1
    assert err.startswith(f"error: {project / 'tutorial.yaml'}: no step '9z'\n")
    assert "Steps: 1a, 1b, 2a" in err
    code, _, err = run_main(capsys, "diff", "2a")
    assert (code, err) == (1, "error: 2a is the last step\nTry `tutorial show 2a`.\n")
    code, _, err = run_main(capsys, "diff")
    assert code == 2 and "Missing argument 'A'" in err
    code, _, err = run_main(capsys, "frobnicate")
    assert code == 2 and "No such command 'frobnicate'" in err
    assert run_main(capsys, "--help")[0] == 0


def test_init_refuses_an_existing_project(project: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "tutorial.yaml").read_bytes()
    code, _, err = run_main(capsys, "init", ".")
    assert code == 1
    assert err.startswith(f"error: {project / 'tutorial.yaml'} already exists\n")
    assert (project / "tutorial.yaml").read_bytes() == before


def test_python_m_runs_the_cli(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tutorial_tools", "--help"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: tutorial [OPTIONS] COMMAND [ARGS]...")
    for command in ("init", "import", "build", "status", "diff", "show"):
        assert f"\n  {command} " in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tutorial_tools", "--version"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, f"tutorial, version {__version__}\n")
    proc = subprocess.run([sys.executable, "-m", "tutorial_tools", "status"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no tutorial.yaml in ")
    assert "Traceback" not in proc.stderr


def test_diff_stat_has_a_line_per_file_like_git(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from testing.tutorials import make_project

    words = "".join(f"word {i}\n" for i in range(30))
    root = make_project(tmp_path, [
        ("1a", {"docs/words.txt": words, "logo.bin": "\x00one\x00" * 10, "old.txt": "x\n"}),
        ("1b", {"docs/words.txt": None, "docs/renamed.txt": words.replace("word 3\n", "w3\n"),
                "logo.bin": "\x00two\x00" * 10, "old.txt": None,
                "big.txt": "".join(f"{i}\n" for i in range(200))}),
    ])
    monkeypatch.chdir(root)
    lines = run("diff", "1a", "1b", "--stat").stdout.splitlines()
    assert lines == [
        " big.txt                            | 200 " + "+" * 38,  # scaled to 80 columns
        " docs/words.txt => docs/renamed.txt |   2 +-",
        " logo.bin                           | Bin",
        " old.txt                            |   1 -",
        "4 file(s) changed, 201 insertion(s)(+), 2 deletion(s)(-)",
    ]
    assert len(lines[0]) == 80
    numstat = git(root / "build" / "repo", "diff", "--numstat", "-M", "1a", "1b")
    assert [line.split("\t")[:2] for line in numstat.splitlines()] == [
        ["200", "0"], ["1", "1"], ["-", "-"], ["0", "1"]]

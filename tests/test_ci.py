"""`tutorial ci`: the generated GitHub workflow, read back with a YAML parser; its matrix's
shards, run as the jobs would run them, verify every step exactly once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing.cli import run_main
from testing.gitrepo import git
from testing.tutorials import configure, load, make_project
from tutorial_tools.engine import ci
from tutorial_tools.errors import TutorialError

STEPS = [(f"{c}{letter}", {f"ch{c}.txt": letter * (i + 1)})
         for c in (1, 2, 3) for i, letter in enumerate("abc")]
LABELS = [tag for tag, _ in STEPS]




def _parse(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on".
    data["on"] = data.pop(True)
    return data  # type: ignore[no-any-return]


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if s.get("name") == name or s.get("uses", "") == name]
    assert len(found) == 1, (name, [s.get("name") for s in job["steps"]])
    return found[0]  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path, STEPS)
    git(root, "init", "-q")  # the tutorial project is a git repository of its own
    configure(root, top={"test": 'echo "$TUTORIAL_STEP" >> "$RUNS"'})
    monkeypatch.setenv("RUNS", str(tmp_path / "runs.txt"))
    monkeypatch.chdir(root)
    return root


def test_workflow_matrix_covers_every_step(project: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "ci", "--shards", "4")
    assert code == 0, err
    path = project / ".github" / "workflows" / "tutorial.yml"
    assert err.splitlines() == [
        "Created .github/workflows/tutorial.yml: 9 steps over 4 parallel job(s).",
        "Next: commit it; each push then builds and verifies every step."]
    data = _parse(path.read_text())
    assert set(data["on"]) == {"push", "pull_request", "workflow_dispatch", "schedule"}
    job = data["jobs"]["verify"]
    assert job["strategy"]["matrix"] == {"shard": [1, 2, 3, 4]}
    assert job["strategy"]["fail-fast"] is False
    assert _step(job, "Build the history")["run"] == "tutorial build"
    command = _step(job, "Verify shard ${{ matrix.shard }} of 4")["run"]
    assert command.startswith('tutorial -v verify --shard "${{ matrix.shard }}/4" '
                              '--junit "reports/junit-${{ matrix.shard }}.xml" '
                              '--json "reports/verify-${{ matrix.shard }}.json"')
    upload = _step(job, "Upload the reports")
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports"
    assert (upload["with"]["name"]) == "tutorial-verify-${{ matrix.shard }}"
    restore = _step(job, "Restore the results of earlier runs")
    assert restore["with"]["path"] == "build/repo/.git/tutorial/verify/results.json"
    assert data["env"]["VERIFY_STATE"] == "build/repo/.git/tutorial/verify"
    gate = data["jobs"]["verified"]
    assert (gate["needs"], gate["if"]) == ("verify", "always()")
    assert gate["steps"][0]["run"] == 'test "$RESULT" = success'
    assert gate["steps"][0]["env"]["RESULT"] == "${{ needs.verify.result }}"

    # Run each shard as its job would, with a JSON report: together they verify every
    # step, each exactly once.
    shard = re.search(r'--shard "\$\{\{ matrix.shard \}\}/(\d+)"', command)
    assert shard is not None
    n = int(shard.group(1))
    seen: list[str] = []
    for k in job["strategy"]["matrix"]["shard"]:
        report = tmp_path / f"verify-{k}.json"
        code, _, err = run_main(capsys, "verify", "--no-cache", "--shard", f"{k}/{n}",
                                "--json", str(report))
        assert code == 0, err
        seen += [s["step"] for s in json.loads(report.read_text())["steps"]]
    assert sorted(seen) == sorted(LABELS)
    assert sorted((tmp_path / "runs.txt").read_text().split()) == sorted(LABELS)


def test_default_shards_grow_with_the_steps(project: Path) -> None:
    assert [ci.default_shards(n) for n in (0, 1, 25, 26, 100, 480, 501, 5000)] == [
        1, 1, 1, 2, 4, 20, 20, 20]
    workflow = ci.github_workflow(load(project))
    assert workflow.shards == 1
    assert _parse(workflow.text)["jobs"]["verify"]["strategy"]["matrix"]["shard"] == [1]


def test_steps_added_later_are_covered_without_a_new_workflow(project: Path) -> None:
    text = ci.github_workflow(load(project), shards=2).text
    configure(project, top={"test": "true"})  # the manifest changes; the workflow need not
    assert ci.github_workflow(load(project), shards=2).text == text
    assert "1a" not in text and "3c" not in text  # no step is named in it


def test_install_spec_and_python_are_quoted(project: Path) -> None:
    spec = 'git+https://example.com/tools.git@v1#egg=tutorial-tools "quoted"'
    data = _parse(ci.github_workflow(load(project), install=spec, python="3.11").text)
    assert data["env"]["TUTORIAL_TOOLS"] == spec
    job = data["jobs"]["verify"]
    assert _step(job, "actions/setup-python@v5")["with"]["python-version"] == "3.11"
    assert _step(job, "Install tutorial-tools")["run"] == (
        'python -m pip install "$TUTORIAL_TOOLS"')


def test_project_in_a_subfolder_of_its_repository(tmp_path: Path) -> None:
    top = tmp_path / "book"
    git(top.parent, "init", "-q", "book")
    root = make_project(top, STEPS[:2])  # top/project
    configure(root, top={"test": "true"})
    workflow = ci.github_workflow(load(root))
    assert workflow.path == top / ".github" / "workflows" / "tutorial.yml"
    job = _parse(workflow.text)["jobs"]["verify"]
    assert job["defaults"]["run"]["working-directory"] == "project"
    assert _step(job, "Upload the reports")["with"]["path"] == "project/reports"
    assert _step(job, "Restore the results of earlier runs")["with"]["path"] == (
        "project/build/repo/.git/tutorial/verify/results.json")


def test_rewrites_its_own_file_but_not_someone_elses(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = project / ".github" / "workflows" / "tutorial.yml"
    assert run_main(capsys, "ci")[0] == 0
    code, _, err = run_main(capsys, "ci")
    assert (code, err) == (0, "Unchanged .github/workflows/tutorial.yml: 9 steps over 1 "
                              "parallel job(s).\n")
    code, _, err = run_main(capsys, "ci", "--shards", "3")
    assert code == 0
    assert err.startswith("Updated .github/workflows/tutorial.yml: 9 steps over 3")

    mine = path.read_text().split("\n", 1)[1]  # the first line removed: the author's now
    path.write_text(mine)
    code, _, err = run_main(capsys, "ci", "--shards", "2")
    assert code == 1
    assert "exists and was not written by `tutorial ci`" in err
    assert "`tutorial ci --force`" in err
    assert path.read_text() == mine
    code, out, _ = run_main(capsys, "ci", "--stdout")
    assert (code, path.read_text()) == (0, mine)
    assert out.startswith(ci.MARKER)
    assert run_main(capsys, "ci", "--force")[0] == 0
    assert path.read_text() == out

    with pytest.raises(TutorialError, match="not written by `tutorial ci`"):
        path.write_text("name: mine\n")
        ci.write_workflow(ci.github_workflow(load(project)))


def test_refuses_a_workflow_that_would_test_nothing(project: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    configure(project, top={"test": False})
    path = project / ".github" / "workflows" / "tutorial.yml"
    code, _, err = run_main(capsys, "ci")
    assert code == 1
    assert err.startswith(f"error: no step of {project / 'tutorial.yaml'} has a `test:` "
                          "command: a CI workflow would test nothing")
    assert "Add `test: <command>` to tutorial.yaml" in err
    assert "`tutorial ci --force`" in err
    assert not path.exists()

    configure(project, steps={"2a": {"test": "true"}})  # one tested step is enough
    assert run_main(capsys, "ci")[0] == 0
    path.unlink()
    configure(project, steps={"2a": {"test": False}})
    assert run_main(capsys, "ci", "--force")[0] == 0
    assert path.read_text().startswith(ci.MARKER)


def test_the_workflow_says_how_many_jobs_in_good_english(project: Path) -> None:
    one = ci.github_workflow(load(project), shards=1).text.splitlines()[1]
    assert one == "# in one job. Run `tutorial ci` again to update it; once you delete"
    three = ci.github_workflow(load(project), shards=3).text.splitlines()[1]
    assert three.startswith("# spread over 3 parallel jobs. Run")

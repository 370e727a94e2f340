"""`tutorial ci`: a CI workflow that builds the history and verifies every step.

The steps are spread over parallel jobs as a matrix of shards: job k of n runs
`tutorial verify --shard k/n`, every n-th step starting at the k-th. Shards are chosen
when the workflow runs, from the manifest of that commit, so steps added later are
covered without writing the workflow again. Each job keeps its passes in the CI cache
(results are keyed by tree, so only steps whose trees changed run again), uploads its
JUnit and JSON reports and its logs, and a last job fails the workflow if any shard failed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import TutorialError
from ..manifest import Manifest

PROVIDERS = ("github",)
STEPS_PER_SHARD = 25
MAX_SHARDS = 20  # GitHub's free plan runs 20 jobs at once
MARKER = "# Written by `tutorial ci`"
DEFAULT_PYTHON = "3.12"


@dataclass(frozen=True)
class Workflow:
    path: Path
    text: str
    shards: int


def default_shards(steps: int) -> int:
    """One job per 25 steps, from 1 to 20 jobs."""
    return max(1, min(MAX_SHARDS, math.ceil(steps / STEPS_PER_SHARD)))


def _git_root(start: Path) -> Path:
    """The top of the git repository holding `start` (or `start` when there is none)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _q(value: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(value)


def github_workflow(manifest: Manifest, *, shards: int | None = None,
                    install: str | None = None, python: str = DEFAULT_PYTHON,
                    force: bool = False) -> Workflow:
    """The GitHub Actions workflow for this tutorial (not written yet). Without `force`,
    refused when no step has a test command: every job would test nothing."""
    if not force and not any(s.test for s in manifest.steps):
        raise TutorialError(
            f"no step of {manifest.path} has a `test:` command: a CI workflow would test "
            "nothing",
            "Nothing was written. Add `test: <command>` to tutorial.yaml (at the top for every "
            "step, or on a chapter or step), check it with `tutorial verify`, then run "
            "`tutorial ci` again (or `tutorial ci --force` for a workflow that only builds).")
    root = manifest.root.resolve()
    top = _git_root(root)
    sub = os.path.relpath(root, top)
    n = shards or default_shards(len(manifest.steps))
    if n < 1:
        raise TutorialError("--shards must be at least 1")
    state = os.path.relpath(manifest.repo_path / ".git" / "tutorial" / "verify", root)

    def from_top(path: str) -> str:  # actions' paths start at the repository's top
        return os.path.normpath(os.path.join(sub, path))

    cache_key = f"tutorial-verify-${{{{ runner.os }}}}-${{{{ matrix.shard }}}}of{n}-"
    spread = "in one job" if n == 1 else f"spread over {n} parallel jobs"
    defaults = (f"    defaults:\n      run:\n        working-directory: {_q(sub)}\n"
                if sub != "." else "")
    text = f"""\
{MARKER}: it builds the tutorial's history and verifies every step,
# {spread}. Run `tutorial ci` again to update it; once you delete
# this first line, `tutorial ci` leaves the file alone (unless given --force).
name: tutorial

on:
  push:
  pull_request:
  workflow_dispatch:
  schedule:
    - cron: "17 4 * * 1"  # Mondays: every step again, ignoring the results of earlier runs

permissions:
  contents: read

env:
  # What the jobs install with pip: a version, a git URL (git+https://...) or a path.
  TUTORIAL_TOOLS: {_q(install or f"tutorial-tools=={__version__}")}
  VERIFY_STATE: {_q(state)}

jobs:
  verify:
    name: verify ${{{{ matrix.shard }}}}/{n}
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        shard: [{", ".join(str(k) for k in range(1, n + 1))}]
{defaults}    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: {_q(python)}
      - name: Install tutorial-tools
        run: python -m pip install "$TUTORIAL_TOOLS"
      - name: Build the history
        run: tutorial build
      - name: Restore the results of earlier runs
        if: github.event_name != 'schedule'
        uses: actions/cache/restore@v4
        with:
          path: {_q(from_top(state + "/results.json"))}
          key: {cache_key}${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}
          restore-keys: {cache_key}
      - name: Verify shard ${{{{ matrix.shard }}}} of {n}
        run: >-
          tutorial -v verify --shard "${{{{ matrix.shard }}}}/{n}"
          --junit "reports/junit-${{{{ matrix.shard }}}}.xml"
          --json "reports/verify-${{{{ matrix.shard }}}}.json"
          ${{{{ github.event_name == 'schedule' && '--no-cache' || '' }}}}
      - name: Save the results for later runs
        if: always() && github.event_name != 'schedule'
        uses: actions/cache/save@v4
        with:
          path: {_q(from_top(state + "/results.json"))}
          key: {cache_key}${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}
      - name: Keep the logs with the reports
        if: always()
        run: |
          if [ -d "$VERIFY_STATE/logs" ]; then
            mkdir -p reports && cp -R "$VERIFY_STATE/logs" reports/
          fi
      - name: Upload the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: tutorial-verify-${{{{ matrix.shard }}}}
          path: {_q(from_top("reports"))}
          if-no-files-found: ignore

  verified:
    name: every step verified
    if: always()
    needs: verify
    runs-on: ubuntu-latest
    steps:
      - name: Fail unless every shard passed
        run: test "$RESULT" = success
        env:
          RESULT: ${{{{ needs.verify.result }}}}
"""
    return Workflow(top / ".github" / "workflows" / "tutorial.yml", text, n)


def write_workflow(workflow: Workflow, *, force: bool = False) -> str:
    """Write the workflow: "created", "updated" or "unchanged". A file that `tutorial ci`
    did not write (or whose first line was removed) is left alone unless `force`."""
    path = workflow.path
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    if old == workflow.text:
        return "unchanged"
    if old is not None and not old.startswith(MARKER) and not force:
        raise TutorialError(
            f"{path} exists and was not written by `tutorial ci` (or its first line was "
            "removed to keep it)",
            "Nothing was changed. Compare it with `tutorial ci --stdout`, or replace it with "
            "`tutorial ci --force`.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow.text, encoding="utf-8")
    return "created" if old is None else "updated"

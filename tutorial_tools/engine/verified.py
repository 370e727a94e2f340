"""What `tutorial verify` keeps between runs, and how it is pruned.

In `<repo>/.git/tutorial/verify/`: `results.json`, the passes, keyed by (tree, command,
setup inputs); `envs/`, the environments setup commands built (see runner.py); `logs/`,
the last log of each step. After each run (one that was not interrupted):

- a pass is kept while its tree is a step's tree now, or for RESULT_DAYS after it was
  remembered (so after `tutorial undo`, or on another branch, recent passes still count),
  and never more than _KEPT_RESULTS of them (the oldest go); this happens when a run
  remembers passes, so a run with nothing to do writes nothing;
- an environment is kept while some step's setup needs it, and KEPT_ENVS more, the most
  recently used, so going back to an earlier state of the tutorial does not rebuild them;
  one that another run is building or testing in (it holds its lock) is left alone;
- a step's log is kept while the manifest has the step.

Nothing is pruned while some step is not built (what it will need is not known yet).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .runner import Environments

CACHE_VERSION = 1
_KEPT_RESULTS = 20_000  # passes remembered at most; the oldest go first
RESULT_DAYS = 30  # passes of trees no step has any more are forgotten after this
KEPT_ENVS = 3  # environments no step uses that are kept (the most recently used)
AT = "%Y-%m-%dT%H:%M:%S"  # when a pass was remembered (local time)


@dataclass(frozen=True)
class InUse:
    """What the steps of the manifest use now: their trees and environments. None when
    some step is not built yet (what it will use is unknown: nothing is pruned)."""

    trees: frozenset[str] | None
    envs: frozenset[str] | None


def load_results(where: Path) -> dict[str, dict[str, Any]]:
    """The passes remembered (key -> step, tree, seconds, at); empty when unreadable."""
    try:
        data = json.loads((where / "results.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    passed = data.get("passed", {})
    return passed if isinstance(passed, dict) else {}


def save_results(where: Path, new: dict[str, dict[str, Any]],
                 trees: frozenset[str] | None = None) -> None:
    """Add passes to the cache (merged with what another run may have written meanwhile).
    Passes older than RESULT_DAYS go, unless their tree is in `trees` (the steps' trees
    now; None: keep them all); then the oldest beyond _KEPT_RESULTS."""
    if not new:
        return
    passed = {**load_results(where), **new}
    if trees is not None:
        cutoff = time.strftime(AT, time.localtime(time.time() - RESULT_DAYS * 86400))
        passed = {key: hit for key, hit in passed.items()
                  if str(hit.get("at", "")) >= cutoff or hit.get("tree") in trees}
    if len(passed) > _KEPT_RESULTS:
        passed = dict(sorted(passed.items(), key=lambda kv: str(kv[1].get("at", "")))
                      [-_KEPT_RESULTS:])
    where.mkdir(parents=True, exist_ok=True)
    tmp = where / f"results.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"version": CACHE_VERSION, "passed": passed}))
    tmp.replace(where / "results.json")


def prune(where: Path, envs: Environments, in_use: InUse, steps: set[str]) -> list[str]:
    """Remove the environments no step uses (but the KEPT_ENVS most recently used) and the
    logs of step names not in `steps`; return the keys of the environments removed."""
    removed = envs.prune(set(in_use.envs), KEPT_ENVS) if in_use.envs is not None else []
    names = {f"{name}.log" for name in steps}
    try:
        logs = list(os.scandir(where / "logs"))
    except OSError:
        return removed
    for entry in logs:
        if entry.name.endswith(".log") and entry.name not in names and entry.is_file(
                follow_symlinks=False):
            with suppress(OSError):
                os.unlink(entry.path)
    return removed

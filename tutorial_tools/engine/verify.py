"""`tutorial verify`: run each step's tests in a fresh export of the step's tree.

Every step is checked out into a temporary folder of its own (never the author's work
tree) and its test command runs there through `/bin/sh -c`, with a time limit, in
parallel. A pass is remembered under (tree, command, setup inputs), so a second run with
nothing changed runs nothing, and after a fix at step k only the steps whose trees
changed run again. The cache, the environments and the logs live in the built
repository's git directory (`<repo>/.git/tutorial/verify/`), and are pruned after each
run (see verified.py).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from ..errors import GitError, TutorialError
from ..gitstore import Repository, git_env
from ..manifest import Manifest, Step
from ..oplog import OpLog
from ..reporter import Reporter, count, status_progress
from .build import BuiltStep, built_steps, state_dir
from .ready import editing, rewrite_in_progress
from .runner import (
    Environments,
    EnvSpec,
    Outcome,
    Processes,
    SetupFailed,
    remove_tree,
    run_shell,
)
from .verified import AT, InUse, load_results, prune, save_results

DEFAULT_TIMEOUT = 600.0  # seconds, when neither the manifest nor --timeout says
TAIL_LINES = 20

# Statuses of a step's result.
PASSED, FAILED, TIMED_OUT, ERROR = "passed", "failed", "timed out", "error"
CACHED, SKIPPED, NOT_RUN = "cached", "skipped", "not run"


@dataclass(frozen=True)
class StepResult:
    step: Step
    status: str  # one of the statuses above
    command: str | None = None
    tree: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0  # for a cached step, the time it took when it ran
    log: Path | None = None
    tail: str = ""  # the last lines of its output, for a failure
    reason: str = ""  # why it failed without an exit code, was skipped or not run
    setup_built: bool = False  # this step ran its environment's setup

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, TIMED_OUT, ERROR)


@dataclass(frozen=True)
class VerifyResult:
    repo: Path
    results: tuple[StepResult, ...]
    jobs: int
    seconds: float
    command: str | None  # --command, when given
    setups: int = 0  # environments built

    def count(self, *statuses: str) -> int:
        return sum(r.status in statuses for r in self.results)

    @property
    def ran(self) -> int:
        return self.count(PASSED, FAILED, TIMED_OUT, ERROR)

    @property
    def failures(self) -> tuple[StepResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.count(NOT_RUN)


@dataclass(frozen=True)
class _Job:
    step: Step
    tree: str
    command: str
    timeout: float
    env: EnvSpec | None
    key: str  # in the results cache


def verify_dir(repo: Repository) -> Path:
    return state_dir(repo) / "verify"


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` -> (K, N), with 1 <= K <= N."""
    k, sep, n = text.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise ValueError(f"{text!r} is not K/N with 1 <= K <= N (e.g. 2/8)")


def select(manifest: Manifest, refs: Sequence[str] = (), from_step: str | None = None,
           shard: tuple[int, int] | None = None) -> tuple[Step, ...]:
    """The steps to verify, in manifest order: those named, those from `from_step` on (all
    when neither is given); with `shard` (k, n), every n-th of them starting at the k-th."""
    steps = manifest.steps
    chosen = {manifest.step(ref).name for ref in refs}
    if from_step is not None:
        start = steps.index(manifest.step(from_step))
        chosen |= {s.name for s in steps[start:]}
    selected = tuple(s for s in steps if s.name in chosen) if chosen else steps
    if shard is not None:
        k, n = shard
        selected = selected[k - 1::n]
    return selected


def verify(manifest: Manifest, reporter: Reporter, *, steps: Sequence[str] = (),
           from_step: str | None = None, shard: tuple[int, int] | None = None,
           jobs: int | None = None, command: str | None = None, timeout: float | None = None,
           use_cache: bool = True, fail_fast: bool = False) -> VerifyResult:
    """Test the selected steps; passes are remembered and not run again.

    `command` replaces every step's test command (and runs on steps without tests too);
    `timeout` replaces every step's time limit; `use_cache=False` runs every step even if
    it passed before (its passes are still remembered).
    """
    started = time.perf_counter()
    selected = select(manifest, steps, from_step, shard)
    if command is None and not any(s.test for s in manifest.steps):
        raise TutorialError(
            "no step has a test command",
            "Add one to tutorial.yaml (e.g. `test: pytest -q` at the top; see the README), "
            "or pass `tutorial verify --command CMD`.",
        )
    path = manifest.repo_path
    if not (path / ".git").exists():
        raise TutorialError(f"no built history in {path}", "Run `tutorial build` first.")
    _say_what_is_verified(manifest, reporter)
    jobs = jobs or os.cpu_count() or 1
    with Repository(path) as repo:
        plan, results, in_use = _plan(manifest, repo, selected, command, timeout)
        where = verify_dir(repo)
        cache = load_results(where) if use_cache else {}
        todo = []
        for job in plan:
            hit = cache.get(job.key)
            if hit is None:
                todo.append(job)
                continue
            log = where / "logs" / f"{job.step.name}.log"
            results[job.step.name] = StepResult(
                job.step, CACHED, job.command, job.tree, 0, float(hit.get("seconds", 0.0)),
                log if log.is_file() else None)
        run = _Run(repo, where, Environments(where / "envs"), fail_fast=fail_fast,
                   in_use=in_use)
        results.update(_run(todo, results, run, reporter, jobs))
        removed = prune(where, run.envs, run.in_use, {s.name for s in manifest.steps})
        if removed:
            reporter.detail(f"removed {count(len(removed), 'environment')} no step uses "
                            f"from {run.envs.root}")
    return VerifyResult(path, tuple(results[s.name] for s in selected), jobs,
                        time.perf_counter() - started, command, run.envs.built)


def _say_what_is_verified(manifest: Manifest, reporter: Reporter) -> None:
    """Verify tests the history as last built. While a rewrite is under way that is not
    what the author is working on: say so, or refuse where the step files are half written."""
    op = OpLog(manifest.root).interrupted()
    if op is not None:
        raise TutorialError(
            f"the rewrite `tutorial {op.command}` (#{op.id}) was interrupted while writing "
            "chapters/", "Finish it with `tutorial continue`, or go back with `tutorial "
            "abort`; then verify.")
    stopped = rewrite_in_progress(manifest)
    if stopped is not None:
        reporter.warn(f"a rewrite is stopped at step {stopped['step']} (`tutorial "
                      f"{stopped['command']}`): verifying the history as last built, without "
                      "it")
    step = editing(manifest)
    if step is not None:
        reporter.warn(f"step {step} is being edited: verifying the history as last built, "
                      "without those edits (`tutorial save` carries them into it)")


def _plan(manifest: Manifest, repo: Repository, selected: Sequence[Step], command: str | None,
          timeout: float | None) -> tuple[list[_Job], dict[str, StepResult], InUse]:
    """The jobs to run, the results known without running (skipped steps), and what
    every step of the manifest uses now."""
    built = {s.name: b for s, b in zip(manifest.steps, built_steps(manifest, repo),
                                       strict=True)}
    made = [(name, b.commit) for name, b in built.items() if b is not None]
    trees = dict(zip([name for name, _ in made], repo.trees_of([c for _, c in made]),
                     strict=True))  # one round trip for every step's tree
    stale = [s.label for s in selected if built[s.name] is None]
    if stale:
        raise TutorialError(
            f"{len(stale)} step(s) changed since the last build (from {stale[0]}): "
            "their tests would run on an old history",
            "Run `tutorial build`, then `tutorial verify` again.",
        )
    jobs: list[_Job] = []
    known: dict[str, StepResult] = {}
    for step in selected:
        b = built[step.name]
        assert b is not None
        run = command if command is not None else step.test
        if run is None:
            known[step.name] = StepResult(step, SKIPPED, reason="no tests")
            continue
        tree = trees[step.name]
        env = _env(repo, step, tree)
        limit = timeout or step.timeout or DEFAULT_TIMEOUT
        jobs.append(_Job(step, tree, run, limit, env, _result_key(tree, run, env)))
    return jobs, known, _in_use(manifest, repo, list(built.values()), trees, jobs)


def _env(repo: Repository, step: Step, tree: str) -> EnvSpec | None:
    if step.setup is None:
        return None
    return EnvSpec(step.setup, tuple((p, repo.entry_id(tree, p)) for p in step.setup_files))


def _in_use(manifest: Manifest, repo: Repository, built: Sequence[BuiltStep | None],
            trees: Mapping[str, str], jobs: Sequence[_Job]) -> InUse:
    """The trees and environments of every step (`trees`, by step name; the jobs'
    environments are known already)."""
    if any(b is None for b in built):
        return InUse(None, None)
    envs = {job.env.key for job in jobs if job.env is not None}
    planned = {job.step.name for job in jobs}
    for step in manifest.steps:
        if step.name not in planned:
            env = _env(repo, step, trees[step.name])
            if env is not None:
                envs.add(env.key)
    return InUse(frozenset(trees.values()), frozenset(envs))


def _result_key(tree: str, command: str, env: EnvSpec | None) -> str:
    h = hashlib.sha1(f"verify-v1\0{tree}\0{command}\0".encode())
    if env is not None:
        h.update(env.key.encode())
    return h.hexdigest()


# -- running -----------------------------------------------------------------------------


@dataclass
class _Run:
    """What the worker threads share."""

    repo: Repository  # only `export_tree`, which is safe in threads, is used from them
    where: Path
    envs: Environments
    tmp: Path = Path()
    processes: Processes = field(default_factory=Processes)
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: list[str] = field(default_factory=list)  # labels, in the order they started
    fail_fast: bool = False
    stopped: str = ""  # why the run stopped early
    in_use: InUse = field(default_factory=lambda: InUse(None, None))


def _run(todo: list[_Job], known: dict[str, StepResult], run: _Run, reporter: Reporter,
         jobs: int) -> dict[str, StepResult]:
    """Run the jobs on `jobs` threads; their results by step name. Passes are remembered
    even when the run is interrupted."""
    out: dict[str, StepResult] = {}
    if not todo:
        return out
    (run.where / "logs").mkdir(parents=True, exist_ok=True)
    run.tmp = Path(tempfile.mkdtemp(prefix="tutorial-verify-"))
    counts = {PASSED: 0, FAILED: 0, CACHED: sum(r.status == CACHED for r in known.values())}
    try:
        with status_progress(reporter, "Verifying", len(todo) + len(known)) as update, \
                ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="verify") as pool:
            shown = _status(run, counts)
            update(len(known), shown)
            pending = {pool.submit(_run_job, job, run): job for job in todo}
            try:
                while pending:
                    done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = pending.pop(future)
                        result = (StepResult(job.step, NOT_RUN, job.command, job.tree,
                                             reason=run.stopped)
                                  if future.cancelled() else future.result())
                        out[job.step.name] = result
                        if result.status == PASSED or result.failed:
                            counts[FAILED if result.failed else PASSED] += 1
                        reporter.detail(_line(result))
                        if run.stopped:
                            _stop(run, pending, run.stopped)
                    status = _status(run, counts)
                    if done or status != shown:
                        update(len(done), status)
                        shown = status
            except BaseException:
                _stop(run, pending, "interrupted")  # Ctrl-C: end every test, start no more
                raise
    finally:
        remove_tree(run.tmp)
        save_results(run.where, {job.key: {"step": job.step.label, "tree": job.tree,
                                           "seconds": round(out[job.step.name].seconds, 3),
                                           "at": time.strftime(AT)}
                                 for job in todo if job.step.name in out
                                 and out[job.step.name].status == PASSED}, run.in_use.trees)
    return out


def _stop(run: _Run, pending: dict[Future[StepResult], _Job], why: str) -> None:
    run.stopped = run.stopped or why
    run.processes.stop()
    for f in pending:
        f.cancel()


def _status(run: _Run, counts: dict[str, int]) -> str:
    with run.lock:
        running = list(run.running)
    now = ", ".join(running[:4]) + (" ..." if len(running) > 4 else "")
    return (f"{now or '-'}  {counts[PASSED]} passed, {counts[FAILED]} failed, "
            f"{counts[CACHED]} cached")


def _line(r: StepResult) -> str:
    if r.status == PASSED:
        return f"passed {r.step.label} in {r.seconds:.2f} s"
    if r.status == NOT_RUN:
        return f"not run {r.step.label}: {r.reason}"
    return f"FAILED {r.step.label}: {describe(r)}"


def describe(r: StepResult) -> str:
    """Why a step failed, in a few words."""
    if r.status == TIMED_OUT:
        return f"`{r.command}` timed out after {r.seconds:.1f} s"
    if r.status == ERROR:
        return r.reason
    return f"`{r.command}` exited with code {r.exit_code} after {r.seconds:.1f} s"


def _run_job(job: _Job, run: _Run) -> StepResult:
    step = job.step
    if run.stopped:
        return StepResult(step, NOT_RUN, job.command, job.tree, reason=run.stopped)
    with run.lock:
        run.running.append(step.label)
    folder = Path(tempfile.mkdtemp(prefix=f"{step.name}-", dir=run.tmp))
    log_path = run.where / "logs" / f"{step.name}.log"
    try:
        with open(log_path, "wb") as log:
            result = _test(job, run, folder, log, log_path)
        if result.failed and run.fail_fast:
            # Here, not in the main thread: this worker must not start another step first.
            run.stopped = run.stopped or "stopped at the first failure (--fail-fast)"
            run.processes.stop()
        return result
    finally:
        with run.lock:
            run.running.remove(step.label)
        remove_tree(folder)


def _test(job: _Job, run: _Run, folder: Path, log: BinaryIO, log_path: Path) -> StepResult:
    """Export the step into `folder`, build its environment if needed, run its command."""
    step = job.step
    export = folder / step.name
    log.write(f"# tutorial verify: step {step.label} (chapter {step.chapter}), "
              f"tree {job.tree}\n".encode())
    error = StepResult(step, ERROR, job.command, job.tree, log=log_path)
    try:
        run.repo.export_tree(job.tree, export, folder / "index")
    except GitError as e:
        log.write(f"{e.message}\n".encode())
        return replace(error, reason=f"cannot check out its tree: {e.message}")
    env = {**git_env(), "TUTORIAL_STEP": step.label, "TUTORIAL_CHAPTER": str(step.chapter)}
    built = False
    with ExitStack() as using:
        if job.env is not None:
            spec = job.env
            env["TUTORIAL_ENV"] = str(run.envs.path(spec))

            def setup(path: Path) -> Outcome:
                log.write(f"# setup: {spec.command}\n".encode())
                return run_shell(spec.command, export, env, job.timeout, log, run.processes)

            try:  # the environment stays in use (never pruned) until the test ends
                built = using.enter_context(run.envs.using(spec, step.label, setup))
            except SetupFailed as e:
                if run.stopped:
                    return StepResult(step, NOT_RUN, job.command, job.tree, reason=run.stopped)
                log.write(f"# {e.message}\n".encode())
                return replace(error, reason=e.message, tail=_tail(log_path, 0))
            _activate(env, run.envs.path(spec))
        log.write(f"# test: {job.command}\n".encode())
        offset = log.tell()
        outcome = run_shell(job.command, export, env, job.timeout, log, run.processes)
    if outcome.exit_code is None and not outcome.timed_out:
        return StepResult(step, NOT_RUN, job.command, job.tree, log=log_path,
                          reason=run.stopped, setup_built=built)
    status = PASSED if outcome.exit_code == 0 else TIMED_OUT if outcome.timed_out else FAILED
    log.flush()
    return StepResult(step, status, job.command, job.tree, outcome.exit_code, outcome.seconds,
                      log_path, _tail(log_path, offset) if status != PASSED else "",
                      setup_built=built)


def _activate(env: dict[str, str], path: Path) -> None:
    """Put the environment's programs first on PATH; a virtualenv also gets VIRTUAL_ENV."""
    if (path / "bin").is_dir():
        env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    if (path / "pyvenv.cfg").is_file():
        env["VIRTUAL_ENV"] = str(path)
        env.pop("PYTHONHOME", None)


def _tail(path: Path, offset: int) -> str:
    """The last lines of a log from `offset` (where the command's output starts)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - 16_384))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-TAIL_LINES:])

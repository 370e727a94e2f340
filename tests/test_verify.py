"""`tutorial verify`: real exports of real histories, real shell commands. Counts of the
commands that ran tell what the cache saved; files the commands write tell where they ran
and with what environment."""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.cli import run_main
from testing.gitrepo import git
from testing.tutorials import build, configure, edit_step_file, load, make_project
from tutorial_tools.engine import reports
from tutorial_tools.engine.runner import Environments, EnvSpec, Outcome
from tutorial_tools.engine.verify import (
    CACHED,
    ERROR,
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    VerifyResult,
    parse_shard,
    select,
    verify,
)
from tutorial_tools.errors import ManifestError, TutorialError
from tutorial_tools.reporter import Recorder

# Each step adds its own file; 2a adds notes.txt, which no later step touches, so editing
# it changes the trees of 2a and every later step and of no earlier one.
STEPS = (
    ("1a", {"app.txt": "one\n", "status.txt": "ok\n"}),
    ("1b", {"app.txt": "one\ntwo\n"}),
    ("2a", {"notes.txt": "draft\n"}),
    ("2b", {"app.txt": "one\ntwo\nthree\n"}),
    ("3a", {"readme.txt": "read me\n"}),
)
LABELS = [tag for tag, _ in STEPS]

# Appends the step to $RUNS (one line per command run), then passes when status.txt says ok.
COUNTING = 'echo "$TUTORIAL_STEP" >> "$RUNS" && grep -qx ok status.txt'


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file each counting test command appends its step to."""
    path = tmp_path / "runs.txt"
    monkeypatch.setenv("RUNS", str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path, STEPS)
    configure(root, top={"test": COUNTING})
    return root


def ran(runs: Path) -> list[str]:
    """The steps whose command ran since the last call (and forget them)."""
    if not runs.exists():
        return []
    steps = runs.read_text().split()
    runs.unlink()
    return sorted(steps)


def statuses(result: VerifyResult) -> dict[str, str]:
    return {r.step.label: r.status for r in result.results}




# -- where and how each step runs -------------------------------------------------------


def test_each_step_runs_in_its_own_export_with_its_name_and_chapter(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = tmp_path / "seen"
    seen.mkdir()
    monkeypatch.setenv("SEEN", str(seen))
    # Each command records where it ran, what it saw, and leaves a file behind.
    command = ('{ pwd; echo "$TUTORIAL_CHAPTER"; ls -A | sort | tr "\\n" " "; } '
               '> "$SEEN/$TUTORIAL_STEP" && touch left-behind')
    worktree = project / "build" / "repo"
    before = git(worktree, "status", "--porcelain", "--untracked-files=all")
    result = verify(load(project), Recorder(), command=command, jobs=2)
    assert statuses(result) == dict.fromkeys(LABELS, PASSED)
    where = {}
    for tag in LABELS:
        cwd, chapter, files = (seen / tag).read_text().splitlines()
        where[tag] = cwd
        assert chapter == tag[0]
        assert Path(cwd).name == tag
        assert not Path(cwd).is_relative_to(project)  # never the author's work tree
        assert not Path(cwd).exists()  # removed afterwards
        expected = {"1a": "app.txt status.txt", "1b": "app.txt status.txt",
                    "2a": "app.txt notes.txt status.txt", "2b": "app.txt notes.txt status.txt",
                    "3a": "app.txt notes.txt readme.txt status.txt"}[tag]
        assert files.strip() == expected
    assert len(set(where.values())) == len(LABELS)
    assert git(worktree, "status", "--porcelain", "--untracked-files=all") == before
    assert not (worktree / "left-behind").exists()


def test_folders_made_read_only_by_a_test_are_removed(project: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing of a run stays in the temporary folder. (Run as root, permissions do not stop
    # a deletion: only as another user does this also test the read-only folders.)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    result = verify(load(project), Recorder(), steps=["1a"],
                    command="mkdir -p cache/pkg && touch cache/pkg/f && chmod -R a-w cache")
    assert statuses(result) == {"1a": PASSED}
    assert list((tmp_path / "tmp").iterdir()) == []


def test_exports_keep_modes_and_symlinks_and_ignore_export_ignore(tmp_path: Path) -> None:
    root = make_project(tmp_path, [("1a", {"run.sh": "#!/bin/sh\necho ran\n",
                                           ".gitattributes": "tests/ export-ignore\n",
                                           "tests/t.txt": "kept\n"})])
    src = tmp_path / "src"
    (src / "run.sh").chmod(0o755)
    (src / "link").symlink_to("tests/t.txt")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "Chapter 1: Part 1 (1b)")
    git(src, "tag", "1b")
    root = tmp_path / "again"
    from tutorial_tools.engine import importer

    importer.import_repository(str(src), root, Recorder())
    build(root)
    result = verify(load(root), Recorder(), steps=["1b"],
                    command='./run.sh && test -L link && grep -qx kept link')
    assert statuses(result) == {"1b": PASSED}


# -- the cache ---------------------------------------------------------------------------


def test_cache_runs_only_what_changed(project: Path, runs: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = verify(load(project), Recorder())
    assert ran(runs) == LABELS
    assert (first.ran, first.count(PASSED), first.count(CACHED)) == (5, 5, 0)

    again = verify(load(project), Recorder())
    assert ran(runs) == []
    assert statuses(again) == dict.fromkeys(LABELS, CACHED)
    assert [r.seconds for r in again.results] == [round(r.seconds, 3) for r in first.results]

    monkeypatch.chdir(project)
    code, _, err = run_main(capsys, "verify")
    assert code == 0
    assert err == ("Nothing to run: 5 step(s) passed before with the same tree, command and "
                   "setup (cached).\n")
    assert ran(runs) == []

    # A fix at 2a: 2a and the steps after it get new trees; 1a and 1b keep theirs.
    edit_step_file(project, "2a", b"+draft", b"+final")
    with pytest.raises(TutorialError, match=r"2 step\(s\)|3 step\(s\) changed since the last "
                                            r"build \(from 2a\)") as e:
        verify(load(project), Recorder())
    assert e.value.hint == "Run `tutorial build`, then `tutorial verify` again."
    build(project)
    after = verify(load(project), Recorder())
    assert ran(runs) == ["2a", "2b", "3a"]
    assert statuses(after) == {"1a": CACHED, "1b": CACHED, "2a": PASSED, "2b": PASSED,
                               "3a": PASSED}

    # Another command is another key; --no-cache runs everything but still remembers.
    verify(load(project), Recorder(), command=COUNTING + " && true")
    assert ran(runs) == LABELS
    verify(load(project), Recorder(), use_cache=False)
    assert ran(runs) == LABELS
    verify(load(project), Recorder(), steps=["3a"])
    assert ran(runs) == []


def test_failures_are_not_cached(project: Path, runs: Path) -> None:
    edit_step_file(project, "2b", b"+three", b"+four")
    build(project)
    configure(project, steps={"2b": {"test": COUNTING + " && ! grep -q four app.txt"}})
    first = verify(load(project), Recorder())
    assert statuses(first)["2b"] == FAILED
    assert ran(runs) == LABELS
    second = verify(load(project), Recorder())
    assert ran(runs) == ["2b"]  # the failure runs again; the passes do not
    assert statuses(second) == {"1a": CACHED, "1b": CACHED, "2a": CACHED, "2b": FAILED,
                                "3a": CACHED}


def test_cache_lives_in_the_built_repository(project: Path, runs: Path) -> None:
    verify(load(project), Recorder())
    state = project / "build" / "repo" / ".git" / "tutorial" / "verify"
    cache = json.loads((state / "results.json").read_text())
    assert sorted(e["step"] for e in cache["passed"].values()) == LABELS
    assert sorted(p.name for p in (state / "logs").iterdir()) == [f"{t}.log" for t in LABELS]
    assert git(project / "build" / "repo", "status", "--porcelain", "--ignored") == ""


def test_old_passes_of_trees_no_step_has_are_forgotten(project: Path, runs: Path) -> None:
    verify(load(project), Recorder())
    state = project / "build" / "repo" / ".git" / "tutorial" / "verify"
    data = json.loads((state / "results.json").read_text())
    long_ago = "2001-01-01T00:00:00"
    for hit in data["passed"].values():
        hit["at"] = long_ago  # current trees: kept however old
    data["passed"]["old"] = {"step": "9z", "tree": "0" * 40, "seconds": 1.0, "at": long_ago}
    data["passed"]["older"] = {"step": "9y", "seconds": 1.0, "at": long_ago}  # no tree
    data["passed"]["recent"] = {"step": "9x", "tree": "1" * 40, "seconds": 1.0,
                                "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (state / "results.json").write_text(json.dumps(data))
    verify(load(project), Recorder())  # nothing ran: nothing written
    assert len(json.loads((state / "results.json").read_text())["passed"]) == 8
    edit_step_file(project, "3a", b"+read me", b"+read me twice")
    build(project)
    verify(load(project), Recorder())
    assert ran(runs) == [*LABELS, "3a"]
    kept = json.loads((state / "results.json").read_text())["passed"]
    assert "old" not in kept and "older" not in kept and "recent" in kept
    # 1a..2b (old, of trees steps have), the new 3a; not the old 3a (an old tree now).
    assert sorted(hit["step"] for hit in kept.values()) == sorted([*LABELS, "9x"])
    assert sum(hit["at"] == long_ago for hit in kept.values()) == 4


def test_environments_no_step_uses_are_removed_but_the_latest_few(
        tmp_path: Path) -> None:
    root = make_project(tmp_path, [("1a", {"requirements.txt": "flask==1\n"}),
                                   ("1b", {"requirements.txt": "flask==2\n"})])
    envs = root / "build" / "repo" / ".git" / "tutorial" / "verify" / "envs"
    logs = envs.parent / "logs"
    setup = 'echo {} > "$TUTORIAL_ENV/made"'
    made: list[set[str]] = []
    for n in range(5):  # each setup command: two more environments
        configure(root, top={"test": 'test -f "$TUTORIAL_ENV/made"', "setup": setup.format(n),
                             "setup_files": ["requirements.txt"]})
        before = {p.name for p in envs.iterdir() if p.is_dir()} if envs.exists() else set()
        if n == 0:
            # Not the tool's: never removed, however unused.
            logs.mkdir(parents=True)
            (logs / "gone.log").write_text("a step the manifest no longer has\n")
            (logs / "notes.txt").write_text("mine\n")
            envs.mkdir(parents=True)
            (envs / "notes.txt").write_text("mine\n")
            (envs / "0123456789abcdefg").mkdir()
        result = verify(load(root), Recorder(), jobs=1)
        assert result.setups == 2 and result.count(PASSED) == 2
        now = {p.name for p in envs.iterdir() if p.is_dir()} - {"0123456789abcdefg"}
        made.append(now - before)
        for p in envs.glob("*.ready"):  # the order of last use, beyond the clock's grain
            if p.stem in made[-1]:
                os.utime(p, (time.time() + n, time.time() + n))
    # The two environments in use, then the three used last (of the run before).
    assert len(now) == 5 and made[4] < now
    assert len(now & made[3]) == 2 and len(now & made[2]) == 1
    assert not now & (made[0] | made[1])
    assert sorted(p.name for p in envs.iterdir() if not p.is_dir()) == sorted(
        ["notes.txt"] + [f"{key}{suffix}" for key in now for suffix in (".lock", ".ready")])
    assert (envs / "0123456789abcdefg").is_dir()
    assert sorted(p.name for p in logs.iterdir()) == ["1a.log", "1b.log", "notes.txt"]


def test_an_environment_in_use_is_not_pruned_by_another_run(tmp_path: Path) -> None:
    # Run A tests in its environment (v0) while other runs, each with another setup
    # command, prune what no step of theirs uses: the fourth would remove v0 (the least
    # recently used of four), but A's test holds it, so it stays until A is done.
    root = make_project(tmp_path, [("1a", {"requirements.txt": "flask==1\n"})])
    signals = tmp_path / "signals"
    signals.mkdir()
    envs = root / "build" / "repo" / ".git" / "tutorial" / "verify" / "envs"
    setup = 'echo {} > "$TUTORIAL_ENV/m"'
    slow = (f'touch "{signals}/started"; while [ ! -e "{signals}/go" ]; do sleep 0.02; done; '
            'test "$(cat "$TUTORIAL_ENV/m")" = 0')
    configure(root, top={"test": slow, "setup": setup.format(0),
                         "setup_files": ["requirements.txt"]})
    first = load(root)
    a: list[VerifyResult] = []
    run_a = threading.Thread(target=lambda: a.append(verify(first, Recorder(), timeout=60)))
    run_a.start()
    try:
        _wait_for(lambda: (signals / "started").exists(), "run A's test to start")
        (v0,) = envs.glob("*.ready")
        os.utime(v0, (1, 1))  # the least recently used, whatever the clock's grain
        for n in range(1, 5):
            configure(root, top={"test": 'test -f "$TUTORIAL_ENV/m"', "setup": setup.format(n)})
            other = verify(load(root), Recorder())
            assert (other.setups, statuses(other)) == (1, {"1a": PASSED})
        assert v0.is_file() and (envs / v0.stem / "m").is_file()
    finally:
        (signals / "go").touch()
        run_a.join(60)
    assert not run_a.is_alive() and statuses(a[0]) == {"1a": PASSED}
    # Now that no test uses it, pruning removes it.
    assert v0.stem in Environments(envs).prune(set(), 0)
    assert not v0.exists() and not (envs / v0.stem).exists()


def test_an_environment_lock_removed_while_waited_for_is_taken_again(tmp_path: Path) -> None:
    # A pruning run removes an environment's lock file while another run waits to use the
    # environment (ready here: as when a third run built it again meanwhile). The waiting
    # run must lock the file now at that path, not the removed one: else a pruning run,
    # opening the path afresh, could remove the environment while its tests run.
    envs = Environments(tmp_path / "envs")
    spec = EnvSpec("setup", ())
    envs.path(spec).mkdir(parents=True)
    (envs.root / f"{spec.key}.ready").write_text("{}")
    lock_path = envs.root / f"{spec.key}.lock"
    held = open(lock_path, "a")  # noqa: SIM115 (released below, by hand)
    fcntl.flock(held, fcntl.LOCK_EX)
    seen: list[str] = []

    def setup(path: Path) -> Outcome:
        seen.append("setup")
        return Outcome(0, 0.0, False)

    def use() -> None:
        with envs.using(spec, "1a", setup), open(lock_path, "a") as now:
            try:
                fcntl.flock(now, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append("the file at the path is not locked")
            except BlockingIOError:
                seen.append("locked")

    waiting = threading.Thread(target=use)
    waiting.start()
    try:
        _wait_for(lambda: _lock_waited_for(lock_path), "the thread to wait for the lock")
    finally:
        lock_path.unlink()  # as pruning does, still holding it
        held.close()
        waiting.join(10)
    assert not waiting.is_alive()
    assert seen == ["locked"]  # the lock at the path was taken; nothing was built


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.01)


def _lock_waited_for(path: Path) -> bool:
    """Whether some process is blocked in `flock` on the file at `path` (/proc/locks
    lists a blocked request as `-> FLOCK ADVISORY READ|WRITE pid major:minor:inode ...`)."""
    st = path.stat()
    file = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and file in fields[fields.index("->"):]:
            return True
    return False


# -- failures -----------------------------------------------------------------------------


def test_a_failing_step_names_its_command_exit_code_output_and_log(
        project: Path, runs: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    edit_step_file(project, "2b", b"+three", b"+broken")
    build(project)
    failing = ('for i in $(seq 1 40); do echo "output line $i"; done; '
               'printf "\\033[31mred\\033[0m\\n"; grep -q broken app.txt && exit 4; true')
    configure(project, chapters={2: {"test": failing}})
    monkeypatch.chdir(project)
    code, _, err = run_main(capsys, "verify", "-j", "2", "--json", str(tmp_path / "v.json"))
    assert code == 1
    log = project / "build" / "repo" / ".git" / "tutorial" / "verify" / "logs" / "2b.log"
    lines = err.splitlines()
    assert lines[0] == f"FAILED 2b (chapter 2): `{failing}` exited with code 4 after " + \
        lines[0].rsplit("after ", 1)[1]
    # The last 20 lines of its output (click drops the colours off a terminal).
    assert lines[1:21] == [f"  | output line {i}" for i in range(22, 41)] + ["  | red"]
    assert lines[21] == "  full log: build/repo/.git/tutorial/verify/logs/2b.log"
    assert lines[-3].startswith("Verified 5 step(s) in ")
    assert lines[-3].endswith(" with 2 job(s): 5 ran (4 passed, 1 failed), 0 cached.")
    assert lines[-2:] == [
        "error: 1 step(s) failed: 2b",
        "Fix a step with `tutorial edit 2b` and `tutorial save`, then run `tutorial verify` "
        "again (only the steps whose trees changed run).",
    ]
    text = log.read_text()
    assert "output line 1\n" in text and "output line 40\n" in text
    assert f"# test: {failing}\n" in text
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["ok"] is False
    assert report["counts"]["failed"] == 1


def test_timeout_kills_the_whole_process_group(project: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("PIDS", str(pids))
    # The shell starts a background child, then waits: both must be gone after the limit.
    slow = 'sleep 60 & echo $! > "$PIDS/$TUTORIAL_STEP"; sleep 60; echo never'
    configure(project, top={"test": "true"}, steps={"1b": {"test": slow, "timeout": 0.5}})
    start = time.monotonic()
    result = verify(load(project), Recorder(), jobs=2)
    assert time.monotonic() - start < 20
    assert statuses(result) == {"1a": PASSED, "1b": TIMED_OUT, "2a": PASSED, "2b": PASSED,
                                "3a": PASSED}
    timed_out = result.results[1]
    assert (timed_out.exit_code, timed_out.failed) == (None, True)
    assert 0.5 <= timed_out.seconds < 10
    pid = int((pids / "1b").read_text())
    assert _gone(pid)
    # --timeout replaces every limit.
    fast = verify(load(project), Recorder(), command="sleep 5", timeout=0.2, steps=["1a"],
                  use_cache=False)
    assert statuses(fast) == {"1a": TIMED_OUT}
    assert fast.results[0].seconds < 4


def _gone(pid: int, wait: float = 5.0) -> bool:
    """Whether process `pid` has ended (a zombie no one reaped yet counts as ended)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        except OSError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            state = "R"
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_fail_fast_stops_at_the_first_failure(project: Path, runs: Path) -> None:
    configure(project, steps={"1b": {"test": COUNTING + " && exit 1"}})
    result = verify(load(project), Recorder(), jobs=1, fail_fast=True)
    assert statuses(result) == {"1a": PASSED, "1b": FAILED, "2a": NOT_RUN, "2b": NOT_RUN,
                                "3a": NOT_RUN}
    assert ran(runs) == ["1a", "1b"]
    assert result.results[2].reason == "stopped at the first failure (--fail-fast)"
    assert not result.ok
    keep_going = verify(load(project), Recorder(), jobs=1)
    assert ran(runs) == ["1b", "2a", "2b", "3a"]
    assert statuses(keep_going)["3a"] == PASSED


# -- parallel runs -------------------------------------------------------------------------


# Each command marks itself started, then waits (up to 10 s) until `$WANT` commands have
# started; it records how many were running at once.
BARRIER = ('mkdir "$BARRIER/$TUTORIAL_STEP"; i=0; '
           'while [ "$(ls "$BARRIER" | wc -l)" -lt "$WANT" ] && [ $i -lt 200 ]; do '
           'sleep 0.05; i=$((i+1)); done; '
           'ls "$BARRIER" | wc -l >> "$BARRIER.seen"; '
           '[ "$(ls "$BARRIER" | wc -l)" -ge "$WANT" ]')


def test_jobs_run_steps_at_the_same_time(project: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    monkeypatch.setenv("BARRIER", str(barrier))
    monkeypatch.setenv("WANT", "3")
    result = verify(load(project), Recorder(), command=BARRIER, jobs=3, steps=["1a", "1b", "2a"])
    assert statuses(result) == {"1a": PASSED, "1b": PASSED, "2a": PASSED}
    assert result.jobs == 3


def test_one_job_runs_one_step_at_a_time(project: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    counting = ('mkdir "$DIR/running.$TUTORIAL_STEP"; ls "$DIR" | grep -c running >> '
                '"$DIR.seen"; sleep 0.1; rmdir "$DIR/running.$TUTORIAL_STEP"')
    (tmp_path / "d").mkdir()
    monkeypatch.setenv("DIR", str(tmp_path / "d"))
    result = verify(load(project), Recorder(), command=counting, jobs=1)
    assert result.count(PASSED) == 5
    assert (tmp_path / "d.seen").read_text().split() == ["1"] * 5
    result = verify(load(project), Recorder(), command=counting, jobs=5, use_cache=False)
    assert max(int(n) for n in (tmp_path / "d.seen").read_text().split()[5:]) >= 2


def test_progress_shows_running_steps_and_counts(project: Path, runs: Path) -> None:
    rec = Recorder()
    verify(load(project), rec, jobs=1, steps=["1a", "1b"])
    assert rec.statuses[0] == "-  0 passed, 0 failed, 0 cached"
    assert rec.statuses[-1] == "-  2 passed, 0 failed, 0 cached"
    assert any(s.startswith(("1a  ", "1b  ")) for s in rec.statuses)
    assert rec.details == ["passed 1a in " + rec.details[0].split(" in ")[1],
                           "passed 1b in " + rec.details[1].split(" in ")[1]]


# -- per-step commands, skipped steps, selection ----------------------------------------------


def test_per_chapter_and_per_step_commands_and_steps_without_tests(
        project: Path, runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    which = tmp_path / "which"
    monkeypatch.setenv("WHICH", str(which))
    configure(project, top={"test": 'echo "top $TUTORIAL_STEP" >> "$WHICH"'},
              chapters={1: {"test": False},
                        2: {"test": 'echo "chapter2 $TUTORIAL_STEP" >> "$WHICH"'}},
              steps={"1b": {"test": 'echo "own $TUTORIAL_STEP" >> "$WHICH"'}})
    result = verify(load(project), Recorder())
    assert statuses(result) == {"1a": SKIPPED, "1b": PASSED, "2a": PASSED, "2b": PASSED,
                                "3a": PASSED}
    assert result.results[0].reason == "no tests"
    assert sorted(which.read_text().splitlines()) == ["chapter2 2a", "chapter2 2b", "own 1b",
                                                      "top 3a"]
    which.unlink()
    # --command runs everywhere, the steps without tests too (like `git rebase -x`).
    result = verify(load(project), Recorder(), command='echo "cmd $TUTORIAL_STEP" >> "$WHICH"')
    assert statuses(result) == dict.fromkeys(LABELS, PASSED)
    assert sorted(which.read_text().splitlines()) == [f"cmd {t}" for t in LABELS]


def test_no_test_command_at_all_is_an_error(tmp_path: Path) -> None:
    root = make_project(tmp_path, STEPS[:2])
    with pytest.raises(TutorialError, match="no step has a test command") as e:
        verify(load(root), Recorder())
    assert e.value.hint is not None and "--command CMD" in e.value.hint


def test_not_built_is_an_error(tmp_path: Path) -> None:
    root = make_project(tmp_path, STEPS[:2])
    configure(root, top={"test": "true"})
    import shutil

    shutil.rmtree(root / "build")
    with pytest.raises(TutorialError, match="no built history in ") as e:
        verify(load(root), Recorder())
    assert e.value.hint == "Run `tutorial build` first."


def test_while_a_step_is_edited_the_built_history_is_verified_and_it_says_so(
        project: Path, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "--project", str(project), "edit", "2a")[0] == 0
    (project / "build" / "repo" / "status.txt").write_text("broken\n")  # not saved
    code, _, err = run_main(capsys, "--project", str(project), "verify", "2a", "2b")
    assert code == 0, err
    assert ("step 2a is being edited: verifying the history as last built, without those "
            "edits (`tutorial save` carries them into it)") in err
    assert ran(runs) == ["2a", "2b"]


def test_while_a_rewrite_is_stopped_the_built_history_is_verified_and_it_says_so(
        project: Path, tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fix = tmp_path / "fix.patch"
    fix.write_text("--- a/app.txt\n+++ b/app.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n")
    code, _, err = run_main(capsys, "--project", str(project), "apply", "1b", str(fix))
    assert code != 0 and "Conflict at step 2b" in err, err
    code, _, err = run_main(capsys, "--project", str(project), "verify", "1b")
    assert code == 0, err
    assert ("a rewrite is stopped at step 2b (`tutorial apply 1b "
            f"{fix}`): verifying the history as last built, without it") in err
    assert ran(runs) == ["1b"]


def test_a_rewrite_interrupted_while_writing_is_settled_before_verifying(
        project: Path, tmp_path: Path, runs: Path) -> None:
    import subprocess
    import sys

    fix = tmp_path / "fix.patch"
    fix.write_text("--- /dev/null\n+++ b/extra.txt\n@@ -0,0 +1 @@\n+extra\n")
    env = {**os.environ, "TUTORIAL_KILL_AT": "rewrite:first-file",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "tutorial_tools", "--project", str(project),
                           "apply", "1b", str(fix)], capture_output=True, text=True, env=env)
    assert proc.returncode != 0, proc.stderr
    with pytest.raises(TutorialError, match=r"the rewrite `tutorial apply 1b .*` \(#1\) was "
                       "interrupted while writing chapters/") as e:
        verify(load(project), Recorder())
    assert e.value.hint == ("Finish it with `tutorial continue`, or go back with `tutorial "
                            "abort`; then verify.")
    assert ran(runs) == []


def test_selection_by_step_from_and_shard(project: Path) -> None:
    m = load(project)

    def labels(*args: object, **kw: object) -> list[str]:
        return [s.label for s in select(m, *args, **kw)]  # type: ignore[arg-type]

    assert labels() == LABELS
    assert labels(["2b", "1a"]) == ["1a", "2b"]
    assert labels(from_step="2b") == ["2b", "3a"]
    assert labels(["1a"], from_step="2b") == ["1a", "2b", "3a"]
    shards = [labels(shard=(k, 3)) for k in (1, 2, 3)]
    assert shards == [["1a", "2b"], ["1b", "3a"], ["2a"]]
    assert sorted(label for shard in shards for label in shard) == LABELS
    assert labels(from_step="1b", shard=(2, 2)) == ["2a", "3a"]
    with pytest.raises(ManifestError, match="no step 'zz'"):
        select(m, ["zz"])
    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/2", "3/2", "2", "a/b", "-1/2"):
        with pytest.raises(ValueError, match="is not K/N"):
            parse_shard(bad)


# -- environments -----------------------------------------------------------------------------


def test_environment_is_built_once_per_content_of_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, [
        ("1a", {"requirements.txt": "flask==1\n"}),
        ("1b", {"app.txt": "x\n"}),
        ("1c", {"app.txt": "y\n"}),
        ("2a", {"requirements.txt": "flask==2\n"}),
        ("2b", {"app.txt": "z\n"}),
    ])
    setups = tmp_path / "setups"
    monkeypatch.setenv("SETUPS", str(setups))
    # The setup installs a tool into the environment; the tests call it through PATH.
    setup = ('echo "$TUTORIAL_STEP" >> "$SETUPS" && mkdir -p "$TUTORIAL_ENV/bin" && '
             'printf "#!/bin/sh\\ncat %s\\n" "$TUTORIAL_ENV/reqs" > "$TUTORIAL_ENV/bin/tool" && '
             'chmod +x "$TUTORIAL_ENV/bin/tool" && cp requirements.txt "$TUTORIAL_ENV/reqs"')
    configure(root, top={"test": 'tool | grep -qx "$(cat requirements.txt)"', "setup": setup,
                         "setup_files": ["requirements.txt"]})
    first = verify(load(root), Recorder(), jobs=4)
    assert statuses(first) == {t: PASSED for t in ("1a", "1b", "1c", "2a", "2b")}
    assert first.setups == 2
    assert sorted(setups.read_text().split()) in (["1a", "2a"], ["1a", "2b"], ["1b", "2a"],
                                                  ["1b", "2b"], ["1c", "2a"], ["1c", "2b"])
    assert sum(r.setup_built for r in first.results) == 2
    setups.unlink()
    again = verify(load(root), Recorder(), jobs=4, use_cache=False)  # reused across runs
    assert again.count(PASSED) == 5
    assert (again.setups, setups.exists()) == (0, False)
    envs = root / "build" / "repo" / ".git" / "tutorial" / "verify" / "envs"
    assert len([p for p in envs.iterdir() if p.is_dir()]) == 2
    # Another setup command is another environment.
    configure(root, top={"setup": setup + " && true"})
    third = verify(load(root), Recorder(), jobs=2)
    assert (third.setups, third.count(PASSED)) == (2, 5)


def test_a_virtualenv_environment_is_activated(tmp_path: Path) -> None:
    root = make_project(tmp_path, [("1a", {"requirements.txt": ""}), ("1b", {"a.txt": ""})])
    check = ('test "$VIRTUAL_ENV" = "$TUTORIAL_ENV" && '
             'python -c "import os, sys; assert sys.prefix == os.environ[\'VIRTUAL_ENV\']"')
    configure(root, top={"test": check, "setup": 'python3 -m venv --without-pip "$TUTORIAL_ENV"',
                         "setup_files": ["requirements.txt"]})
    result = verify(load(root), Recorder())
    assert statuses(result) == {"1a": PASSED, "1b": PASSED}
    assert result.setups == 1


def test_a_failed_setup_fails_its_steps_and_runs_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, STEPS[:3])
    setups = tmp_path / "setups"
    monkeypatch.setenv("SETUPS", str(setups))
    configure(root, top={"test": "true", "setup": 'echo x >> "$SETUPS"; echo no pip; exit 7'},
              steps={"1a": {"setup": False}})
    result = verify(load(root), Recorder(), jobs=2)
    assert statuses(result) == {"1a": PASSED, "1b": ERROR, "2a": ERROR}
    assert setups.read_text() == "x\n"
    why = {r.reason for r in result.results if r.status == ERROR}
    assert len(why) == 1  # every step needing the setup fails with its one run
    # The setup runs at whichever step needing it a job reaches first (with 2 jobs, 1b or 2a).
    ran_at = re.match(r'setup `echo x >> "\$SETUPS"; echo no pip; exit 7` exited with code 7 '
                      r"\(at step (\w+)\)", why.pop())
    assert ran_at is not None and ran_at[1] in {"1b", "2a"}
    assert any("no pip" in r.tail for r in result.results if r.status == ERROR)
    envs = root / "build" / "repo" / ".git" / "tutorial" / "verify" / "envs"
    assert not [p for p in envs.iterdir() if p.is_dir()]  # nothing half-built is kept
    verify(load(root), Recorder())
    assert setups.read_text() == "x\nx\n"  # a later run tries again


# -- reports ----------------------------------------------------------------------------------


def test_junit_and_json_reports(project: Path, runs: Path) -> None:
    verify(load(project), Recorder(), steps=["1a"])  # cached in the next run
    configure(project, chapters={3: {"test": False}},
              steps={"2a": {"test": "printf 'bad \\001 <xml> & \\033[1mstuff\\n'; exit 2"},
                     "2b": {"test": "sleep 5", "timeout": 0.2}})
    result = verify(load(project), Recorder())
    assert statuses(result) == {"1a": CACHED, "1b": PASSED, "2a": FAILED, "2b": TIMED_OUT,
                                "3a": SKIPPED}

    root = ET.fromstring(reports.junit_xml(result))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5", "failures": "2", "errors": "0", "skipped": "1"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["Chapter 1: Part 1", "Chapter 2: Part 2",
                                               "Chapter 3: Part 3"]
    assert [s.get("tests") for s in suites] == ["2", "2", "1"]
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases) == LABELS
    assert cases["1a"].get("classname") == "01-part-1"

    def prop(case: ET.Element, name: str) -> str | None:
        found = case.find(f"properties/property[@name='{name}']")
        return None if found is None else found.get("value")

    assert prop(cases["1a"], "cached") == "true"
    assert prop(cases["1b"], "cached") == "false"
    assert prop(cases["1a"], "tree") == result.results[0].tree
    assert cases["1a"].find("failure") is None and cases["1b"].find("failure") is None
    failure = cases["2a"].find("failure")
    assert failure is not None
    assert failure.get("type") == "exit-code"
    assert (failure.get("message") or "").endswith("exited with code 2 after " + (
        failure.get("message") or "").rsplit("after ", 1)[1])
    assert failure.text == "bad \ufffd <xml> & \ufffd[1mstuff"
    timeout = cases["2b"].find("failure")
    assert timeout is not None and timeout.get("type") == "timeout"
    skipped = cases["3a"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no tests"

    data = json.loads(reports.json_report(result))
    assert data["ok"] is False
    assert data["counts"] == {"steps": 5, "ran": 3, "passed": 1, "failed": 2, "errors": 0,
                              "cached": 1, "skipped": 1, "not_run": 0, "setups": 0}
    by_step = {s["step"]: s for s in data["steps"]}
    assert list(by_step) == LABELS
    assert (by_step["1a"]["status"], by_step["1a"]["cached"]) == ("cached", True)
    assert (by_step["2a"]["exit_code"], by_step["2a"]["tail"]) == (2, "bad \x01 <xml> & "
                                                                      "\x1b[1mstuff")
    assert by_step["2b"]["status"] == "timed out"
    assert by_step["2b"]["exit_code"] is None
    assert by_step["3a"]["command"] is None
    assert Path(by_step["1b"]["log"]).is_file()


def test_cli_writes_reports_and_passes_options(project: Path, runs: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    junit = tmp_path / "out" / "junit.xml"
    code, _, err = run_main(capsys, "verify", "1a", "--from", "2b", "-j", "1", "--junit",
                            str(junit), "--json", str(tmp_path / "out" / "v.json"))
    assert code == 0, err
    assert ran(runs) == ["1a", "2b", "3a"]
    assert err.startswith("Verified 3 step(s) in ")
    assert [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")] == [
        "1a", "2b", "3a"]
    code, _, err = run_main(capsys, "verify", "--shard", "2/2", "--no-cache", "--command",
                            COUNTING, "--timeout", "30", "--fail-fast")
    assert code == 0, err
    assert ran(runs) == ["1b", "2b"]
    code, _, err = run_main(capsys, "verify", "--shard", "9/9")
    assert (code, err) == (0, "No step selected: nothing to verify.\n")
    configure(project, steps={"1a": {"test": False}})
    code, _, err = run_main(capsys, "verify", "1a")
    assert (code, err) == (0, "Nothing to run: 1 skipped (no tests).\n")
    code, _, err = run_main(capsys, "verify", "--shard", "3/2")
    assert code == 2
    assert "'3/2' is not K/N with 1 <= K <= N" in err
    code, _, err = run_main(capsys, "verify", "-j", "0")
    assert code == 2

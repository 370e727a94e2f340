"""The site's cache: an unchanged tutorial renders nothing again; a fix at a late step
renders again only the steps whose trees it changed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pygments
import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

from testing.cli import run_main
from testing.site import build_site, make_site_project, write_mkdocs
from tutorial_tools import render
from tutorial_tools.gitstore import Repository
from tutorial_tools.site.cache import CACHE_DIR, MIN_AGE, DiskCache

FIX = b"""\
diff --git a/fix.txt b/fix.txt
new file mode 100644
--- /dev/null
+++ b/fix.txt
@@ -0,0 +1 @@
+fixed
"""


def test_rebuilds_render_only_the_steps_a_fix_changed(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path, steps=6)  # 1a 1b 2a 2b 2c 2d .. 2i
    write_mkdocs(root)
    first = build_site(root).plugin.stats
    assert first.rendered == ["1a", "1b", "2a", "2b", "2c", "2d", "2e", "2f", "2g", "2h", "2i"]
    assert first.cached == 0 and first.downloads_made == 22

    again = build_site(root).plugin.stats
    assert again.rendered == [] and again.cached == 11 and again.downloads_made == 0

    (tmp_path / "fix.diff").write_bytes(FIX)
    code, _, err = run_main(capsys, "--project", str(root), "apply", "2g",
                            str(tmp_path / "fix.diff"))
    assert code == 0, err
    site = build_site(root)
    after = site.plugin.stats
    assert after.rendered == ["2g", "2h", "2i"] and after.cached == 8
    assert after.downloads_made == 6
    assert "fix.txt" in site.page("steps/2g/index.html")
    assert "fix.txt" not in site.page("steps/2h/index.html")


def test_the_collapse_threshold_is_part_of_the_key(tmp_path: Path) -> None:
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    assert len(build_site(root).plugin.stats.rendered) == 5
    write_mkdocs(root, options="      collapse_lines: 3")
    assert len(build_site(root).plugin.stats.rendered) == 5
    assert build_site(root).plugin.stats.rendered == []


def test_the_pygments_version_is_part_of_the_key(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Another Pygments lexes code differently: the cached highlighting would be stale.
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    assert len(build_site(root).plugin.stats.rendered) == 5
    monkeypatch.setattr(pygments, "__version__", "0.0-test")
    assert len(build_site(root).plugin.stats.rendered) == 5
    assert build_site(root).plugin.stats.rendered == []


def test_step_entries_written_with_their_paths_are_still_read(tmp_path: Path) -> None:
    # Earlier versions stored every path a step's diff names next to its counts.
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    first = build_site(root)
    entries = sorted((root / CACHE_DIR / "steps").glob("*/*.json"))
    assert len(entries) >= 5  # one per step, and one per ::diff{step=..} elsewhere
    for entry in entries:
        data = json.loads(entry.read_text(encoding="utf-8"))
        entry.write_text(json.dumps({"paths": ["app.py"], **data}), encoding="utf-8")
    again = build_site(root)
    assert again.plugin.stats.rendered == [] and again.plugin.stats.cached == 5
    assert again.page("index.html") == first.page("index.html")


def test_directives_reuse_the_diffs_the_step_pages_read(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The narrative's ::diff{step=1b} and ::diff{step=1b file=app.py} miss the cache on a
    # first build, but the step pages have just read 1b's diff: no git process for them.
    root = make_site_project(tmp_path)
    write_mkdocs(root)
    loaded: list[str] = []
    real = render.load_step_diff

    def counting(repo: Repository, old: str | None, new: str) -> render.StepDiff:
        loaded.append(new)
        return real(repo, old, new)

    monkeypatch.setattr(render, "load_step_diff", counting)
    site = build_site(root)
    assert site.plugin.stats.rendered == ["1a", "1b", "2a", "2b", "2c"]
    assert loaded == []
    assert site.page("01-the-app/index.html").count('class="tt-diff') >= 2


def _age(folder: Path, days: float) -> None:
    """Make every file under `folder` look `days` old."""
    when = time.time() - days * 86400
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_build_prunes_old_entries_it_did_not_use_and_keeps_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path, steps=3)  # ... 2e 2f
    write_mkdocs(root)
    build_site(root)
    cache = root / CACHE_DIR
    # Files the cache did not make, in and beside it, are never removed.
    (cache / "notes.txt").write_text("mine\n")
    (cache / "steps" / "mine").mkdir()
    (cache / "steps" / "mine" / "a.html").write_text("mine\n")
    (root / ".tutorial" / "other.txt").write_text("mine\n")
    before = _files(cache)
    _age(root / ".tutorial", 30)
    (cache / "pruned").touch()  # pruned just now: an unchanged build does not walk

    again = build_site(root)
    assert again.plugin.stats.rendered == [] and _files(cache) == before

    (tmp_path / "fix.diff").write_bytes(FIX)
    code, _, err = run_main(capsys, "--project", str(root), "apply", "2e",
                            str(tmp_path / "fix.diff"))
    assert code == 0, err
    young = cache / "files" / "ab" / "ab-young.json"  # unused, but written an hour ago
    young.parent.mkdir(parents=True, exist_ok=True)
    young.write_text("{}")
    os.utime(young, (time.time() - 3600, time.time() - 3600))
    fixed = build_site(root)
    assert fixed.plugin.stats.rendered == ["2e", "2f"]
    after = _files(cache)
    gone = before - after
    # The old 2e and 2f: their diffs (HTML and counts) and their downloads (zip, patch).
    assert len(gone) == 8
    assert sum(name.endswith(("-2e.zip", "-2f.zip", "-2e.patch", "-2f.patch"))
               for name in gone) == 4
    assert {"notes.txt", "steps/mine/a.html", "files/ab/ab-young.json"} <= after
    assert (root / ".tutorial" / "other.txt").is_file()
    # What the build used is kept, and counts as new again.
    assert all(os.path.getmtime(cache / name) > time.time() - 86400
               for name in after - {"notes.txt", "steps/mine/a.html"})
    last = build_site(root).plugin.stats
    assert last.rendered == [] and last.downloads_made == 0


def test_a_build_never_prunes_what_another_build_just_wrote(tmp_path: Path) -> None:
    """Two builds on one cache (a `mkdocs serve` beside a `mkdocs build`), one pruning
    with `cache_days: 0`: what the other just wrote, or is writing, is not its to remove
    (it has not used it yet); unused entries older than MIN_AGE go."""
    writing, pruning = DiskCache(tmp_path / "cache"), DiskCache(tmp_path / "cache")
    made = writing.put_bytes("downloads", "ab01", ".zip", b"a step's zip")
    half = made.parent / ".tmp-k3x9"  # a temporary file, as put_bytes names them
    half.write_bytes(b"half of another")
    old = writing.put_bytes("downloads", "ab02", ".zip", b"an old step's zip")
    when = time.time() - MIN_AGE - 60
    os.utime(old, (when, when))
    pruned = pruning.prune(0)
    assert pruned is not None and (pruned.removed, pruned.kept) == (1, 2)
    assert made.read_bytes() == b"a step's zip" and half.is_file() and not old.exists()


def test_cache_days_and_a_dirty_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cache_days: 0` keeps only what the build used (and what is younger than MIN_AGE);
    a `--dirty` build, which skips the narratives it thinks unchanged (and so their
    fragments), prunes nothing."""
    root = make_site_project(tmp_path)
    write_mkdocs(root, options="      cache_days: 0")
    build_site(root)
    cache = root / CACHE_DIR
    narrative = {name for name in _files(cache) if name.startswith("files/")}
    assert narrative  # the chapter's ::diff{step=.. file=..} and ::file fragments
    (tmp_path / "fix.diff").write_bytes(FIX)
    code, _, err = run_main(capsys, "--project", str(root), "apply", "2c",
                            str(tmp_path / "fix.diff"))
    assert code == 0, err
    before = _files(cache)
    build(load_config(str(root / "mkdocs.yml")), dirty=True)  # strict fails a dirty build
    assert before - {"pruned"} <= _files(cache)  # the next build is to prune
    build_site(root)  # it renders 2c again; the old 2c is unused, but too young to go
    assert before - {"pruned"} <= _files(cache)
    _age(cache, 2)  # two days later, the next build prunes (its last pruning is old too)
    build_site(root)
    gone = before - _files(cache)
    assert narrative.isdisjoint(gone)
    assert len(gone) == 4  # the old 2c: its HTML and counts, its zip and patch
    assert sum(name.endswith(("-2c.zip", "-2c.patch")) for name in gone) == 2

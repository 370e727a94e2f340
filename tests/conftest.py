"""Every test runs hermetically: its own HOME, no system git config, fixed identities and
dates, and no editor. A guard makes sure nothing writes to the real HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REAL_HOME = os.environ.get("HOME", "")


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                 ) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "CI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Cy Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "cy@example.com")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "1500000000 +0100")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1500000000 +0100")
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    yield
    if REAL_HOME and Path(REAL_HOME).is_dir():
        assert not (Path(REAL_HOME) / ".gitconfig.lock").exists()

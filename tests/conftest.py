"""Every test runs hermetically: its own HOME, no system git config, fixed identities and
dates, and no editor. A guard makes sure nothing writes to the real HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.hermetic import hermetic

REAL_HOME = os.environ.get("HOME", "")


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                 ) -> Iterator[None]:
    hermetic(monkeypatch, tmp_path_factory.mktemp("home"))
    yield
    if REAL_HOME and Path(REAL_HOME).is_dir():
        assert not (Path(REAL_HOME) / ".gitconfig.lock").exists()

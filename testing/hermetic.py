"""The hermetic settings every test runs git under: its own HOME, no system git config,
fixed identities and dates, no editor and no prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

# Variables that would point git at another repository, or make the tool act as in CI.
INHERITED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "CI")


def hermetic(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Set the hermetic environment on `mp`, with `home` as HOME."""
    for var in INHERITED:
        mp.delenv(var, raising=False)
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_AUTHOR_NAME", "Ada Author")
    mp.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    mp.setenv("GIT_COMMITTER_NAME", "Cy Committer")
    mp.setenv("GIT_COMMITTER_EMAIL", "cy@example.com")
    mp.setenv("GIT_AUTHOR_DATE", "1500000000 +0100")
    mp.setenv("GIT_COMMITTER_DATE", "1500000000 +0100")
    mp.setenv("GIT_EDITOR", "false")
    mp.setenv("GIT_TERMINAL_PROMPT", "0")

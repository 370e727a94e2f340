"""The `tutorial` command: the only code that imports click (see app.py for exit codes).

Each module registers its commands on the `cli` group: project.py (init, import, build,
status, diff, show), editing.py (history editing), checks.py (verify, ci),
publishing.py (changes, publish).
"""

from . import checks, editing, project, publishing
from .app import cli, main

__all__ = ["checks", "cli", "editing", "main", "project", "publishing"]

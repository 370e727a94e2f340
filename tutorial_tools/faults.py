"""Named points where a rewrite can be killed on purpose, to prove it recovers.

The tests set TUTORIAL_KILL_AT=<point> and check that a SIGKILL there leaves either the
old state or one that `tutorial status` reports and `build`/`continue`/`abort`/`undo` fix.
Unset (always, outside those tests), a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def checkpoint(name: str) -> None:
    if os.environ.get("TUTORIAL_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)

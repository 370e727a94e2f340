"""Run the `tutorial` command in process, as its installed script would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_tools.cli import main


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`tutorial ARGS` as the installed script runs it: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def tutorial(capsys: pytest.CaptureFixture[str], root: Path, *args: str,
             ) -> tuple[int, str, str]:
    """`tutorial --project ROOT ARGS`: (exit code, stdout, stderr) of this run alone, which
    must end in an expected way (no traceback, no unexpected error)."""
    capsys.readouterr()
    code, out, err = run_main(capsys, "--project", str(root), *args)
    assert "Traceback" not in err and "unexpected error" not in err, err
    return code, out, err

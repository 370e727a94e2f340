"""Build real git repositories for tests with fixed identities and dates (no mocks of git)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
        ) -> str:
    """Run git in `repo` and return its stripped stdout; fail the test on a non-zero exit."""
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


class Repo:
    """A repository under construction: write files, commit with a fixed clock, tag."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self.clock = 1_500_000_000
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", branch)

    def write(self, name: str | bytes, content: bytes | str, mode: int | None = None) -> None:
        target = Path(os.fsdecode(name)) if isinstance(name, bytes) else Path(name)
        p = self.path / target
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
        if mode is not None:
            p.chmod(mode)

    def commit(self, message: str | bytes, *, tag: str | None = None,
               annotate: str | None = None, allow_empty: bool = True) -> str:
        """Stage everything and commit; returns the commit id."""
        self.clock += 60
        date = f"{self.clock} +0100"
        env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        git(self.path, "add", "-A")
        msg = message if isinstance(message, bytes) else message.encode()
        args = ["commit", "-q", "--no-verify", "-F", "-"]
        if allow_empty:
            args.append("--allow-empty")
        git(self.path, *args, input=msg, env=env)
        if tag and annotate is not None:
            git(self.path, "tag", "-a", tag, "-F", "-", input=annotate.encode(), env=env)
        elif tag:
            git(self.path, "tag", tag)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def refs(self) -> dict[str, str]:
        out = git(self.path, "for-each-ref", "--format=%(objectname) %(refname)")
        return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.splitlines())}

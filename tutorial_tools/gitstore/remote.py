"""Talking to other repositories: remotes, `ls-remote`, `push` with leases, and a scratch
repository that reads the objects of others without writing into them.

Remote names come from `git remote` and reach git after `--`; refs are full names
(`refs/tags/7a`) inside refspecs that start with an object id or a colon, so none of them
can be read as an option.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import GitError
from .packstore import objects_dir
from .repo import RefUpdate, Repository, git_env


def remotes(repo: Repository) -> list[str]:
    """The names of the repository's configured remotes."""
    return repo.git("remote").decode("utf-8", "surrogateescape").split()


def remote_url(repo: Repository, remote: str) -> str:
    """The URL `remote` fetches from (its name when it has none)."""
    out = repo.git("remote", "get-url", "--", remote, check=False)
    return out.decode("utf-8", "surrogateescape").strip() or remote


def ls_remote(repo: Repository, remote: str) -> dict[str, str]:
    """The branches and tags the remote holds now, each with the object it names (a tag
    object for an annotated tag: what a push compares against)."""
    out = repo.git("ls-remote", "--heads", "--tags", "--", remote)
    refs = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, _, ref = line.partition("\t")
        if not ref.endswith("^{}"):
            refs[ref] = oid
    return refs


@dataclass(frozen=True)
class PushedRef:
    """One line of `git push --porcelain`: its flag (`*` new, `+` forced, ` ` fast-forward,
    `-` deleted, `=` up to date, `!` rejected), the ref and git's summary."""

    flag: str
    ref: str
    summary: str

    @property
    def rejected(self) -> bool:
        return self.flag == "!"


@dataclass(frozen=True)
class PushResult:
    """How a push went: `ok` only when git accepted every ref."""
    ok: bool
    refs: tuple[PushedRef, ...]
    message: str  # what git said on stderr, for a failure


def push(repo: Repository, remote: str, updates: Sequence[RefUpdate], *,
         dry_run: bool = False) -> PushResult:
    """Push every update or none (`--atomic`), each with a lease: `old` is the value the
    remote must still hold (None: the ref must not exist yet). `new` None deletes it."""
    if not updates:
        return PushResult(True, (), "")
    args = ["push", "--atomic", "--porcelain", "--no-verify"]
    if dry_run:
        args.append("--dry-run")
    args += [f"--force-with-lease={u.ref}:{u.old or ''}" for u in updates]
    args += ["--", remote]
    args += [f"{u.new or ''}:{u.ref}" for u in updates]
    proc = repo.run(*args, input=b"")  # nothing on its standard input
    refs = _porcelain(proc.stdout.decode("utf-8", "surrogateescape"))
    message = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode and not refs:
        raise GitError([*args[:4], "--", remote], proc.returncode, proc.stdout, proc.stderr)
    return PushResult(proc.returncode == 0 and not any(r.rejected for r in refs), refs, message)


def _porcelain(out: str) -> tuple[PushedRef, ...]:
    refs = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            refs.append(PushedRef(parts[0], parts[1].rpartition(":")[2], parts[2]))
    return tuple(refs)


def scratch_repository(path: Path, sources: Sequence[Repository]) -> Repository:
    """A new bare repository at `path` that reads every object of `sources` (git's
    alternates) and writes what it makes into itself only: the sources stay untouched."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "init", "-q", "--bare", str(path)], capture_output=True,
                          env=git_env(), cwd=path)
    if proc.returncode:
        raise GitError(["init", "--bare"], proc.returncode, proc.stdout, proc.stderr)
    dirs = dict.fromkeys(str(objects_dir(r.git_dir).resolve()) for r in sources)
    info = path / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text("".join(d + "\n" for d in dirs))
    return Repository(path, bare=True)

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

    def tag(self, name: str, target: str = "HEAD", annotate: str | None = None) -> None:
        """A lightweight tag, or an annotated one with message `annotate`."""
        date = f"{self.clock} +0100"
        env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        if annotate is None:
            git(self.path, "tag", name, target)
        else:
            git(self.path, "tag", "-a", name, target, "-F", "-", input=annotate.encode(), env=env)

    def raw_commit(self, message: bytes, *, headers: list[tuple[bytes, bytes]] | None = None,
                   ) -> str:
        """Stage everything and write the commit object by hand (`hash-object`), then move
        the branch to it: for messages and headers `git commit` would not keep, such as a
        message without a final newline, an `encoding` header or a `gpgsig` signature.
        `headers` follow `committer`."""
        self.clock += 60
        git(self.path, "add", "-A")
        tree = git(self.path, "write-tree")
        lines = [(b"tree", tree.encode())]
        if self._has_head():
            lines.append((b"parent", self.head().encode()))
        lines.append((b"author", self._ident("AUTHOR")))
        lines.append((b"committer", self._ident("COMMITTER")))
        data = header_lines(lines + list(headers or [])) + b"\n" + message
        oid = hash_object(self.path, "commit", data)
        git(self.path, "update-ref", "HEAD", oid)
        return oid

    def raw_tag(self, name: str, message: bytes, target: str = "HEAD") -> str:
        """An annotated tag object written by hand (e.g. with a signature block in its
        message); returns the tag object's id."""
        commit = git(self.path, "rev-parse", "--verify", f"{target}^{{commit}}")
        data = header_lines([(b"object", commit.encode()), (b"type", b"commit"),
                             (b"tag", name.encode()), (b"tagger", self._ident("COMMITTER"))])
        oid = hash_object(self.path, "tag", data + b"\n" + message)
        git(self.path, "update-ref", f"refs/tags/{name}", oid)
        return oid

    def _has_head(self) -> bool:
        proc = subprocess.run(["git", "-C", str(self.path), "rev-parse", "-q", "--verify",
                               "HEAD^{commit}"], capture_output=True)
        return proc.returncode == 0

    def _ident(self, who: str) -> bytes:
        name = os.environ.get(f"GIT_{who}_NAME", "Ada Author")
        email = os.environ.get(f"GIT_{who}_EMAIL", "ada@example.com")
        return f"{name} <{email}> {self.clock} +0100".encode()

    def refs(self) -> dict[str, str]:
        out = git(self.path, "for-each-ref", "--format=%(objectname) %(refname)")
        return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.splitlines())}


# -- objects made by hand, for what porcelain will not write ----------------------------

# A fake armored signature: git stores it as is (nothing here verifies it).
FAKE_SIGNATURE = (b"-----BEGIN PGP SIGNATURE-----\n"
                  b"\n"
                  b"iQEzBAABCAAdFiEEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE\n"
                  b"cmVhbGx5IG5vdCBhIHNpZ25hdHVyZQ==\n"
                  b"=FAKE\n"
                  b"-----END PGP SIGNATURE-----")


def git_bytes(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run git in `repo` and return its stdout as it is (no decoding, no stripping)."""
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True)
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout


def hash_object(repo: Path, kind: str, data: bytes) -> str:
    """Store a raw object with `git hash-object -w --stdin` and return its id."""
    return git(repo, "hash-object", "-t", kind, "-w", "--stdin", input=data)


def header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Object headers as git writes them: continuation lines start with one space."""
    return b"".join(name + b" " + value.replace(b"\n", b"\n ") + b"\n" for name, value in headers)


def ref_listing(repo: Path) -> list[str]:
    """Every ref with its object id and object type (an annotated tag shows as `tag`)."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)")
    return out.splitlines()


def worktree_files(root: Path) -> dict[bytes, tuple[str, bytes]]:
    """Every file under `root` outside .git: (\"link\", target), (\"exec\" or \"file\", content)."""
    out: dict[bytes, tuple[str, bytes]] = {}
    base = os.fsencode(root)
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != b".git"]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, base)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            else:
                kind = "exec" if os.stat(full).st_mode & 0o100 else "file"
                out[rel] = (kind, Path(os.fsdecode(full)).read_bytes())
    return out

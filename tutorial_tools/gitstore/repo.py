"""The one owner of git: every process the tool starts and every object it reads or writes.

Reads go through one long-lived `git cat-file --batch`; new objects are kept in memory and
stored as one pack by one `git index-pack --stdin` (no process, and no file, per object);
refs move in one `git update-ref --stdin` transaction. Revisions, tags and paths reach
git only on standard input or after `--`, never where git could read them as options.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from ..errors import GitError, SourceError
from .objects import (
    ZERO_ID,
    TreeEntry,
    object_id,
    parse_tree,
    serialize_tree,
    sort_tree,
    split_object,
)
from .pack import build_pack

# Variables a calling git (a hook, `git rebase -x`) may have set; inherited, they would
# point our commands at the caller's repository instead of the one we mean.
_INHERITED = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
)


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED}
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


@dataclass(frozen=True)
class RefUpdate:
    """Move `ref` from `old` (None: must not exist) to `new` (None: delete it)."""

    ref: str
    new: str | None
    old: str | None


class Repository:
    """A git repository: a work tree's or a bare one."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.git_dir, self.work_tree = _locate(path.resolve(), bare)
        self._batch: subprocess.Popen[bytes] | None = None
        self._pending: dict[str, tuple[bytes, bytes]] = {}  # written, not yet stored
        self._stored: set[str] = set()
        self._trees: dict[str, tuple[TreeEntry, ...]] = {}  # parsed trees, by id
        self._like: dict[str, str] = {}  # pending object -> the pending one it was made from

    @classmethod
    def init(cls, path: Path, branch: str) -> Repository:
        """Create a normal repository at `path` whose HEAD names `branch`."""
        import git as gitpython  # GitPython costs 30 ms to import: only when needed

        path.mkdir(parents=True, exist_ok=True)
        gitpython.Repo.init(path).close()
        repo = cls(path)
        repo.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return repo

    def close(self) -> None:
        if self._batch is not None:
            assert self._batch.stdin is not None and self._batch.stdout is not None
            self._batch.stdin.close()
            self._batch.wait()
            self._batch.stdout.close()
            self._batch = None

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running git ---------------------------------------------------------------

    def _base(self) -> list[str]:
        return ["git", f"--git-dir={self.git_dir}"] + (
            [f"--work-tree={self.work_tree}"] if self.work_tree else []
        )

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        """Run one git command in this repository and return its standard output."""
        proc = subprocess.run(
            [*self._base(), *args], input=input, capture_output=True, env=git_env(),
            cwd=self.work_tree or self.git_dir,
        )
        if check and proc.returncode != 0:
            raise GitError(args, proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout

    # -- reading objects -------------------------------------------------------------

    def _pipe(self) -> subprocess.Popen[bytes]:
        if self._batch is None:
            self._batch = subprocess.Popen(
                [*self._base(), "cat-file", "--batch"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, env=git_env(), cwd=self.work_tree or self.git_dir,
            )
        return self._batch

    def read(self, oid: str) -> tuple[bytes, bytes]:
        """The kind (b"blob", b"tree", ...) and content of an object."""
        if oid in self._pending:
            return self._pending[oid]
        pipe = self._pipe()
        stdin, stdout = cast(IO[bytes], pipe.stdin), cast(IO[bytes], pipe.stdout)
        stdin.write(oid.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise SourceError(f"object {oid} is missing from {self.git_dir}")
        data = stdout.read(int(header[2]))
        stdout.read(1)
        return header[1], data

    def read_many(self, oids: Iterable[str]) -> dict[str, tuple[bytes, bytes]]:
        """Several objects as `read` gives them, the requests sent ahead in batches rather
        than one round trip each."""
        found = {}
        wanted = []
        for oid in dict.fromkeys(oids):
            if oid in self._pending:
                found[oid] = self._pending[oid]
            else:
                wanted.append(oid)
        pipe = self._pipe()
        stdin, stdout = cast(IO[bytes], pipe.stdin), cast(IO[bytes], pipe.stdout)
        # At most 41 kB of requests at a time: they fit in the pipe while git answers.
        for at in range(0, len(wanted), 1000):
            batch = wanted[at:at + 1000]
            stdin.write(b"".join(oid.encode() + b"\n" for oid in batch))
            stdin.flush()
            missing = []
            for oid in batch:  # every answer is read, so that the pipe stays in step
                header = stdout.readline().split()
                if len(header) != 3:
                    missing.append(oid)
                    continue
                found[oid] = header[1], stdout.read(int(header[2]))
                stdout.read(1)
            if missing:
                raise SourceError(f"object {missing[0]} is missing from {self.git_dir}")
        return found

    def read_kind(self, oid: str, kind: bytes) -> bytes:
        found, data = self.read(oid)
        if found != kind:
            raise SourceError(f"object {oid} is a {found.decode()}, not a {kind.decode()}")
        return data

    def tree_entries(self, oid: str) -> tuple[TreeEntry, ...]:
        """A tree's entries, parsed once (an object never changes)."""
        entries = self._trees.get(oid)
        if entries is None:
            entries = self._trees[oid] = tuple(parse_tree(self.read_kind(oid, b"tree")))
        return entries

    def existing(self, oids: Iterable[str]) -> set[str]:
        """The subset of `oids` present in this repository (one process for all)."""
        wanted = list(dict.fromkeys(oids))
        known = {o for o in wanted if o in self._pending}
        wanted = [o for o in wanted if o not in known]
        if not wanted:
            return known
        out = self.git("cat-file", "--batch-check=%(objectname)",
                       input="".join(o + "\n" for o in wanted).encode(), check=False)
        return known | {line.decode() for line in out.splitlines()
                        if not line.endswith(b"missing")}

    # -- writing objects -------------------------------------------------------------

    def write(self, kind: bytes, data: bytes, *, like: str | None = None) -> str:
        """Add an object and return its id; it is readable at once and stored by `flush`.

        `like` names an object this one was made from (an earlier version of the same file
        or folder): if both go into the same pack, this one is stored as a delta on it.
        """
        oid = object_id(kind, data)
        if oid not in self._stored and oid not in self._pending:
            self._pending[oid] = (kind, data)
            if like is not None and like in self._pending:
                self._like[oid] = like
        return oid

    def flush(self) -> None:
        """Store every object added since the last flush as one pack."""
        if not self._pending:
            return
        self.git("index-pack", "--stdin", input=build_pack(self._pending, self._like))
        self._stored.update(self._pending)
        self._pending.clear()
        self._like.clear()

    def write_tree(self, entries: Iterable[TreeEntry], *, like: str | None = None,
                   ordered: bool = False) -> str:
        """Add a tree of these entries and return its id; `like` as for `write`.
        `ordered`: the entries are in git's order already (else they are sorted)."""
        listed = tuple(entries) if ordered else tuple(sort_tree(entries))
        oid = self.write(b"tree", serialize_tree(listed, ordered=True), like=like)
        self._trees.setdefault(oid, listed)
        return oid

    # -- refs ----------------------------------------------------------------------

    def refs(self, *prefixes: str) -> dict[str, str]:
        """Current refs under `prefixes` (e.g. "refs/tags/"), mapped to the objects they name."""
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)", *prefixes)
        return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.decode().splitlines())}

    def peeled_tags(self) -> dict[str, tuple[str, str]]:
        """Each tag name mapped to (the object it names, the commit it peels to)."""
        out = self.git(
            "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/tags/"
        )
        tags = {}
        for line in out.split(b"\n"):
            if line:
                ref, oid, peeled = line.decode().split("\0")
                tags[ref.removeprefix("refs/tags/")] = (oid, peeled or oid)
        return tags

    def head(self, known: dict[str, str] | None = None) -> tuple[str | None, str | None]:
        """(the branch ref HEAD names or None when detached, the commit it is at or None).

        `known` refs (as `refs()` returns them) save a process when HEAD names one of them.
        """
        ref = self.git("symbolic-ref", "-q", "HEAD", check=False).decode().strip() or None
        if ref is not None and known is not None and ref in known:
            return ref, known[ref]
        oid = self.git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return ref, oid.decode().strip() or None

    def update_refs(self, updates: Sequence[RefUpdate]) -> None:
        """Apply every update or none: one transaction with old-value checks."""
        if not updates:
            return
        lines = [b"start\0"]
        for u in updates:
            old = (u.old or ZERO_ID).encode()
            if u.new is None:
                lines.append(b"delete %s\0%s\0" % (u.ref.encode(), old))
            else:
                lines.append(b"update %s\0%s\0%s\0" % (u.ref.encode(), u.new.encode(), old))
        lines += [b"prepare\0", b"commit\0"]
        self.git("update-ref", "--stdin", "-z", input=b"".join(lines))

    # -- history -------------------------------------------------------------------

    def first_parent_chain(self, ref: str) -> list[tuple[str, int]]:
        """(commit, number of parents) from the root to `ref` (a full ref name) by first parents."""
        out = self.git("rev-list", "--first-parent", "--reverse", "--parents", ref, "--")
        rows = [line.split() for line in out.decode().splitlines()]
        return [(ids[0], len(ids) - 1) for ids in rows]

    def object_format(self) -> str:
        return self.git("rev-parse", "--show-object-format").decode().strip() or "sha1"

    def diff_trees(self, pairs: Sequence[tuple[str, str]], *, binary: bool = True) -> list[bytes]:
        """A git patch for each (old tree, new tree) pair, from one `diff-tree` process."""
        if not pairs:
            return []
        args = ["-c", "core.quotePath=true", "-c", "diff.noprefix=false",
                "-c", "diff.mnemonicPrefix=false", "diff-tree", "--stdin", "--always", "-r", "-p",
                "--full-index", "-M", "--histogram", "--no-color", "--no-ext-diff",
                "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", "--no-relative"]
        if binary:
            args.append("--binary")
        out = self.git(*args, input="".join(f"{a} {b}\n" for a, b in pairs).encode())
        return list(_split_diff_tree(out, pairs))

    # -- work tree -------------------------------------------------------------------

    def dirty_files(self) -> list[str]:
        """Tracked files whose work-tree or index content differs from HEAD."""
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=no",
                       "--no-renames")
        return [entry[3:].decode("utf-8", "surrogateescape") for entry in out.split(b"\0") if entry]

    def checkout_tree(self, old: str | None, new: str) -> None:
        """Bring the index and work tree from commit `old` to `new`.

        git's two-way merge refuses, changing nothing, when that would overwrite an edit
        or an untracked file.
        """
        # A file whose timestamp changed (touched, or the project copied) would make
        # read-tree refuse as "not uptodate": refresh the index's stat data first.
        self.git("update-index", "-q", "--refresh", check=False)
        if old is None:
            self.git("read-tree", "-m", "-u", new)
        else:
            self.git("read-tree", "-m", "-u", old, new)

    # -- exporting steps (`tutorial verify`) -------------------------------------------

    def tree_of(self, commit: str) -> str:
        """The tree a commit records."""
        headers, _ = split_object(self.read_kind(commit, b"commit"))
        return headers[0].value.decode()

    def entry_id(self, tree: str, path: str) -> str | None:
        """The id of the blob or tree at `path` (slash-separated) in `tree`, or None."""
        oid = tree
        for part in path.encode("utf-8", "surrogateescape").split(b"/"):
            kind, data = self.read(oid)
            if kind != b"tree":
                return None
            found = [e.oid for e in parse_tree(data) if e.name == part]
            if not found:
                return None
            oid = found[0]
        return oid

    def export_tree(self, tree: str, dest: Path, index: Path) -> None:
        """Check `tree` out into the new folder `dest` as `git checkout` would (modes,
        symlinks, the tree's own .gitattributes), using the index file `index`.

        Unlike `git archive`, `export-ignore` drops nothing; unlike `git worktree add`, the
        repository gains no metadata and no hook runs. Safe to call from several threads.
        """
        env = {**git_env(), "GIT_INDEX_FILE": str(index)}
        dest.mkdir(parents=True)
        # One process: reading the tree into the new, empty index writes every file.
        args = ("read-tree", "--reset", "-u", tree)
        proc = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", f"--work-tree={dest}", *args],
            capture_output=True, env=env, cwd=dest, stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise GitError(args, proc.returncode, proc.stdout, proc.stderr)


def _split_diff_tree(out: bytes, pairs: Sequence[tuple[str, str]]) -> Iterator[bytes]:
    """Cut `diff-tree --stdin --always` output at the echoed "<old> <new>" lines.

    No patch line can look like one: context lines start with a space and binary lines
    are at most 66 characters long.
    """
    markers = [f"{a} {b}\n".encode() for a, b in pairs]
    pos = 0
    for i, marker in enumerate(markers):
        if not out.startswith(marker, pos):
            raise GitError(["diff-tree", "--stdin"], 0, b"", b"unexpected output")
        start = pos + len(marker)
        end = len(out)
        if i + 1 < len(markers):
            end = out.find(b"\n" + markers[i + 1], start - 1) + 1
            if end <= 0:
                raise GitError(["diff-tree", "--stdin"], 0, b"", b"unexpected output")
        yield out[start:end]
        pos = end


def _locate(path: Path, bare: bool) -> tuple[Path, Path | None]:
    """(git directory, work tree or None) of the repository at `path`."""
    dotgit = path / ".git"
    if dotgit.is_file():  # a linked work tree or a submodule: "gitdir: <path>"
        text = dotgit.read_text(encoding="utf-8", errors="replace")
        if text.startswith("gitdir: "):
            return (path / text[8:].strip()).resolve(), None if bare else path
    if dotgit.is_dir():
        return dotgit, None if bare else path
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return path, None
    raise SourceError(f"{path} is not a git repository")


def clone_mirror(url: str, dest: Path) -> Path:
    """A bare mirror of `url` in `dest`, made without running anything from it.

    GitPython refuses unsafe protocols (`ext::`) and options smuggled into the URL.
    """
    import git as gitpython

    try:
        gitpython.Repo.clone_from(url, dest, mirror=True, env=git_env()).close()
    except gitpython.GitError as e:
        raise SourceError(
            f"cannot clone {url}: {e}",
            "Check the address, or clone it yourself and pass the local path.",
        ) from e
    return dest

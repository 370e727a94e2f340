"""The one owner of git: every process the tool starts and every object it reads or writes.

Reads go through one long-lived `git cat-file --batch`; new objects are kept in memory and
stored as one pack and index written here (no process, and no file, per object);
refs move in one `git update-ref --stdin` transaction. Revisions, tags and paths reach
git only on standard input or after `--`, never where git could read them as options.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from ..errors import GitError, SourceError
from .difftree import DiffTree, cpus
from .objects import (
    ZERO_ID,
    TreeEntry,
    object_id,
    parse_tree,
    serialize_tree,
    sort_tree,
    split_object,
)
from .packstore import objects_dir, store_pack

# Variables a calling git (a hook, `git rebase -x`) may have set; inherited, they would
# point our commands at the caller's repository instead of the one we mean.
_INHERITED = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
)
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


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
        # How to stop each process started for later and not yet waited for.
        self._later: list[Callable[[], object]] = []
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
        while self._later:  # left behind by an error: stop them
            self._later.pop()()
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

    def run(self, *args: str, input: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run one git command in this repository to its end; the caller reads its exit
        code and output. `env` adds to (or overrides) the cleaned environment."""
        return subprocess.run(
            [*self._base(), *args], input=input, capture_output=True,
            env={**git_env(), **(env or {})}, cwd=self.work_tree or self.git_dir,
        )

    def git(self, *args: str, input: bytes | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> bytes:
        """Run one git command in this repository and return its standard output (`env` as
        for `run`)."""
        proc = self.run(*args, input=input, env=env)
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
        answer = _answer(stdout)
        if answer is None:
            raise SourceError(f"object {oid} is missing from {self.git_dir}")
        return answer

    def read_many(self, oids: Sequence[str], kind: bytes) -> list[bytes]:
        """The content of each object (each a `kind`), in order, in one round trip: all the
        questions are written (by a thread, so that answers filling the pipe cannot stall
        them) while the answers are read."""
        wanted = [o for o in dict.fromkeys(oids) if o not in self._pending]
        found: dict[str, tuple[bytes, bytes]] = {}
        if wanted:
            pipe = self._pipe()
            stdin, stdout = cast(IO[bytes], pipe.stdin), cast(IO[bytes], pipe.stdout)

            def ask() -> None:
                stdin.write("".join(o + "\n" for o in wanted).encode())
                stdin.flush()

            asking = threading.Thread(target=ask, daemon=True)
            asking.start()
            try:
                for oid in wanted:
                    answer = _answer(stdout)
                    if answer is not None:
                        found[oid] = answer
            finally:
                asking.join()
        out = []
        for oid in oids:
            got, data = self._pending.get(oid) or found.get(oid) or (None, b"")
            if got is None:
                raise SourceError(f"object {oid} is missing from {self.git_dir}")
            if got != kind:
                raise SourceError(f"object {oid} is a {got.decode()}, not a {kind.decode()}")
            out.append(data)
        return out

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
        return set(self.sizes(oids))

    def sizes(self, oids: Iterable[str]) -> dict[str, int]:
        """The size in bytes of each of `oids` that exists (one process for all)."""
        wanted = list(dict.fromkeys(oids))
        found = {o: len(self._pending[o][1]) for o in wanted if o in self._pending}
        rest = [o for o in wanted if o not in found]
        if rest:
            out = self.git("cat-file", "--batch-check=%(objectname) %(objectsize)",
                           input="".join(o + "\n" for o in rest).encode(), check=False)
            for line in out.decode().splitlines():
                oid, _, size = line.partition(" ")
                if size.isdigit():
                    found[oid] = int(size)
        return found

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
        store_pack(objects_dir(self.git_dir) / "pack", self._pending, self._like)
        self._stored.update(self._pending)
        self._pending.clear()
        self._like.clear()

    def write_tree(self, entries: Iterable[TreeEntry], *, like: str | None = None,
                   ordered: bool = False) -> str:
        """Add a tree of these entries and return its id; `like` as for `write`.
        `ordered`: the entries are in git's order already (else they are sorted)."""
        listed = tuple(entries) if ordered else tuple(sort_tree(entries))
        oid = self.write(b"tree", serialize_tree(listed), like=like)
        self._trees.setdefault(oid, listed)
        return oid

    # -- refs ----------------------------------------------------------------------

    def refs(self, *prefixes: str) -> dict[str, str]:
        """Current refs under `prefixes` (e.g. "refs/tags/"), mapped to the objects they name."""
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)", *prefixes)
        return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.decode().splitlines())}

    def peeled_refs(self, *prefixes: str) -> dict[str, tuple[str, str]]:
        """Each ref under `prefixes` mapped to (the object it names, the object it peels to:
        the same id unless it names an annotated tag; tags of tags are followed through)."""
        out = self.git("for-each-ref",
                       "--format=%(refname)%00%(objectname)%00%(*objectname)%00%(*objecttype)",
                       *prefixes)
        refs, nested = {}, []
        for line in out.split(b"\n"):
            if line:
                ref, oid, peeled, kind = line.decode().split("\0")
                refs[ref] = (oid, peeled or oid)
                if kind == "tag":  # for-each-ref peels one level only
                    nested.append(ref)
        if nested:
            deeper = self.peel(refs[ref][1] for ref in nested)
            refs.update({ref: (refs[ref][0], deeper[refs[ref][1]]) for ref in nested})
        return refs

    def peel(self, oids: Iterable[str]) -> dict[str, str]:
        """Each of `oids` mapped to the object it names once every tag on the way is followed
        (tags of tags included; a commit, tree or blob maps to itself): one `cat-file` for all.

        The objects must be stored (as every ref's target is), not only added by `write`.
        """
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        for oid in wanted:  # one id per line: anything else would shift the answers
            if not _OBJECT_ID.fullmatch(oid):
                raise SourceError(f"{oid!r} is not an object id (in {self.git_dir})")
        # `<id>^{}` asks git to peel: it follows tags to whatever is not one, at any depth.
        out = self.git("cat-file", "--batch-check=%(objectname) %(objecttype)",
                       input="".join(f"{oid}^{{}}\n" for oid in wanted).encode())
        peeled = {}
        for oid, line in zip(wanted, out.decode().splitlines(), strict=True):
            name, _, kind = line.rpartition(" ")
            if kind in ("missing", "ambiguous") or not _OBJECT_ID.fullmatch(name):
                raise SourceError(f"object {oid} (or an object its tags name) is missing from "
                                  f"{self.git_dir}")
            peeled[oid] = name
        return peeled

    def peeled_tags(self) -> dict[str, tuple[str, str]]:
        """Each tag name mapped to (the object it names, the object it peels to)."""
        return {ref.removeprefix("refs/tags/"): named
                for ref, named in self.peeled_refs("refs/tags/").items()}

    def ref_files(self, refs: Iterable[str]) -> list[Path] | None:
        """The files whose status changes whenever one of `refs` changes, present or not
        (each loose ref, packed-refs, and the reftable folder that must not appear); None
        when the refs are not kept in such files (reftable, a linked work tree)."""
        if (self.git_dir / "reftable").exists() or (self.git_dir / "commondir").exists():
            return None
        return [self.git_dir / "packed-refs", self.git_dir / "reftable",
                *(self.git_dir / ref for ref in refs)]

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

    def first_parent_chain(self, ref: str) -> list[tuple[str, int, str]]:
        """(commit, number of parents, tree) from the root to `ref` (a full ref name) by
        first parents."""
        out = self.git("rev-list", "--first-parent", "--reverse", "--parents", "--format=%T",
                       ref, "--").decode().split("\n")
        return [(ids[0], len(ids) - 1, tree)
                for ids, tree in zip((line.split()[1:] for line in out[0:-1:2]), out[1::2],
                                     strict=True)]

    def diff_trees(self, pairs: Sequence[tuple[str, str]], *, binary: bool = True,
                   copies: bool = False) -> list[bytes]:
        """A git patch for each (old tree, new tree) pair (see `diff_trees_stream`)."""
        return list(self.diff_trees_stream(pairs, binary=binary, copies=copies))

    def diff_trees_stream(self, pairs: Sequence[tuple[str, str]], *, binary: bool = True,
                          copies: bool = False) -> Iterator[bytes]:
        """`diff_trees`, started at once, each patch yielded as soon as git has written it:
        the caller can work on the first ones (or on anything else) while git diffs on.

        Many pairs are split into consecutive runs diffed by one process each, one per CPU
        (at most 4, at least 100 pairs each), the runs' patches yielded in order.
        `copies` also finds files copied from any file of the old tree (`-C -C`).
        """
        if not pairs:
            return iter(())
        args = ["-c", "core.quotePath=true", "-c", "diff.noprefix=false",
                "-c", "diff.mnemonicPrefix=false", "diff-tree", "--stdin", "--always", "-r", "-p",
                "--full-index", "-M", "--histogram", "--no-color", "--no-ext-diff",
                "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", "--no-relative"]
        if binary:
            args.append("--binary")
        if copies:
            args += ["-C", "-C"]
        runs = max(1, min(cpus(), 4, len(pairs) // 100))
        cuts = [len(pairs) * i // runs for i in range(runs + 1)]
        procs = [DiffTree([*self._base(), *args], args, pairs[a:b], self.work_tree or self.git_dir,
                          git_env()) for a, b in itertools.pairwise(cuts)]
        self._later += [p.stop for p in procs]
        return self._in_order(procs)

    def _in_order(self, procs: list[DiffTree]) -> Iterator[bytes]:
        try:
            for proc in procs:
                yield from proc.patches()
        finally:
            for proc in procs:
                proc.stop()
                if proc.stop in self._later:
                    self._later.remove(proc.stop)

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
        return self.trees_of([commit])[0]

    def trees_of(self, commits: Sequence[str]) -> list[str]:
        """The tree each commit records, in one round trip for them all."""
        return [split_object(raw)[0][0].value.decode()
                for raw in self.read_many(commits, b"commit")]

    def entry_id(self, tree: str, path: str) -> str | None:
        """The id of the blob or tree at `path` (slash-separated) in `tree`, or None."""
        entry = self.entry(tree, path)
        return None if entry is None else entry.oid

    def entry(self, tree: str, path: str) -> TreeEntry | None:
        """The entry (mode, name, id) at `path` (slash-separated) in `tree`, or None."""
        entry = None
        for part in path.encode("utf-8", "surrogateescape").split(b"/"):
            if entry is not None and not entry.is_tree:
                return None
            entries = self.tree_entries(tree if entry is None else entry.oid)
            entry = next((e for e in entries if e.name == part), None)
            if entry is None:
                return None
        return entry

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




def _answer(stdout: IO[bytes]) -> tuple[bytes, bytes] | None:
    """One answer of `cat-file --batch`: (kind, content), or None for a missing object."""
    header = stdout.readline().split()
    if len(header) != 3:
        return None
    data = stdout.read(int(header[2]))
    stdout.read(1)  # the newline after the content
    return header[1], data


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

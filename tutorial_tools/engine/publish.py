"""`tutorial publish`: push the branch and every tag that moved, appeared or went, at once.

Only refs that differ from what was last published to the remote are pushed, in one
`git push --atomic`, each with a lease: the value last published there (or "must not
exist" for a ref never published). The remote is asked first (`ls-remote`): a ref someone
else moved is refused before anything is pushed, naming it; the leases still catch a push
that lands between that look and ours. After the push, the new state is recorded for the
next publish and for `tutorial changes REMOTE` (see published.py).

Publishing is not a rewrite: it is not in the operation log and `tutorial undo` does not
take it back (readers may have fetched already). The project lock is held while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import GitError, RemoteChanged, TutorialError
from ..faults import checkpoint
from ..gitstore import RefUpdate, Repository
from ..gitstore.remote import PushedRef, ls_remote, push, remote_url, remotes
from ..manifest import Manifest
from . import published
from .build import built_refs
from .changes import Changes, between_refs, build_name
from .ready import PUBLISHING, open_built, require_clean, require_idle


@dataclass(frozen=True)
class RefMove:
    """A ref a publish changes on the remote."""
    ref: str
    old: str | None  # what the remote holds (None: nothing)
    new: str | None  # None: deleted

    @property
    def name(self) -> str:
        """The tag, or the branch's full name."""
        return self.ref.removeprefix("refs/tags/")


@dataclass(frozen=True)
class PublishResult:
    """What a publish did (or, for a dry run, would do)."""
    remote: str
    url: str
    status: str  # "published", "up to date" or "dry-run"
    moves: tuple[RefMove, ...]
    first: bool  # nothing was published to this remote before
    changes: Changes | None  # since the last publish (None for a first one)
    pushed: tuple[PushedRef, ...] = ()  # what git reported, per ref


def choose_remote(repo: Repository, remote: str | None) -> str:
    """REMOTE, or `origin`, or the only remote; an error that says how to add one."""
    names = remotes(repo)
    where = repo.work_tree or repo.git_dir
    add = f"`git -C {where} remote add origin URL`"
    if remote is None:
        if "origin" in names or len(names) == 1:
            return "origin" if "origin" in names else names[0]
        if not names:
            raise TutorialError(f"{where} has no remote to publish to",
                                f"Add one with {add}, then run `tutorial publish` again.")
        raise TutorialError(f"{where} has several remotes and none is called origin: "
                            f"{', '.join(names)}", "Name one: `tutorial publish REMOTE`.")
    if remote not in names:
        name = f"-- {remote}" if remote.startswith("-") else remote  # git allows `-x`
        raise TutorialError(
            f"{where} has no remote {remote!r}" + (f" (it has {', '.join(names)})" if names
                                                   else ""),
            f"Add it with `git -C {where} remote add {name} URL`.")
    return remote


def publish(manifest: Manifest, remote: str | None, *, dry_run: bool = False,
            force: bool = False) -> PublishResult:
    """Push what changed since the last publish to REMOTE (see the module's docstring)."""
    # What a rewrite checks first, worded for publishing: a finished, saved, built history.
    require_idle(manifest, PUBLISHING)
    repo, built = open_built(manifest, PUBLISHING)
    with repo:
        require_clean(repo, PUBLISHING)
        name = choose_remote(repo, remote)
        url = remote_url(repo, name)
        wanted = built_refs(manifest, built)
        last = published.load(repo, name)
        try:
            live = ls_remote(repo, name)
        except GitError as e:
            raise _unreachable(name, url, e) from e
        moves, foreign = _plan(wanted, last or {}, live)
        if foreign and not force:
            raise _refused(name, url, foreign, last is None)
        summary = None
        if last is not None:
            summary = between_refs(repo, manifest.branch, (f"{name} (as last published)", last),
                                   (build_name(manifest), wanted))
        if dry_run:
            return PublishResult(name, url, "dry-run", moves, last is None, summary)
        try:
            result = push(repo, name, [RefUpdate(m.ref, m.new, m.old) for m in moves])
        except GitError as e:
            raise _unreachable(name, url, e) from e
        if not result.ok:
            raise _rejected(name, url, result.refs, result.message)
        # Killed here, the remote has the refs and the record does not: the next publish
        # finds every ref already there, pushes nothing and records it.
        checkpoint("publish:pushed")
        published.save(repo, name, wanted)
        return PublishResult(name, url, "published" if moves else "up to date", moves,
                             last is None, summary, result.refs)


def _plan(wanted: dict[str, str], last: dict[str, str], live: dict[str, str],
          ) -> tuple[tuple[RefMove, ...], list[tuple[str, str | None, str | None]]]:
    """The refs to push (with the value the remote holds as lease), and the refs someone
    else changed: (ref, last published, on the remote now)."""
    moves = []
    foreign = []
    for ref in sorted({*wanted, *last}, key=_ref_order):
        want, was, now = wanted.get(ref), last.get(ref), live.get(ref)
        if now == want:
            continue  # already there
        if now != was:
            foreign.append((ref, was, now))
        moves.append(RefMove(ref, now, want))
    return tuple(moves), foreign


def _ref_order(ref: str) -> tuple[int, str]:
    return (0 if ref.startswith("refs/heads/") else 1, ref)


def _short(oid: str | None) -> str:
    return oid[:10] if oid else "nothing"


def _refused(remote: str, url: str, foreign: list[tuple[str, str | None, str | None]],
             first: bool) -> RemoteChanged:
    shown = "; ".join(f"{ref.removeprefix('refs/tags/')}: "
                      + (f"published {_short(was)}, now {_short(now)}" if not first
                         else f"holds {_short(now)}")
                      for ref, was, now in foreign[:8])
    more = f" and {len(foreign) - 8} more" if len(foreign) > 8 else ""
    what = (f"{remote} ({url}) already holds {len(foreign)} of the refs to publish, with "
            "other values" if first else
            f"{len(foreign)} ref(s) on {remote} ({url}) changed since tutorial last "
            "published there: someone else pushed")
    return RemoteChanged(
        f"{what}: {shown}{more}",
        f"Nothing was pushed. See what is there: `git clone --mirror {url} /tmp/{remote}-now` "
        f"and `tutorial changes /tmp/{remote}-now`. To replace those refs with the build's "
        f"deliberately (their values on {remote} are lost), run `tutorial publish {remote} "
        "--force`.")


def _unreachable(remote: str, url: str, error: GitError) -> TutorialError:
    return TutorialError(
        f"cannot publish to {remote} ({url}): {error.message}",
        f"Nothing was pushed. Check that {url} exists and can be written to (`git ls-remote "
        f"{url}` reads it), then run `tutorial publish {remote}` again.")


def _rejected(remote: str, url: str, refs: tuple[PushedRef, ...], message: str,
              ) -> RemoteChanged:
    bad = [f"{r.ref.removeprefix('refs/tags/')} ({r.summary})" for r in refs if r.rejected
           and "atomic push failed" not in r.summary]
    said = ", ".join(bad[:8]) or (message.splitlines()[-1] if message else "no reason given")
    return RemoteChanged(
        f"{remote} ({url}) refused the push, so nothing changed there: {said}",
        "A ref moved on the remote while publishing (someone else pushed), or the remote "
        f"refuses such updates. Run `tutorial publish {remote}` again to see which refs "
        "differ; `--force` replaces them deliberately.")

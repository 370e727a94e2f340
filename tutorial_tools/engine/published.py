"""What was last published to each remote of the built repository.

`build/repo/.git/tutorial/published/<remote>.json` maps every ref `tutorial publish` pushed
(`refs/heads/main`, `refs/tags/7a`) to the object it gave it. The same objects stay
reachable under `refs/tutorial/published/<remote>/...`, so `tutorial changes REMOTE` can
compare with what readers have without the network, even after later rewrites.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from ..gitstore import RefUpdate, Repository
from .build import state_dir


def _name(remote: str) -> str:
    return quote(remote, safe="")  # a remote may be called `a/b`: one file, one folder


def keep_prefix(remote: str) -> str:
    """The refs that keep what was last published to `remote` reachable."""
    return f"refs/tutorial/published/{_name(remote)}/"


def load(repo: Repository, remote: str) -> dict[str, str] | None:
    """Ref -> object as last published to `remote`, or None if nothing was published."""
    try:
        data = json.loads((state_dir(repo) / "published" / f"{_name(remote)}.json").read_text())
    except (OSError, ValueError):
        return None
    refs = data.get("refs") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in refs.items()} if isinstance(refs, dict) else None


def save(repo: Repository, remote: str, refs: dict[str, str]) -> None:
    """Record `refs` as published to `remote`: first the refs that keep their objects, in
    one transaction, then the record itself."""
    prefix = keep_prefix(remote)
    kept = repo.refs(prefix)
    wanted = {prefix + ref.removeprefix("refs/"): oid for ref, oid in refs.items()}
    updates = [RefUpdate(ref, oid, kept.get(ref)) for ref, oid in wanted.items()
               if kept.get(ref) != oid]
    updates += [RefUpdate(ref, None, oid) for ref, oid in kept.items() if ref not in wanted]
    repo.update_refs(updates)
    folder = state_dir(repo) / "published"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_name(remote)}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"remote": remote, "refs": dict(sorted(refs.items()))}, indent=1))
    tmp.replace(path)

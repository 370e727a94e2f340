"""Tags peeled to what they name, many at once."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import SourceError
from .repo import Repository

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def peel(repo: Repository, oids: Iterable[str]) -> dict[str, str]:
    """Each of `oids` mapped to the object it names once every tag on the way is followed
    (tags of tags included; a commit, tree or blob maps to itself): one `cat-file` for all.

    The objects must be stored (as every ref's target is), not only added by `write`.
    """
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    for oid in wanted:  # one id per line: anything else would shift the answers
        if not _OBJECT_ID.fullmatch(oid):
            raise SourceError(f"{oid!r} is not an object id (in {repo.git_dir})")
    # `<id>^{}` asks git to peel: it follows tags to whatever is not one, at any depth.
    out = repo.git("cat-file", "--batch-check=%(objectname) %(objecttype)",
                   input="".join(f"{oid}^{{}}\n" for oid in wanted).encode())
    peeled = {}
    for oid, line in zip(wanted, out.decode().splitlines(), strict=True):
        name, _, kind = line.rpartition(" ")
        if kind in ("missing", "ambiguous") or not _OBJECT_ID.fullmatch(name):
            raise SourceError(f"object {oid} (or an object its tags name) is missing from "
                              f"{repo.git_dir}")
        peeled[oid] = name
    return peeled

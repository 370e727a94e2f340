"""All git access lives here (see README.md in this folder): nothing else starts git."""

from .objects import EMPTY_TREE, ZERO_ID, Header, TreeEntry, object_id
from .repo import RefUpdate, Repository, clone_mirror, git_env
from .tree import MutableTree

__all__ = [
    "EMPTY_TREE", "ZERO_ID", "Header", "MutableTree", "RefUpdate", "Repository", "TreeEntry",
    "clone_mirror", "git_env", "object_id",
]

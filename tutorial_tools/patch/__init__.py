"""Git-style patches as bytes: parse them and apply them. No IO in this package."""

from .apply import HunkFailed, apply_binary, apply_delta, apply_hunks
from .parse import BinaryPatch, FilePatch, Hunk, PatchSyntaxError, lines_of, parse_patch, unquote

__all__ = [
    "BinaryPatch", "FilePatch", "Hunk", "HunkFailed", "PatchSyntaxError", "apply_binary",
    "apply_delta", "apply_hunks", "lines_of", "parse_patch", "unquote",
]

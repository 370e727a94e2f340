"""What a step changed, file by file: the data the HTML is rendered from.

The patch comes from git (`Repository.diff_trees`, rename- and copy-aware, histogram diff)
and is parsed by the project's own byte-exact parser (`tutorial_tools.patch`) rather than
unidiff: that parser already reads C-quoted and non-UTF-8 paths back to their exact bytes,
keeps CR, missing final newlines and binary markers apart, and is the one `tutorial` trusts
to apply patches, so the site shows exactly what the history holds. unidiff wants one decoded
text for the whole patch and leaves path unquoting to its caller. What the patch leaves out
(the blob ids of a pure rename or mode change, sizes) is read through `Repository`.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..gitstore import EMPTY_TREE, Repository, objects
from ..patch import FilePatch, parse_patch
from ..patch import Hunk as PatchHunk

Status = Literal["added", "modified", "deleted", "renamed", "copied"]
LineKind = Literal["context", "added", "removed"]

LARGE_LINES = 400  # changed lines above which a file starts collapsed
LARGE_BYTES = 1 << 20  # a blob above this starts collapsed and is not highlighted
# The modes as the model keeps them (text); the patch parser and git objects keep bytes.
SYMLINK_MODE = objects.SYMLINK_MODE.decode()
GITLINK_MODE = objects.GITLINK_MODE.decode()

IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp", ".ico": "image/x-icon", ".avif": "image/avif",
}
GENERATED_NAMES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb",
    "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "composer.lock",
    "Gemfile.lock", "go.sum", "flake.lock", "mix.lock", "pubspec.lock", "Podfile.lock",
})
GENERATED_SUFFIXES = (".min.js", ".min.css", ".js.map", ".css.map", "_pb2.py", ".pb.go")


@dataclass(frozen=True)
class Line:
    """One line of a hunk. `text` has no line ending (a final CR is in `cr`)."""

    kind: LineKind
    old: int | None  # line number in the old file (None for an added line)
    new: int | None  # line number in the new file (None for a removed line)
    text: str
    cr: bool = False  # the line ends in CR LF
    no_newline: bool = False  # the last line of its file, without a line ending


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str  # what git prints after the second @@ (the enclosing function, often)
    lines: tuple[Line, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass(frozen=True)
class FileDiff:
    """One file's change. Paths are None on the side where the file does not exist;
    they are decoded from bytes with surrogateescape, so every byte survives."""

    status: Status
    old_path: str | None
    new_path: str | None
    old_mode: str | None
    new_mode: str | None
    old_oid: str | None
    new_oid: str | None
    binary: bool
    symlink: bool
    old_size: int | None
    new_size: int | None
    additions: int
    deletions: int
    hunks: tuple[Hunk, ...]
    similarity: int | None  # percent, for renames and copies
    image: bool
    generated: bool
    large: bool

    @property
    def path(self) -> str:
        """The file's name after the step (before it, for a deleted file)."""
        return self.new_path if self.new_path is not None else self.old_path or ""

    @property
    def mode_changed(self) -> bool:
        return self.old_mode is not None and self.new_mode is not None and (
            self.old_mode != self.new_mode)

    @property
    def collapsed(self) -> bool:
        return self.large or self.generated


@dataclass(frozen=True)
class StepDiff:
    files: tuple[FileDiff, ...]
    additions: int
    deletions: int

    def only(self, paths: Iterable[str]) -> StepDiff:
        """The part of this change touching `paths` (new or old names)."""
        wanted = set(paths)
        files = tuple(f for f in self.files if f.new_path in wanted or f.old_path in wanted)
        return _step(files)


def is_large(additions: int, deletions: int, old_size: int | None, new_size: int | None,
             lines: int = LARGE_LINES) -> bool:
    """Whether a file's diff starts collapsed: it changes more than `lines` lines (both
    halves of a type change counted together), or a version of it is over LARGE_BYTES.
    The only statement of the rule: the loader applies it, with the site's threshold."""
    return additions + deletions > lines or max(old_size or 0, new_size or 0) > LARGE_BYTES


def load_step_diff(repo: Repository, old_tree: str | None, new_tree: str, *,
                   large_lines: int = LARGE_LINES) -> StepDiff:
    """What changed from `old_tree` (None: the empty tree) to `new_tree`; a file changing
    more than `large_lines` lines is `large` (see `is_large`)."""
    return load_step_diffs(repo, [(old_tree, new_tree)], large_lines=large_lines)[0]


def load_step_diffs(repo: Repository, pairs: Sequence[tuple[str | None, str]], *,
                    large_lines: int = LARGE_LINES) -> list[StepDiff]:
    """`load_step_diff` for many steps, with one git process for all of them."""
    patches = repo.diff_trees([(old or EMPTY_TREE, new) for old, new in pairs],
                              binary=False, copies=True)
    parsed = [parse_patch(patch) for patch in patches]
    sizes = repo.sizes(
        oid for parts in parsed for fp in parts for oid in (fp.old_oid, fp.new_oid)
        if oid is not None and objects.GITLINK_MODE not in (fp.old_mode, fp.new_mode))
    return [_load(repo, old or EMPTY_TREE, new, parts, sizes, large_lines)
            for (old, new), parts in zip(pairs, parsed, strict=True)]


def _step(files: tuple[FileDiff, ...]) -> StepDiff:
    return StepDiff(files, sum(f.additions for f in files), sum(f.deletions for f in files))


def _load(repo: Repository, old_tree: str, new_tree: str, parts: list[FilePatch],
          sizes: dict[str, int], large_lines: int) -> StepDiff:
    generated = _generated_rules(repo, new_tree)
    files: list[FileDiff] = []
    i = 0
    while i < len(parts):
        fp = parts[i]
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        # A file replaced by a symlink (or the reverse): git writes a deletion and an addition.
        if (nxt is not None and fp.new_path is None and nxt.old_path is None
                and fp.old_path == nxt.new_path):
            files.append(_typechange(
                _file(repo, old_tree, new_tree, fp, generated, sizes, large_lines),
                _file(repo, old_tree, new_tree, nxt, generated, sizes, large_lines),
                large_lines))
            i += 2
            continue
        files.append(_file(repo, old_tree, new_tree, fp, generated, sizes, large_lines))
        i += 1
    return _step(tuple(files))


def _typechange(gone: FileDiff, came: FileDiff, large_lines: int) -> FileDiff:
    """One file from the deletion and the addition git writes for a type change."""
    return replace(
        came, status="modified", old_path=gone.old_path, old_mode=gone.old_mode,
        old_oid=gone.old_oid, old_size=gone.old_size, binary=gone.binary or came.binary,
        symlink=True, deletions=gone.deletions, hunks=gone.hunks + came.hunks,
        large=is_large(came.additions, gone.deletions, gone.old_size, came.new_size,
                       large_lines),
        generated=gone.generated or came.generated)


def _decode(path: bytes | None) -> str | None:
    return None if path is None else path.decode("utf-8", "surrogateescape")


def _file(repo: Repository, old_tree: str, new_tree: str, fp: FilePatch,
          generated: list[tuple[str, bool]], sizes: dict[str, int], large_lines: int,
          ) -> FileDiff:
    old_path, new_path = _decode(fp.old_path), _decode(fp.new_path)
    old_mode = fp.old_mode.decode() if fp.old_mode and old_path is not None else None
    new_mode = fp.new_mode.decode() if fp.new_mode and new_path is not None else None
    status: Status
    if old_path is None:
        status = "added"
    elif new_path is None:
        status = "deleted"
    elif fp.copy:
        status = "copied"
    elif old_path != new_path:
        status = "renamed"
    else:
        status = "modified"
    old_oid, new_oid = fp.old_oid, fp.new_oid
    # A pure rename or mode change has no `index` line: ask the trees.
    if old_path is not None and (old_oid is None or old_mode is None):
        entry = repo.entry(old_tree, old_path)
        if entry is not None:
            old_oid, old_mode = entry.oid, entry.mode.decode()
    if new_path is not None and (new_oid is None or new_mode is None):
        entry = repo.entry(new_tree, new_path)
        if entry is not None:
            new_oid, new_mode = entry.oid, entry.mode.decode()
    hunks = tuple(_hunk(h) for h in fp.hunks)
    additions, deletions = fp.added, fp.removed
    old_size = _size(repo, old_oid, old_mode, sizes)
    new_size = _size(repo, new_oid, new_mode, sizes)
    binary = fp.is_binary
    path = new_path if new_path is not None else old_path or ""
    return FileDiff(
        status=status, old_path=old_path, new_path=new_path, old_mode=old_mode,
        new_mode=new_mode, old_oid=old_oid, new_oid=new_oid, binary=binary,
        symlink=SYMLINK_MODE in (old_mode, new_mode), old_size=old_size, new_size=new_size,
        additions=additions, deletions=deletions, hunks=hunks,
        similarity=fp.similarity if status in ("renamed", "copied") else None,
        image=binary and posixpath.splitext(path.lower())[1] in IMAGE_TYPES,
        generated=_is_generated(path, generated),
        large=is_large(additions, deletions, old_size, new_size, large_lines),
    )


def _size(repo: Repository, oid: str | None, mode: str | None,
          sizes: dict[str, int]) -> int | None:
    if oid is None or mode == GITLINK_MODE:  # a submodule's commit is not in this repository
        return None
    found = sizes.get(oid)
    return found if found is not None else len(repo.read_kind(oid, b"blob"))


def _hunk(hunk: PatchHunk) -> Hunk:
    old_start, new_start = hunk.old_start, hunk.new_start
    old_lines, new_lines = hunk.old_lines, hunk.new_lines
    out: list[Line] = []
    o = n = 0
    for op in hunk.ops:
        if op == ord(" "):
            out.append(_line("context", old_start + o, new_start + n, new_lines[n]))
            o += 1
            n += 1
        elif op == ord("-"):
            out.append(_line("removed", old_start + o, None, old_lines[o]))
            o += 1
        else:
            out.append(_line("added", None, new_start + n, new_lines[n]))
            n += 1
    return Hunk(old_start, hunk.old_count, new_start, hunk.new_count,
                hunk.section.decode("utf-8", "replace"), tuple(out))


def _line(kind: LineKind, old: int | None, new: int | None, raw: bytes) -> Line:
    no_newline = not raw.endswith(b"\n")
    body = raw if no_newline else raw[:-1]
    cr = body.endswith(b"\r")
    if cr:
        body = body[:-1]
    return Line(kind, old, new, body.decode("utf-8", "replace"), cr, no_newline)


def _generated_rules(repo: Repository, tree: str) -> list[tuple[str, bool]]:
    """(pattern, generated?) from the tree's top `.gitattributes` `linguist-generated`."""
    oid = repo.entry_id(tree, ".gitattributes")
    if oid is None:
        return []
    kind, data = repo.read(oid)
    if kind != b"blob":
        return []
    rules = []
    for raw in data.decode("utf-8", "replace").splitlines():
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        for attr in fields[1:]:
            if attr in ("linguist-generated", "linguist-generated=true"):
                rules.append((fields[0], True))
            elif attr in ("-linguist-generated", "linguist-generated=false"):
                rules.append((fields[0], False))
    return rules


def _is_generated(path: str, rules: list[tuple[str, bool]]) -> bool:
    name = posixpath.basename(path)
    found = name in GENERATED_NAMES or name.endswith(GENERATED_SUFFIXES)
    for pattern, value in rules:  # later lines win, as in git
        anchored = "/" in pattern.rstrip("/")
        subject = path if anchored else name
        if fnmatch.fnmatchcase(subject, pattern.lstrip("/")):
            found = value
    return found

"""`tutorial.yaml`: the tutorial's chapters and steps, read into frozen models.

Errors point at `tutorial.yaml:LINE:COLUMN`. The tool edits the file through ruamel.yaml's
round-trip mode, so the author's comments, order and quoting survive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ManifestError

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

MANIFEST = "tutorial.yaml"
DEFAULT_REPO = "build/repo"
DEFAULT_BRANCH = "main"
DEFAULT_MESSAGE = "Chapter {chapter}: {title} ({tag})"
PLACEHOLDERS = frozenset({"chapter", "chapter_title", "title", "tag", "name"})

# How `tutorial verify` tests a step; each may be set for the whole manifest, a chapter or
# a step, the nearest one winning.
VERIFY_KEYS = frozenset({"test", "timeout", "setup", "setup_files"})
TOP_KEYS = frozenset({"title", "repo", "branch", "message", "chapters"}) | VERIFY_KEYS
CHAPTER_KEYS = frozenset({"number", "title", "slug", "steps"}) | VERIFY_KEYS
STEP_KEYS = frozenset({"tag", "name", "title", "message"}) | VERIFY_KEYS

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Step:
    """One checkpoint: one commit, usually one tag."""

    tag: str | None
    name: str  # the step file's name (without .patch); the tag unless given
    title: str
    message: str | None  # a subject that does not follow the template
    chapter: int
    chapter_title: str
    chapter_slug: str
    # `tutorial verify`, resolved from the step, its chapter and the manifest's top level:
    test: str | None = None  # the test command; None: no tests
    timeout: float | None = None  # seconds; None: the verifier's default
    setup: str | None = None  # the command that builds the step's environment
    setup_files: tuple[str, ...] = ()  # paths in the step's tree whose content keys it

    @property
    def label(self) -> str:
        return self.tag or self.name


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str
    slug: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Manifest:
    path: Path
    title: str
    repo: str
    branch: str
    message: str
    chapters: tuple[Chapter, ...]
    # A hash of the text it was read from ("" when made otherwise): see `unchanged`.
    key: str = field(default="", compare=False, repr=False)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for c in self.chapters for s in c.steps)

    @property
    def repo_path(self) -> Path:
        return (self.root / self.repo).resolve()

    def step(self, ref: str) -> Step:
        """A step by tag or name."""
        for s in self.steps:
            if ref in (s.tag, s.name):
                return s
        known = ", ".join(s.label for s in self.steps[:12])
        raise ManifestError(self.path, None, None, f"no step {ref!r}", f"Steps: {known}")

    def step_file(self, step: Step) -> Path:
        return self.root / "chapters" / step.chapter_slug / f"{step.name}.patch"

    def chapter_dir(self, chapter: Chapter) -> Path:
        return self.root / "chapters" / chapter.slug

    def unnamed_step_files(self) -> list[Path]:
        """Files in chapters/ that look like step files (`<slug>/<name>.patch`) but that no
        step of the manifest names, in no particular order."""
        named = {self.step_file(s) for s in self.steps}
        return [p for p in (self.root / "chapters").glob("*/*.patch") if p not in named]

    def subject(self, step: Step) -> str:
        """The first line of the step's commit message, as the manifest says it should read."""
        if step.message is not None:
            return step.message
        return render_message(self.message, step)


def render_message(template: str, step: Step) -> str:
    return template.format(
        chapter=step.chapter, chapter_title=step.chapter_title, title=step.title,
        tag=step.tag or "", name=step.name,
    )


def default_name(tag: str) -> str:
    """A step file's name for a tag: the tag, with anything but letters, digits, '.', '_'
    and '-' (such as the '/' of `ch1/a`) turned into '-'."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", tag).lstrip(".-") or "step"


def slugify(number: int, title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"{number:02d}-{words}" if words else f"{number:02d}"


def tag_problem(tag: str) -> str | None:
    """Why git would refuse `tag` as a tag name (or we would, for looking like an option)."""
    if not tag:
        return "a tag cannot be empty"
    if tag.startswith("-"):
        return "a tag cannot start with '-' (git would read it as an option)"
    if any(ord(c) < 32 or c in " ~^:?*[\\\x7f" for c in tag):
        return "a tag cannot hold spaces, control characters or any of ~^:?*[\\"
    if ".." in tag or "@{" in tag or "//" in tag or tag == "@":
        return "a tag cannot hold '..', '@{' or '//', nor be '@'"
    if tag.endswith((".", "/")) or any(
            p == "" or p.startswith(".") or p.endswith(".lock") for p in tag.split("/")):
        return ("a tag cannot end with '.' or '/', nor have a part that is empty, starts "
                "with '.' or ends with '.lock'")
    return None


# -- reading ---------------------------------------------------------------------------


def _yaml() -> YAML:
    # Imported here: an unchanged manifest loads from its cache without ruamel.yaml.
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


class _Checker:
    def __init__(self, path: Path, text: str = "") -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, node: Any, key: str | int | None, message: str, hint: str | None = None,
             ) -> ManifestError:
        line = col = None
        lc = getattr(node, "lc", None)
        if lc is not None:
            try:
                if isinstance(key, str) and isinstance(node, dict) and key in node:
                    nested = isinstance(node[key], dict | list)
                    line, col = lc.key(key) if nested else lc.value(key)
                elif isinstance(key, int):
                    line, col = lc.item(key)
                else:
                    line, col = lc.line, lc.col
            except (KeyError, IndexError, TypeError):
                line, col = lc.line, lc.col
        return ManifestError(self.path, None if line is None else line + 1,
                             None if col is None else col + 1, message, hint)

    def mapping(self, node: Any, where: Any, key: str | int | None, what: str,
                allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(where, key, f"{what} must be a mapping")
        for k in node:
            if k not in allowed:
                line, col = node.lc.key(k) if hasattr(node, "lc") else (None, None)
                raise ManifestError(
                    self.path, None if line is None else line + 1,
                    None if col is None else col + 1,
                    f"unknown key {k!r} in {what}", f"Known keys: {', '.join(sorted(allowed))}",
                )
        return node

    def written(self, node: Any, key: str | int) -> str:
        """A scalar as the author wrote it: YAML reads `1.10` as 1.1 and `010` as 10."""
        try:
            line, col = node.lc.value(key) if isinstance(key, str) else node.lc.item(key)
            return re.split(r"\s#|[,\]}]", self.lines[line][col:])[0].strip()
        except (AttributeError, KeyError, IndexError, TypeError):
            return ""

    def not_a_string_tag(self, node: Any, key: str | int, value: Any) -> ManifestError:
        if isinstance(value, dict | list):
            return self.fail(node, key, "a step's 'tag' must be a string")
        written = self.written(node, key) or str(value)
        return self.fail(node, key, f"tag {written} must be a string (quote it: '{written}')")

    def string(self, node: dict[str, Any], key: str, what: str, default: str | None = None) -> str:
        if key not in node:
            if default is None:
                raise self.fail(node, None, f"{what} needs '{key}'")
            return default
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, key, f"'{key}' of {what} must be a non-empty string"
                            + (" (quote it: '...')" if isinstance(value, int | float) else ""))
        return value


def load(path: Path, *, check_files: bool = True) -> Manifest:
    """Read and validate the manifest; with `check_files`, every step's file must exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ManifestError(path, None, None, "file not found") from e
    except UnicodeDecodeError as e:
        raise ManifestError(path, None, None, f"not UTF-8 text: {e}") from e
    key = _text_key(text)
    cached = _cached(path, key)
    if cached is not None and not (check_files and any(
            not os.path.isfile(cached.step_file(s)) for s in cached.steps)):
        return cached
    from ruamel.yaml.error import MarkedYAMLError

    try:
        data = _yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ManifestError(path, line, col, f"not valid YAML: {e.problem or e.context}") from e
    manifest = replace(_validate(path, data, check_files, text), key=key)
    _remember(manifest)
    return manifest


def unchanged(manifest: Manifest) -> bool:
    """Whether the manifest's file still holds the text `manifest` was read from."""
    try:
        text = manifest.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(manifest.key) and _text_key(text) == manifest.key


# Round-trip parsing keeps positions for messages but is slow (0.1 s for 500 steps), so
# the validated model is kept in .tutorial/manifest.json under the text's hash: an
# unchanged manifest then loads in a millisecond.
_CACHE = (".tutorial", "manifest.json")
_CACHE_VERSION = 2


def _text_key(text: str) -> str:
    return hashlib.sha1(f"{_CACHE_VERSION}\0{text}".encode()).hexdigest()


def _cached(path: Path, key: str) -> Manifest | None:
    try:
        data = json.loads(path.parent.joinpath(*_CACHE).read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        m = data["manifest"]
        chapters = tuple(
            Chapter(c["number"], c["title"], c["slug"],
                    tuple(Step(**{**s, "setup_files": tuple(s["setup_files"])})
                          for s in c["steps"]))
            for c in m["chapters"])
        return Manifest(path, m["title"], m["repo"], m["branch"], m["message"], chapters, key)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(manifest: Manifest) -> None:
    cache = manifest.root.joinpath(*_CACHE)
    data = {"key": manifest.key, "manifest": {
        "title": manifest.title, "repo": manifest.repo, "branch": manifest.branch,
        "message": manifest.message,
        "chapters": [{"number": c.number, "title": c.title, "slug": c.slug,
                      "steps": [asdict(s) for s in c.steps]} for c in manifest.chapters]}}
    try:
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass  # a read-only project still works, only slower


def _validate(path: Path, data: Any, check_files: bool, text: str = "") -> Manifest:
    c = _Checker(path, text)
    if data is None:
        raise ManifestError(path, 1, 1, "the manifest is empty", "Start from `tutorial init`.")
    top = c.mapping(data, data, None, "the manifest", TOP_KEYS)
    title = c.string(top, "title", "the manifest", default=path.parent.name)
    repo = c.string(top, "repo", "the manifest", default=DEFAULT_REPO)
    branch = c.string(top, "branch", "the manifest", default=DEFAULT_BRANCH)
    if (problem := tag_problem(branch)) is not None:
        raise c.fail(top, "branch", problem.replace("a tag", "a branch"))
    template = c.string(top, "message", "the manifest", default=DEFAULT_MESSAGE)
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise c.fail(top, "message", f"bad message template: {e}") from e
    if unknown := fields - PLACEHOLDERS:
        raise c.fail(top, "message", f"unknown placeholder {{{sorted(unknown)[0]}}}",
                     f"Placeholders: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}")
    top_verify = _verify_settings(c, top, _VerifySettings())
    chapters_node = top.get("chapters")
    if not isinstance(chapters_node, list):
        raise c.fail(top, "chapters" if "chapters" in top else None,
                     "the manifest needs 'chapters', a list")
    seen: dict[str, str] = {}
    slugs: set[str] = set()
    chapters = []
    for ci, cnode in enumerate(chapters_node):
        cmap = c.mapping(cnode, chapters_node, ci, f"chapter #{ci + 1}", CHAPTER_KEYS)
        number = cmap.get("number", ci + 1)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise c.fail(cmap, "number", "a chapter's 'number' must be a whole number")
        ctitle = c.string(cmap, "title", f"chapter {number}")
        slug = c.string(cmap, "slug", f"chapter {number}", default=slugify(number, ctitle))
        if not _NAME.match(slug):
            raise c.fail(cmap, "slug", f"slug {slug!r} must be letters, digits, '.', '_' or '-'")
        if slug in slugs:
            raise c.fail(cmap, "slug", f"two chapters share the slug {slug!r}")
        slugs.add(slug)
        chapter_verify = _verify_settings(c, cmap, top_verify)
        steps_node = cmap.get("steps", [])
        if not isinstance(steps_node, list):
            raise c.fail(cmap, "steps", f"'steps' of chapter {number} must be a list")
        steps = []
        for si, snode in enumerate(steps_node):
            steps.append(_step(c, steps_node, si, snode, number, ctitle, slug, seen, fields,
                               chapter_verify))
        chapters.append(Chapter(number, ctitle, slug, tuple(steps)))
    manifest = Manifest(path, title, repo, branch, template, tuple(chapters))
    if check_files:
        from .recovery import missing_file_hint  # above the manifest: see recovery.py

        for step, (node, key) in zip(manifest.steps, _step_nodes(chapters_node), strict=True):
            f = manifest.step_file(step)
            if not f.is_file():
                raise c.fail(node, key, f"step {step.label}: its file "
                             f"{f.relative_to(manifest.root).as_posix()} is missing",
                             missing_file_hint(manifest, step))
    return manifest


def _step_nodes(chapters_node: list[Any]) -> Iterator[tuple[Any, int]]:
    for cnode in chapters_node:
        steps = cnode.get("steps", [])
        for si in range(len(steps)):
            yield steps, si


def _step(c: _Checker, seq: list[Any], si: int, node: Any, chapter: int, ctitle: str,
          slug: str, seen: dict[str, str], fields: set[str],
          inherited: _VerifySettings) -> Step:
    settings = inherited
    if isinstance(node, str):
        node_map: dict[str, Any] = {"tag": node}
        where: Any = seq
        key: str | int = si
        tag: str | None = node
        name = default_name(node)
        title, message = ctitle, None
    else:
        if isinstance(node, int | float | date):  # `- 7`: a tag written as a number
            raise c.not_a_string_tag(seq, si, node)
        node_map = c.mapping(node, seq, si, f"step #{si + 1} of chapter {chapter}", STEP_KEYS)
        where, key = node_map, "tag"
        tag = node_map.get("tag")
        if tag is not None and not isinstance(tag, str):
            raise c.not_a_string_tag(node_map, "tag", tag)
        name = c.string(node_map, "name", f"step #{si + 1} of chapter {chapter}",
                        default=default_name(tag) if tag else "")
        title = c.string(node_map, "title", f"step {tag or name}", default=ctitle)
        message = node_map.get("message")
        if message is not None and not isinstance(message, str):
            raise c.fail(node_map, "message", "'message' must be a string")
        settings = _verify_settings(c, node_map, inherited)
    if tag is None and not name:
        raise c.fail(where, None, f"step #{si + 1} of chapter {chapter} needs a 'tag' or a 'name'")
    if tag is not None and (problem := tag_problem(tag)) is not None:
        raise c.fail(where, key, f"bad tag {tag!r}: {problem}")
    if not _NAME.match(name):
        raise c.fail(where, "name" if "name" in node_map else key,
                     f"bad step name {name!r}: use letters, digits, '.', '_' or '-'")
    for ident in {tag, name} - {None}:
        assert ident is not None
        if ident in seen:
            raise c.fail(where, key, f"duplicate step {ident!r} (also {seen[ident]})")
        seen[ident] = f"in chapter {chapter}"
    if tag is None and message is None and "tag" in fields:
        raise c.fail(where, None, f"untagged step {name!r} needs a 'message': "
                     "the message template uses {tag}")
    return Step(tag, name, title, message, chapter, ctitle, slug, settings.test,
                settings.timeout, settings.setup, settings.setup_files)


@dataclass(frozen=True)
class _VerifySettings:
    test: str | None = None
    timeout: float | None = None
    setup: str | None = None
    setup_files: tuple[str, ...] = ()


def _verify_settings(c: _Checker, node: dict[str, Any], inherited: _VerifySettings,
                     ) -> _VerifySettings:
    """`test`, `timeout`, `setup` and `setup_files` of one level, over the level above."""
    out = replace(inherited, test=_command(c, node, "test", inherited.test),
                  setup=_command(c, node, "setup", inherited.setup))
    if "timeout" in node:
        value = node["timeout"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise c.fail(node, "timeout", "'timeout' must be a number of seconds above 0")
        out = replace(out, timeout=float(value))
    if "setup_files" in node:
        value = node["setup_files"]
        if not isinstance(value, list):
            raise c.fail(node, "setup_files", "'setup_files' must be a list of paths")
        paths = []
        for i, item in enumerate(value):
            path = item.strip() if isinstance(item, str) else ""
            while path.startswith("./"):
                path = path[2:]
            path = path.rstrip("/")
            if (not path or path.startswith("/")
                    or any(p in ("", ".", "..") for p in path.split("/"))):
                raise c.fail(value, i, "each of 'setup_files' must be a relative path in the "
                             "step's tree, without '.' or '..' parts")
            paths.append(path)
        out = replace(out, setup_files=tuple(paths))
        if out.setup is None:
            raise c.fail(node, "setup_files", "'setup_files' needs a 'setup' command: they "
                         "say when to run it again")
    return out if out.setup is not None else replace(out, setup_files=())


def _command(c: _Checker, node: dict[str, Any], key: str, inherited: str | None) -> str | None:
    """A `test` or `setup` command: a string, or `false` for none (over an inherited one)."""
    if key not in node:
        return inherited
    value = node[key]
    if value is False:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if value is None and hasattr(node, "lc"):  # `test:` alone; its null has no useful place
        line, col = node.lc.key(key)
        raise ManifestError(c.path, line + 1, col + 1, f"'{key}' needs a command, or false "
                            f"(for {'no tests' if key == 'test' else 'no setup'})")
    raise c.fail(node, key, f"'{key}' must be a command (a non-empty string) or false "
                 f"(for {'no tests' if key == 'test' else 'no setup'})",
                 "Quote the command if YAML reads it as something else (a number, null, ...).")


# -- writing ---------------------------------------------------------------------------


def from_text(path: Path, text: str) -> Manifest:
    """Validate manifest text that is not (yet) on disk."""
    return _validate(path, _yaml().load(text), False, text)


def edit(path: Path, change: Callable[[CommentedMap], None]) -> None:
    """Change the manifest in place, keeping the author's comments and layout."""
    path.write_text(edited(path, change), encoding="utf-8")


def edited(path: Path, change: Callable[[CommentedMap], None]) -> str:
    """The manifest's text after `change`, validated, with comments and layout kept."""
    yaml = _yaml()
    yaml.preserve_quotes = True
    data = yaml.load(path.read_text(encoding="utf-8"))
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    _validate(path, _yaml().load(out.getvalue()), False, out.getvalue())
    return out.getvalue()


def dump_new(path: Path, data: CommentedMap, header: str) -> None:
    """Write a new manifest with a comment at the top."""
    data.yaml_set_start_comment(header)
    with path.open("w", encoding="utf-8") as f:
        _yaml().dump(data, f)


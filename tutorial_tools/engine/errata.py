"""What `tutorial changes` says: text for a terminal, JSON, and a markdown errata page."""

from __future__ import annotations

import json
import re
from typing import Any

from ..render.mdtext import md_code, md_text
from .changes import Changes, Fix

SHORT_DIFF_LINES = 60  # an errata entry shows at most this much of its fix


def to_json(changes: Changes) -> str:
    """The changes as JSON, for scripts."""
    data: dict[str, Any] = {
        "old": changes.old, "new": changes.new,
        "steps": [{"tag": s.tag, "status": s.status, "kind": s.kind, "from": list(s.sources),
                   "old": s.old, "new": s.new} for s in changes.steps],
        "fixes": [{"introduced_at": f.introduced_at, "inherited_by": list(f.inherited_by),
                   "adapted": list(f.adapted), "files": list(f.files), "diff": f.diff}
                  for f in changes.fixes],
    }
    return json.dumps(data, indent=2) + "\n"


def summary(changes: Changes) -> str:
    """One line: how many steps are the same, changed, added and removed."""
    parts = [f"{changes.count(s)} {s}" for s in ("same", "changed", "added", "removed")
             if changes.count(s) or s == "same"]
    origins = ", ".join(f.introduced_at for f in changes.fixes)
    return (f"{len(changes.steps)} step(s): {', '.join(parts)}; {len(changes.fixes)} fix(es)"
            + (f" (introduced at {origins})" if origins else ""))


def text(changes: Changes, *, diffs: bool = True) -> str:
    """For a terminal: each step that is not the same, then each fix with its diff."""
    out = [f"Changes from {changes.old} to {changes.new}: {summary(changes)}"]
    for s in changes.steps:
        if s.status == "same":
            continue
        what = s.status if s.kind is None else {
            "fix": "a fix starts here", "inherited": "inherited", "adapted":
            "adapted (carrying the change needed a resolution)"}[s.kind]
        src = f" from {', '.join(s.sources)}" if s.sources and s.kind != "fix" else ""
        also = f" (and carries {', '.join(s.sources)})" if s.sources and s.kind == "fix" else ""
        out.append(f"  {s.tag:<10} {what}{src}{also}")
    for f in changes.fixes:
        out.append("")
        out.append(f"Fix introduced at {f.introduced_at} ({', '.join(f.files)})"
                   + _affects(f))
        if diffs:
            out.append(f.diff.rstrip("\n"))
    return "\n".join(out) + "\n"


def _affects(f: Fix) -> str:
    said = []
    if f.inherited_by:
        said.append(f"inherited by {', '.join(f.inherited_by)}")
    if f.adapted:
        said.append(f"adapted at {', '.join(f.adapted)}")
    return ": " + "; ".join(said) if said else ""


def markdown(changes: Changes, *, title: str = "Errata") -> str:
    """An errata page: per fix the step, a short diff, the steps affected and how a reader
    who is part-way through catches up; then the steps added and removed. Tags and paths
    are shown as text: Markdown and HTML in them stay inert."""
    out = [f"# {md_text(title)}", ""]
    if not changes.fixes and not changes.count("added") and not changes.count("removed"):
        out += ["No step's code has changed.", ""]
    order = {s.tag: n for n, s in enumerate(changes.steps)}
    for f in changes.fixes:
        at = md_text(f.introduced_at)
        out += [f"## Step {at}: {', '.join(md_code(p) for p in f.files)}", ""]
        later = sorted([*f.inherited_by, *f.adapted], key=order.__getitem__)
        affected = [f"**{at}** (where it was made)",
                    *(md_text(t) + (" (adapted by hand)" if t in f.adapted else "")
                      for t in later)]
        out += [f"A fix to step {at}. Steps that have it: "
                + ", ".join(affected) + ".", ""]
        out += _fenced(_short(f.diff), "diff")
        out += [
            "If you are following along at one of these steps (below, `TAG` is the step "
            "you are at):", "",
            "- Without changes of your own: fetch the corrected tags and check out your "
            "step again:", "",
            *_fenced("git fetch --tags --force\ngit checkout TAG", "sh"),
            "- With changes of your own: put them aside, check out the corrected step and "
            "bring them back (then resolve any conflict in the files git names):", "",
            *_fenced("git stash --include-untracked\ngit fetch --tags --force\n"
                     "git checkout TAG\ngit stash pop", "sh"),
            "- Or keep your work as it is and apply only the fix: save the diff above as "
            "`fix.patch` and run `git apply fix.patch`.", "",
        ]
    added = [md_text(s.tag) for s in changes.steps if s.status == "added"]
    removed = [md_text(s.tag) for s in changes.steps if s.status == "removed"]
    if added or removed:
        out += ["## New and removed steps", ""]
        if added:
            out += [f"New steps: {', '.join(added)}. Fetch them with "
                    "`git fetch --tags --force`.", ""]
        if removed:
            out += [f"Removed steps: {', '.join(removed)}. Their tags are gone; the steps "
                    "after them no longer include their changes.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _short(diff: str) -> str:
    """The diff without its `index` lines (object ids mean nothing to a reader), cut short."""
    lines = [line for line in diff.rstrip("\n").split("\n") if not line.startswith("index ")]
    if len(lines) <= SHORT_DIFF_LINES:
        return "\n".join(lines)
    rest = len(lines) - SHORT_DIFF_LINES
    return "\n".join(lines[:SHORT_DIFF_LINES]) + f"\n... ({rest} more line(s))"


def _fenced(body: str, lang: str) -> list[str]:
    """A fenced code block longer than any run of backticks in `body`."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, body, fence, ""]

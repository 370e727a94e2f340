"""Text from authors and histories (titles, tags, paths) as Markdown that shows it exactly:
no markup, no HTML. Shared by the site's generated pages and the errata page."""

from __future__ import annotations

import html
import re

# Python-Markdown's backslash escapes (its ESCAPED_CHARS, less '>': escaped as &gt;).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def md_text(text: str) -> str:
    """`text` as markdown that shows exactly `text` (no markup, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def md_code(text: str) -> str:
    """`text` as inline code, shown exactly: a plain code span when it can be one (Markdown
    escapes its content), else a `<code>` element around escaped text. Control characters
    (a newline in a path) show as escapes such as `\\n`: they cannot end the line."""
    shown = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
    if shown and "`" not in shown and shown.strip() == shown:
        return f"`{shown}`"
    return f"<code>{md_text(shown)}</code>"

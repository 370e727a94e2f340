"""YAML text for a new manifest, written directly (ruamel.yaml takes 0.1 s to dump 500 steps).

Block style, laid out as the tool's ruamel.yaml settings lay it out (mappings indented by
2, a sequence's dash by 2 and its content by 4). A string is written plain only when it
matches a conservative pattern that no YAML 1.1 or 1.2 reader takes for anything but a
string; otherwise it is single-quoted, or double-quoted with escapes when it holds
anything but printable characters.
Edits of an existing manifest keep going through ruamel.yaml, which keeps comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Value = str | int | bool | Sequence["Value"] | Mapping[str, "Value"]

# Words of letters, digits and `_ . / ( ) -`, single spaces between them, not starting
# with `-` or `.`, holding a letter.
_PLAIN = re.compile(r"(?=[^-.])(?=.*[A-Za-z])[A-Za-z0-9_./()-]+(?: [A-Za-z0-9_./()-]+)*")
# What YAML 1.1 or 1.2 reads as a number, boolean or null despite holding a letter.
_SPECIAL = re.compile(
    r"[-+]?(?:0x[0-9a-fA-F_]*|0o[0-7_]*|0b[01_]*"
    r"|[0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9_]+)?|\.?inf|\.?nan)"
    r"|true|false|yes|no|on|off|y|n|null|nil|none",
    re.IGNORECASE,
)


def dump(data: Mapping[str, Value], header: str = "") -> str:
    """`data` as a YAML document, after `header` as comment lines."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _mapping(data, 0, lines)
    return "\n".join(lines) + "\n"


def scalar(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and not _SPECIAL.fullmatch(value):
        return value
    return _quoted(value)


def _quoted(text: str) -> str:
    if text.isprintable():  # no line break, control or format character: single quotes
        return "'" + text.replace("'", "''") + "'"
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif (0x20 <= code < 0x7F or (0xA0 <= code < 0xD800 and code not in (0x2028, 0x2029))
              or (0xE000 <= code < 0xFFFE and code != 0xFEFF) or code >= 0x10000):
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def _mapping(data: Mapping[str, Value], indent: int, lines: list[str],
             first: str | None = None) -> None:
    """`data` at `indent`; its first line starts with `first` (a sequence's dash) if given."""
    if not data:
        lines.append(" " * indent + "{}")
        return
    for i, (key, value) in enumerate(data.items()):
        pad = first if i == 0 and first is not None else " " * indent
        _entry(f"{pad}{scalar(key)}:", value, indent, lines)


def _entry(prefix: str, value: Value, indent: int, lines: list[str]) -> None:
    if isinstance(value, str | int | bool):
        lines.append(f"{prefix} {scalar(value)}")
    elif isinstance(value, Mapping):
        if not value:
            lines.append(f"{prefix} {{}}")
            return
        lines.append(prefix)
        _mapping(value, indent + 2, lines)
    elif not value:
        lines.append(f"{prefix} []")
    else:
        lines.append(prefix)
        for item in value:
            dash = " " * (indent + 2) + "- "
            if isinstance(item, Mapping) and item:
                _mapping(item, indent + 4, lines, first=dash)
            elif isinstance(item, str | int | bool):
                lines.append(dash + scalar(item))
            else:
                raise TypeError(f"unsupported item in a sequence: {item!r}")

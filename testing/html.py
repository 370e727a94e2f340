"""Read rendered HTML fragments back in tests: tag balance, ids, links, cell texts."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


class Fragment(HTMLParser):
    """Parses a fragment and fails on any tag that is not closed in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.roots = 0
        # (classes of the cell and of its table, text) of every <td>
        self.cells: list[tuple[list[str], str]] = []
        self._cell: tuple[list[str], list[str]] | None = None
        self._table: list[str] = []
        self.feed(html)
        self.close()
        assert not self.stack, f"unclosed tags: {self.stack}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(found["id"] or "")
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        if tag in VOID:
            return
        if not self.stack:
            self.roots += 1
        if tag == "table":
            self._table = (found.get("class") or "").split()
        if tag == "td":
            self._cell = ((found.get("class") or "").split() + self._table, [])
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in VOID, f"<{tag}/> is not a void element"
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}> closes a void element"
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], "".join(self._cell[1])))
            self._cell = None

    def handle_data(self, data: str) -> None:
        assert self.stack or not data.strip(), f"text outside the root element: {data!r}"
        if self._cell is not None:
            self._cell[1].append(data)

    def texts(self, *classes: str) -> list[str]:
        """The text of every cell that has all of `classes`."""
        return [text for cls, text in self.cells if set(classes) <= set(cls)]

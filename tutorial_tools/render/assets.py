"""The stylesheet and script the rendered fragments need, as files for a site to serve.

Theme-independent (every class starts with `tt-`), light and dark: dark follows Material's
`slate` scheme, the mkdocs theme's `data-bs-theme="dark"`, or the system preference when
the page names no scheme of its own.
"""

from __future__ import annotations

import functools

from pygments.formatters import HtmlFormatter

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

_ROOTS = (".tt-diff", ".tt-file")
# Where the page itself says it is dark, and where it leaves the choice to the system.
_DARK = ('[data-md-color-scheme="slate"]', '[data-bs-theme="dark"]')
_SYSTEM_DARK = 'html:not([data-bs-theme="light"]) body:not([data-md-color-scheme="default"])'

_LIGHT_VARS = """
  --tt-fg: #1f2328; --tt-bg: #ffffff; --tt-muted: #656d76; --tt-border: #d0d7de;
  --tt-head-bg: #f6f8fa; --tt-hunk-bg: #ddf4ff; --tt-empty-bg: #f6f8fa;
  --tt-add-bg: #e6ffec; --tt-add-num: #ccffd8; --tt-add-word: #abf2bc; --tt-add-fg: #1a7f37;
  --tt-del-bg: #ffebe9; --tt-del-num: #ffd7d5; --tt-del-word: #ffb8b1; --tt-del-fg: #cf222e;
  --tt-ren-fg: #0969da; --tt-mod-fg: #9a6700; --tt-copy-fg: #8250df; --tt-target: #fff8c5;
"""
_DARK_VARS = """
  --tt-fg: #e6edf3; --tt-bg: #0d1117; --tt-muted: #8d96a0; --tt-border: #30363d;
  --tt-head-bg: #161b22; --tt-hunk-bg: #131d2e; --tt-empty-bg: #161b22;
  --tt-add-bg: #12261e; --tt-add-num: #1b4721; --tt-add-word: #2a5f35; --tt-add-fg: #3fb950;
  --tt-del-bg: #25171c; --tt-del-num: #542426; --tt-del-word: #7b2b30; --tt-del-fg: #f85149;
  --tt-ren-fg: #58a6ff; --tt-mod-fg: #d29922; --tt-copy-fg: #bc8cff; --tt-target: #3b2e0a;
"""

_CSS = """
.tt-diff, .tt-file {
  --tt-font: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
    monospace;
  color: var(--tt-fg); margin: 1em 0; text-align: left;
}
.tt-diff *, .tt-file * { box-sizing: border-box; }
.tt-summary {
  display: flex; flex-wrap: wrap; align-items: center; gap: .5em 1em;
  padding: .4em 0; font-size: .85em;
}
.tt-summary .tt-stat { flex: 1 1 auto; }
.tt-n-add { color: var(--tt-add-fg); }
.tt-n-del { color: var(--tt-del-fg); }
.tt-toggle { display: none; }
.tt-js .tt-toggle { display: inline-flex; }
.tt-diff .tt-toggle button, .tt-copy {
  font: inherit; font-size: .85em; line-height: 1.4; margin: 0; padding: .15em .7em;
  color: var(--tt-fg); background: var(--tt-head-bg); border: 1px solid var(--tt-border);
  border-radius: 0; cursor: pointer;
}
.tt-diff .tt-toggle button:first-child { border-radius: 6px 0 0 6px; }
.tt-diff .tt-toggle button:last-child { border-radius: 0 6px 6px 0; border-left: 0; }
.tt-diff .tt-toggle button[aria-pressed="true"] { background: var(--tt-hunk-bg); font-weight: 600; }
.tt-bar { display: inline-flex; gap: 1px; vertical-align: middle; }
.tt-bar i { display: inline-block; width: .5em; height: .5em; border-radius: 1px; }
.tt-b-add { background: var(--tt-add-fg); }
.tt-b-del { background: var(--tt-del-fg); }
.tt-b-none { background: var(--tt-border); }
.tt-diff ul.tt-files {
  list-style: none; margin: 0 0 1em; padding: 0; font-size: .85em;
  border: 1px solid var(--tt-border); border-radius: 6px;
}
.tt-diff ul.tt-files > li {
  display: flex; flex-wrap: wrap; align-items: center; gap: .25em .6em;
  margin: 0; padding: .3em .6em; border-top: 1px solid var(--tt-border);
}
.tt-diff ul.tt-files > li:first-child { border-top: 0; }
.tt-diff ul.tt-files > li > a { flex: 1 1 auto; min-width: 0; color: inherit; }
.tt-path { font-family: var(--tt-font); overflow-wrap: anywhere; }
.tt-old-path { color: var(--tt-muted); }
.tt-meta { color: var(--tt-muted); font-size: .9em; }
.tt-counts { font-family: var(--tt-font); font-size: .9em; white-space: nowrap; }
.tt-badge {
  display: inline-block; min-width: 1.4em; padding: 0 .3em; border-radius: 4px;
  font: 600 .8em/1.5 var(--tt-font); text-align: center; color: var(--tt-bg);
}
.tt-badge.tt-added { background: var(--tt-add-fg); }
.tt-badge.tt-deleted { background: var(--tt-del-fg); }
.tt-badge.tt-modified { background: var(--tt-mod-fg); }
.tt-badge.tt-renamed { background: var(--tt-ren-fg); }
.tt-badge.tt-copied { background: var(--tt-copy-fg); }
.tt-diff details.tt-dfile {
  display: block; margin: 0 0 1em; padding: 0; overflow: hidden; font-size: inherit;
  border: 1px solid var(--tt-border); border-radius: 6px; box-shadow: none;
  background: var(--tt-bg);
}
.tt-diff details.tt-dfile > summary.tt-dfile-head, .tt-file .tt-file-head {
  display: flex; flex-wrap: wrap; align-items: center; gap: .25em .6em; position: static;
  margin: 0; padding: .45em .75em; font-size: .85em; font-weight: normal; cursor: pointer;
  list-style: none; color: var(--tt-fg); background: var(--tt-head-bg);
  border: 0; border-radius: 0;
}
.tt-diff details.tt-dfile[open] > summary.tt-dfile-head {
  border-bottom: 1px solid var(--tt-border);
}
.tt-diff details.tt-dfile > summary.tt-dfile-head::-webkit-details-marker { display: none; }
.tt-diff details.tt-dfile > summary.tt-dfile-head::before {
  content: "\\25B8"; position: static; display: inline-block; width: 1em; height: auto;
  margin: 0; color: var(--tt-muted); background: none; -webkit-mask: none; mask: none;
  transform: none; transition: transform .1s;
}
.tt-diff details.tt-dfile[open] > summary.tt-dfile-head::before { transform: rotate(90deg); }
.tt-diff details.tt-dfile > summary.tt-dfile-head::after { content: none; display: none; }
.tt-dfile-head .tt-path { flex: 1 1 auto; min-width: 0; font-weight: 600; }
.tt-diff details.tt-dfile > .tt-dfile-body { margin: 0; padding: 0; }
.tt-file { border: 1px solid var(--tt-border); border-radius: 6px; overflow: hidden; }
.tt-file .tt-file-head { cursor: auto; border-bottom: 1px solid var(--tt-border); }
.tt-file .tt-file-head .tt-path { flex: 1 1 auto; }
.tt-note { margin: 0; padding: .75em; color: var(--tt-muted); font-size: .85em; }
.tt-images { display: flex; flex-wrap: wrap; gap: 1em; padding: .75em; }
.tt-diff .tt-images figure { margin: 0; display: flex; flex-direction: column; gap: .3em; }
.tt-images img {
  max-width: 100%; max-height: 24em; border: 1px solid var(--tt-border);
  background: repeating-conic-gradient(#8883 0 25%, transparent 0 50%) 0 0 / 16px 16px;
}
.tt-diff .tt-images figcaption {
  margin: 0; max-width: none; font-size: .8em; color: var(--tt-muted); text-align: left;
}
.tt-before img { border-color: var(--tt-del-fg); }
.tt-after img { border-color: var(--tt-add-fg); }
.tt-view-unified .tt-split, .tt-view-split .tt-unified { display: none; }
.tt-view-split table.tt-unified.tt-one-side { display: table; }
table.tt-lines {
  display: table; width: 100%; margin: 0; border: 0; border-collapse: collapse;
  border-spacing: 0; table-layout: auto; font: .85em/1.5 var(--tt-font); background: none;
  box-shadow: none;
}
/* Themes style every table (the mkdocs theme makes each one a striped Bootstrap table). */
table.tt-lines td, table.tt-lines tr {
  padding: 0 .5em; border: 0; vertical-align: top; background: none; min-width: 0;
  color: var(--tt-fg); box-shadow: none;
}
table.tt-lines td.tt-num {
  width: 1%; min-width: 3.5em; padding: 0 .6em; text-align: right; white-space: nowrap;
  color: var(--tt-muted); user-select: none; -webkit-user-select: none;
}
table.tt-lines td.tt-num a { color: inherit; text-decoration: none; border: 0; }
table.tt-lines td.tt-num a::before { content: attr(data-n); }
table.tt-lines td.tt-num a:hover { color: var(--tt-fg); }
table.tt-lines td.tt-mark {
  width: 1%; padding: 0 0 0 .4em; user-select: none; -webkit-user-select: none;
}
table.tt-lines td.tt-mark.tt-add::before { content: "+"; color: var(--tt-add-fg); }
table.tt-lines td.tt-mark.tt-del::before { content: "-"; color: var(--tt-del-fg); }
table.tt-lines td.tt-code {
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; tab-size: 4;
  padding-left: .3em;
}
table.tt-split td.tt-code { width: 49%; }
table.tt-lines td.tt-add { background: var(--tt-add-bg); }
table.tt-lines td.tt-num.tt-add { background: var(--tt-add-num); }
table.tt-lines td.tt-del { background: var(--tt-del-bg); }
table.tt-lines td.tt-num.tt-del { background: var(--tt-del-num); }
table.tt-lines td.tt-empty { background: var(--tt-empty-bg); }
table.tt-split td.tt-num.tt-ctx:nth-child(4), table.tt-split td.tt-num:nth-child(4) {
  border-left: 1px solid var(--tt-border);
}
.tt-diff .tt-code del.tt-w, .tt-diff .tt-code ins.tt-w {
  text-decoration: none; color: inherit; border-radius: 2px; padding: 0;
}
.tt-diff .tt-code del.tt-w { background: var(--tt-del-word); }
.tt-diff .tt-code ins.tt-w { background: var(--tt-add-word); }
tr.tt-hunk-head td {
  padding: .25em .6em; color: var(--tt-muted); background: var(--tt-hunk-bg);
  white-space: pre-wrap;
}
tr.tt-hunk-head td.tt-hunk-nums { user-select: none; -webkit-user-select: none; }
.tt-section { color: var(--tt-fg); }
.tt-copy { display: none; float: right; }
.tt-js .tt-copy { display: inline-block; }
.tt-file .tt-copy { float: none; }
.tt-noeol::after, .tt-eol::after {
  margin-left: .6em; padding: 0 .35em; border: 1px solid currentColor; border-radius: 3px;
  font-size: .85em; color: var(--tt-muted); user-select: none; -webkit-user-select: none;
}
.tt-noeol::after { content: "\\2205  No newline at end of file"; }
.tt-eol::after { content: attr(data-eol); }
.tt-ctl::before { content: attr(data-c); color: var(--tt-muted); }
table.tt-lines tr.tt-target > td, table.tt-lines tr:has(a:target) > td {
  background: var(--tt-target);
}
table.tt-split[data-tt-side="old"] td.tt-new, table.tt-split[data-tt-side="new"] td.tt-old {
  user-select: none; -webkit-user-select: none;
}
"""

_JS = """\
(function () {
  "use strict";
  var KEY = "tutorial-tools:diff-view";
  document.documentElement.classList.add("tt-js");

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function apply(view) {
    var split = view === "split";
    document.querySelectorAll(".tt-diff").forEach(function (diff) {
      diff.classList.toggle("tt-view-split", split);
      diff.classList.toggle("tt-view-unified", !split);
      diff.querySelectorAll("button[data-tt-view]").forEach(function (b) {
        var pressed = (b.getAttribute("data-tt-view") === "split") === split;
        b.setAttribute("aria-pressed", String(pressed));
      });
    });
  }

  function reveal() {
    document.querySelectorAll("tr.tt-target").forEach(function (r) {
      r.classList.remove("tt-target");
    });
    var id = "";
    try { id = decodeURIComponent(window.location.hash.slice(1)); } catch (e) { return; }
    var el = id && document.getElementById(id);
    if (!el || !el.closest(".tt-diff, .tt-file")) { return; }
    var box = el.closest("details");
    if (box && !box.open) { box.open = true; }
    var shown = el;
    if (el.offsetParent === null) {
      document.querySelectorAll("[data-tt-line]").forEach(function (a) {
        if (a.getAttribute("data-tt-line") === id && a.offsetParent !== null) { shown = a; }
      });
    }
    var row = shown.closest("tr");
    if (row) { row.classList.add("tt-target"); }
    if (shown !== el || box) { shown.scrollIntoView({ block: "center" }); }
  }

  function copy(button) {
    var scope = button.closest("tbody") || button.closest(".tt-file");
    if (!scope || !navigator.clipboard) { return; }
    var lines = [];
    scope.querySelectorAll(".tt-nc").forEach(function (cell) { lines.push(cell.textContent); });
    navigator.clipboard.writeText(lines.join("\\n") + "\\n").then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 1200);
    }, function () {});
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var toggle = target.closest(".tt-diff button[data-tt-view]");
    if (toggle) {
      var view = toggle.getAttribute("data-tt-view");
      try { window.localStorage.setItem(KEY, view); } catch (e) { /* private mode */ }
      apply(view);
      return;
    }
    var button = target.closest(".tt-copy");
    if (button) { event.preventDefault(); copy(button); }
  });

  // In the split layout, a selection stays on the side where it started.
  document.addEventListener("mousedown", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var cell = target.closest("table.tt-split td");
    if (!cell) { return; }
    var side = cell.classList.contains("tt-old") ? "old"
      : cell.classList.contains("tt-new") ? "new" : "";
    var table = cell.closest("table");
    if (side) {
      table.setAttribute("data-tt-side", side);
    } else {
      table.removeAttribute("data-tt-side");
    }
  });

  function init() { apply(stored()); reveal(); }
  window.addEventListener("hashchange", reveal);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  // Material's instant navigation swaps pages without loading this script again.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  }
})();
"""


def _scoped(selectors: list[str]) -> list[str]:
    return [f"{s} {root}" for s in selectors for root in _ROOTS]


def _tokens(style: str, scopes: list[str]) -> str:
    formatter: HtmlFormatter[str] = HtmlFormatter(style=style)
    rules: list[str] = formatter.get_token_style_defs(  # type: ignore[no-untyped-call]
        [f"{s} .tt-code" for s in scopes])
    return "\n".join(rules)


def stylesheet() -> str:
    """The CSS: layout, colours as variables, and both Pygments styles."""
    dark = _scoped(list(_DARK))
    system = _scoped([_SYSTEM_DARK])
    return "\n".join([
        f"{', '.join(_ROOTS)} {{{_LIGHT_VARS}}}",
        f"{', '.join(dark)} {{{_DARK_VARS}}}",
        f"@media (prefers-color-scheme: dark) {{\n{', '.join(system)} {{{_DARK_VARS}}}\n}}",
        _CSS,
        _tokens(LIGHT_STYLE, list(_ROOTS)),
        _tokens(DARK_STYLE, dark),
        "@media (prefers-color-scheme: dark) {\n" + _tokens(DARK_STYLE, system) + "\n}",
    ])


@functools.cache
def assets() -> dict[str, bytes]:
    """Path (relative to the site root) -> content of every file the fragments need."""
    return {
        "tutorial/diff.css": stylesheet().encode(),
        "tutorial/diff.js": _JS.encode(),
    }

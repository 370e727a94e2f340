"""The mkdocs plugin that renders the tutorial into a documentation site."""

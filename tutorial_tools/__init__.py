"""tutorial-tools: keep a code-along tutorial's tagged git history as plain text."""

__version__ = "0.1.0"

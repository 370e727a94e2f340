"""The reader's view of a step as HTML: its diff, or a file as the step has it.

Pure rendering: git is read only through `gitstore.Repository` (see README.md here).
"""

from .assets import assets
from .diffview import ImageUrl, human_size, render_diff
from .fileview import render_file
from .model import FileDiff, Hunk, Line, StepDiff, load_step_diff, load_step_diffs

# Bump whenever the HTML or the assets change: sites cache rendered pages under it.
RENDERER_VERSION = "3"


__all__ = [
    "RENDERER_VERSION", "FileDiff", "Hunk", "ImageUrl", "Line", "StepDiff", "assets", "human_size",
    "load_step_diff", "load_step_diffs", "render_diff", "render_file",
]

"""`python -m tutorial_tools` runs the `tutorial` command."""

import sys

from .cli import main

sys.exit(main())

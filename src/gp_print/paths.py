"""Where gp-print finds its own files: page layouts and bundled fonts.

They live beside `src/` in the repository (the package is installed editable), so a designer
edits `layouts/` and the next build uses it.  `GP_PRINT_HOME` points elsewhere if needed.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME = Path(os.environ.get("GP_PRINT_HOME") or Path(__file__).resolve().parents[2])
LAYOUTS_DIR = HOME / "layouts"
FONTS_DIR = HOME / "fonts"

"""The Jinja2 environment over `layouts/`: page templates, partials and stylesheets."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import jinja2

from gp_print.paths import FONTS_DIR, LAYOUTS_DIR

# The stylesheets a story is set in, in cascade order; measurement uses exactly these.
MEASURE_STYLESHEETS = ("css/fonts.css", "css/colour.css", "css/story.css")


def page_link(number: int) -> str:
    """Href of a link to another page; turned into an internal link when the e-edition is assembled."""
    return f"gp-page:{number}"


def template_environment(folder: Path) -> jinja2.Environment:
    """A Jinja2 environment over a folder of designer-edited templates: autoescaped, strict
    about undefined names (a typo in a template fails loudly), whitespace-tidy."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def environment() -> jinja2.Environment:
    env = template_environment(LAYOUTS_DIR)
    env.globals["page_link"] = page_link
    return env


@cache
def stylesheet_digest() -> str:
    """Hash of everything in layouts/ and fonts/: part of every measurement's cache key."""
    from importlib.metadata import version

    from gp_print import __version__

    # The installed version, read without importing WeasyPrint (a third of a second): a plan
    # whose measurements are all cached never needs it.
    digest = hashlib.sha256(f"gp-print {__version__} weasyprint {version('weasyprint')}".encode())
    for folder in (LAYOUTS_DIR, FONTS_DIR):
        for path in sorted(folder.rglob("*")):
            # The readers' site's own files (layouts/site/) do not change how a page is set.
            if path.is_file() and not path.is_relative_to(LAYOUTS_DIR / "site"):
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]

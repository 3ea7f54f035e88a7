"""The Jinja2 environment over `layouts/`: page templates, partials and stylesheets."""

from __future__ import annotations

import hashlib
from functools import cache

import jinja2

from gp_print.paths import FONTS_DIR, LAYOUTS_DIR


def page_link(number: int) -> str:
    """Href of a link to another page; turned into an internal link when the e-edition is assembled."""
    return f"gp-page:{number}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(LAYOUTS_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["page_link"] = page_link
    return env


@cache
def stylesheet_digest() -> str:
    """Hash of everything in layouts/ and fonts/: part of every measurement's cache key."""
    digest = hashlib.sha256()
    for folder in (LAYOUTS_DIR, FONTS_DIR):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]

"""The renderer's only way to read files: a URL fetcher with a wall around it.

Story text never reaches the renderer as raw HTML, so this is the second wall: anything that is
not a local file inside the edition folder, `layouts/` or `fonts/` is refused, and the build
fails with a message naming the address.  No network request is ever made.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gp_print.errors import FetchRefused
from gp_print.paths import FONTS_DIR, LAYOUTS_DIR

_configured = False


def configure_fonts() -> None:
    """Point fontconfig at the bundled fonts only; must run before WeasyPrint is imported."""
    global _configured
    if _configured:
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gp-print" / "fontconfig"
    cache.mkdir(parents=True, exist_ok=True)
    conf = cache / "fonts.conf"
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{FONTS_DIR.resolve()}</dir>\n  <cachedir>{cache.resolve()}</cachedir>\n"
        "  <config><rescan><int>0</int></rescan></config>\n</fontconfig>\n"
    )
    if not conf.exists() or conf.read_text() != text:
        tmp = conf.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, conf)
    os.environ["FONTCONFIG_FILE"] = str(conf)
    _configured = True


def allowed_roots(edition_root: Path | None) -> tuple[Path, ...]:
    roots = [LAYOUTS_DIR.resolve(), FONTS_DIR.resolve()]
    if edition_root is not None:
        roots.append(edition_root.resolve())
    return tuple(roots)


def check_local(url: str, roots: tuple[Path, ...]) -> Path:
    """The file a `file:` URL names, if it lies inside one of `roots`; else FetchRefused."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        raise FetchRefused(f"refused to fetch '{url}': only files inside the edition, layouts/ and fonts/ "
                           "may be used — put the file in the edition folder")
    path = Path(unquote(parts.path)).resolve()
    if not any(path.is_relative_to(root) for root in roots):
        raise FetchRefused(f"refused to read '{path}': it is outside the edition, layouts/ and fonts/ — "
                           "copy the file into the edition folder")
    if not path.is_file():
        raise FetchRefused(f"'{path}' not found — check the file name")
    return path


def make_fetcher(edition_root: Path | None):  # type: ignore[no-untyped-def]
    """A WeasyPrint URLFetcher that serves only allowed local files."""
    configure_fonts()
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    roots = allowed_roots(edition_root)

    class WalledFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            try:
                path = check_local(url, roots)
            except FetchRefused as exc:
                raise FatalURLFetchingError(exc.message) from exc
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})

    return WalledFetcher()

"""The renderer's only way to read files: a URL fetcher with a wall around it.

Story text never reaches the renderer as raw HTML, so this is the second wall: anything that is
not a local file inside the edition folder, `layouts/` or `fonts/` is refused, and the build
fails with a message naming the address.  No network request is ever made.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
from collections.abc import Iterator
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
    from gp_print.colour import cache_dir  # pictures converted for press and screen

    roots = [LAYOUTS_DIR.resolve(), FONTS_DIR.resolve(), cache_dir().resolve()]
    if edition_root is not None:
        roots.append(edition_root.resolve())
    return tuple(roots)


def check_local(url: str, roots: tuple[Path, ...]) -> Path:
    """The file a `file:` URL names, if it lies inside one of `roots` once every symlink and
    `..` is resolved; else FetchRefused.  Nothing here opens a socket: any other scheme (http,
    https, ftp, data, …) is refused outright."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise FetchRefused(f"refused to fetch '{url[:200]}': only files inside the edition, layouts/ and fonts/ "
                           "may be used — put the file in the edition folder")
    try:
        path = Path(unquote(parts.path)).resolve()
        inside = any(path.is_relative_to(root) for root in roots)
        is_file = inside and path.is_file()
    except (OSError, ValueError) as exc:  # embedded NUL, name too long, symlink loop, …
        raise FetchRefused(f"refused to read '{url[:200]}': not a usable file name ({exc})") from None
    if not inside:
        raise FetchRefused(f"refused to read '{path}': it is outside the edition, layouts/ and fonts/ — "
                           "copy the file into the edition folder")
    if not is_file:
        raise FetchRefused(f"'{path}' not found — check the file name")
    return path


@contextlib.contextmanager
def refusals_as_errors() -> Iterator[None]:
    """Around a render: WeasyPrint stops on a refused fetch with its own `FatalURLFetchingError`
    (a BaseException, so it is not swallowed as a warning); turn it back into `FetchRefused`,
    which the CLI prints as one line without a traceback."""
    try:
        yield
    except BaseException as exc:
        refusal = getattr(exc, "refusal", None)
        if isinstance(refusal, FetchRefused) and refusal is not exc:
            raise FetchRefused(refusal.message) from None
        raise


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
                fatal = FatalURLFetchingError(exc.message)
                fatal.refusal = exc  # for refusals_as_errors
                raise fatal from exc
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})

    return WalledFetcher()

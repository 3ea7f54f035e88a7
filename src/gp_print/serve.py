"""`gp-print serve SITE`: a local preview of the readers' site, on 127.0.0.1 only.

A plain `http.server` rooted at SITE: files only (no directory listings), nothing outside SITE
(`..` and symlinks that lead out are refused), the same Content-Security-Policy the pages
carry in their meta tag sent as a header too.  For a desk's preview, not for the public web.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from gp_print.errors import GPPrintError
from gp_print.site import CSP

HOST = "127.0.0.1"


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files under `directory` and nothing else."""

    server_version = "gp-print"
    sys_version = ""
    extensions_map = {  # noqa: RUF012 - the base class's name and type
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".webp": "image/webp",
        ".svg": "image/svg+xml",
        ".woff2": "font/woff2",
        ".json": "application/json",
        ".xml": "application/atom+xml",
        ".js": "text/javascript",
        ".css": "text/css",
        ".txt": "text/plain; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def translate_path(self, path: str) -> str:
        translated = super().translate_path(path)
        root = Path(self.directory).resolve()
        resolved = Path(translated).resolve()
        if resolved != root and not resolved.is_relative_to(root):
            return str(root / ".gp-print-outside")  # does not exist: 404
        return str(resolved)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "No such page")
        return None

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(site_dir: Path, port: int = 8000, *, quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A server for `site_dir` bound to 127.0.0.1:`port` (0: any free port), not yet running."""
    site_dir = Path(site_dir).resolve()
    if not (site_dir / "index.html").is_file():
        raise GPPrintError(f"{site_dir}: no index.html — publish an edition into it first "
                           "(gp-print publish OUT -o SITE)")
    handler = partial(SiteHandler, directory=str(site_dir))
    try:
        server = http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise GPPrintError(f"cannot listen on {HOST}:{port} ({exc.strerror}) — try another --port") from None
    server.daemon_threads = True
    server.quiet = quiet  # type: ignore[attr-defined]
    return server


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"


@contextmanager
def running(site_dir: Path, port: int = 0, *, quiet: bool = True) -> Iterator[str]:
    """Serve `site_dir` in a background thread for the duration of the block; yield its URL."""
    server = make_server(site_dir, port, quiet=quiet)
    thread = threading.Thread(target=server.serve_forever, name="gp-print-serve", daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(site_dir: Path, port: int = 8000) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(site_dir, port)
    print(f"serving {Path(site_dir).resolve()} on {url_of(server)} (127.0.0.1 only) — Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

"""`gp-print serve`: loopback only, files under SITE only, no directory listings."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.site.site_support import FIRST

from gp_print.errors import GPPrintError
from gp_print.serve import make_server, running
from gp_print.site import CSP


def get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)  # sent as given: no client-side normalisation of ../
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture()
def tiny_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "2019-12-30").mkdir(parents=True)
    (site / "index.html").write_text("<!DOCTYPE html><title>t</title>", encoding="utf-8")
    (site / "2019-12-30" / "index.html").write_text("edition", encoding="utf-8")
    (site / "2019-12-30" / "p01.webp").write_bytes(b"RIFF\0\0\0\0WEBP")
    (site / "assets").mkdir()
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")
    os.symlink(tmp_path / "secret.txt", site / "assets" / "leak.txt")
    os.symlink(tmp_path, site / "up")
    return site


def test_serves_files_on_loopback_with_the_csp(tiny_site: Path):
    with running(tiny_site) as url:
        assert url.startswith("http://127.0.0.1:")
        status, headers, body = get(url, "/")
        assert status == 200 and body.startswith(b"<!DOCTYPE html>")
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
        status, headers, _ = get(url, "/2019-12-30/p01.webp")
        assert status == 200 and headers["content-type"] == "image/webp"
        status, _, body = get(url, "/2019-12-30/")
        assert status == 200 and body == b"edition"


def test_nothing_outside_the_site_and_no_listings(tiny_site: Path):
    with running(tiny_site) as url:
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/2019-12-30/../../secret.txt",
                     "/assets/leak.txt", "/up/secret.txt"):
            status, _, body = get(url, path)
            assert status == 404, path
            assert b"not for the web" not in body
        status, _, body = get(url, "/assets/")
        assert status == 404 and b"Directory listing" not in body


def test_binds_only_to_loopback(tiny_site: Path):
    server = make_server(tiny_site, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_refuses_a_folder_that_is_not_a_site(tmp_path: Path):
    with pytest.raises(GPPrintError, match=r"no index\.html"):
        make_server(tmp_path, 0)


def test_serve_command_serves_the_published_site(site_dir: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gp_print.cli import main; main()", "serve", str(site_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "127.0.0.1 only" in line, line + proc.stderr.read()  # type: ignore[union-attr]
        url = line.split(" on ", 1)[1].split()[0]
        status, _, body = get(url, f"/{FIRST}/page.html")
        assert status == 200 and b'id="viewer"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)

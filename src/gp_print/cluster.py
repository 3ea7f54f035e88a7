"""Render pages on a Dask cluster: `gp-print build --scheduler tcp://HOST:8786` (extra `gp-print[cluster]`).

A page task is a pure function of the edition's masthead, the page's layout record and the
press settings (build.py), so it can run on any machine that has the same gp-print, layouts/
and fonts/ and sees the edition's files at the same path.  Here it runs on the workers of a
Dask distributed scheduler:

* The worker is told, with every task, what it would otherwise read from this machine's
  environment — the cache folders (page bytes name converted pictures by their path, so a
  worker must use this build's cache folder, not its own), `SOURCE_DATE_EPOCH`, whether the
  disk cache is off, the log levels — and points fontconfig at gp-print's fonts before
  WeasyPrint is imported in its process.  It checks that its gp-print code, layouts/ and
  fonts/ hash as this machine's do and that it sees the edition folder, and fails with a
  message naming the worker and the fix when not.
* The worker renders into a scratch folder of its own, preflights the press PDF there and
  sends back the press and screen PDFs as bytes, with the page's links and preflight reports;
  this process writes them into the build's staging folder (atomically, like every output)
  and keeps them in its page cache.  Workers never write into the output folder.
* An error in a task (a refused fetch, text run past a column foot) reaches the build as the
  same exception, with the same message, as in a local build.

`distributed` is imported only when a scheduler is asked for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gp_print.colour import PressSettings
from gp_print.errors import ClusterError
from gp_print.model import Edition, LinkArea, PageLayout, RenderedPage
from gp_print.preflight import PageReport
from gp_print.writer import atomic_write_bytes

log = logging.getLogger("gp_print.cluster")
INSTALL_HINT = "pip install 'gp-print[cluster]'"
#: Loggers whose levels the workers take over from this process.
LOGGERS = ("gp_print", "weasyprint", "fontTools")


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to render a page exactly as this process would."""

    #: Environment variables to set (None: to remove) before the task runs.
    environ: dict[str, str | None]
    levels: dict[str, int]
    #: This machine's hash of gp-print's rendering code, layouts/, fonts/ and library versions.
    code: str


@dataclass(frozen=True)
class RemotePage:
    """One page as a worker sends it back."""

    number: int
    name: str
    links: tuple[LinkArea, ...]
    story_areas: tuple[tuple[str, tuple[float, float, float, float]], ...]
    fresh: bool
    press: bytes
    screen: bytes
    reports: list[PageReport]


def worker_setup() -> WorkerSetup:
    """This process's settings, spelled out for a worker on another machine."""
    from gp_print.cache import cache_dir
    from gp_print.render import _code_digest

    xdg = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").absolute()
    environ: dict[str, str | None] = {
        # XDG_CACHE_HOME places the converted pictures (colour.cache_dir); GP_PRINT_CACHE_DIR
        # the page, preflight and measurement caches.  Both as this process resolves them.
        "XDG_CACHE_HOME": str(xdg),
        "GP_PRINT_CACHE_DIR": str(cache_dir().absolute()),
        "GP_PRINT_NO_CACHE": os.environ.get("GP_PRINT_NO_CACHE") or None,
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH"),
    }
    return WorkerSetup(environ, {name: logging.getLogger(name).level for name in LOGGERS}, _code_digest())


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _prepare_worker(setup: WorkerSetup, edition: Edition, press: PressSettings) -> None:
    """At the top of every task: this build's environment and log levels, fontconfig pointed
    at gp-print's fonts (once per process, before WeasyPrint is imported), then the checks
    that the worker can render the page as this build would."""
    from gp_print.colour import cache_dir as rendition_dir
    from gp_print.fetch import configure_fonts
    from gp_print.render import _code_digest

    for name, value in setup.environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for name, level in setup.levels.items():
        logging.getLogger(name).setLevel(level)
    configure_fonts()
    worker = _worker_name()
    if _code_digest() != setup.code:
        raise ClusterError(
            f"worker {worker} has a different gp-print, WeasyPrint, layouts/ or fonts/ than the machine running "
            "the build — install the same gp-print version and the same layouts/ and fonts/ on every worker, "
            "then restart the workers (`dask worker` keeps the code it started with)")
    if not edition.root.is_dir():
        raise ClusterError(
            f"worker {worker} cannot see the edition folder {edition.root} — put editions on a shared folder "
            "mounted at the same path on every machine")
    if not press.profile.is_file():
        raise ClusterError(f"worker {worker} has no press profile at {press.profile} — every worker needs it at "
                           "the same path: install gp-print at the same path on every machine (a profile of "
                           "your own: put it on a shared folder)")
    folder = rendition_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClusterError(
            f"worker {worker} cannot write the cache folder {folder} ({exc.strerror or exc}) — put the cache on a "
            "shared folder mounted at the same path on every machine and set XDG_CACHE_HOME to it") from None


def remote_page_task(edition: Edition, layout: PageLayout, key: str, press: PressSettings,
                     setup: WorkerSetup) -> RemotePage:
    """On a worker: the page task of build.py, in a scratch folder; the files come back as bytes."""
    _prepare_worker(setup, edition, press)
    from gp_print.build import _page_task

    with tempfile.TemporaryDirectory(prefix="gp-print-page-") as scratch:
        rendered, fresh, reports = _page_task(edition, layout, key, Path(scratch), press)
        assert rendered.screen_pdf is not None
        return RemotePage(rendered.number, rendered.press_pdf.name, rendered.links, rendered.story_areas, fresh,
                          rendered.press_pdf.read_bytes(), rendered.screen_pdf.read_bytes(), reports)


def _unpack(remote: RemotePage, edition: Edition, layout: PageLayout, key: str, press: PressSettings,
            staging: Path) -> tuple[RenderedPage, bool, list[PageReport]]:
    """Write a page the cluster sent into staging, as the local page task would have, and
    keep it in this machine's page cache unless a worker already put it there (shared cache)."""
    from gp_print.render import cached_page, store_page

    press_path, screen_path = staging / remote.name, staging / "screen" / remote.name
    atomic_write_bytes(press_path, remote.press)
    atomic_write_bytes(screen_path, remote.screen)
    page = RenderedPage(remote.number, press_path, remote.links, remote.story_areas, screen_pdf=screen_path)
    if cached_page(edition, layout, press, key=key) is None:
        store_page(key, page)
    reports = [dataclasses.replace(report, file=press_path) for report in remote.reports]
    return page, remote.fresh, reports


class PageCluster:
    """A connection to a Dask scheduler whose workers render page tasks; a context manager."""

    def __init__(self, address: str, *, timeout: float | None = None) -> None:
        try:
            import dask
            from dask.utils import parse_timedelta
            from distributed import Client
            from distributed.comm.addressing import parse_address, parse_host_port
        except ImportError:
            raise ClusterError(f"--scheduler {address}: Dask distributed is not installed — {INSTALL_HINT}") from None
        self.address = address
        if timeout is None:
            timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s")
        self.timeout = float(timeout or 30)
        try:
            scheme, location = parse_address(address)
            if scheme not in ("tcp", "tls", "ws", "wss"):
                raise ValueError(f"{scheme}:// is not a network address")
            parse_host_port(location)
        except ValueError as exc:
            raise ClusterError(f"--scheduler {address}: not a scheduler address ({exc}) — "
                               "give it as tcp://HOST:PORT (a `dask scheduler` listens on port 8786)") from None
        try:
            self.client: Any = Client(address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc}) — start it with "
                               f"`dask scheduler` and check the address, port and firewall") from None
        try:
            self.client.wait_for_workers(1, timeout=self.timeout)
        except (OSError, TimeoutError):
            self.close()
            raise ClusterError(f"the Dask scheduler at {address} has no workers — start "
                               f"`dask worker {address} --nthreads 1` on each machine") from None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> PageCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, edition: Edition, tasks: Sequence[tuple[int, PageLayout, str]], staging: Path,
               press: PressSettings, done: Callable[[int, tuple[RenderedPage, bool, list[PageReport]]], None]
               ) -> None:
        """Render every (index, layout, page key) on the workers; call `done(index, page)` as
        each page arrives in staging.  The first failing page stops the build with its error."""
        from distributed import KilledWorker, as_completed

        if not tasks:
            return
        setup = worker_setup()
        try:
            shared = self.client.scatter(edition, hash=False)
            futures = {
                self.client.submit(remote_page_task, shared, layout, key, press, setup, pure=False,
                                   key=f"gp-print-page-{layout.number:03d}-{key[:12]}-{os.urandom(4).hex()}"):
                (index, layout, key)
                for index, layout, key in tasks}
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"lost the Dask scheduler at {self.address} ({exc})") from None
        try:
            for future in as_completed(futures, loop=self.client.loop):
                index, layout, key = futures[future]
                if future.status == "error":
                    error = future.exception()
                    if isinstance(error, KilledWorker):
                        raise ClusterError(f"page {layout.number}: the workers rendering it died ({error}) — "
                                           "see the workers' logs") from None
                    future.result()  # raises the task's own exception, as a local build would
                try:
                    if future.status != "finished":
                        raise OSError(f"the task was {future.status}")
                    remote = future.result()
                except (OSError, TimeoutError, CancelledError) as exc:  # the connection, not the task
                    raise ClusterError(f"page {layout.number}: lost the Dask scheduler at {self.address} "
                                       f"({exc or type(exc).__name__})") from None
                done(index, _unpack(remote, edition, layout, key, press, staging))
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(list(futures))

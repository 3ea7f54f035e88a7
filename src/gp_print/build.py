"""The whole pipeline, callable from Python: load → plan → render → assemble (→ proof).

Outputs are first written to a staging folder inside the output folder and moved into place
only when every page has been made, each with an atomic rename: a failed or killed build
leaves the previous edition's files as they were (or, if it was killed while moving them, a
mix of complete old and complete new files — never half a file).  Builds into one folder are
serialised by a lock; the build that holds it first removes what a killed build left behind.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from pypdf import PageObject

from gp_print.assemble import assemble_eedition, eedition_key, eedition_name, read_screen_page
from gp_print.colour import DEFAULT_PRESS, Fit, PressSettings, placed_ppi
from gp_print.desk import write_flatplan_file
from gp_print.errors import BuildLocked, StrictModeError
from gp_print.fetch import configure_fonts, refusals_as_errors
from gp_print.layouts import stylesheet_digest
from gp_print.load import load_edition
from gp_print.measure import Measurer
from gp_print.model import BuildResult, Edition, Flatplan, PageLayout, RenderedPage
from gp_print.plan import desk_unchanged, plan_edition
from gp_print.preflight import (
    PLATES_FILE,
    PageReport,
    PreflightError,
    PreflightResult,
    ad_warnings,
    plate_manifest,
    preflight_file_cached,
    write_plates,
)
from gp_print.render import cached_page, canonical_record, file_digest, page_cache_dir, page_key, render_page_cached
from gp_print.site import EDITION_DATA, write_edition_data
from gp_print.writer import atomic_write_bytes, exclusive_lock, fsync_dir, move_into_place

if TYPE_CHECKING:
    from gp_print.cluster import PageCluster

log = logging.getLogger("gp_print")
Progress = Callable[[int, int, str], None]
STAGING_PREFIX = ".staging-"


def _reproducible_env(edition: Edition) -> None:
    """fontTools and friends read SOURCE_DATE_EPOCH: tie it to the edition date, not the clock."""
    epoch = int(time.mktime(edition.date.timetuple()) - time.timezone)
    os.environ["SOURCE_DATE_EPOCH"] = str(max(epoch, 0))


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Serialise builds into the same output folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out_dir / ".gp-print.lock", lambda: BuildLocked(
            f"{out_dir}: another gp-print build is writing this folder — "
            "wait for it to finish, or build into another folder")):
        yield


def remove_stale_staging(out_dir: Path) -> None:
    """Delete the staging folders a killed build left in `out_dir` (files are only ever written
    there, so nothing else is left over).  Call only while holding `output_lock(out_dir)`:
    then no other build is using them."""
    for entry in out_dir.glob(f"{STAGING_PREFIX}*"):
        if entry.is_dir() and not entry.is_symlink():
            log.info("removing %s, left by an interrupted build", entry.name)
            shutil.rmtree(entry, ignore_errors=True)


def photo_warnings(flatplan: Flatplan, min_ppi: float = 150.0) -> list[str]:
    """Pictures that would print soft: effective resolution at their placed size."""
    grid = flatplan.edition.grid
    out = []
    for page in flatplan.pages:
        for slot in page.stories:
            if slot.photo is None:
                continue
            photo = slot.photo.photo
            ppi = placed_ppi(photo.width_px, photo.height_px, grid.span_mm(slot.photo.rect.columns),
                             grid.lines_mm(slot.photo.image_lines), Fit.COVER)
            if ppi < min_ppi:
                out.append(f"page {page.number}: photo {photo.file.name} in '{slot.story.slug}' is "
                           f"{ppi:.0f} ppi at its placed size (below {min_ppi:.0f}) — supply a larger picture")
    return out


def plan(edition_dir: Path, *, replan: bool = False, write: bool = False) -> Flatplan:
    """The edition's flatplan, round the desk's pins and locks (gp_print.desk); with `write`,
    the desk's file `flatplan.toml` is written (atomically) next to the stories."""
    edition = load_edition(edition_dir)
    _reproducible_env(edition)
    with refusals_as_errors():
        flatplan = plan_cached(edition, replan=replan)
    if write:
        write_flatplan_file(flatplan)
    return flatplan


# ------------------------------------------------------------------------------ page tasks
#
# A page task renders one page (or copies it from the page cache) into the staging folder and
# preflights its press PDF.  It is a pure function of (edition, page layout, press settings),
# so it runs the same in this process, in a worker process or on a Dask worker on another
# machine (cluster.py): the bytes do not depend on where.

PageDone = tuple[RenderedPage, bool, list[PageReport]]

_worker_edition: Edition | None = None


def _page_task(edition: Edition, layout: PageLayout, key: str, staging: Path, press: PressSettings) -> PageDone:
    with refusals_as_errors():
        rendered, fresh = render_page_cached(edition, layout, staging, key=key, settings=press,
                                             screen_dir=staging / "screen")
        return rendered, fresh, preflight_file_cached(rendered.press_pdf, press)


def _init_worker(edition_file: Path, environ: dict[str, str], levels: dict[str, int], build_pid: int) -> None:
    """In a fresh worker process: the build's cache and date settings and log levels,
    fontconfig pointed at the bundled fonts (before WeasyPrint is imported, if it was not
    preloaded); the edition, once, from the file the build wrote (not through the process's
    start-up pipe: half a megabyte there makes the build wait for each worker in turn)."""
    global _worker_edition
    _die_with_build(build_pid)
    os.environ.update(environ)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    configure_fonts()
    try:
        data = edition_file.read_bytes()
    except FileNotFoundError:  # started early, but the build ended without needing this worker
        os._exit(0)
    _worker_edition = pickle.loads(data)


def _die_with_build(build_pid: int) -> None:
    """A worker must not outlive a killed build (it would go on writing into a staging folder
    the next build removes).  Its parent is the fork server, which lives as long as any worker
    does, so a thread watches the build's process itself and ends the worker when it ends."""
    import select
    import threading

    try:
        watched = os.pidfd_open(build_pid)
    except ProcessLookupError:  # the build is already gone
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): ask whether it is there
        def poll() -> None:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(build_pid, 0)
                except ProcessLookupError:
                    os._exit(1)
                except PermissionError:
                    pass

        threading.Thread(target=poll, name="gp-print-watch-build", daemon=True).start()
        return

    def wait_for_end() -> None:
        select.select([watched], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=wait_for_end, name="gp-print-watch-build", daemon=True).start()


def _worker_page_task(layout: PageLayout, key: str, staging: Path, press: PressSettings) -> PageDone:
    assert _worker_edition is not None, "worker not initialised"
    return _page_task(_worker_edition, layout, key, staging, press)


def _warm_up() -> None:
    """Load what a page task needs (WeasyPrint, the stylesheets and fonts) before the first
    page arrives."""
    from gp_print import preflight  # noqa: F401
    from gp_print.render import load_stylesheets

    assert _worker_edition is not None, "worker not initialised"
    load_stylesheets(_worker_edition)


_WORKER_ENV = ("SOURCE_DATE_EPOCH", "XDG_CACHE_HOME", "GP_PRINT_CACHE_DIR", "GP_PRINT_NO_CACHE", "GP_PRINT_HOME",
               "FONTCONFIG_FILE")


def start_workers(edition: Edition, staging: Path, workers: int, *, warm: bool = False) -> ProcessPoolExecutor:
    """A pool of `workers` page-rendering processes, forked from a fork server that has
    fontconfig pointed at fonts/ and WeasyPrint loaded (`worker_preload`; started once a
    process: never forked from this process, whose threads and libraries a fork would copy
    half-way).  With `warm`, every worker starts at once and loads the stylesheets while the
    caller goes on: a build starts them before it plans.  Shut it down with `stop_workers`."""
    environ = {name: os.environ[name] for name in _WORKER_ENV if name in os.environ}
    levels = {name: logging.getLogger(name).level for name in ("gp_print", "weasyprint", "fontTools")}
    edition_file = staging / ".edition.pickle"  # goes with the staging folder
    edition_file.write_bytes(pickle.dumps(edition, protocol=pickle.HIGHEST_PROTOCOL))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["gp_print.worker_preload"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_init_worker, initargs=(edition_file, environ, levels, os.getpid()))
    if warm:
        for _ in range(workers):  # each task finds no idle worker, so each starts one
            pool.submit(_warm_up)
    return pool


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool without waiting for a warm-up nobody needed (a worker exits by itself once
    it has loaded; it cannot outlive this process)."""
    pool.shutdown(wait=False, cancel_futures=True)


def render_pages(edition: Edition, layouts: Sequence[PageLayout], staging: Path, *, press: PressSettings,
                 workers: int, progress: Callable[[int, str], None] | None = None,
                 scheduler: str | PageCluster | None = None, pool: ProcessPoolExecutor | None = None,
                 meanwhile: Callable[[list[RenderedPage]], None] | None = None,
                 ahead: dict[str, Future[PageDone]] | None = None) -> list[PageDone]:
    """Every page, rendered or reused, and preflighted, in page order.  Pages not in the page
    cache are rendered in `pool`, or in a pool of `workers` processes started here
    (`start_workers`); with one worker, or one page to render and no pool, everything runs
    here.  With a `scheduler` (a Dask scheduler's address, or a connection to one) they are
    rendered on its workers instead (cluster.py) and `workers` is not used.  While worker
    processes render, `meanwhile` is called here with the pages already done, then with each
    page as it arrives.  `ahead` holds pages already sent to `pool` while the plan was made,
    by page key: a page whose key is there is taken from it, not rendered again."""
    keys = [page_key(edition, layout, press) for layout in layouts]
    done: dict[int, PageDone] = {}
    todo = []
    ahead = ahead if ahead is not None and pool is not None else {}
    for i, (layout, key) in enumerate(zip(layouts, keys, strict=True)):
        if key in ahead or cached_page(edition, layout, press, key=key) is None:
            todo.append(i)
        else:  # a copy out of the cache: quick, do it here
            done[i] = _page_task(edition, layout, keys[i], staging, press)
            if progress:
                progress(len(done), f"page {layout.number} (cached)")
    if scheduler is not None and todo:
        def arrived(i: int, page: PageDone) -> None:
            done[i] = page
            if progress:
                progress(len(done), f"page {layouts[i].number}")

        with _cluster(scheduler) as cluster:
            assert cluster is not None
            cluster.render(edition, [(i, layouts[i], keys[i]) for i in todo], staging, press, arrived)
        return [done[i] for i in range(len(layouts))]
    workers = max(1, min(workers, len(todo)))
    if not todo:
        pass
    elif pool is None and workers == 1:
        for i in todo:
            done[i] = _page_task(edition, layouts[i], keys[i], staging, press)
            if progress:
                progress(len(done), f"page {layouts[i].number}")
    else:
        own = pool is None
        if pool is None:
            pool = start_workers(edition, staging, workers)
        try:
            futures: dict[Future[PageDone], int] = {
                ahead.pop(keys[i]) if keys[i] in ahead else pool.submit(_worker_page_task, layouts[i], keys[i],
                                                                          staging, press): i for i in todo}
            if meanwhile:
                meanwhile([done[i][0] for i in sorted(done)])
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    if future.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise future.exception()  # type: ignore[misc]
                    i = futures[future]
                    done[i] = future.result()
                    if progress:
                        progress(len(done), f"page {layouts[i].number}")
                    if meanwhile:
                        meanwhile([done[i][0]])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # no task may go on writing into staging
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    return [done[i] for i in range(len(layouts))]


@contextlib.contextmanager
def _cluster(scheduler: str | PageCluster | None) -> Iterator[PageCluster | None]:
    """A connection to the Dask scheduler at `scheduler` for the block (None: no scheduler;
    an open connection is used as it is and left open)."""
    if scheduler is None or not isinstance(scheduler, str):
        yield scheduler
        return
    from gp_print.cluster import PageCluster

    with PageCluster(scheduler) as cluster:
        yield cluster


# ------------------------------------------------------------------------------ plan cache
#
# The flatplan is a pure function of the loaded edition record (every story's text, the pages,
# the ads, the pictures' sizes), the pictures' bytes, layouts/ and fonts/ (the measurements)
# and gp-print's code; with the measurements cached it still takes seconds for 48 pages, so
# an unchanged edition reuses the plan it was given last time (`cache_dir()/plans/`).


@functools.cache
def _package_digest() -> str:
    digest = hashlib.sha256(stylesheet_digest().encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _plan_key(edition: Edition, replan: bool) -> str:
    root = edition.root.resolve()
    files = sorted({photo.file for story in edition.stories for photo in story.photos}
                   | {ad.file for ad in edition.ads})
    record = {"root": str(root), "code": _package_digest(), "edition": canonical_record(edition, root),
              "files": {str(f): file_digest(f) for f in files}, "replan": replan}
    blob = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:40]


def _private(path: Path) -> bool:
    """Owned by this user and not writable by group or others."""
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _plan_path(edition: Edition, replan: bool) -> Path | None:
    folder = page_cache_dir()
    return None if folder is None else folder.parent / "plans" / f"{_plan_key(edition, replan)}.pickle"


def plan_cached(edition: Edition, *, replan: bool = False,
                on_page: Callable[[PageLayout], None] | None = None) -> Flatplan:
    """`plan_edition`, or the same plan from the cache folder when the edition is unchanged
    (`on_page`: see `plan_edition`; not called for a plan from the cache)."""
    path = _plan_path(edition, replan)
    if path is None:
        return plan_edition(edition, Measurer(edition), replan=replan, on_page=on_page)
    with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        # Unpickling runs code: only a plan this user wrote, in a folder nobody else can write to.
        if _private(path) and _private(path.parent):
            cached = pickle.loads(path.read_bytes())
            if isinstance(cached, Flatplan) and cached.edition == edition:
                return cached
    flatplan = plan_edition(edition, Measurer(edition), replan=replan, on_page=on_page)
    with contextlib.suppress(OSError, pickle.PicklingError):
        atomic_write_bytes(path, pickle.dumps(flatplan, protocol=pickle.HIGHEST_PROTOCOL))
    return flatplan


def _eedition_cached(flatplan: Flatplan, pages: Sequence[RenderedPage], staging: Path, *,
                     read: Mapping[Path, PageObject] | None = None) -> Path:
    """`assemble_eedition`, or the same file from the cache folder when nothing it is made of
    changed (a rebuild with no change, or with a change only the press pages show)."""
    folder = page_cache_dir()
    if folder is None:
        return assemble_eedition(flatplan, pages, staging, read=read)
    cached = folder.parent / "eeditions" / f"{eedition_key(flatplan, pages)}.pdf"
    with contextlib.suppress(OSError):
        # Only a file this user wrote, in a folder nobody else can write to.
        if cached.is_file() and _private(cached) and _private(cached.parent):
            path = staging / eedition_name(flatplan)
            atomic_write_bytes(path, cached.read_bytes())
            return path
    path = assemble_eedition(flatplan, pages, staging, read=read)
    with contextlib.suppress(OSError):
        atomic_write_bytes(cached, path.read_bytes())
    return path


def build_edition(edition_dir: Path, out_dir: Path, *, strict: bool = False,
                  progress: Progress | None = None, press: PressSettings = DEFAULT_PRESS,
                  workers: int | None = None, scheduler: str | None = None) -> BuildResult:
    """Build every press page, the e-edition and the plate manifest of the edition in
    `edition_dir` into `out_dir`.  The press pages are preflighted in staging: a page the plant
    would reject fails the build and leaves `out_dir` as it was.  Pages are rendered in
    `workers` processes (default: one per CPU), or with a `scheduler` address
    (`tcp://HOST:8786`) on that Dask cluster's workers (cluster.py; the scheduler is reached
    before planning, so a wrong address fails at once); pages whose content hash is in the
    page cache are not rendered again."""
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    edition = load_edition(edition_dir)
    _reproducible_env(edition)
    out_dir = out_dir.resolve()
    # Lock before the slow part, so a second build of the same folder fails at once.
    with output_lock(out_dir), refusals_as_errors(), _cluster(scheduler) as cluster:
        remove_stale_staging(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
        pool = None
        ahead: dict[str, Future[PageDone]] = {}  # pages sent to the workers while the plan is made
        try:
            # No plan cached for this edition, and no desk's file saying nothing changed: pages
            # will most likely be rendered, so the workers start now and load WeasyPrint while
            # the plan is made.
            plan_path = _plan_path(edition, False)
            if (cluster is None and workers > 1 and not (plan_path and plan_path.is_file())
                    and not desk_unchanged(edition)):
                pool = start_workers(edition, staging, workers, warm=True)
            if pool is not None and edition.desk is None:
                warm = pool

                def render_ahead(layout: PageLayout) -> None:
                    """A page final before the plan is: render it now, on the core the plan leaves
                    idle, into a folder of its own key (only the final page's key is used)."""
                    key = page_key(edition, layout, press)
                    if key not in ahead and cached_page(edition, layout, press, key=key) is None:
                        ahead[key] = warm.submit(_worker_page_task, layout, key, staging / "ahead" / key, press)

                flatplan = plan_cached(edition, on_page=render_ahead)
            else:
                flatplan = plan_cached(edition)
            warnings = list(flatplan.warnings) + photo_warnings(flatplan, press.min_ppi) + ad_warnings(edition, press)
            if strict and warnings:
                raise StrictModeError("--strict: the build has warnings:\n  " + "\n  ".join(warnings))
            total = len(flatplan.pages) + 2

            def page_progress(count: int, what: str) -> None:
                if progress:
                    progress(count - 1, total, what)

            # While the workers render, this process reads the screen pages it already has,
            # and each new one as it arrives.
            read: dict[Path, PageObject] = {}

            def read_ahead(done: list[RenderedPage]) -> None:
                for page in done:
                    read[page.screen_pdf or page.press_pdf] = read_screen_page(page)

            pages = render_pages(edition, flatplan.pages, staging, press=press, workers=workers,
                                 progress=page_progress, scheduler=cluster, pool=pool, meanwhile=read_ahead,
                                 ahead=ahead)
            rendered = [page for page, _, _ in pages]
            fresh = tuple(page.number for page, was_rendered, _ in pages if was_rendered)
            if progress:
                progress(total - 2, total, "e-edition")
            eedition = _eedition_cached(flatplan, rendered, staging, read=read)
            if progress:
                progress(total - 1, total, "preflight")
            checked = PreflightResult(tuple(report for _, _, reports in pages for report in reports))
            if not checked.passed:
                hints = [w for w in warnings if w.startswith("ad ")]
                raise PreflightError(
                    f"preflight: {len(checked.failures)} press page(s) would be rejected by the printing plant; "
                    f"nothing was written to {out_dir}\n" + checked.table()
                    + ("\n\n" + "\n".join(hints) if hints else ""))
            plates = write_plates(staging / PLATES_FILE, plate_manifest(
                edition, [(p.number, p.press_pdf) for p in rendered], checked, press))
            # The readers' site (`gp-print publish`, gp_print.site): metadata, story text and geometry.
            edition_data = write_edition_data(staging / EDITION_DATA, flatplan, rendered, eedition.name)
            # Every file is complete and synced in staging: now move them in, one atomic rename each.
            final_pages = []
            for page in rendered:
                target = out_dir / page.press_pdf.name
                move_into_place(page.press_pdf, target)
                final_pages.append(RenderedPage(page.number, target, page.links, page.story_areas))
            final_eedition = out_dir / eedition.name
            move_into_place(eedition, final_eedition)
            move_into_place(edition_data, out_dir / EDITION_DATA)
            # The manifest last: the plant's upload script sees it only once every plate is in place.
            final_plates = out_dir / PLATES_FILE
            move_into_place(plates, final_plates)
            if progress:
                progress(total, total, "done")
        finally:
            if pool is not None:
                # A page rendered ahead that the plan then set otherwise must not go on writing
                # into the staging folder once it is gone.
                wait([future for future in ahead.values() if not future.cancel()])
                stop_workers(pool)
            shutil.rmtree(staging, ignore_errors=True)
            fsync_dir(out_dir)
    log.info("%d of %d pages rendered, the rest from the page cache", len(fresh), len(rendered))
    return BuildResult(flatplan, tuple(final_pages), final_eedition, tuple(warnings),
                       time.perf_counter() - started, plates=final_plates, rendered=fresh)


def proof_edition(edition_dir: Path, out_dir: Path, *, dpi: float = 100, marks: bool = True,
                  progress: Progress | None = None) -> Path:
    """Build the pages into a scratch folder and write PNG proofs and a contact sheet; with
    `marks`, holes, house ads, overset and jumps are drawn on the proofs for the desk."""
    from gp_print.proof import mark_problems, write_proofs

    with tempfile.TemporaryDirectory(prefix="gp-proof-") as scratch:
        result = build_edition(edition_dir, Path(scratch), progress=progress)
        edition = result.flatplan.edition
        pages = [(page.number, f"P{page.number} · {edition.section(layout.plan.section).name}", page.press_pdf)
                 for page, layout in zip(result.pages, result.flatplan.pages, strict=True)]
        layouts = {layout.number: layout for layout in result.flatplan.pages}

        def decorate(number: int, image: Image.Image) -> Image.Image:
            return mark_problems(image, layouts[number], edition.grid, dpi)

        proofs = write_proofs(pages, out_dir, dpi=dpi, title=f"{edition.title} · {edition.date_long}",
                              decorate=decorate if marks else None)
    return proofs.contact_sheet

"""The whole pipeline, callable from Python: load → plan → render → assemble (→ proof).

Outputs are first written to a staging folder inside the output folder and moved into place
only when every page has been made, each with an atomic rename: a failed or killed build
leaves the previous edition's files as they were (or, if it was killed while moving them, a
mix of complete old and complete new files — never half a file).  Builds into one folder are
serialised by a lock; the build that holds it first removes what a killed build left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from gp_print.assemble import assemble_eedition
from gp_print.colour import DEFAULT_PRESS, PressSettings
from gp_print.errors import BuildLocked, StrictModeError
from gp_print.fetch import refusals_as_errors
from gp_print.load import load_edition
from gp_print.measure import Measurer
from gp_print.model import BuildResult, Edition, Flatplan, RenderedPage
from gp_print.plan import plan_edition
from gp_print.preflight import PLATES_FILE, PreflightError, ad_warnings, plate_manifest, preflight, write_plates
from gp_print.render import render_page
from gp_print.site import EDITION_DATA, write_edition_data
from gp_print.writer import fsync_dir, move_into_place

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
    lock_path = out_dir / ".gp-print.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(f"{out_dir}: another gp-print build is writing this folder — "
                              "wait for it to finish, or build into another folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
            width_in = grid.span_mm(slot.photo.rect.columns) / 25.4
            height_in = grid.lines_mm(slot.photo.image_lines) / 25.4
            # object-fit: cover scales the picture to fill the frame's larger demand.
            ppi = min(photo.width_px / width_in, photo.height_px / height_in) if width_in and height_in else 0
            if ppi < min_ppi:
                out.append(f"page {page.number}: photo {photo.file.name} in '{slot.story.slug}' is "
                           f"{ppi:.0f} ppi at its placed size (below {min_ppi:.0f}) — supply a larger picture")
    return out


def plan(edition_dir: Path) -> Flatplan:
    edition = load_edition(edition_dir)
    _reproducible_env(edition)
    with refusals_as_errors():
        return plan_edition(edition, Measurer(edition))


def build_edition(edition_dir: Path, out_dir: Path, *, strict: bool = False,
                  progress: Progress | None = None, press: PressSettings = DEFAULT_PRESS) -> BuildResult:
    """Build every press page, the e-edition and the plate manifest of the edition in
    `edition_dir` into `out_dir`.  The press pages are preflighted in staging: a page the plant
    would reject fails the build and leaves `out_dir` as it was."""
    started = time.perf_counter()
    edition = load_edition(edition_dir)
    _reproducible_env(edition)
    out_dir = out_dir.resolve()
    # Lock before the slow part, so a second build of the same folder fails at once.
    with output_lock(out_dir), refusals_as_errors():
        remove_stale_staging(out_dir)
        flatplan = plan_edition(edition, Measurer(edition))
        warnings = list(flatplan.warnings) + photo_warnings(flatplan, press.min_ppi) + ad_warnings(edition, press)
        if strict and warnings:
            raise StrictModeError("--strict: the build has warnings:\n  " + "\n  ".join(warnings))
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
        try:
            rendered: list[RenderedPage] = []
            total = len(flatplan.pages) + 2
            for i, layout in enumerate(flatplan.pages):
                if progress:
                    progress(i, total, f"page {layout.number}")
                rendered.append(render_page(edition, layout, staging, settings=press, screen_dir=staging / "screen"))
            if progress:
                progress(total - 2, total, "e-edition")
            eedition = assemble_eedition(flatplan, rendered, staging)
            if progress:
                progress(total - 1, total, "preflight")
            checked = preflight([p.press_pdf for p in rendered], press)
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
            shutil.rmtree(staging, ignore_errors=True)
            fsync_dir(out_dir)
    return BuildResult(flatplan, tuple(final_pages), final_eedition, tuple(warnings),
                       time.perf_counter() - started, plates=final_plates)


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

"""The whole pipeline, callable from Python: load → plan → render → assemble (→ proof).

Outputs are first written to a staging folder beside the output folder and moved into place
only when every page has been made, each with an atomic rename: a failed or killed build
leaves the previous edition's files as they were.
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

from gp_print.assemble import assemble_eedition
from gp_print.errors import BuildLocked, StrictModeError
from gp_print.load import load_edition
from gp_print.measure import Measurer
from gp_print.model import BuildResult, Edition, Flatplan, RenderedPage
from gp_print.plan import plan_edition
from gp_print.render import render_page

log = logging.getLogger("gp_print")
Progress = Callable[[int, int, str], None]


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
    return plan_edition(edition, Measurer(edition))


def build_edition(edition_dir: Path, out_dir: Path, *, strict: bool = False,
                  progress: Progress | None = None) -> BuildResult:
    """Build every press page and the e-edition of the edition in `edition_dir` into `out_dir`."""
    started = time.perf_counter()
    edition = load_edition(edition_dir)
    _reproducible_env(edition)
    flatplan = plan_edition(edition, Measurer(edition))
    warnings = list(flatplan.warnings) + photo_warnings(flatplan)
    if strict and warnings:
        raise StrictModeError("--strict: the build has warnings:\n  " + "\n  ".join(warnings))
    out_dir = out_dir.resolve()
    with output_lock(out_dir):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
        try:
            rendered: list[RenderedPage] = []
            total = len(flatplan.pages) + 1
            for i, layout in enumerate(flatplan.pages):
                if progress:
                    progress(i, total, f"page {layout.number}")
                rendered.append(render_page(edition, layout, staging))
            if progress:
                progress(total - 1, total, "e-edition")
            eedition = assemble_eedition(flatplan, rendered, staging)
            final_pages = []
            for page in rendered:
                target = out_dir / page.press_pdf.name
                os.replace(page.press_pdf, target)
                final_pages.append(RenderedPage(page.number, target, page.links, page.story_areas))
            final_eedition = out_dir / eedition.name
            os.replace(eedition, final_eedition)
            if progress:
                progress(total, total, "done")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(flatplan, tuple(final_pages), final_eedition, tuple(warnings),
                       time.perf_counter() - started)


def proof_edition(edition_dir: Path, out_dir: Path, *, dpi: float = 100,
                  progress: Progress | None = None) -> Path:
    """Build the pages into a scratch folder and write PNG proofs and a contact sheet."""
    from gp_print.proof import write_proofs

    with tempfile.TemporaryDirectory(prefix="gp-proof-") as scratch:
        result = build_edition(edition_dir, Path(scratch), progress=progress)
        edition = result.flatplan.edition
        pages = [(page.number, f"P{page.number} · {edition.section(layout.plan.section).name}", page.press_pdf)
                 for page, layout in zip(result.pages, result.flatplan.pages, strict=True)]
        proofs = write_proofs(pages, out_dir, dpi=dpi, title=f"{edition.title} · {edition.date_long}")
    return proofs.contact_sheet

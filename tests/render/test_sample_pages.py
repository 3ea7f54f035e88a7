"""The sample edition, rendered: one press PDF per planned page, each matching its golden
snapshot, with trim and bleed boxes, only bundled fonts, and no text past a column foot."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.snapshot import assert_matches_snapshot

from gp_print.model import BuildResult
from gp_print.proof import rasterise

GOLDEN = Path(__file__).parent / "golden"
SNAPSHOT_DPI = 50
BUNDLED_PREFIXES = ("PT-Serif", "PT-Sans")  # PT Serif, PT Sans, PT Sans Narrow from fonts/


def test_one_press_pdf_per_planned_page(sample_build: BuildResult) -> None:
    plan = sample_build.flatplan
    assert [p.number for p in sample_build.pages] == [p.number for p in plan.edition.pages]
    assert len(sample_build.pages) >= 12
    for page in sample_build.pages:
        assert page.press_pdf.name == f"GP-20191230-P{page.number:02d}.pdf"
        assert len(PdfReader(page.press_pdf).pages) == 1


def test_press_pages_have_trim_and_bleed(sample_build: BuildResult) -> None:
    grid = sample_build.flatplan.edition.grid
    pt = 72 / 25.4
    for page in sample_build.pages:
        pdf_page = PdfReader(page.press_pdf).pages[0]
        trim, bleed, media = pdf_page.trimbox, pdf_page.bleedbox, pdf_page.mediabox
        assert float(trim.width) == pytest.approx(grid.trim_width_mm * pt, abs=0.5)
        assert float(trim.height) == pytest.approx(grid.trim_height_mm * pt, abs=0.5)
        assert float(bleed.width) == pytest.approx((grid.trim_width_mm + 2 * grid.bleed_mm) * pt, abs=0.5)
        assert float(media.width) >= float(bleed.width)


def _font_names(pdf: Path) -> set[str]:
    names: set[str] = set()
    reader = PdfReader(pdf)
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            base = str(font["/BaseFont"]).lstrip("/")
            names.add(base.split("+", 1)[-1])
            descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"{base} not embedded"
    return names


def test_only_bundled_fonts_embedded(sample_build: BuildResult) -> None:
    for page in sample_build.pages:
        names = _font_names(page.press_pdf)
        assert names, page.press_pdf
        foreign = {n for n in names if not n.startswith(BUNDLED_PREFIXES)}
        assert not foreign, f"{page.press_pdf.name}: {foreign}"


def test_no_story_silently_dropped(sample_build: BuildResult) -> None:
    plan = sample_build.flatplan
    placed = {s.story.slug for p in plan.pages for s in p.stories}
    unplaced = {s.slug for s, _ in plan.unplaced}
    assert placed | unplaced == {s.slug for s in plan.edition.stories}
    for story, reason in plan.unplaced:
        assert any(story.slug in w for w in sample_build.warnings), reason


def test_seed_article_is_in_the_edition(sample_build: BuildResult) -> None:
    text = "".join(
        page.extract_text() for p in sample_build.pages for page in PdfReader(p.press_pdf).pages
    )
    assert "offensive measures" in text


@pytest.mark.parametrize("number", range(1, 15))
def test_page_matches_golden(sample_build: BuildResult, number: int) -> None:
    page = next(p for p in sample_build.pages if p.number == number)
    image = rasterise(page.press_pdf, dpi=SNAPSHOT_DPI, grey=True)
    assert_matches_snapshot(image, GOLDEN / f"P{number:02d}.png")

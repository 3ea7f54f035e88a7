"""The readers' e-edition: trimmed pages, outline with every story, page labels, metadata,
working jump links, and the same bytes on every build."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.conftest import SAMPLE

from gp_print.build import build_edition
from gp_print.model import BuildResult


def _outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.title))

    walk(reader.outline)
    return titles


def test_one_trimmed_page_per_planned_page(sample_build: BuildResult) -> None:
    reader = PdfReader(sample_build.eedition)
    assert len(reader.pages) == len(sample_build.flatplan.pages)
    for page in reader.pages:
        assert page.mediabox == page.trimbox


def test_outline_has_every_section_and_story(sample_build: BuildResult) -> None:
    titles = _outline_titles(PdfReader(sample_build.eedition))
    plan = sample_build.flatplan
    for section in {p.plan.section for p in plan.pages}:
        assert plan.edition.section(section).name in titles
    for page in plan.pages:
        for slot in page.stories:
            assert slot.story.headline in titles


def test_page_labels_and_metadata(sample_build: BuildResult) -> None:
    reader = PdfReader(sample_build.eedition)
    assert reader.page_labels == [str(n) for n in range(1, len(reader.pages) + 1)]
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Guernsey Press — Monday 30 December 2019"
    assert "issue 38511" in (meta.subject or "")
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert str(meta["/CreationDate"]).startswith("D:20191230")


def test_jump_lines_link_to_the_continuation_page(sample_build: BuildResult) -> None:
    plan = sample_build.flatplan
    assert plan.jumps, "the sample edition should carry at least one jump"
    reader = PdfReader(sample_build.eedition)
    for jump in plan.jumps:
        page = reader.pages[jump.from_page - 1]
        text = page.extract_text()
        assert f"Continued on page {jump.to_page}" in text
        page_refs = [p.indirect_reference.idnum for p in reader.pages]  # type: ignore[union-attr]
        targets = []
        for annot in page.get("/Annots", []):
            annot = annot.get_object()
            if annot.get("/Subtype") == "/Link" and "/Dest" in annot:
                targets.append(page_refs.index(annot["/Dest"][0].idnum))
        assert jump.to_page - 1 in targets
        back = reader.pages[jump.to_page - 1].extract_text()
        assert f"Continued from page {jump.from_page}" in back


def test_press_pages_carry_no_link_annotations(sample_build: BuildResult) -> None:
    for page in sample_build.pages:
        assert "/Annots" not in PdfReader(page.press_pdf).pages[0]


def test_build_is_deterministic(sample_build: BuildResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Render every page again rather than copy them out of the page cache.
    monkeypatch.setenv("GP_PRINT_NO_CACHE", "1")
    again = build_edition(SAMPLE, tmp_path / "again")
    assert len(again.rendered) == len(again.pages)
    for first, second in zip(sample_build.pages, again.pages, strict=True):
        assert first.press_pdf.read_bytes() == second.press_pdf.read_bytes(), first.press_pdf.name
    assert sample_build.eedition.read_bytes() == again.eedition.read_bytes()

"""Preflight sees each fault a plant rejects: a press-like page that passes, then the same
page with one thing wrong at a time — and the failure names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject
from tests.press.press_support import write_image, write_pdf

from gp_print.cli import main
from gp_print.preflight import PageReport, Status, preflight, preflight_file

TEXT = "<p>The States met on Wednesday to debate the harbour dredging budget.</p>"


def only(path: Path) -> PageReport:
    reports = preflight_file(path)
    assert len(reports) == 1
    return reports[0]


def failing(report: PageReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.status is Status.FAIL}


def test_a_press_like_page_passes(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "good.pdf", TEXT))
    assert report.status is Status.PASS, report.problems()
    assert report.pdfx == "X-4"
    assert report.max_tac is not None and 99 <= report.max_tac <= 100.5  # black text: 100 % K, one ink
    assert not report.colour


def test_rgb_image_fails(tmp_path: Path) -> None:
    picture = write_image(tmp_path / "rgb.png", "RGB", (400, 300), (200, 40, 40))
    report = only(write_pdf(tmp_path / "rgb-image.pdf", f'<img src="{picture.as_uri()}" style="width: 50mm">'))
    assert set(failing(report)) == {"colour"}, report.problems()
    assert "RGB" in failing(report)["colour"] and "image" in failing(report)["colour"]


def test_rgb_text_colour_fails(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "rgb-text.pdf", TEXT, css="p { color: rgb(180 20 20); }"))
    assert "RGB" in failing(report)["colour"]


def test_lab_colour_fails(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "lab.pdf", TEXT, css="p { color: lab(40 50 30); }"))
    assert "Lab" in failing(report)["colour"]


def test_unembedded_font_fails(tmp_path: Path) -> None:
    """A standard-14 font used without its font file, written into an otherwise good page."""
    good = write_pdf(tmp_path / "good.pdf", TEXT)
    writer = PdfWriter(clone_from=PdfReader(good))
    page = writer.pages[0]
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    resources = page["/Resources"].get_object()
    fonts = resources["/Font"].get_object()
    fonts[NameObject("/Helv")] = writer._add_object(font)
    contents = page.get_contents()
    assert contents is not None
    contents.set_data(contents.get_data() + b"\nq 0 0 0 1 k BT /Helv 9 Tf 40 40 Td (Not embedded) Tj ET Q")
    page.replace_contents(contents)
    path = tmp_path / "helvetica.pdf"
    writer.write(path)
    report = only(path)
    assert set(failing(report)) == {"fonts"}, report.problems()
    assert "Helvetica" in failing(report)["fonts"]


def test_missing_bleed_fails(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "no-bleed.pdf", TEXT, bleed_mm=0))
    assert set(failing(report)) == {"boxes"}, report.problems()
    assert "bleed is 0.00 mm" in failing(report)["boxes"]


def test_short_bleed_fails(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "short-bleed.pdf", TEXT, bleed_mm=2))
    assert "the plant needs 3 mm" in failing(report)["boxes"]


def test_missing_trim_and_bleed_boxes_fail(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(write_pdf(tmp_path / "good.pdf", TEXT)))
    for key in ("/TrimBox", "/BleedBox"):
        del writer.pages[0][NameObject(key)]
    path = tmp_path / "no-boxes.pdf"
    writer.write(path)
    detail = failing(only(path))["boxes"]
    assert "no TrimBox" in detail and "no BleedBox" in detail


def test_too_much_ink_fails(tmp_path: Path) -> None:
    body = TEXT + '<div style="height: 15mm; background: device-cmyk(0.8 0.7 0.7 1)"></div>'
    report = only(write_pdf(tmp_path / "rich-black.pdf", body))
    assert set(failing(report)) == {"ink"}, report.problems()
    assert report.max_tac is not None and report.max_tac > 300


def test_annotation_fails(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "link.pdf", '<p><a href="https://www.guernseypress.com/">Read more</a></p>'))
    assert "annotation" in failing(report)["colour"]


def test_plain_pdf_is_not_pdfx(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "plain.pdf", TEXT, press=False))
    detail = failing(report)["pdfx"]
    assert "no PDF/X version key" in detail and "no PDF/X output intent" in detail


def test_low_resolution_image_warns(tmp_path: Path) -> None:
    picture = write_image(tmp_path / "small.jpg", "CMYK", (60, 40), (0, 60, 90, 10), quality=95)
    report = only(write_pdf(tmp_path / "soft.pdf", f'<img src="{picture.as_uri()}" style="width: 60mm">'))
    assert report.status is Status.WARN, report.problems()
    assert report.min_ppi == pytest.approx(60 / (60 / 25.4), abs=1)
    assert "25 ppi" in report.check("images").detail


def test_rich_black_text_warns(tmp_path: Path) -> None:
    report = only(write_pdf(tmp_path / "rich-text.pdf", TEXT, css="p { color: device-cmyk(0.4 0.3 0.3 1); }"))
    assert report.status is Status.WARN, report.problems()
    assert "several inks" in report.check("colour").detail


def test_cli_table_and_exit_code(tmp_path: Path) -> None:
    good = write_pdf(tmp_path / "GP-20200102-P01.pdf", TEXT)
    bad = write_pdf(tmp_path / "GP-20200102-P02.pdf", TEXT, css="p { color: rgb(0 0 255); }")
    runner = CliRunner()
    result = runner.invoke(main, ["preflight", str(good)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    result = runner.invoke(main, ["preflight", str(tmp_path)])  # a folder: its press pages
    assert result.exit_code == 1
    assert "GP-20200102-P01.pdf" in result.output and "FAIL" in result.output
    assert f"{bad.name} p1: colour: RGB colour" in result.output
    assert preflight([tmp_path]).failures[0].file == bad

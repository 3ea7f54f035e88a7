"""The sample edition's press pages pass preflight, and checks that share no code with it agree:
Ghostscript's separations and ink_cov device for ink, a plain pypdf walk of every resource and
content stream for RGB/Lab and font embedding, poppler's pdfimages and pdffonts.  The
e-edition stays RGB and small; plates.json describes what was delivered."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageMath
from pypdf import PdfReader
from tests.press.press_support import press_like_pdf

from gp_print.build import build_edition
from gp_print.colour import DEFAULT_PRESS
from gp_print.model import PT_PER_MM, BuildResult
from gp_print.pdfx import SLUG_MM
from gp_print.preflight import PLATES_FILE, PreflightError, Status, preflight

LIMIT = DEFAULT_PRESS.ink_limit
RGB_OPERATOR = re.compile(rb"(?:^|\s)(?:rg|RG)(?=\s|$)")
CMYK_OPERATOR = re.compile(rb"(?:^|\s)(?:k|K)(?=\s|$)")


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed — `make setup` installs it (Makefile system-deps)"
    return path


@pytest.fixture(scope="module")
def press_pages(sample_build: BuildResult) -> list[Path]:
    return [p.press_pdf for p in sample_build.pages]


def test_every_sample_press_page_passes_preflight(sample_build: BuildResult, press_pages: list[Path]) -> None:
    result = preflight(press_pages)
    assert result.passed, result.table()
    assert len(result.pages) == len(sample_build.flatplan.pages)
    for report in result.pages:
        assert report.pdfx == "X-4"
        assert report.check("ink").status is Status.PASS
        assert report.check("colour").status is Status.PASS, report.problems()


# ------------------------------------------------------------------------------ independent: ink


def separations_max_tac(pdf: Path, scratch: Path) -> list[float]:
    """Per page, the highest C+M+Y+K of any pixel, from Ghostscript's tiffsep separations at
    50 dpi (a different device, resolution and page box from preflight's)."""
    subprocess.run([tool("gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffsep", "-r50",
                    f"-sOutputFile={scratch}/p%03d.tif", str(pdf)], check=True, capture_output=True)
    out = []
    for composite in sorted(scratch.glob("p[0-9][0-9][0-9].tif")):
        inks = ("Cyan", "Magenta", "Yellow", "Black")
        planes = [Image.open(scratch / f"{composite.stem}({ink}).tif") for ink in inks]
        # separations are film-like: 255 = no ink, 0 = solid
        total = ImageMath.lambda_eval(lambda a: 1020 - a["c"] - a["m"] - a["y"] - a["k"],
                                      c=planes[0], m=planes[1], y=planes[2], k=planes[3])
        out.append(total.getextrema()[1] * 100 / 255)
    return out


def ink_cov(pdf: Path) -> list[list[float]]:
    """Ghostscript's ink_cov device: average coverage of C, M, Y, K per page, in per cent."""
    run = subprocess.run([tool("gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=ink_cov", "-r50",
                          "-o", "-", str(pdf)], check=True, capture_output=True, text=True)
    return [[float(v) for v in line.split()[:4]] for line in run.stdout.splitlines() if line.strip().endswith("OK")]


def test_ghostscript_agrees_on_ink(press_pages: list[Path], tmp_path: Path) -> None:
    for pdf in press_pages:
        scratch = tmp_path / pdf.stem
        scratch.mkdir()
        (tac,) = separations_max_tac(pdf, scratch)
        assert tac <= LIMIT + 0.5, f"{pdf.name}: {tac:.1f} % total ink"
        (coverage,) = ink_cov(pdf)
        assert sum(coverage) <= LIMIT, f"{pdf.name}: average coverage {coverage}"


def test_independent_checks_catch_an_over_inked_page(tmp_path: Path) -> None:
    """The checks above are not vacuous: a 400 % black box trips the separations."""
    pdf = tmp_path / "heavy.pdf"
    pdf.write_bytes(press_like_pdf('<div style="height: 20mm; background: device-cmyk(1 1 1 1)"></div>'))
    (scratch := tmp_path / "sep").mkdir()
    assert separations_max_tac(pdf, scratch)[0] > 390


# ------------------------------------------------------------------------------ independent: pypdf walk


def walk_resources(resources: Any, found: dict[str, set[str]], seen: set[int], where: str) -> None:
    """Every colour space, image, font and content stream reachable from `resources`."""
    resources = resources.get_object() if resources is not None else {}
    for name, space in (resources.get("/ColorSpace") or {}).items():
        classify(space, found, f"{where} {name}")
    for name, shading in (resources.get("/Shading") or {}).items():
        classify(shading.get_object().get("/ColorSpace"), found, f"{where} shading {name}")
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        target = font["/DescendantFonts"][0].get_object() if font.get("/Subtype") == "/Type0" else font
        descriptor = target.get("/FontDescriptor")
        embedded = descriptor is not None and any(
            k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        if not embedded and font.get("/Subtype") != "/Type3":
            found["unembedded"].add(str(font.get("/BaseFont")))
    for name, ref in (resources.get("/XObject") or {}).items():
        if ref.idnum in seen:
            continue
        seen.add(ref.idnum)
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            if xobject.get("/ImageMask") is not True:
                classify(xobject.get("/ColorSpace"), found, f"{where} image {name}")
        else:
            if RGB_OPERATOR.search(xobject.get_data()):
                found["rgb"].add(f"{where} form {name} operators")
            walk_resources(xobject.get("/Resources"), found, seen, f"{where} form {name}")


def classify(space: Any, found: dict[str, set[str]], where: str) -> None:
    space = space.get_object() if hasattr(space, "get_object") else space
    family = str(space[0] if isinstance(space, list) else space)
    if family in ("/DeviceRGB", "/CalRGB"):
        found["rgb"].add(where)
    elif family == "/Lab":
        found["lab"].add(where)
    elif family == "/ICCBased" and int(space[1].get_object()["/N"]) == 3:
        found["rgb"].add(f"{where} (ICC RGB)")
    elif family == "/Indexed":
        classify(space[1], found, where)


def test_pypdf_walk_finds_no_rgb_or_lab_and_every_font_embedded(press_pages: list[Path]) -> None:
    for pdf in press_pages:
        page = PdfReader(pdf).pages[0]
        found: dict[str, set[str]] = {"rgb": set(), "lab": set(), "unembedded": set()}
        walk_resources(page["/Resources"], found, set(), "page")
        contents = page.get_contents()
        assert contents is not None
        if RGB_OPERATOR.search(contents.get_data()):
            found["rgb"].add("page operators")
        assert "/Annots" not in page
        assert found == {"rgb": set(), "lab": set(), "unembedded": set()}, f"{pdf.name}: {found}"


def test_poppler_agrees_on_images_and_fonts(press_pages: list[Path]) -> None:
    low = DEFAULT_PRESS.min_ppi
    reports = {r.file: r for r in preflight(press_pages).pages}
    for pdf in press_pages:
        listing = subprocess.run([tool("pdfimages"), "-list", str(pdf)], check=True, capture_output=True,
                                 text=True).stdout.splitlines()[2:]
        ppis = []
        for line in listing:
            fields = line.split()
            kind, colour, x_ppi, y_ppi = fields[2], fields[5], int(fields[12]), int(fields[13])
            if kind in ("smask", "stencil"):
                continue
            assert colour in ("cmyk", "gray"), f"{pdf.name}: {line}"
            ppis.append(min(x_ppi, y_ppi))
        if ppis:
            assert reports[pdf].min_ppi == pytest.approx(min(ppis), abs=2)
            if min(ppis) < low:
                assert reports[pdf].check("images").status is Status.WARN
        fonts = subprocess.run([tool("pdffonts"), str(pdf)], check=True, capture_output=True,
                               text=True).stdout.splitlines()[2:]
        assert fonts, pdf.name
        for line in fonts:
            # name type… encoding emb sub uni object ID: emb is the fifth field from the end
            assert line.split()[-5] == "yes", f"{pdf.name}: {line}"


# ------------------------------------------------------------------------------ the page itself


def test_press_pages_have_k_only_crop_marks_in_a_slug(press_pages: list[Path]) -> None:
    for pdf in press_pages:
        page = PdfReader(pdf).pages[0]
        trim, bleed, media = page.trimbox, page.bleedbox, page.mediabox
        assert float(trim.left) - float(bleed.left) == pytest.approx(3 * PT_PER_MM, abs=0.01)
        assert float(bleed.left) - float(media.left) == pytest.approx(SLUG_MM * PT_PER_MM, abs=0.01)
        drawing = page.get_contents().get_data()  # type: ignore[union-attr]
        start = drawing.index(b"Q\nq\n0 0 0 1 K\n")  # after the page's own drawing, in K alone
        marks = drawing[start:start + 600]
        assert marks.count(b" l S") == 8 and not RGB_OPERATOR.search(marks)
        x = float(trim.left)
        assert f"{x - (3 + 0.5) * PT_PER_MM:.3f}".encode() in marks  # starts clear of the bleed


def test_press_page_xmp_has_a_stable_document_id(press_pages: list[Path]) -> None:
    from gp_print.pdfx import document_id

    for pdf in press_pages:
        xmp = PdfReader(pdf).trailer["/Root"]["/Metadata"].get_object().get_data()
        assert document_id(pdf.name).encode() in xmp


# ------------------------------------------------------------------------------ e-edition, plates


def test_eedition_stays_rgb_and_small(sample_build: BuildResult) -> None:
    eedition = sample_build.eedition
    listing = subprocess.run([tool("pdfimages"), "-list", str(eedition)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    assert listing, "the e-edition should carry the photos"
    for line in listing:
        fields = line.split()
        assert fields[5] in ("rgb", "gray"), line
        assert int(fields[12]) <= DEFAULT_PRESS.screen_ppi + 2, line
    reader = PdfReader(eedition)
    for page in reader.pages:
        data = page.get_contents().get_data()  # type: ignore[union-attr]
        assert not CMYK_OPERATOR.search(data) and b"/DeviceCMYK" not in data
        assert "/OutputIntents" not in reader.trailer["/Root"]
    press_total = sum(p.press_pdf.stat().st_size for p in sample_build.pages)
    assert eedition.stat().st_size < press_total / 2, (eedition.stat().st_size, press_total)


def test_plates_manifest_lists_every_press_page(sample_build: BuildResult) -> None:
    assert sample_build.plates is not None
    assert sample_build.plates == sample_build.eedition.parent / PLATES_FILE
    manifest = json.loads(sample_build.plates.read_text())
    assert manifest["pdf_variant"] == "X-4" and manifest["ink_limit_percent"] == LIMIT
    plates = manifest["plates"]
    assert [p["page"] for p in plates] == [p.number for p in sample_build.pages]
    for plate, page in zip(plates, sample_build.pages, strict=True):
        data = page.press_pdf.read_bytes()
        assert plate["file"] == page.press_pdf.name
        assert plate["bytes"] == len(data)
        assert plate["sha256"] == hashlib.sha256(data).hexdigest()
        assert plate["preflight"] in ("pass", "warn")
        assert plate["colour"] in ("colour", "mono")
    assert {p["colour"] for p in plates} == {"colour", "mono"}  # the sample has both


def test_rgb_ad_fails_the_build_and_leaves_the_output_alone(minimal_edition: Any, tmp_path: Path) -> None:
    """An advertiser's RGB PDF reaches preflight, which fails the build before anything moves."""
    ad = minimal_edition.path("ads/rgb-ad.pdf")
    ad.write_bytes(press_like_pdf('<p style="color: rgb(200 0 0); font-size: 30pt">SALE</p>', press=False))
    minimal_edition.replace("edition.toml", 'file = "ads/vale-bakery.png"', 'file = "ads/rgb-ad.pdf"')
    out = tmp_path / "out"
    out.mkdir()
    previous = out / "GP-20200102-P02.pdf"
    previous.write_bytes(b"yesterday's plate")
    with pytest.raises(PreflightError) as failure:
        build_edition(minimal_edition.root, out)
    message = str(failure.value.message)
    assert "GP-20200102-P02.pdf" in message and "RGB colour" in message
    assert "ad rgb-ad.pdf (Vale Bakery, page 2) uses RGB colour" in message
    assert previous.read_bytes() == b"yesterday's plate"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["GP-20200102-P02.pdf"]

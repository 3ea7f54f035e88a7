"""The proof stage: rasterising press PDFs and writing page PNGs and a contact sheet."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject

from gp_print import proof
from gp_print.errors import GPPrintError
from gp_print.proof import ProofPage, ProofSet, rasterise, write_proofs

MM = 72 / 25.4  # PDF points per millimetre
PX_PER_MM = 10  # the test pages are drawn at 254 dpi


def mm_to_px(mm: float, dpi: float) -> int:
    return round(mm / 25.4 * dpi)


def make_page(path: Path, width_mm: int = 100, height_mm: int = 150, shade: int = 0) -> Path:
    """A one-page PDF drawn with Pillow: a black rectangle 20–80 mm across, 30–90 mm down."""
    image = Image.new("RGB", (width_mm * PX_PER_MM, height_mm * PX_PER_MM), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 300, 799, 899), fill=(shade, shade, shade))
    draw.rectangle((100, 1000, 399, 1199), fill=(200, 30, 30))
    image.save(path, "PDF", resolution=25.4 * PX_PER_MM)
    return path


def with_trimbox(source: Path, target: Path, box_mm: tuple[float, float, float, float]) -> Path:
    writer = PdfWriter(clone_from=source)
    writer.pages[0].trimbox = RectangleObject([v * MM for v in box_mm])
    writer.write(target)
    return target


@pytest.fixture
def page_pdf(tmp_path: Path) -> Path:
    return make_page(tmp_path / "page.pdf")


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


# --- rasterise ---------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [72, 100, 150, 37.5])
def test_rasterise_size_follows_dpi(page_pdf: Path, dpi: float) -> None:
    image = rasterise(page_pdf, dpi=dpi)
    assert image.size == (mm_to_px(100, dpi), mm_to_px(150, dpi))
    assert image.mode == "RGB"


def test_rasterise_100_dpi_page(page_pdf: Path) -> None:
    image = rasterise(page_pdf)
    assert image.size == (394, 591)
    # Inside the black rectangle (50 mm, 60 mm) and in the white margin (5 mm, 5 mm).
    assert image.getpixel((mm_to_px(50, 100), mm_to_px(60, 100))) == (0, 0, 0)
    assert image.getpixel((mm_to_px(5, 100), mm_to_px(5, 100))) == (255, 255, 255)
    red = image.getpixel((mm_to_px(25, 100), mm_to_px(110, 100)))
    assert isinstance(red, tuple) and red[0] > 150 > red[1]


def test_rasterise_is_deterministic(page_pdf: Path) -> None:
    first = rasterise(page_pdf, dpi=100)
    second = rasterise(page_pdf, dpi=100)
    assert first.tobytes() == second.tobytes()
    assert rasterise(page_pdf.read_bytes()).tobytes() == first.tobytes()  # bytes input


def test_rasterise_grey_is_luma_of_colour(page_pdf: Path) -> None:
    grey = rasterise(page_pdf, grey=True)
    assert grey.mode == "L"
    assert grey.tobytes() == rasterise(page_pdf).convert("L").tobytes()
    assert grey.getpixel((mm_to_px(50, 100), mm_to_px(60, 100))) == 0


def test_crop_to_trim_renders_only_the_trimbox(page_pdf: Path, tmp_path: Path) -> None:
    trimmed_pdf = with_trimbox(page_pdf, tmp_path / "trim.pdf", (10, 20, 90, 140))
    assert PdfReader(trimmed_pdf).pages[0].trimbox != PdfReader(trimmed_pdf).pages[0].mediabox

    trimmed = rasterise(trimmed_pdf, dpi=100)
    whole = rasterise(trimmed_pdf, dpi=100, crop_to_trim=False)
    assert trimmed.size == (mm_to_px(80, 100), mm_to_px(120, 100)) == (315, 472)
    assert whole.size == (394, 591)

    # The trim's top-left corner is 10 mm from the page's left and top edges: the black
    # rectangle (20–80 mm across, 30–90 mm down on the page) starts 10 mm / 20 mm in.
    def at(image: Image.Image, x_mm: float, y_mm: float) -> object:
        return image.getpixel((mm_to_px(x_mm, 100), mm_to_px(y_mm, 100)))

    assert at(trimmed, 12, 22) == (0, 0, 0) == at(whole, 22, 32)
    assert at(trimmed, 8, 22) == (255, 255, 255) == at(whole, 18, 32)
    assert at(trimmed, 12, 18) == (255, 255, 255)


def test_crop_to_trim_falls_back_to_the_page_without_a_trimbox(page_pdf: Path) -> None:
    assert rasterise(page_pdf, crop_to_trim=True).size == rasterise(page_pdf, crop_to_trim=False).size


def test_trimbox_outside_the_page_is_clipped(page_pdf: Path, tmp_path: Path) -> None:
    pdf = with_trimbox(page_pdf, tmp_path / "wide.pdf", (-10, 20, 90, 200))
    assert rasterise(pdf).size == (mm_to_px(90, 100), mm_to_px(130, 100))


def test_tabloid_with_bleed(tmp_path: Path) -> None:
    """A press page: 295 × 386 mm MediaBox (3 mm bleed), 289 × 380 mm TrimBox."""
    writer = PdfWriter()
    writer.add_blank_page(width=295 * MM, height=386 * MM)
    writer.pages[0].trimbox = RectangleObject([3 * MM, 3 * MM, 292 * MM, 383 * MM])
    pdf = tmp_path / "tabloid.pdf"
    writer.write(pdf)
    assert rasterise(pdf).size == (1138, 1496)
    assert rasterise(pdf, crop_to_trim=False).size == (1161, 1520)


def test_page_index(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=100 * MM, height=100 * MM)
    writer.add_blank_page(width=200 * MM, height=100 * MM)
    pdf = tmp_path / "two.pdf"
    writer.write(pdf)
    assert rasterise(pdf, page_index=1).size == (787, 394)
    with pytest.raises(GPPrintError, match="out of range"):
        rasterise(pdf, page_index=2)


def test_rasterise_reports_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(GPPrintError, match="not found"):
        rasterise(tmp_path / "nope.pdf")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this is not a PDF")
    with pytest.raises(GPPrintError, match="not a readable PDF"):
        rasterise(broken)
    with pytest.raises(ValueError):
        rasterise(tmp_path / "nope.pdf", dpi=0)


# --- write_proofs ------------------------------------------------------------------------


def make_edition(folder: Path, count: int) -> list[tuple[int, str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for number in range(1, count + 1):
        pdf = make_page(folder / f"GP-20191230-P{number:02d}.pdf", shade=number * 20)
        label = f"P{number} · " + ("Front" if number == 1 else "News")
        pages.append((number, label, pdf))
    return pages


def test_write_proofs_writes_every_page_and_a_sheet(tmp_path: Path) -> None:
    pages = make_edition(tmp_path / "pdf", 3)
    result = write_proofs(pages, tmp_path / "proofs", title="Guernsey Press, 30 December 2019")

    assert isinstance(result, ProofSet)
    assert result.pages == tuple(
        ProofPage(number=n, label=label, png=tmp_path / "proofs" / f"P{n:02d}.png") for n, label, _ in pages
    )
    for page, (_, _, pdf) in zip(result.pages, pages, strict=True):
        with Image.open(page.png) as image:
            assert image.size == (394, 591)
            assert image.tobytes() == rasterise(pdf).tobytes()
    assert result.contact_sheet == tmp_path / "proofs" / "contact-sheet.png"
    with Image.open(result.contact_sheet) as sheet:
        assert sheet.mode == "RGB"
        assert sheet.getpixel((2, 2)) == proof.BACKGROUND
        assert sheet.width > 3 * proof.THUMB_WIDTH
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in (tmp_path / "proofs").iterdir()) == [
        "P01.png",
        "P02.png",
        "P03.png",
        "contact-sheet.png",
    ]


def test_contact_sheet_grows_with_the_number_of_pages(tmp_path: Path) -> None:
    pages = make_edition(tmp_path / "pdf", 8)
    sizes = {}
    for count in (1, 2, 6, 8):
        result = write_proofs(pages[:count], tmp_path / f"proofs-{count}", sheet_columns=6)
        with Image.open(result.contact_sheet) as sheet:
            sizes[count] = sheet.size
    assert sizes[1][0] < sizes[2][0] < sizes[6][0] == sizes[8][0]  # more columns, up to 6
    assert sizes[1][1] == sizes[2][1] == sizes[6][1] < sizes[8][1]  # then a second row
    # Thumbnails are about 300 px wide: six of them make a sheet of at least 1800 px.
    assert 6 * proof.THUMB_WIDTH < sizes[6][0] < 6 * (proof.THUMB_WIDTH + 60)


def darkest(image: Image.Image) -> int:
    return min(image.tobytes())


def test_title_and_labels_are_drawn(tmp_path: Path) -> None:
    pages = make_edition(tmp_path / "pdf", 2)
    plain = write_proofs(pages, tmp_path / "plain")
    titled = write_proofs(pages, tmp_path / "titled", title="Guernsey Press")
    with Image.open(plain.contact_sheet) as a, Image.open(titled.contact_sheet) as b:
        assert b.height > a.height and b.width == a.width
        # Something dark (the title) is drawn in the band above the thumbnails.
        band = b.crop((0, 0, b.width, proof.SHEET_MARGIN + proof.TITLE_SIZE)).convert("L")
        assert darkest(band) < 100
        # ...and under each thumbnail (number and label).
        thumb_bottom = proof.SHEET_MARGIN + round(591 * proof.THUMB_WIDTH / 394)
        caption = a.crop((0, thumb_bottom + 6, a.width, a.height - 4)).convert("L")
        assert darkest(caption) < 100


def test_write_proofs_is_byte_identical_across_runs(tmp_path: Path) -> None:
    pages = make_edition(tmp_path / "pdf", 4)
    first = write_proofs(pages, tmp_path / "one", title="Edition")
    second = write_proofs(pages, tmp_path / "two", title="Edition")
    files_one = [p.png for p in first.pages] + [first.contact_sheet]
    files_two = [p.png for p in second.pages] + [second.contact_sheet]
    for a, b in zip(files_one, files_two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    # Writing again over the same folder replaces the files with the same bytes.
    before = first.contact_sheet.read_bytes()
    write_proofs(pages, tmp_path / "one", title="Edition")
    assert first.contact_sheet.read_bytes() == before


def test_pngs_carry_no_timestamp_or_text(tmp_path: Path) -> None:
    result = write_proofs(make_edition(tmp_path / "pdf", 1), tmp_path / "proofs")
    for path in (result.pages[0].png, result.contact_sheet):
        chunks = png_chunks(path.read_bytes())
        assert not {b"tIME", b"tEXt", b"zTXt", b"iTXt", b"eXIf"} & set(chunks)
    with Image.open(io.BytesIO(result.pages[0].png.read_bytes())) as image:
        dpi = image.info["dpi"]
        assert isinstance(dpi, tuple) and round(dpi[0]) == 100


def test_write_proofs_rejects_bad_input(tmp_path: Path) -> None:
    pages = make_edition(tmp_path / "pdf", 2)
    with pytest.raises(ValueError):
        write_proofs([], tmp_path / "out")
    with pytest.raises(ValueError, match="more than once"):
        write_proofs([pages[0], pages[0]], tmp_path / "out")
    with pytest.raises(ValueError):
        write_proofs(pages, tmp_path / "out", sheet_columns=0)
    with pytest.raises(GPPrintError, match="not found"):
        write_proofs([(3, "P3", tmp_path / "missing.pdf")], tmp_path / "out")


def test_sheet_font_is_the_repository_pt_sans() -> None:
    assert proof.SHEET_FONT.is_file()
    assert proof.SHEET_FONT.parent.parent == Path(proof.__file__).resolve().parents[2] / "fonts"

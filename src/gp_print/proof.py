"""The proof stage: page images and a contact sheet from the press PDFs.

Every page is rasterised with pypdfium2, the one rasteriser the project uses for proofs and
for snapshot tests (other renderers anti-alias differently).  Rendering is deterministic:
the same PDF gives the same pixels in every run and every process, and the PNGs are written
without timestamps, so a proof folder is byte-identical across rebuilds of the same edition.

Files are written atomically (a temporary name in the same folder, then ``os.replace``), so
a viewer or a sync job never sees half a PNG.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw, ImageFont

from gp_print.errors import GPPrintError
from gp_print.model import Grid, PageLayout, Rect, column_white
from gp_print.quality import MAX_WHITE_LINES

__all__ = ["ProofPage", "ProofSet", "rasterise", "write_proofs"]

#: The repository's fonts folder (never a system font: sheets must look the same everywhere).
FONTS_DIR = Path(__file__).resolve().parents[2] / "fonts"
SHEET_FONT = FONTS_DIR / "pt-sans" / "PT_Sans-Web-Regular.ttf"

# Contact-sheet geometry, in pixels.
THUMB_WIDTH = 300
SHEET_MARGIN = 32
CELL_GAP = 28
SHADOW_OFFSET = 4
CAPTION_GAP = 8
NUMBER_SIZE = 22
LABEL_SIZE = 16
TITLE_SIZE = 30
BACKGROUND = (236, 236, 236)
SHADOW = (190, 190, 190)
BORDER = (150, 150, 150)
INK = (34, 34, 34)
LABEL_INK = (85, 85, 85)

_POINTS_PER_INCH = 72.0


def rasterise(
    pdf: Path | bytes,
    *,
    dpi: float = 100,
    page_index: int = 0,
    grey: bool = False,
    crop_to_trim: bool = True,
) -> Image.Image:
    """Render one page of ``pdf`` (a path or the PDF's bytes) to a Pillow image.

    The image is ``round(width_pt * dpi / 72)`` × ``round(height_pt * dpi / 72)`` pixels of
    the rendered region: with ``crop_to_trim`` the page's TrimBox (clipped to the visible
    page; pages without one fall back to the CropBox, itself falling back to the MediaBox),
    otherwise the whole CropBox/MediaBox including bleed.  The page's /Rotate is honoured.

    Returns mode ``"RGB"`` on a white background, or mode ``"L"`` with ``grey=True``.  The
    grey image is exactly ``rasterise(...).convert("L")`` (ITU-R 601 luma), so a greyscale
    snapshot is the same whichever way a test asks for it.
    """
    if dpi <= 0 or not math.isfinite(dpi):
        raise ValueError(f"dpi must be a positive number, not {dpi!r}")
    where = "<bytes>" if isinstance(pdf, bytes) else str(pdf)
    if not isinstance(pdf, bytes) and not Path(pdf).is_file():
        raise GPPrintError(f"{where}: PDF not found — build the page before proofing it")
    try:
        document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    except pdfium.PdfiumError as exc:
        raise GPPrintError(f"{where}: not a readable PDF ({exc})") from exc
    try:
        count = len(document)
        if not 0 <= page_index < count:
            raise GPPrintError(f"{where}: page_index {page_index} is out of range — the PDF has {count} page(s)")
        page = document[page_index]
        try:
            if crop_to_trim:
                _crop_page_to_trim(page)
            image = _render(page, dpi / _POINTS_PER_INCH)
        finally:
            page.close()
    finally:
        document.close()
    return image.convert("L") if grey else image


def _crop_page_to_trim(page: pdfium.PdfPage) -> None:
    """Make the in-memory page's CropBox its TrimBox (clipped to what is visible)."""
    trim = page.get_trimbox(fallback_ok=False)  # TrimBox is not inheritable: no lookup up
    if trim is None:
        return
    visible = page.get_bbox()  # MediaBox ∩ CropBox, with inheritance
    left = max(min(trim[0], trim[2]), min(visible[0], visible[2]))
    bottom = max(min(trim[1], trim[3]), min(visible[1], visible[3]))
    right = min(max(trim[0], trim[2]), max(visible[0], visible[2]))
    top = min(max(trim[1], trim[3]), max(visible[1], visible[3]))
    if right - left < 1 or top - bottom < 1:  # a broken TrimBox: show the whole page
        return
    page.set_cropbox(left, bottom, right, top)


def _render(page: pdfium.PdfPage, scale: float) -> Image.Image:
    """Render the page's visible box to an RGB image, sized by rounding (not ceiling)."""
    width_pt, height_pt = page.get_size()  # already swapped for /Rotate 90 and 270
    width = max(1, round(width_pt * scale))
    height = max(1, round(height_pt * scale))
    bitmap = pdfium.PdfBitmap.new_native(width, height, pdfium_c.FPDFBitmap_BGR)
    try:
        bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
        pdfium_c.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, pdfium_c.FPDF_ANNOT)
        image = bitmap.to_pil()  # BGR → RGB: Pillow copies the buffer
        image.load()
    finally:
        bitmap.close()
    return image


@dataclass(frozen=True)
class ProofPage:
    """One proofed page: its number, its label ("P1 · Front") and the PNG written."""

    number: int
    label: str
    png: Path


@dataclass(frozen=True)
class ProofSet:
    """Every proofed page, in the order given, and the contact sheet."""

    pages: tuple[ProofPage, ...]
    contact_sheet: Path


def write_proofs(
    pages: Sequence[tuple[int, str, Path]],
    out_dir: Path,
    *,
    dpi: float = 100,
    sheet_columns: int = 6,
    title: str = "",
    decorate: Callable[[int, Image.Image], Image.Image] | None = None,
) -> ProofSet:
    """Write ``out_dir/P01.png`` … for each (number, label, press PDF) and a contact sheet.

    Page PNGs are the TrimBox at ``dpi``, in colour.  ``out_dir/contact-sheet.png`` is a grid
    of ``sheet_columns`` columns of thumbnails about 300 px wide, each with a shadow and a
    border and its page number and label beneath, under ``title``.  All text is set in the
    repository's PT Sans.  Output bytes depend only on the inputs.
    """
    if not pages:
        raise ValueError("write_proofs needs at least one page")
    if sheet_columns < 1:
        raise ValueError(f"sheet_columns must be at least 1, not {sheet_columns}")
    numbers = [number for number, _, _ in pages]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ValueError(f"page numbers given more than once: {duplicates}")
    if any(n < 0 for n in numbers):
        raise ValueError(f"page numbers must not be negative: {numbers}")

    out_dir.mkdir(parents=True, exist_ok=True)
    proofed: list[ProofPage] = []
    thumbnails: list[Image.Image] = []
    for number, label, pdf in pages:
        image = rasterise(Path(pdf), dpi=dpi, crop_to_trim=True)
        if decorate is not None:
            image = decorate(number, image)
        png = out_dir / f"P{number:02d}.png"
        _write_png_atomically(image, png, dpi=dpi)
        proofed.append(ProofPage(number=number, label=label, png=png))
        thumbnails.append(_thumbnail(image))

    sheet = _contact_sheet(thumbnails, [(p.number, p.label) for p in proofed], columns=sheet_columns, title=title)
    sheet_path = out_dir / "contact-sheet.png"
    _write_png_atomically(sheet, sheet_path)
    return ProofSet(pages=tuple(proofed), contact_sheet=sheet_path)


def _thumbnail(image: Image.Image) -> Image.Image:
    height = max(1, round(image.height * THUMB_WIDTH / image.width))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _font(size: int) -> ImageFont.FreeTypeFont:
    if not SHEET_FONT.is_file():
        raise GPPrintError(
            f"{SHEET_FONT}: the contact-sheet font is missing — restore fonts/pt-sans from the repository"
        )
    # The basic layout engine: the same glyph placement with or without libraqm installed.
    return ImageFont.truetype(str(SHEET_FONT), size, layout_engine=ImageFont.Layout.BASIC)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """``text``, shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _contact_sheet(
    thumbnails: Sequence[Image.Image],
    captions: Sequence[tuple[int, str]],
    *,
    columns: int,
    title: str,
) -> Image.Image:
    number_font, label_font, title_font = _font(NUMBER_SIZE), _font(LABEL_SIZE), _font(TITLE_SIZE)
    columns = min(columns, len(thumbnails))
    rows = math.ceil(len(thumbnails) / columns)
    thumb_height = max(t.height for t in thumbnails)
    caption_height = CAPTION_GAP + NUMBER_SIZE + 6
    cell_w = THUMB_WIDTH + SHADOW_OFFSET
    cell_h = thumb_height + SHADOW_OFFSET + caption_height
    title_height = (TITLE_SIZE + 20) if title else 0

    width = 2 * SHEET_MARGIN + columns * cell_w + (columns - 1) * CELL_GAP
    height = 2 * SHEET_MARGIN + title_height + rows * cell_h + (rows - 1) * CELL_GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)

    if title:
        text = _fit(draw, title, title_font, width - 2 * SHEET_MARGIN)
        draw.text((SHEET_MARGIN, SHEET_MARGIN), text, font=title_font, fill=INK)

    for index, (thumb, (number, label)) in enumerate(zip(thumbnails, captions, strict=True)):
        row, column = divmod(index, columns)
        x = SHEET_MARGIN + column * (cell_w + CELL_GAP)
        y = SHEET_MARGIN + title_height + row * (cell_h + CELL_GAP)
        # Shadow, then the page, then a one-pixel border drawn over the page's edge.
        draw.rectangle(
            (
                x + SHADOW_OFFSET,
                y + SHADOW_OFFSET,
                x + SHADOW_OFFSET + thumb.width - 1,
                y + SHADOW_OFFSET + thumb.height - 1,
            ),
            fill=SHADOW,
        )
        sheet.paste(thumb.convert("RGB"), (x, y))
        draw.rectangle((x, y, x + thumb.width - 1, y + thumb.height - 1), outline=BORDER)

        text_y = y + thumb_height + SHADOW_OFFSET + CAPTION_GAP
        number_text = str(number)
        draw.text((x, text_y), number_text, font=number_font, fill=INK)
        label_x = x + round(draw.textlength(number_text, font=number_font)) + 10
        if label:
            label_text = _fit(draw, label, label_font, x + THUMB_WIDTH - label_x)
            # Sit the smaller label on the number's baseline.
            baseline_shift = round(number_font.getmetrics()[0] - label_font.getmetrics()[0])
            draw.text((label_x, text_y + baseline_shift), label_text, font=label_font, fill=LABEL_INK)
    return sheet


def _write_png_atomically(image: Image.Image, path: Path, *, dpi: float | None = None) -> None:
    """Save ``image`` as a PNG at ``path`` via a temporary file and ``os.replace``.

    Only the pixels (and the resolution, when given) are written: no text chunks, no
    timestamps, no copied metadata, so equal images give equal bytes.
    """
    buffer = io.BytesIO()
    options: dict[str, object] = {"format": "PNG", "optimize": False, "compress_level": 6}
    if dpi is not None:
        options["dpi"] = (dpi, dpi)
    clean = Image.frombytes(image.mode, image.size, image.tobytes())  # drops image.info
    clean.save(buffer, **options)  # type: ignore[arg-type]
    write_bytes_atomically(path, buffer.getvalue())


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------- marks

HOLE = (220, 30, 30)
HOUSE_AD = (235, 140, 0)
JUMP = (30, 90, 220)


def mark_problems(image: Image.Image, layout: PageLayout, grid: Grid, dpi: float) -> Image.Image:
    """Draw what a sub-editor must see on a proof: holes (and white more than two lines deep
    at a column's foot) and overset in red, house ads in
    orange, jumps in blue, each labelled.  The press files are never marked."""
    scale = dpi / 25.4
    marked = image.convert("RGB")
    overlay = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = _font(max(12, round(dpi / 6)))

    def box(rect: Rect) -> tuple[float, float, float, float]:
        left, top, width, depth = grid.page_box_mm(rect)
        return left * scale, top * scale, (left + width) * scale, (top + depth) * scale

    def label(xy: tuple[float, float, float, float], text: str, colour: tuple[int, int, int]) -> None:
        x0, y0, _, _ = xy
        width = draw.textlength(text, font=font)
        draw.rectangle((x0, y0, x0 + width + 8, y0 + font.size + 6), fill=(*colour, 230))
        draw.text((x0 + 4, y0 + 2), text, fill=(255, 255, 255, 255), font=font)

    for hole in layout.holes:
        xy = box(hole)
        draw.rectangle(xy, fill=(*HOLE, 70), outline=(*HOLE, 255), width=3)
        label(xy, f"HOLE {hole.lines} lines", HOLE)
    # White at the foot of a story's column deeper than the quality target allows.
    for run in column_white(layout.stories):
        if run.lines > MAX_WHITE_LINES:
            xy = box(run)
            draw.rectangle(xy, fill=(*HOLE, 70), outline=(*HOLE, 255), width=2)
            label(xy, f"WHITE {run.lines}", HOLE)
    for filler in layout.fillers:
        xy = box(filler.rect)
        draw.rectangle(xy, outline=(*HOUSE_AD, 255), width=3)
        label(xy, f"HOUSE AD {filler.rect.columns}×{filler.rect.lines}", HOUSE_AD)
    for slot in layout.stories:
        xy = box(slot.rect)
        if slot.overset_lines:
            draw.rectangle(xy, outline=(*HOLE, 255), width=5)
            label(xy, f"OVERSET {slot.overset_lines} lines", HOLE)
        elif slot.continues_on or slot.continued_from:
            draw.rectangle(xy, outline=(*JUMP, 255), width=3)
            text = f"JUMPS TO P{slot.continues_on}" if slot.continues_on else f"FROM P{slot.continued_from}"
            label(xy, text, JUMP)
    marked.paste(overlay, (0, 0), overlay)
    return marked

"""Finishing a press page as PDF/X: what WeasyPrint's PDF/X variants leave to us.

WeasyPrint 70 writes the PDF/X version keys, the XMP metadata and, given a CMYK profile, the
output intent.  Its `finisher` hook (called with the pydyf document just before it is written)
does the rest, so nothing is parsed twice:

* the XMP DocumentID of PDF/X-4 is a random uuid4: replace it with one derived from the file
  name, so the same input gives the same bytes (a page of an edition is one document);
* the BleedBox is set to exactly the trim plus the plant's bleed (WeasyPrint derives it from the
  CSS bleed, which here also holds the slug);
* crop marks are drawn in the slug, outside the bleed, in black ink alone (WeasyPrint's own
  `marks: crop` are RGB and sit inside the bleed);
* colour spaces WeasyPrint declares on every page but the page does not use (Lab, and the
  ICC-based CMYK that only the output intent needs) are dropped, so a checker reading the
  resources finds only what is printed.
"""

from __future__ import annotations

import functools
import re
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from gp_print.model import PT_PER_MM

#: Room beyond the bleed for the crop marks (mm).  The MediaBox is trim + bleed + slug.
SLUG_MM = 6.0
#: Crop marks: where they start beyond the trim (clear of the bleed), how long, how thick.
MARK_GAP_MM = 0.5
MARK_LENGTH_MM = 5.0
MARK_WIDTH_PT = 0.25

_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-fA-F-]{36}")
_UNUSED_SPACES = ("lab-d50", "lab-d65", "device-cmyk")


def media_bleed_mm(bleed_mm: float) -> float:
    """The CSS `bleed` of a press page: the plant's bleed plus the slug for the marks."""
    return bleed_mm + SLUG_MM


def document_id(name: str) -> str:
    return f"xmp.did:{uuid.uuid5(uuid.NAMESPACE_URL, f'gp-print:{name}')}"


def press_finisher(name: str, bleed_mm: float, *, crop_marks: bool = True) -> Callable[[Any, Any], None]:
    """A WeasyPrint `finisher` for the press page written as `name`."""

    def finish(document: Any, pdf: Any) -> None:
        import pydyf

        _fix_document_id(pdf, document_id(name).encode())
        _drop_unused_colour_spaces(pdf)
        _precompress_profiles(pdf)
        for obj in list(pdf.objects):
            if isinstance(obj, pydyf.Dictionary) and obj.get("Type") == "/Page" and "TrimBox" in obj:
                trim = [float(v) for v in obj["TrimBox"]]
                bleed = bleed_mm * PT_PER_MM
                obj["BleedBox"] = pydyf.Array([trim[0] - bleed, trim[1] - bleed, trim[2] + bleed, trim[3] + bleed])
                if crop_marks:
                    _add_crop_marks(pdf, obj, trim, bleed_mm)

    return finish


@functools.cache
def _deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(level=9)  # as pydyf does it: the same bytes
    return compressor.compress(data) + compressor.flush()


def _precompress_profiles(pdf: Any) -> None:
    """The press profile (170 KB) is the same on every page, but pydyf deflates it at level 9
    each time it serialises it (twice a page, 50 ms): hand it over deflated, once a process.
    The file's bytes do not change."""
    import pydyf

    for obj in pdf.objects:
        if (isinstance(obj, pydyf.Stream) and obj.compress and set(obj.extra) == {"N"}  # an ICC profile
                and len(obj.stream) == 1 and isinstance(obj.stream[0], bytes) and len(obj.stream[0]) > 4096):
            obj.stream = [_deflated(obj.stream[0])]
            obj.extra["Filter"] = "/FlateDecode"
            obj.compress = False


def _fix_document_id(pdf: Any, new_id: bytes) -> None:
    ref = pdf.catalog.get("Metadata")
    if not ref:
        return
    stream = pdf.objects[int(ref.split()[0])]
    stream.stream = [_DOCUMENT_ID.sub(new_id, part) if isinstance(part, bytes) else part for part in stream.stream]


def _content_bytes(pdf: Any) -> bytes:
    import pydyf

    parts: list[bytes] = []
    for obj in pdf.objects:  # page contents, forms, patterns: every stream but pictures
        if isinstance(obj, pydyf.Stream) and obj.extra.get("Subtype") != "/Image":
            parts.extend(p for p in obj.stream if isinstance(p, bytes))
    return b"\n".join(parts)


def _drop_unused_colour_spaces(pdf: Any) -> None:
    import pydyf

    used = _content_bytes(pdf)
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Dictionary) and "lab-d50" in obj and "lab-d65" in obj:
            for key in _UNUSED_SPACES:
                if key in obj and f"/{key}".encode() not in used:
                    del obj[key]


def _add_crop_marks(pdf: Any, page: Any, trim: list[float], bleed_mm: float) -> None:
    """Eight marks in the slug, on the lines of the trim, in 100 % K; the page's own drawing
    is wrapped in q … Q so its coordinate changes do not reach them."""
    import pydyf

    x0, y0, x1, y1 = trim
    start = (bleed_mm + MARK_GAP_MM) * PT_PER_MM
    end = start + MARK_LENGTH_MM * PT_PER_MM
    ops = [b"Q", b"q", b"0 0 0 1 K", f"{MARK_WIDTH_PT} w 0 J [] 0 d".encode()]
    for x, y, dx, dy in (
        (x0, y0, -1, 0), (x0, y0, 0, -1), (x1, y0, 1, 0), (x1, y0, 0, -1),
        (x0, y1, -1, 0), (x0, y1, 0, 1), (x1, y1, 1, 0), (x1, y1, 0, 1),
    ):
        ops.append(f"{x + dx * start:.3f} {y + dy * start:.3f} m {x + dx * end:.3f} {y + dy * end:.3f} l S".encode())
    ops.append(b"Q")
    opening = pydyf.Stream([b"q"])
    marks = pydyf.Stream(ops, compress=True)
    pdf.add_object(opening)
    pdf.add_object(marks)
    page["Contents"] = pydyf.Array([opening.reference, page["Contents"], marks.reference])

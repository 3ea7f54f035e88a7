"""Helpers for the press tests: small PDFs made the way gp-print makes a press page, so that
one deliberate fault at a time can be shown to preflight."""

from __future__ import annotations

from pathlib import Path

from gp_print.colour import DEFAULT_PRESS
from gp_print.fetch import configure_fonts
from gp_print.paths import FONTS_DIR
from gp_print.pdfx import media_bleed_mm, press_finisher

FONT_FACE = (f'@font-face {{ font-family: "PT Serif"; '
             f'src: url({(FONTS_DIR / "pt-serif" / "PT_Serif-Web-Regular.ttf").as_uri()}); }}')


def press_like_pdf(body: str, *, bleed_mm: float = 3.0, css: str = "", press: bool = True) -> bytes:
    """A one-page 100 × 80 mm PDF from `body`, written with gp-print's press options (PDF/X-4,
    newsprint output intent, K-only crop marks) unless `press` is false."""
    configure_fonts()
    import weasyprint
    from weasyprint.css import ColorProfile

    bleed = f"bleed: {media_bleed_mm(bleed_mm)}mm;" if press and bleed_mm else ""
    html = f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>test page</title>
<meta name="dcterms.created" content="2019-12-30T00:00:00Z">
<meta name="dcterms.modified" content="2019-12-30T00:00:00Z">
<style>{FONT_FACE} @page {{ size: 100mm 80mm; margin: 10mm; {bleed} }}
body {{ font: 10pt "PT Serif"; color: device-cmyk(0 0 0 1); }} {css}</style></head>
<body>{body}</body></html>"""
    document = weasyprint.HTML(string=html)
    if not press:
        return document.write_pdf()  # type: ignore[no-any-return]
    with open(DEFAULT_PRESS.profile, "rb") as handle:
        profile = ColorProfile(handle, "newsprint", "relative-colorimetric", ("c", "m", "y", "k"))
    rendered = document.render(color_profiles={"device-cmyk": profile}, output_intent="device-cmyk")
    return rendered.write_pdf(pdf_variant="pdf/x-4",  # type: ignore[no-any-return]
                              finisher=press_finisher("test.pdf", bleed_mm) if bleed_mm else None)


def write_pdf(path: Path, body: str, **options: object) -> Path:
    """press_like_pdf written to `path`."""
    path.write_bytes(press_like_pdf(body, **options))  # type: ignore[arg-type]
    return path


def write_image(path: Path, mode: str, size: tuple[int, int], colour: object, **save: object) -> Path:
    from PIL import Image

    Image.new(mode, size, colour).save(path, **save)  # type: ignore[arg-type]
    return path

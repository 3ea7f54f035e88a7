"""Render each planned page to a press PDF with WeasyPrint.

One HTML document per page, from the page's template in `layouts/pages/`.  After layout the
page's box tree is checked against the plan, because WeasyPrint lets text overflow a box
without a word: a column whose text runs past its foot fails the build rather than printing
cut.  Links (jump lines, front-page teasers) are lifted off the page and handed to assembly,
so the press file carries no annotations.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gp_print.errors import LayoutError
from gp_print.fetch import configure_fonts, make_fetcher
from gp_print.layouts import environment
from gp_print.model import PT_PER_MM, AdSlot, Edition, Grid, LinkArea, PageLayout, RenderedPage
from gp_print.paths import LAYOUTS_DIR
from gp_print.writer import atomic_write_bytes

log = logging.getLogger("gp_print.render")
PX_PER_PT = 96 / 72


@dataclass(frozen=True)
class Geometry:
    """Grid arithmetic for templates: lines and columns to CSS millimetres."""

    grid: Grid

    def lines(self, n: float) -> float:
        return self.grid.lines_mm(n)

    def box(self, column: int, columns: int, line: float, lines: float) -> str:
        g = self.grid
        return (f"left: {g.column_x_mm(column):.3f}mm; top: {g.lines_mm(line):.3f}mm; "
                f"width: {g.span_mm(columns):.3f}mm; height: {g.lines_mm(lines):.3f}mm")

    def image_height(self, lines: int) -> float:
        return self.grid.lines_mm(lines) - 0.6

    def hrule(self, rect: Any) -> str:
        g = self.grid
        return (f"left: {g.column_x_mm(rect.column):.3f}mm; top: {g.lines_mm(rect.line - 0.55):.3f}mm; "
                f"width: {g.span_mm(rect.columns):.3f}mm")

    def vrule(self, rect: Any) -> str:
        g = self.grid
        x = g.column_x_mm(rect.column) - g.gutter_mm / 2
        return f"left: {x:.3f}mm; top: {g.lines_mm(rect.line):.3f}mm; height: {g.lines_mm(rect.lines):.3f}mm"

    def ad_box(self, slot: AdSlot) -> str:
        g = self.grid
        height = slot.ad.height_cm * 10
        top = g.lines_mm(g.depth_lines) - height
        return (f"left: {g.column_x_mm(slot.rect.column):.3f}mm; top: {top:.3f}mm; "
                f"width: {g.span_mm(slot.rect.columns):.3f}mm; height: {height:.3f}mm")


def page_html(edition: Edition, layout: PageLayout, *, press: bool = True) -> str:
    template = environment().get_template(f"pages/{layout.plan.template}.html.j2")
    return template.render(
        edition=edition, page=layout, grid=edition.grid, geo=Geometry(edition.grid), press=press,
        section=edition.section(layout.plan.section),
    )


def press_name(edition: Edition, number: int) -> str:
    return f"{edition.code}-{edition.date:%Y%m%d}-P{number:02d}.pdf"


def render_page(edition: Edition, layout: PageLayout, out_dir: Path) -> RenderedPage:
    """Lay out, check and write one press page; return where its links are."""
    configure_fonts()
    import weasyprint

    html = page_html(edition, layout, press=True)
    document = weasyprint.HTML(
        string=html, base_url=str(LAYOUTS_DIR.resolve()) + "/", url_fetcher=make_fetcher(edition.root),
    ).render()
    if len(document.pages) != 1:
        raise LayoutError(f"page {layout.number}: the layout ran to {len(document.pages)} pages — "
                          "a box is taller than the page; check the template's CSS")
    page = document.pages[0]
    _check_columns(page, layout, edition.grid)
    links = _take_links(page, edition.grid)
    pdf = document.write_pdf()
    pdf = _place_pdf_ads(pdf, edition, layout)
    path = out_dir / press_name(edition, layout.number)
    atomic_write_bytes(path, pdf)
    return RenderedPage(layout.number, path, links, ())


def _check_columns(page: Any, layout: PageLayout, grid: Grid) -> None:
    """Every body column's text must end inside the column's box."""
    from weasyprint.formatting_structure import boxes

    problems = []
    for box in page._page_box.descendants():
        if not (isinstance(box, boxes.BlockBox) and box.element is not None):
            continue
        classes = (box.element.get("class") or "").split()
        if "col" not in classes or box.element_tag != "div":
            continue
        bottom = box.content_box_y() + box.height
        deepest = max((b.position_y + b.height for b in box.descendants() if isinstance(b, boxes.LineBox)),
                      default=bottom)
        if deepest > bottom + 1.0:
            article = box.element.getparent()
            slug = article.get("id", "?") if article is not None else "?"
            over = (deepest - bottom) / (grid.leading_pt * PX_PER_PT)
            problems.append(f"{slug.removeprefix('story-')} overset by {over:.0f} line(s)")
    if problems:
        raise LayoutError(f"page {layout.number}: text ran past a column foot: {'; '.join(problems)} — "
                          "the measurements disagree with the page; report this as a gp-print bug")


def _take_links(page: Any, grid: Grid) -> tuple[LinkArea, ...]:
    """Lift gp-page: links off the page; return their rectangles in PDF points of the trimmed page."""
    found = []
    keep = []
    bleed_px = grid.bleed_mm * PT_PER_MM * PX_PER_PT
    height_px = grid.trim_height_mm * PT_PER_MM * PX_PER_PT
    for link in page.links:
        kind, target, rect, *_ = link
        if kind == "external" and str(target).startswith("gp-page:"):
            x0, y0, x1, y1 = (float(v) for v in rect)
            # WeasyPrint's page coordinates start at the bleed edge; PDF's at the bottom left.
            x0, x1 = x0 - bleed_px, x1 - bleed_px
            y0, y1 = y0 - bleed_px, y1 - bleed_px
            pts = (x0 / PX_PER_PT, (height_px - y1) / PX_PER_PT, x1 / PX_PER_PT, (height_px - y0) / PX_PER_PT)
            found.append(LinkArea(tuple(round(v, 2) for v in pts), int(str(target).split(":")[1])))  # type: ignore[arg-type]
        else:
            keep.append(link)
    page.links[:] = keep
    return tuple(found)


def _place_pdf_ads(pdf: bytes, edition: Edition, layout: PageLayout) -> bytes:
    """Draw PDF ad artwork into its booked space, as vectors, with pypdf."""
    pdf_ads = [a for a in layout.ads if a.ad.file.suffix.lower() == ".pdf"]
    if not pdf_ads:
        return pdf
    from pypdf import PdfReader, PdfWriter, Transformation

    grid = edition.grid
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    page = writer.pages[0]
    trim = page.trimbox
    for slot in pdf_ads:
        art = PdfReader(slot.ad.file).pages[0]
        box = art.trimbox
        width_pt = grid.span_mm(slot.rect.columns) * PT_PER_MM
        height_pt = slot.ad.height_cm * 10 * PT_PER_MM
        scale = min(width_pt / float(box.width), height_pt / float(box.height))
        left = float(trim.left) + (grid.side_margin_mm + grid.column_x_mm(slot.rect.column)) * PT_PER_MM
        foot = float(trim.top) - (grid.top_margin_mm + grid.lines_mm(grid.depth_lines)) * PT_PER_MM
        op = Transformation().translate(-float(box.left), -float(box.bottom)).scale(scale, scale).translate(left, foot)
        page.merge_transformed_page(art, op)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""Issue 5, item 2: can WeasyPrint's tagged output (pdf_variant="pdf/ua-1") survive the pypdf
assembly of the e-edition?  No — this test records why (README, "The readers' e-edition site"),
and fails the day pypdf carries the structure tree along, so the question gets asked again."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject

from gp_print.fetch import configure_fonts


def tagged_page(n: int) -> bytes:
    configure_fonts()
    import weasyprint

    html = (f'<html lang="en-GB"><head><title>p{n}</title><style>@page {{ size: 100mm 100mm }}</style></head>'
            f"<body><article><h1>Headline {n}</h1><p>Body text of page {n}.</p></article></body></html>")
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def marked_content(data: bytes) -> int:
    return sum(p.get_contents().get_data().count(b"/MCID") for p in PdfReader(io.BytesIO(data)).pages)


def test_weasyprint_tags_a_single_page():
    data = tagged_page(1)
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert marked_content(data) > 0


def test_the_structure_tree_is_lost_when_pages_are_assembled():
    pages = [tagged_page(1), tagged_page(2)]
    writer = PdfWriter()
    for data in pages:  # as gp_print.assemble does it
        page = PdfReader(io.BytesIO(data)).pages[0]
        page.mediabox = RectangleObject(page.trimbox)
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    root = PdfReader(io.BytesIO(out.getvalue())).trailer["/Root"]
    assert "/StructTreeRoot" not in root and "/MarkInfo" not in root
    # The marked-content operators come along, but no structure element points at them any more.
    assert marked_content(out.getvalue()) == sum(marked_content(p) for p in pages)
    assert all("/StructParents" not in p for p in PdfReader(io.BytesIO(out.getvalue())).pages)

"""Assemble the readers' e-edition from the screen pages with pypdf.

The e-edition is made from each page's screen rendering (sRGB, pictures at about 150 ppi — not
the CMYK press file), trimmed to the finished size (no bleed, no marks), with an
outline by section and story, page labels, document metadata, and the jump lines and teasers
turned into links to their pages.  Shared fonts and images are stored once.  Dates come from
the edition, never the clock, so the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.constants import PageLabelStyle
from pypdf.generic import ArrayObject, ByteStringObject, NameObject, RectangleObject, TextStringObject

from gp_print import __version__
from gp_print.model import Flatplan, RenderedPage
from gp_print.writer import atomic_write_bytes


def eedition_name(flatplan: Flatplan) -> str:
    ed = flatplan.edition
    return f"{ed.code}-{ed.date:%Y%m%d}-eedition.pdf"


def eedition_key(flatplan: Flatplan, pages: Sequence[RenderedPage]) -> str:
    """A hash of everything the e-edition is made of: the screen pages' bytes, their links, the
    outline, the metadata, and this module and pypdf."""
    import pypdf

    edition = flatplan.edition
    digest = hashlib.sha256()
    for part in (__version__, pypdf.__version__, Path(__file__).read_bytes(), edition.title, edition.date.isoformat(),
                 edition.issue, edition.lang, edition.date_long, [(s.id, s.name) for s in edition.sections]):
        digest.update(repr(part).encode() + b"\0")
    for rendered in sorted(pages, key=lambda p: p.number):
        digest.update(hashlib.sha256(Path(rendered.screen_pdf or rendered.press_pdf).read_bytes()).digest())
        digest.update(repr((rendered.number, rendered.links)).encode())
    for layout in flatplan.pages:
        digest.update(repr((layout.number, layout.plan.section, [
            (s.rect.line, s.rect.column, s.continued_from, s.story.headline) for s in layout.stories])).encode())
    return digest.hexdigest()


def read_screen_page(rendered: RenderedPage) -> PageObject:
    """A screen page parsed (most of assembly's time goes on parsing): a build reads the
    pages it already has while its workers render the others (`assemble_eedition`'s `read`)."""
    return PdfReader(rendered.screen_pdf or rendered.press_pdf).pages[0]


def assemble_eedition(flatplan: Flatplan, pages: Sequence[RenderedPage], out_dir: Path, *,
                      read: Mapping[Path, PageObject] | None = None) -> Path:
    """Write the e-edition of `pages` into `out_dir`; `read` holds screen pages already
    parsed (`read_screen_page`), by file."""
    edition = flatplan.edition
    writer = PdfWriter()
    index_of: dict[int, int] = {}
    for i, rendered in enumerate(sorted(pages, key=lambda p: p.number)):
        source = rendered.screen_pdf or rendered.press_pdf
        page = read[source] if read and source in read else read_screen_page(rendered)
        trim = RectangleObject(page.trimbox)
        page.mediabox = trim
        page.cropbox = trim
        page.bleedbox = trim
        page.artbox = trim
        writer.add_page(page)
        index_of[rendered.number] = i

    # Links: jump lines and teasers go to the page they name.
    for rendered in pages:
        index = index_of[rendered.number]
        trim = writer.pages[index].trimbox
        for link in rendered.links:
            if link.target_page not in index_of:
                continue
            x0, y0, x1, y1 = link.rect_pt
            rect = (float(trim.left) + x0, float(trim.bottom) + y0, float(trim.left) + x1, float(trim.bottom) + y1)
            writer.add_annotation(index, Link(rect=rect, target_page_index=index_of[link.target_page]))

    # Outline: section → story → page.
    sections_done: dict[str, object] = {}
    for layout in flatplan.pages:
        section = edition.section(layout.plan.section)
        if section.id not in sections_done:
            sections_done[section.id] = writer.add_outline_item(title=section.name, page_number=index_of[layout.number])
        parent = sections_done[section.id]
        for slot in sorted(layout.stories, key=lambda s: (s.rect.line, s.rect.column)):
            if slot.continued_from is None:
                writer.add_outline_item(title=slot.story.headline, page_number=index_of[layout.number],
                                        parent=parent)  # type: ignore[arg-type]

    writer.set_page_label(0, len(index_of) - 1, style=PageLabelStyle.DECIMAL, start=1)
    stamp = f"D:{edition.date:%Y%m%d}000000Z"
    writer.add_metadata({
        "/Title": f"{edition.title} — {edition.date_long}",
        "/Author": edition.title,
        "/Subject": f"{edition.title} e-edition, issue {edition.issue}, {edition.date_long}",
        "/Keywords": ", ".join(s.name for s in edition.sections),
        "/Creator": f"gp-print {__version__}",
        "/Producer": f"gp-print {__version__} (WeasyPrint, pypdf)",
        "/CreationDate": stamp,
        "/ModDate": stamp,
    })
    root = writer._root_object
    root[NameObject("/Lang")] = TextStringObject(edition.lang)
    root[NameObject("/PageMode")] = NameObject("/UseOutlines")
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    # A document ID from the content, not from the clock.
    digest = hashlib.md5(
        b"".join(Path(p.screen_pdf or p.press_pdf).read_bytes() for p in sorted(pages, key=lambda p: p.number)),
        usedforsecurity=False,
    ).digest()
    writer._ID = ArrayObject([ByteStringObject(digest), ByteStringObject(digest)])
    out = io.BytesIO()
    writer.write(out)
    path = out_dir / eedition_name(flatplan)
    atomic_write_bytes(path, out.getvalue())
    return path

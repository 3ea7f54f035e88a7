"""Render each planned page with WeasyPrint: a press PDF and a screen PDF.

One HTML document per page, from the page's template in `layouts/pages/`, laid out twice:

* **press** — PDF/X (`colour.PressSettings.pdf_variant`) with the newsprint CMYK profile as
  output intent; pictures converted to CMYK at the plant's resolution (`colour.py`); type and
  rules in black ink only (`css/colour.css`); trim, bleed and a slug with K-only crop marks
  (`pdfx.py`); PDF ads placed as vectors with pypdf; no annotations.
* **screen** — for the e-edition: sRGB, the trimmed page without bleed, pictures at about
  150 ppi.  It is an intermediate: assembly merges the screen pages into the e-edition.

After each layout the page's box tree is checked against the plan, because WeasyPrint lets
text overflow a box without a word: a column whose text runs past its foot fails the build
rather than printing cut.  Links (jump lines, front-page teasers) are lifted off the screen
page and handed to assembly.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from gp_print.colour import DEFAULT_PRESS, Fit, PressSettings, Rendition, press_rendition, screen_rendition
from gp_print.colour import cache_dir as rendition_cache_dir
from gp_print.errors import LayoutError
from gp_print.fetch import allowed_roots, configure_fonts, make_fetcher
from gp_print.layouts import environment, stylesheet_digest
from gp_print.model import PT_PER_MM, AdSlot, Edition, Grid, LinkArea, PageLayout, RenderedPage
from gp_print.paths import LAYOUTS_DIR
from gp_print.pdfx import media_bleed_mm, press_finisher
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
        return self.grid.image_depth_mm(lines)

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


def page_html(edition: Edition, layout: PageLayout, *, press: bool = True,
              images: Mapping[Path, Rendition | None] | None = None) -> str:
    """The page's HTML.  `images` maps each picture file to the rendition to show (None: the
    picture is not drawn by the browser — a PDF ad, placed as vectors afterwards); files not
    in it are shown as they are."""
    images = images or {}

    def image_uri(source: Path) -> str:
        if source in images:
            rendition = images[source]
            return rendition.path.as_uri() if rendition else ""
        return "" if source.suffix.lower() == ".pdf" else source.as_uri()

    template = environment().get_template(f"pages/{layout.plan.template}.html.j2")
    return template.render(
        edition=edition, page=layout, grid=edition.grid, geo=Geometry(edition.grid), press=press,
        section=edition.section(layout.plan.section), image_uri=image_uri,
        press_bleed_mm=media_bleed_mm(edition.grid.bleed_mm),
    )


def press_name(edition: Edition, number: int) -> str:
    return f"{edition.code}-{edition.date:%Y%m%d}-P{number:02d}.pdf"


def placed_pictures(edition: Edition, layout: PageLayout) -> dict[Path, tuple[tuple[float, float], Fit]]:
    """Every raster picture on the page (photos, PNG/JPEG ads, and PDF ads, which the screen
    page shows as pictures): its frame (width, height in mm) and how it fills it.  A picture
    placed twice is prepared for the larger frame."""
    grid = edition.grid
    geo = Geometry(grid)
    found: dict[Path, tuple[tuple[float, float], Fit]] = {}

    def add(source: Path, box: tuple[float, float], fit: Fit) -> None:
        if source not in found or box[0] * box[1] > found[source][0][0] * found[source][0][1]:
            found[source] = (box, fit)

    for slot in layout.stories:
        if slot.photo is not None:
            add(slot.photo.photo.file, (grid.span_mm(slot.photo.rect.columns),
                                        geo.image_height(slot.photo.image_lines)), Fit.COVER)
    for ad in layout.ads:
        add(ad.ad.file, (grid.span_mm(ad.rect.columns), ad.ad.height_cm * 10), Fit.CONTAIN)
    return found


def render_page(edition: Edition, layout: PageLayout, out_dir: Path, *,
                settings: PressSettings = DEFAULT_PRESS, screen_dir: Path | None = None) -> RenderedPage:
    """Lay out, check and write one page twice: the press PDF into `out_dir`, the screen PDF
    into `screen_dir` (default: `out_dir/screen`); return where its links are."""
    pictures = placed_pictures(edition, layout)
    name = press_name(edition, layout.number)

    press_images: dict[Path, Rendition | None] = {
        source: None if source.suffix.lower() == ".pdf" else press_rendition(source, box, fit, settings)
        for source, (box, fit) in pictures.items()
    }
    document = _layout(edition, layout, press=True, images=press_images, settings=settings)
    document.pages[0].links[:] = []  # the press file carries no annotations
    pdf = document.write_pdf(pdf_variant=settings.pdf_variant,
                             finisher=press_finisher(name, edition.grid.bleed_mm))
    pdf = _place_pdf_ads(pdf, edition, layout)
    path = out_dir / name
    atomic_write_bytes(path, pdf)

    screen_images: dict[Path, Rendition | None] = {
        source: screen_rendition(source, box, fit, settings) for source, (box, fit) in pictures.items()
    }
    document = _layout(edition, layout, press=False, images=screen_images, settings=settings)
    links = _take_links(document.pages[0], edition.grid, bleed_mm=0.0)
    screen_path = (screen_dir or out_dir / "screen") / name
    atomic_write_bytes(screen_path, document.write_pdf())
    return RenderedPage(layout.number, path, links, (), screen_pdf=screen_path)


def _layout(edition: Edition, layout: PageLayout, *, press: bool,
            images: Mapping[Path, Rendition | None], settings: PressSettings) -> Any:
    """Lay the page out and check it: one page, no column overset."""
    configure_fonts()
    import weasyprint

    html = page_html(edition, layout, press=press, images=images)
    styles = _Styles.for_edition(edition.root)
    html, sheets = styles.take_links(html)
    document = weasyprint.HTML(
        string=html, base_url=str(LAYOUTS_DIR.resolve()) + "/", url_fetcher=styles.fetcher,
    ).render(stylesheets=sheets, font_config=styles.font_config, **(_press_colour(settings) if press else {}))
    if len(document.pages) != 1:
        raise LayoutError(f"page {layout.number}: the layout ran to {len(document.pages)} pages — "
                          "a box is taller than the page; check the template's CSS")
    _check_columns(document.pages[0], layout, edition.grid)
    return document


_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="(css/[^"]+)">')


class _Styles:
    """The template's stylesheets parsed and their @font-face fonts loaded once per process,
    not once per page and variant (a tenth of a second each time).  The page template still
    names them with <link>s, so a designer edits and previews it as before; `take_links`
    swaps those for the parsed sheets.  (WeasyPrint gives passed-in sheets the user origin:
    they then lose to any rule of the template's own <style> or a style attribute that sets
    the same property, whatever its specificity.  The two style different things, and the
    golden pages did not change.)"""

    _made: ClassVar[dict[tuple[Any, ...], _Styles]] = {}

    def __init__(self, root: Path) -> None:
        from weasyprint.text.fonts import FontConfiguration

        self.fetcher = make_fetcher(root)
        self.font_config = FontConfiguration()
        self.sheets: dict[str, Any] = {}

    @classmethod
    def for_edition(cls, root: Path) -> _Styles:
        # The fetcher's walls (the edition, and the cache folder, which a test may move) and
        # the stylesheets' bytes decide what a parsed sheet is.
        key = (allowed_roots(root), stylesheet_digest())
        if key not in cls._made:
            while len(cls._made) >= 4:  # a long-lived process (a test run) sees many editions
                del cls._made[next(iter(cls._made))]
            cls._made[key] = cls(root)
        return cls._made[key]

    def take_links(self, html: str) -> tuple[str, list[Any]]:
        """`html` without its stylesheet links, and the parsed sheets they named, in order."""
        import weasyprint

        hrefs = _STYLESHEET_LINK.findall(html)
        for href in hrefs:
            if href not in self.sheets:
                self.sheets[href] = weasyprint.CSS(filename=str(LAYOUTS_DIR / href), url_fetcher=self.fetcher,
                                                   font_config=self.font_config)
        return _STYLESHEET_LINK.sub("", html), [self.sheets[href] for href in hrefs]


def load_stylesheets(edition: Edition) -> None:
    """Parse the stylesheets the page templates link to and set a few lines in them, ahead of
    the first page (a worker does it while the plan is being made): the fonts, the shaping
    and the hyphenation patterns are then loaded when the first page comes."""
    configure_fonts()
    import weasyprint

    styles = _Styles.for_edition(edition.root)
    _, sheets = styles.take_links((LAYOUTS_DIR / "base.html.j2").read_text(encoding="utf-8"))
    sample = (f'<html lang="{edition.lang}"><body><div class="box col"><p>Guernsey harbour reopened '
              'yesterday afternoon after the storm.</p></div><h2 class="headline">Harbour reopens</h2>'
              '<p class="byline">By a reporter</p></body></html>')
    weasyprint.HTML(string=sample, base_url=str(LAYOUTS_DIR.resolve()) + "/", url_fetcher=styles.fetcher).render(
        stylesheets=sheets, font_config=styles.font_config)


def _press_colour(settings: PressSettings) -> dict[str, Any]:
    """Render options that make the CMYK profile the PDF's output intent (colours written as
    device-cmyk() stay DeviceCMYK; the profile says what they mean)."""
    from weasyprint.css import ColorProfile

    with open(settings.profile, "rb") as handle:
        profile = ColorProfile(handle, settings.profile.name, "relative-colorimetric", ("c", "m", "y", "k"))
    return {"color_profiles": {"device-cmyk": profile}, "output_intent": "device-cmyk"}


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


def _take_links(page: Any, grid: Grid, *, bleed_mm: float) -> tuple[LinkArea, ...]:
    """Lift gp-page: links off the page; return their rectangles in PDF points of the trimmed
    page.  `bleed_mm` is the page's CSS bleed (where WeasyPrint's page coordinates start)."""
    found = []
    keep = []
    bleed_px = bleed_mm * PT_PER_MM * PX_PER_PT
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
    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    writer.pdf_header = reader.pdf_header  # keep the PDF version the PDF/X variant declares
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
    _drop_unused_colour_spaces(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _drop_unused_colour_spaces(page: Any) -> None:
    """PDF ads bring their own resources along (WeasyPrint declares Lab spaces it never uses):
    keep only the colour spaces that the page or its forms and patterns draw with."""
    resources = page["/Resources"].get_object()
    spaces = resources.get("/ColorSpace")
    if spaces is None:
        return
    drawn = [page.get_contents().get_data() if page.get_contents() is not None else b""]
    seen: set[int] = set()

    def collect(res: Any) -> None:
        res = res.get_object() if res is not None else {}
        for category in ("/XObject", "/Pattern"):
            for ref in (res.get(category) or {}).values():
                if getattr(ref, "idnum", None) in seen:
                    continue
                seen.add(getattr(ref, "idnum", id(ref)))
                obj = ref.get_object()
                if obj.get("/Subtype") != "/Image" and hasattr(obj, "get_data"):
                    drawn.append(obj.get_data())
                    collect(obj.get("/Resources"))

    collect(resources)
    used = b"\n".join(drawn)
    spaces = spaces.get_object()
    for name in list(spaces):
        if not re.search(re.escape(name.encode()) + rb"(?![^\s/\[\]<>()])", used):
            del spaces[name]


# ------------------------------------------------------------------------------ page cache
#
# A page's two PDFs are a pure function of the page's layout record (stories, text pieces,
# geometry), the edition's masthead fields, the pictures' and ads' bytes, layouts/ and fonts/,
# the press settings and the code and library versions.  All of it goes into one hash; the
# rendered PDFs and the page's links are kept under it in `cache_dir()/pages/`, so a rebuild
# renders only the pages whose hash changed.  Entries appear atomically (the JSON record,
# written last, names the PDFs' hashes), so concurrent builds can share the folder.

#: Bump when what a page's render depends on changes in a way the key does not see.
PAGE_CACHE_VERSION = "1"
#: The modules whose code decides how a page is drawn (their bytes are part of the key).
_RENDER_MODULES = ("render.py", "pdfx.py", "colour.py", "layouts.py", "fetch.py", "model.py")


def page_cache_dir() -> Path | None:
    """Where rendered pages are kept, or None when the disk cache is turned off."""
    if os.environ.get("GP_PRINT_NO_CACHE"):
        return None
    from gp_print.cache import cache_dir

    return cache_dir() / "pages"


@cache
def _code_digest() -> str:
    import PIL
    import pydyf
    import pypdf

    digest = hashlib.sha256(f"{PAGE_CACHE_VERSION}|{stylesheet_digest()}|pypdf {pypdf.__version__}|"
                            f"pydyf {pydyf.VERSION}|pillow {PIL.__version__}".encode())
    for name in _RENDER_MODULES:
        digest.update((Path(__file__).with_name(name)).read_bytes())
    return digest.hexdigest()


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digest(path: Path) -> str:
    stat = path.stat()
    return _file_digest(path, stat.st_size, stat.st_mtime_ns)


def canonical_record(value: Any, root: Path) -> Any:
    """A JSON-able form of a record: dataclasses field by field, paths relative to the edition."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, {f.name: canonical_record(getattr(value, f.name), root)
                                       for f in dataclasses.fields(value)}]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        value = value.resolve()  # however the edition folder was named
        return str(value.relative_to(root)) if value.is_relative_to(root) else str(value)
    if isinstance(value, tuple | list):
        return [canonical_record(v, root) for v in value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return repr(value)


def page_key(edition: Edition, layout: PageLayout, settings: PressSettings = DEFAULT_PRESS) -> str:
    """The content hash of everything that decides how the page is rendered."""
    root = edition.root.resolve()
    masthead = {name: canonical_record(getattr(edition, name), root)
                for name in ("title", "date", "issue", "price", "lang", "tagline", "grid", "sections")}
    pictures = {str(canonical_record(source, root)): file_digest(source)
                for source in sorted(placed_pictures(edition, layout))}
    record = {
        "code": _code_digest(),
        "edition": masthead,
        "name": press_name(edition, layout.number),
        "layout": canonical_record(layout, root),
        "pictures": pictures,
        "settings": canonical_record(settings, root),
        "profile": file_digest(settings.profile),
        # The converted pictures' folder: WeasyPrint names a picture's XObject after its URL.
        "renditions": str(rendition_cache_dir().resolve()),
    }
    blob = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:40]


def _entry(key: str) -> tuple[Path, Path, Path] | None:
    folder = page_cache_dir()
    if folder is None:
        return None
    return folder / f"{key}.json", folder / f"{key}-press.pdf", folder / f"{key}-screen.pdf"


def cached_page(edition: Edition, layout: PageLayout, settings: PressSettings = DEFAULT_PRESS, *,
                key: str | None = None) -> RenderedPage | None:
    """The page as the cache holds it (paths inside the cache folder), or None."""
    entry = _entry(key or page_key(edition, layout, settings))
    if entry is None:
        return None
    record_path, press_path, screen_path = entry
    try:
        record = json.loads(record_path.read_text())
        if not (press_path.is_file() and screen_path.is_file()):
            return None
        links = tuple(LinkArea(tuple(rect), int(target)) for rect, target in record["links"])  # type: ignore[arg-type]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return RenderedPage(layout.number, press_path, links, (), screen_pdf=screen_path)


def render_page_cached(edition: Edition, layout: PageLayout, out_dir: Path, *, key: str,
                       settings: PressSettings = DEFAULT_PRESS,
                       screen_dir: Path | None = None) -> tuple[RenderedPage, bool]:
    """`render_page`, or the page copied from the cache when its key is there; also says
    whether it was rendered (True) or reused (False)."""
    screen_dir = screen_dir or out_dir / "screen"
    name = press_name(edition, layout.number)
    hit = cached_page(edition, layout, settings, key=key)
    if hit is not None and hit.screen_pdf is not None:
        press_bytes, screen_bytes = hit.press_pdf.read_bytes(), hit.screen_pdf.read_bytes()
        record = json.loads(_entry(key)[0].read_text())  # type: ignore[index]
        if (hashlib.sha256(press_bytes).hexdigest() == record["press_sha256"]
                and hashlib.sha256(screen_bytes).hexdigest() == record["screen_sha256"]):
            atomic_write_bytes(out_dir / name, press_bytes)
            atomic_write_bytes(screen_dir / name, screen_bytes)
            return RenderedPage(layout.number, out_dir / name, hit.links, (), screen_pdf=screen_dir / name), False
        log.warning("page cache entry %s is damaged; rendering page %d again", key, layout.number)
    rendered = render_page(edition, layout, out_dir, settings=settings, screen_dir=screen_dir)
    store_page(key, rendered)
    return rendered, True


def store_page(key: str, rendered: RenderedPage) -> None:
    """Keep a rendered page (its press and screen PDFs and links) in the page cache under `key`."""
    entry = _entry(key)
    if entry is None or rendered.screen_pdf is None:
        return
    record_path, press_path, screen_path = entry
    try:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        press_bytes, screen_bytes = rendered.press_pdf.read_bytes(), rendered.screen_pdf.read_bytes()
        atomic_write_bytes(press_path, press_bytes)
        atomic_write_bytes(screen_path, screen_bytes)
        record = {"page": rendered.number, "links": [[list(link.rect_pt), link.target_page] for link in rendered.links],
                  "press_sha256": hashlib.sha256(press_bytes).hexdigest(),
                  "screen_sha256": hashlib.sha256(screen_bytes).hexdigest()}
        atomic_write_bytes(record_path, json.dumps(record).encode())
    except OSError as exc:  # a full or read-only cache never fails a build
        log.warning("could not keep page %d in the page cache (%s)", rendered.number, exc)

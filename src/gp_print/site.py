"""The readers' e-edition site: `gp-print publish OUT -o SITE` (issue 5).

A build leaves `OUT/edition.json` beside the press pages and the e-edition: the edition's
metadata, its pages, every placed story's text and photos, and where each story sits on its
page(s) in PDF points of the trimmed page (computed from the planner's grid, `model.Grid`).
`publish_edition` turns one build folder into static files under `SITE/`:

    SITE/index.html               the archive: every edition, newest first, front-page thumbnail
    SITE/search.html              search across every edition (search-index.json)
    SITE/feed.json, atom.xml      JSON Feed 1.1 and Atom feeds of editions
    SITE/assets/                  CSS, JS and the PT fonts (names carry a hash of the content)
    SITE/2019-12-30/index.html    the edition: thumbnails by section, downloads
                    page.html     the page viewer (page.html#p7), story areas link to articles
                    stories/      one article per story, and the story list (index.html)
                    search.html   search within the edition
                    pages/ thumbs/ photos/ pdf/   images and downloads
                    edition.json, search-index.json, areas.css

Publishing is incremental: the new edition is made in a staging folder inside SITE and renamed
into place; other editions' folders are never opened for writing.  The archive page, the site
search index and the feeds are then rewritten from the `edition.json` of every edition folder,
each with an atomic write (`gp_print.writer`).  Assets are content-addressed, so an old
edition's pages keep the CSS and JS they were published with.

Every page works without JavaScript except the viewer's zoom, the text-size buttons and search;
a strict Content-Security-Policy allows only the site's own files (no inline script or style).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import io
import json
import logging
import os
import re
import shutil
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from gp_print import __version__
from gp_print.errors import GPPrintError
from gp_print.layouts import template_environment
from gp_print.model import PT_PER_MM, Flatplan, Grid, Paragraph, Rect, RenderedPage
from gp_print.paths import FONTS_DIR, LAYOUTS_DIR
from gp_print.writer import atomic_write_bytes, atomic_write_text, exclusive_lock, fsync_dir

log = logging.getLogger("gp_print.site")

EDITION_DATA = "edition.json"
DATA_FORMAT = "gp-print/edition"
DATA_VERSION = 1
SITE_LAYOUTS = LAYOUTS_DIR / "site"
Progress = Callable[[int, int, str], None]

#: Page images: the viewer's page, the sharper one loaded when zoomed in, the thumbnail width.
PAGE_HEIGHT_PX = 1400
ZOOM_HEIGHT_PX = 2800
THUMB_WIDTH_PX = 300
WEBP_QUALITY = 75
PHOTO_MAX_PX = 1200
PHOTO_JPEG_QUALITY = 82

#: The one policy every page carries: only this site's own files, nothing inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")

#: Web fonts copied into the site (unchanged glyphs; the Reserved Font Names forbid subsetting
#: without renaming, so the whole font is shipped, as WOFF2) with their licences.
WEB_FONTS = (
    ("PT Serif", "normal", 400, "pt-serif/PT_Serif-Web-Regular.ttf"),
    ("PT Serif", "italic", 400, "pt-serif/PT_Serif-Web-Italic.ttf"),
    ("PT Serif", "normal", 700, "pt-serif/PT_Serif-Web-Bold.ttf"),
    ("PT Serif", "italic", 700, "pt-serif/PT_Serif-Web-BoldItalic.ttf"),
    ("PT Sans", "normal", 400, "pt-sans/PT_Sans-Web-Regular.ttf"),
    ("PT Sans", "normal", 700, "pt-sans/PT_Sans-Web-Bold.ttf"),
)
FONT_LICENCES = {"pt-serif": "LICENSE-PT-Serif.txt", "pt-sans": "LICENSE-PT-Sans.txt"}
STATIC_ASSETS = ("site.css", "viewer.js", "search.js", "article.js", "favicon.svg")

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMPHASIS = re.compile(r"(</?(?:em|strong)>)")
_SAFE_ID = re.compile(r"[^a-z0-9-]+")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # as load.SLUG_RE


class PublishError(GPPrintError):
    """The build folder cannot be published (missing or broken edition.json, e-edition …)."""


# ================================================================================ edition.json
# Written by the build (gp_print.build), read by `publish_edition`.


def _rect_pt(grid: Grid, rect: Rect, *, height_mm: float | None = None) -> list[float]:
    """A grid box as [x0, y0, x1, y1] in PDF points of the trimmed page (origin bottom left,
    as in PDF and `model.LinkArea`)."""
    left_mm, top_mm, width_mm, depth_mm = grid.page_box_mm(rect, depth_mm=height_mm)
    page_h = grid.trim_height_mm
    box = (left_mm, page_h - top_mm - depth_mm, left_mm + width_mm, page_h - top_mm)
    return [round(v * PT_PER_MM, 2) for v in box]


def paragraph_html(paragraph: Paragraph) -> str:
    """A paragraph as escaped text with emphasis as <em> and <strong>, nothing else."""
    out = []
    for run in paragraph.runs:
        text = html.escape(run.text, quote=False)
        if run.italic:
            text = f"<em>{text}</em>"
        if run.bold:
            text = f"<strong>{text}</strong>"
        out.append(text)
    return "".join(out)


def edition_data(flatplan: Flatplan, pages: Sequence[RenderedPage], eedition_name: str) -> dict[str, Any]:
    """What the readers' site needs from a build, as plain JSON-able data (no clock: the same
    build gives the same data)."""
    edition = flatplan.edition
    grid = edition.grid
    root = edition.root.resolve()

    def rel(path: Path) -> str:
        resolved = path.resolve()
        return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else path.name

    links_of = {p.number: p.links for p in pages}
    page_records = []
    stories: dict[str, dict[str, Any]] = {}
    for layout in flatplan.pages:
        section = edition.section(layout.plan.section)
        slugs = []
        for slot in sorted(layout.stories, key=lambda s: (s.rect.line, s.rect.column)):
            story = slot.story
            slugs.append(story.slug)
            record = stories.get(story.slug)
            if record is None:
                record = stories[story.slug] = {
                    "slug": story.slug, "headline": story.headline, "kicker": story.kicker,
                    "standfirst": story.standfirst, "byline": story.byline, "kind": story.kind.value,
                    "section": story.section, "priority": story.priority, "tags": list(story.tags),
                    "pull_quote": story.pull_quote, "pull_quote_by": story.pull_quote_by,
                    "page": layout.number,
                    "body": [{"html": paragraph_html(p), "crosshead": p.crosshead} for p in story.body],
                    "photos": [{"file": rel(ph.file), "caption": ph.caption, "credit": ph.credit,
                                "width_px": ph.width_px, "height_px": ph.height_px} for ph in story.photos],
                    "placements": [],
                }
            if slot.continued_from is None:
                record["page"] = layout.number
            record["placements"].append({
                "page": layout.number, "rect_pt": _rect_pt(grid, slot.rect),
                "continued_from": slot.continued_from, "continues_on": slot.continues_on,
            })
            if slot.photo is not None:
                for photo in record["photos"]:
                    if photo["file"] == rel(slot.photo.photo.file) and "rect_pt" not in photo:
                        photo["page"] = layout.number
                        photo["rect_pt"] = _rect_pt(grid, slot.photo.rect,
                                                    height_mm=grid.image_depth_mm(slot.photo.image_lines))
        page_records.append({
            "number": layout.number, "section": section.id, "section_name": section.name,
            "label": f"Page {layout.number} · {section.name}", "template": layout.plan.template,
            "stories": slugs,
            "links": [{"rect_pt": list(link.rect_pt), "page": link.target_page}
                      for link in links_of.get(layout.number, ())],
        })
    return {
        "format": DATA_FORMAT,
        "version": DATA_VERSION,
        "generator": f"gp-print {__version__}",
        "edition": {
            "title": edition.title, "code": edition.code, "date": edition.date.isoformat(),
            "date_long": edition.date_long, "issue": edition.issue, "price": edition.price,
            "lang": edition.lang, "tagline": edition.tagline, "root": str(root),
        },
        "page_size_pt": [round(grid.trim_width_mm * PT_PER_MM, 2), round(grid.trim_height_mm * PT_PER_MM, 2)],
        "files": {"eedition": eedition_name, "press": [p.press_pdf.name for p in pages]},
        "sections": [{"id": s.id, "name": s.name} for s in edition.sections],
        "pages": page_records,
        "stories": list(stories.values()),
        "jumps": [{"slug": j.slug, "from_page": j.from_page, "to_page": j.to_page} for j in flatplan.jumps],
        "unplaced": [{"slug": s.slug, "headline": s.headline, "reason": reason} for s, reason in flatplan.unplaced],
    }


def write_edition_data(path: Path, flatplan: Flatplan, pages: Sequence[RenderedPage], eedition_name: str) -> Path:
    """Write `edition.json` atomically; return its path."""
    atomic_write_text(path, _json(edition_data(flatplan, pages, eedition_name)))
    return path


def _json(data: Any, *, indent: int | None = 1) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":")) + "\n"


def load_edition_data(out_dir: Path) -> dict[str, Any]:
    """Read and check a build folder's edition.json."""
    path = out_dir / EDITION_DATA
    if not path.is_file():
        raise PublishError(f"{path}: not found — publish a folder written by `gp-print build` "
                           "(rebuild it with this version of gp-print if it is older)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishError(f"{path}: not valid JSON ({exc}) — rebuild the edition") from None
    if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
        raise PublishError(f"{path}: not a gp-print edition file — rebuild the edition")
    if data.get("version") != DATA_VERSION:
        raise PublishError(f"{path}: edition file version {data.get('version')!r}, this gp-print reads "
                           f"{DATA_VERSION} — rebuild the edition with this gp-print")
    try:
        # Names from the file become paths in the site: check them as strictly as the loader does.
        data["edition"]["date"] = dt.date.fromisoformat(data["edition"]["date"]).isoformat()
        if not data["pages"] or not all(isinstance(p["number"], int) for p in data["pages"]):
            raise ValueError("pages")
        if not all(_SLUG.match(s["slug"]) for s in data["stories"]):
            raise ValueError("a story slug")
        if Path(data["files"]["eedition"]).name != data["files"]["eedition"]:
            raise ValueError("files.eedition")
        if not (data["sections"] and len(data["page_size_pt"]) == 2):
            raise ValueError("sections, page_size_pt")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PublishError(f"{path}: incomplete or damaged edition file ({exc}) — rebuild the edition") from None
    return data


# ================================================================================ publishing


@dataclass(frozen=True)
class PublishResult:
    edition_dir: Path
    index: Path
    pages: int
    stories: int
    files: int
    bytes: int
    replaced: bool


def publish_edition(out_dir: Path, site_dir: Path, *, base_url: str | None = None,
                    progress: Progress | None = None) -> PublishResult:
    """Publish the build in `out_dir` into the static site `site_dir` (created if needed).

    Writes the edition's folder `site_dir/<date>/` (replacing it if that date was published
    before; no other edition's folder is touched), then rewrites the archive index, the site
    search index and the feeds atomically.  `base_url` (e.g. ``https://e.example.com/``) makes
    the feeds' links absolute; it is remembered in `site_dir/site.json`."""
    out_dir = Path(out_dir)
    data = load_edition_data(out_dir)
    eedition = out_dir / data["files"]["eedition"]
    if not eedition.is_file():
        raise PublishError(f"{eedition}: the e-edition named in {out_dir / EDITION_DATA} is missing — rebuild")
    site_dir = Path(site_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)
    date = data["edition"]["date"]
    with _site_lock(site_dir):
        for stale in site_dir.glob(".staging-*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
        settings = _site_settings(site_dir, base_url)
        assets = install_assets(site_dir)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{date}-", dir=site_dir))
        try:
            os.chmod(staging, 0o755)
            _write_edition(data, out_dir, eedition, staging, assets, progress)
            files = [p for p in staging.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            target = site_dir / date
            replaced = target.exists()
            if replaced:
                old = site_dir / f".staging-{date}-old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
            fsync_dir(site_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        index = write_archive(site_dir, assets, settings)
    return PublishResult(target, index, len(data["pages"]), len(data["stories"]), len(files), size, replaced)


def _site_lock(site_dir: Path) -> contextlib.AbstractContextManager[None]:
    return exclusive_lock(site_dir / ".gp-print-publish.lock", lambda: PublishError(
        f"{site_dir}: another gp-print publish is writing this site — wait for it to finish"))


def _site_settings(site_dir: Path, base_url: str | None) -> dict[str, Any]:
    path = site_dir / "site.json"
    settings: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            settings = loaded
    if base_url is not None:
        if base_url and not re.match(r"^https?://[^\s\"'<>]+$", base_url):
            raise PublishError(f"--base-url {base_url!r}: give an http(s) URL, e.g. https://e.example.com/")
        settings["base_url"] = (base_url.rstrip("/") + "/") if base_url else ""
        atomic_write_text(path, _json(settings))
    settings.setdefault("base_url", "")
    return settings


# --------------------------------------------------------------------------------- templates


@cache
def _environment() -> jinja2.Environment:
    env = template_environment(SITE_LAYOUTS)
    env.globals["csp"] = CSP
    env.filters["kb"] = lambda n: f"{max(1, round(n / 1024)):,} KB" if n < 1024 * 1024 else f"{n / 1048576:.1f} MB"
    return env


def _render(template: str, path: Path, *, root: str, assets: dict[str, str], **context: Any) -> None:
    """Render `template` to `path`; `root` is the relative way from the page to the site root."""
    def asset(name: str) -> str:
        return root + assets[name]

    text = _environment().get_template(template).render(root=root, asset=asset, **context)
    atomic_write_text(path, text)


def body_markup(fragment: str) -> Markup:
    """Re-check a body paragraph from edition.json: only <em>/<strong> tags survive, every
    other character is escaped (the build escapes it already; this is the second wall)."""
    parts = []
    for piece in _EMPHASIS.split(fragment):
        if _EMPHASIS.fullmatch(piece):
            parts.append(piece)
        else:
            parts.append(html.escape(html.unescape(piece), quote=False))
    return Markup("".join(parts))


def plain_text(fragment: str) -> str:
    return html.unescape(_EMPHASIS.sub("", fragment))


# ------------------------------------------------------------------------------------ assets


def install_assets(site_dir: Path) -> dict[str, str]:
    """Copy CSS, JS and fonts into SITE/assets/ under content-hashed names (written only if not
    there yet); return logical name → path relative to the site root."""
    assets_dir = site_dir / "assets"
    names: dict[str, str] = {}

    def put(logical: str, data: bytes, folder: str = "") -> str:
        stem, dot, ext = logical.rpartition(".")
        digest = hashlib.sha256(data).hexdigest()[:10]
        rel = f"assets/{folder}{stem}.{digest}.{ext}" if dot else f"assets/{folder}{logical}.{digest}"
        path = site_dir / rel
        if not path.is_file() or path.read_bytes() != data:
            atomic_write_bytes(path, data, mode=0o644)
        names[logical] = rel
        return rel

    faces = []
    for family, style, weight, source in WEB_FONTS:
        # Named by the TTF's hash, so the (slow) conversion runs only when a font changes.
        ttf = FONTS_DIR / source
        rel = f"assets/fonts/{ttf.stem}.{hashlib.sha256(ttf.read_bytes()).hexdigest()[:10]}.woff2"
        if not (site_dir / rel).is_file():
            atomic_write_bytes(site_dir / rel, _woff2(ttf), mode=0o644)
        names[ttf.with_suffix(".woff2").name] = rel
        faces.append(f"@font-face {{ font-family: \"{family}\"; font-style: {style}; font-weight: {weight}; "
                     f"font-display: swap; src: url(\"{rel.removeprefix('assets/')}\") format(\"woff2\"); }}")
    for folder, name in FONT_LICENCES.items():
        licence = (FONTS_DIR / folder / "LICENSE").read_bytes()
        path = assets_dir / "fonts" / name
        if not path.is_file() or path.read_bytes() != licence:
            atomic_write_bytes(path, licence, mode=0o644)
    put("fonts.css", ("/* PT Serif and PT Sans, ParaType, SIL Open Font License 1.1: fonts/LICENSE-*.txt */\n"
                      + "\n".join(faces) + "\n").encode())
    for name in STATIC_ASSETS:
        put(name, (SITE_LAYOUTS / name).read_bytes())
    return names


@cache
def _woff2(source: Path) -> bytes:
    """The font as WOFF2: the same tables, compressed for the web."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), recalcBBoxes=False, recalcTimestamp=False)
    font.flavor = "woff2"
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()


# ----------------------------------------------------------------------------- one edition


def _section_slug(section_id: str) -> str:
    return _SAFE_ID.sub("-", section_id.lower()).strip("-") or "section"


def _percent(rect_pt: Sequence[float], size_pt: Sequence[float]) -> tuple[float, float, float, float]:
    """[x0, y0, x1, y1] (PDF points, origin bottom left) → left, top, width, height in % of the page."""
    x0, y0, x1, y1 = (float(v) for v in rect_pt)
    width, height = float(size_pt[0]), float(size_pt[1])
    return (100 * x0 / width, 100 * (height - y1) / height, 100 * (x1 - x0) / width, 100 * (y1 - y0) / height)


def _write_edition(data: dict[str, Any], out_dir: Path, eedition: Path, folder: Path,
                   assets: dict[str, str], progress: Progress | None) -> None:
    ed = data["edition"]
    pages = sorted(data["pages"], key=lambda p: p["number"])
    stories = {s["slug"]: s for s in data["stories"]}
    sections = {s["id"]: s["name"] for s in data["sections"]}
    size_pt = data["page_size_pt"]
    total = len(pages) + 4
    step = 0

    def tick(what: str) -> None:
        nonlocal step
        if progress:
            progress(step, total, what)
        step += 1

    # Page images from the e-edition.
    from pypdf import PdfReader

    count = len(PdfReader(eedition).pages)
    if count != len(pages):
        raise PublishError(f"{eedition}: {count} pages, but {out_dir / EDITION_DATA} lists {len(pages)} — "
                           "the folder holds parts of two builds; rebuild it")
    images: dict[int, dict[str, Any]] = {}
    for index, page in enumerate(pages):
        tick(f"page {page['number']}")
        images[page["number"]] = _page_images(eedition, index, page["number"], folder, float(size_pt[1]))

    # Photos for the article view.
    tick("photos")
    photo_files: dict[str, list[dict[str, Any]]] = {}
    page_index = {p["number"]: i for i, p in enumerate(pages)}
    for story in data["stories"]:
        photo_files[story["slug"]] = _story_photos(story, ed.get("root"), eedition, page_index, size_pt, folder)

    # Downloads.
    tick("downloads")
    pdf_dir = folder / "pdf"
    pdf_dir.mkdir()
    whole = pdf_dir / eedition.name
    shutil.copyfile(eedition, whole)
    os.chmod(whole, 0o644)
    downloads = [{"label": "The whole edition", "file": f"pdf/{whole.name}", "pages": len(pages), "range": "",
                  "bytes": whole.stat().st_size}]
    for section_id, section_pdf, numbers in split_sections(eedition, data, pdf_dir):
        downloads.append({"label": sections.get(section_id, section_id), "file": f"pdf/{section_pdf.name}",
                          "pages": len(numbers), "bytes": section_pdf.stat().st_size,
                          "range": _ranges(numbers)})

    # HTML.
    tick("pages")
    lead = {}
    for page in pages:
        first = [stories[s] for s in page["stories"] if s in stories]
        lead[page["number"]] = first[0]["headline"] if first else ""

    def page_alt(page: dict[str, Any]) -> str:
        heads = [stories[s]["headline"] for s in dict.fromkeys(page["stories"]) if s in stories]
        text = f"Page {page['number']} of {len(pages)}, {page['section_name']}"
        return text + (": " + "; ".join(heads) if heads else "")

    by_section: list[tuple[str, list[dict[str, Any]]]] = []
    for page in pages:
        if by_section and by_section[-1][0] == page["section_name"]:
            by_section[-1][1].append(page)
        else:
            by_section.append((page["section_name"], [page]))

    areas = []
    for page in pages:
        page_areas = []
        for slug in page["stories"]:
            story = stories.get(slug)
            if story is None:
                continue
            for placement in story["placements"]:
                if placement["page"] == page["number"]:
                    page_areas.append({"kind": "story", "href": f"stories/{slug}.html",
                                       "label": story["headline"]
                                       + (f" (continued from page {placement['continued_from']})"
                                          if placement["continued_from"] else ""),
                                       "box": _percent(placement["rect_pt"], size_pt)})
                    break
        for target, rect in merged_links(page.get("links", [])):
            if target in page_index:
                page_areas.append({"kind": "jump", "href": f"#p{target}", "label": f"Go to page {target}",
                                   "box": _percent(rect, size_pt)})
        for i, area in enumerate(page_areas):
            area["cls"] = f"a{i}"
        areas.append((page, page_areas))
    css = [f"/* Story areas of {ed['title']}, {ed['date_long']}: % of the page, from the planner's grid. */",
           f".sheet {{ aspect-ratio: {size_pt[0]} / {size_pt[1]}; }}"]
    for page, page_areas in areas:
        for area in page_areas:
            left, top, width, height = area["box"]
            css.append(f"#p{page['number']} .{area['cls']} {{ left: {left:.3f}%; top: {top:.3f}%; "
                       f"width: {width:.3f}%; height: {height:.3f}%; }}")
    atomic_write_text(folder / "areas.css", "\n".join(css) + "\n")

    common = {"ed": ed, "assets": assets, "pages": pages, "images": images, "downloads": downloads,
              "sections": sections}
    _render("edition.html.j2", folder / "index.html", root="../", by_section=by_section,
            page_alt=page_alt, lead=lead, **common)
    _render("viewer.html.j2", folder / "page.html", root="../", areas=areas, page_alt=page_alt, **common)

    tick("stories")
    listed = [s for s in data["stories"] if s.get("placements")]
    story_sections: list[tuple[str, list[dict[str, Any]]]] = []
    for section in data["sections"]:
        members = sorted((s for s in listed if s["section"] == section["id"]),
                         key=lambda s: (s["page"], -len(s["body"])))
        if members:
            story_sections.append((section["name"], members))
    for story in listed:
        pages_of = [p["page"] for p in story["placements"]]
        _render("article.html.j2", folder / "stories" / f"{story['slug']}.html", root="../../",
                story=story, body=[(p["crosshead"], body_markup(p["html"])) for p in story["body"]],
                photos=photo_files.get(story["slug"], []), pages_of=pages_of,
                section_name=sections.get(story["section"], story["section"]), **common)
    _render("stories.html.j2", folder / "stories" / "index.html", root="../../",
            story_sections=story_sections, **common)
    _render("search.html.j2", folder / "search.html", root="../", scope="edition",
            index_url="search-index.json", stories_url="stories/index.html", **common)
    atomic_write_text(folder / "search-index.json",
                      _json(search_index(listed, sections, date_long=ed["date_long"], prefix=""), indent=None))

    public = {k: v for k, v in data.items() if k != "edition"}
    public["edition"] = {k: v for k, v in ed.items() if k != "root"}
    front = images[pages[0]["number"]]
    public["site"] = {"front_thumb": front["thumb"], "front_thumb_size": [front["thumb_width"], front["thumb_height"]],
                      "downloads": downloads,
                      "lead": lead[pages[0]["number"]], "published_with": f"gp-print {__version__}"}
    atomic_write_text(folder / EDITION_DATA, _json(public))
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            os.chmod(path, 0o755)


def merged_links(links: Iterable[dict[str, Any]], slack_pt: float = 3.0) -> list[tuple[int, list[float]]]:
    """One area per link: WeasyPrint gives a rectangle per line box of a link (a teaser's label,
    headline and page reference), so rectangles to the same page that touch become their union."""
    merged: list[tuple[int, list[float]]] = []
    for link in links:
        target, rect = int(link["page"]), [float(v) for v in link["rect_pt"]]
        changed = True
        while changed:
            changed = False
            for i, (other_target, other) in enumerate(merged):
                if other_target == target and not (
                        rect[0] > other[2] + slack_pt or other[0] > rect[2] + slack_pt
                        or rect[1] > other[3] + slack_pt or other[1] > rect[3] + slack_pt):
                    rect = [min(rect[0], other[0]), min(rect[1], other[1]), max(rect[2], other[2]),
                            max(rect[3], other[3])]
                    del merged[i]
                    changed = True
                    break
        merged.append((target, rect))
    return merged


def _ranges(numbers: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _save(image: Any, path: Path, fmt: str, **options: Any) -> None:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    atomic_write_bytes(path, buffer.getvalue(), mode=0o644)


def _page_images(eedition: Path, index: int, number: int, folder: Path, height_pt: float) -> dict[str, Any]:
    """Render one e-edition page with pypdfium2 (`proof.rasterise`): the zoom image, the viewer
    image and the thumbnail (the smaller ones downsampled from the larger, for smoother type)."""
    from PIL import Image

    from gp_print.proof import rasterise

    big = rasterise(eedition, dpi=ZOOM_HEIGHT_PX * 72 / height_pt, page_index=index)
    if big.height == 2 * PAGE_HEIGHT_PX:
        page = big.reduce(2)  # a 2 × 2 box filter: exact and fast
    else:
        page = big.resize((round(big.width * PAGE_HEIGHT_PX / big.height), PAGE_HEIGHT_PX), Image.Resampling.LANCZOS)
    thumb = page.resize((THUMB_WIDTH_PX, round(page.height * THUMB_WIDTH_PX / page.width)), Image.Resampling.LANCZOS)
    names = {"zoom": f"pages/p{number:02d}-zoom.webp", "page": f"pages/p{number:02d}.webp",
             "thumb": f"thumbs/p{number:02d}.webp"}
    # The zoom image is the big one and seen only when zoomed: the faster encoder setting.
    for key, image, method in (("zoom", big, 2), ("page", page, 4), ("thumb", thumb, 4)):
        _save(image, folder / names[key], "WEBP", quality=WEBP_QUALITY, method=method)
    return {**names, "width": page.width, "height": page.height, "thumb_width": thumb.width,
            "thumb_height": thumb.height}


def _story_photos(story: dict[str, Any], root: str | None, eedition: Path, page_index: dict[int, int],
                  size_pt: Sequence[float], folder: Path) -> list[dict[str, Any]]:
    """Each photo as a JPEG for the article view: from the edition's original picture when the
    edition folder is still there, else cut from the e-edition page where it was printed."""
    from PIL import Image, ImageOps

    from gp_print.proof import rasterise

    out = []
    for n, photo in enumerate(story["photos"], start=1):
        image = None
        if root:
            base = Path(root).resolve()
            source = (base / photo["file"]).resolve()
            if source.is_relative_to(base) and source.is_file():
                try:
                    with Image.open(source) as opened:
                        image = ImageOps.exif_transpose(opened).convert("RGB")
                except OSError:
                    image = None
        if image is None and "rect_pt" in photo and photo.get("page") in page_index:
            full = rasterise(eedition, dpi=150, page_index=page_index[photo["page"]])
            left, top, width, height = _percent(photo["rect_pt"], size_pt)
            box = (round(left * full.width / 100), round(top * full.height / 100),
                   round((left + width) * full.width / 100), round((top + height) * full.height / 100))
            image = full.crop(box)
        if image is None:
            log.warning("%s: photo %s not found and not placed — left out of the article", story["slug"], photo["file"])
            continue
        if max(image.size) > PHOTO_MAX_PX:
            image.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX), Image.Resampling.LANCZOS)
        name = f"photos/{story['slug']}-{n}.jpg"
        _save(image, folder / name, "JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True, progressive=True)
        out.append({"src": name, "width": image.width, "height": image.height,
                    "caption": photo["caption"], "credit": photo["credit"]})
    return out


# ------------------------------------------------------------------------------ section PDFs


def split_sections(eedition: Path, data: dict[str, Any], dest: Path) -> list[tuple[str, Path, list[int]]]:
    """One PDF per section, cut from the e-edition with pypdf.  Links between pages of the same
    section are kept (re-pointed at the new page); links to pages outside it are dropped.  Each
    file keeps the original page numbers as page labels, an outline of its stories and the
    e-edition's metadata.  Returns (section id, file, page numbers)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import Link
    from pypdf.constants import PageLabelStyle
    from pypdf.generic import ArrayObject, ByteStringObject, NameObject, TextStringObject

    reader = PdfReader(eedition)
    pages = sorted(data["pages"], key=lambda p: p["number"])
    number_at = [p["number"] for p in pages]
    index_of_object = {page.indirect_reference.idnum: i for i, page in enumerate(reader.pages)
                       if page.indirect_reference is not None}
    Rect4 = tuple[float, float, float, float]
    links: dict[int, list[tuple[Rect4, int | None, str | None]]] = {}
    for i, page in enumerate(reader.pages):
        found: list[tuple[Rect4, int | None, str | None]] = []
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
            rect = (x0, y0, x1, y1)
            action = annot.get("/A")
            action = action.get_object() if action is not None else None
            dest_array = annot.get("/Dest")
            if action is not None and action.get("/S") == "/URI":
                found.append((rect, None, str(action["/URI"])))
                continue
            if action is not None and action.get("/S") == "/GoTo":
                dest_array = action.get("/D")
            dest_array = dest_array.get_object() if dest_array is not None else None
            if isinstance(dest_array, list) and dest_array:
                ref = dest_array[0]
                target = index_of_object.get(getattr(ref, "idnum", -1))
                if target is not None:
                    found.append((rect, target, None))
        links[i] = found
        if "/Annots" in page:
            del page[NameObject("/Annots")]

    info: dict[Any, Any] = dict(reader.metadata or {})
    stories = {s["slug"]: s for s in data["stories"]}
    ed = data["edition"]
    written = []
    for section in data["sections"]:
        indices = [i for i, p in enumerate(pages) if p["section"] == section["id"]]
        if not indices:
            continue
        new_index = {old: new for new, old in enumerate(indices)}
        writer = PdfWriter()
        for old in indices:
            writer.add_page(reader.pages[old])
        for old in indices:
            for rect, target, url in links[old]:
                if url is not None:
                    writer.add_annotation(new_index[old], Link(rect=rect, url=url))
                elif target in new_index:
                    writer.add_annotation(new_index[old], Link(rect=rect, target_page_index=new_index[target]))
        for old in indices:
            for slug in pages[old]["stories"]:
                story = stories.get(slug)
                if story is not None and story["page"] == number_at[old]:
                    writer.add_outline_item(title=story["headline"], page_number=new_index[old])
        start = 0
        while start < len(indices):
            end = start
            while end + 1 < len(indices) and number_at[indices[end + 1]] == number_at[indices[end]] + 1:
                end += 1
            writer.set_page_label(start, end, style=PageLabelStyle.DECIMAL, start=number_at[indices[start]])
            start = end + 1
        metadata = {k: str(v) for k, v in info.items() if isinstance(k, str)}
        metadata["/Title"] = f"{ed['title']} — {ed['date_long']} — {section['name']}"
        writer.add_metadata(metadata)
        root_object = writer._root_object
        root_object[NameObject("/Lang")] = TextStringObject(ed.get("lang") or "en-GB")
        root_object[NameObject("/PageMode")] = NameObject("/UseOutlines")
        writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
        digest = hashlib.md5(eedition.read_bytes() + section["id"].encode(), usedforsecurity=False).digest()
        writer._ID = ArrayObject([ByteStringObject(digest), ByteStringObject(digest)])
        buffer = io.BytesIO()
        writer.write(buffer)
        stem = eedition.name.removesuffix(".pdf").removesuffix("-eedition")
        path = dest / f"{stem}-{_section_slug(section['id'])}.pdf"
        atomic_write_bytes(path, buffer.getvalue(), mode=0o644)
        written.append((section["id"], path, [number_at[i] for i in indices]))
    return written


# ------------------------------------------------------------------------------------ search


def tokens(text: str) -> list[str]:
    """Words for the search index, the same way search.js splits a query: accents folded,
    lower case, runs of letters and digits."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [t for t in re.findall(r"[^\W_]+", folded.lower()) if len(t) > 1 or t.isdigit()]


def search_index(stories: Iterable[dict[str, Any]], sections: dict[str, str], *, date_long: str,
                 prefix: str) -> dict[str, Any]:
    """An inverted index: docs (headline, standfirst, where) and term → [doc, weight, …].
    URLs are relative to the index file; `prefix` is the edition folder seen from there."""
    docs = []
    terms: dict[str, dict[int, int]] = {}
    for n, story in enumerate(stories):
        docs.append({"h": story["headline"], "s": story["standfirst"], "sec": sections.get(story["section"], ""),
                     "p": story["page"], "d": date_long, "u": f"{prefix}stories/{story['slug']}.html",
                     "v": f"{prefix}page.html#p{story['page']}"})
        weighted = [(story["headline"], 5), (story["kicker"], 3), (story["standfirst"], 3), (story["byline"], 2),
                    (" ".join(story["tags"]), 2)]
        weighted += [(plain_text(p["html"]), 1) for p in story["body"]]
        weighted += [(f"{ph['caption']} {ph['credit']}", 1) for ph in story["photos"]]
        for text, weight in weighted:
            for token in tokens(text):
                postings = terms.setdefault(token, {})
                postings[n] = postings.get(n, 0) + weight
    flat = {t: [v for doc, w in sorted(p.items()) for v in (doc, min(w, 99))] for t, p in sorted(terms.items())}
    return {"version": 1, "docs": docs, "terms": flat}


# ----------------------------------------------------------------------------------- archive


def published_editions(site_dir: Path) -> list[dict[str, Any]]:
    """The edition.json of every edition folder in the site, newest first."""
    found = []
    for folder in site_dir.iterdir():
        if not (_DATE_DIR.match(folder.name) and folder.is_dir()):
            continue
        try:
            data = json.loads((folder / EDITION_DATA).read_text(encoding="utf-8"))
            data["_folder"] = folder.name
            found.append(data)
        except (OSError, ValueError):
            log.warning("%s: no readable %s — left out of the archive", folder, EDITION_DATA)
    return sorted(found, key=lambda d: d["edition"]["date"], reverse=True)


def write_archive(site_dir: Path, assets: dict[str, str], settings: dict[str, Any]) -> Path:
    """Rewrite the archive page, the site search page and index, and the feeds, atomically."""
    editions = published_editions(site_dir)
    if not editions:
        raise PublishError(f"{site_dir}: no published editions")
    latest = editions[0]["edition"]
    index = site_dir / "index.html"
    _render("archive.html.j2", index, root="", editions=editions, ed=latest, assets=assets)
    _render("search.html.j2", site_dir / "search.html", root="", scope="archive", ed=latest,
            index_url="search-index.json", stories_url="index.html", assets=assets)

    docs: list[dict[str, Any]] = []
    terms: dict[str, list[int]] = {}
    for data in editions:
        try:
            part = json.loads((site_dir / data["_folder"] / "search-index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        offset = len(docs)
        for doc in part["docs"]:
            docs.append({**doc, "u": f"{data['_folder']}/{doc['u']}", "v": f"{data['_folder']}/{doc['v']}"})
        for term, postings in part["terms"].items():
            shifted = [v + offset if i % 2 == 0 else v for i, v in enumerate(postings)]
            terms.setdefault(term, []).extend(shifted)
    atomic_write_text(site_dir / "search-index.json",
                      _json({"version": 1, "docs": docs, "terms": dict(sorted(terms.items()))}, indent=None))
    atomic_write_text(site_dir / "feed.json", _json(json_feed(editions, settings), indent=2))
    atomic_write_bytes(site_dir / "atom.xml", atom_feed(editions, settings))
    return index


def _entry(data: dict[str, Any], base: str) -> dict[str, Any]:
    ed = data["edition"]
    site = data.get("site", {})
    folder = data["_folder"]
    downloads = site.get("downloads") or []
    return {
        "id": f"{base}{folder}/" if base else f"tag:gp-print,{ed['date'][:4]}:{ed['code']}/{ed['date']}",
        "url": f"{base}{folder}/index.html",
        "title": f"{ed['title']} — {ed['date_long']}",
        "date": f"{ed['date']}T00:00:00Z",
        "summary": f"Issue {ed['issue']}, {len(data['pages'])} pages. " + (site.get("lead") or ""),
        "image": f"{base}{folder}/{site['front_thumb']}" if site.get("front_thumb") else None,
        "pdf": ({"url": f"{base}{folder}/{downloads[0]['file']}", "size": downloads[0]["bytes"]}
                if downloads else None),
        "headlines": [s["headline"] for s in data["stories"] if s.get("page") == data["pages"][0]["number"]],
    }


def json_feed(editions: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """JSON Feed 1.1 of the editions, newest first."""
    base = settings.get("base_url") or ""
    paper = editions[0]["edition"]
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"{paper['title']} e-edition",
        "description": f"Every edition of the {paper['title']}: pages, stories and the PDF.",
        "language": paper.get("lang") or "en-GB",
        "authors": [{"name": paper["title"]}],
        "items": [],
    }
    if base:
        feed["home_page_url"] = f"{base}index.html"
        feed["feed_url"] = f"{base}feed.json"
    for data in editions:
        e = _entry(data, base)
        item: dict[str, Any] = {
            "id": e["id"], "url": e["url"], "title": e["title"], "summary": e["summary"],
            "content_text": e["summary"] + ("\n\nOn the front page: " + "; ".join(e["headlines"])
                                            if e["headlines"] else ""),
            "date_published": e["date"],
        }
        if e["image"]:
            item["image"] = e["image"]
        if e["pdf"]:
            item["attachments"] = [{"url": e["pdf"]["url"], "mime_type": "application/pdf",
                                    "title": "The e-edition (PDF)", "size_in_bytes": e["pdf"]["size"]}]
        feed["items"].append(item)
    return feed


def atom_feed(editions: Sequence[dict[str, Any]], settings: dict[str, Any]) -> bytes:
    """Atom (RFC 4287) of the editions, newest first."""
    base = settings.get("base_url") or ""
    paper = editions[0]["edition"]
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ns}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": paper.get("lang") or "en-GB"})
    sub(feed, "id", f"{base}atom.xml" if base else f"tag:gp-print,2019:{paper['code']}/editions")
    sub(feed, "title", f"{paper['title']} e-edition")
    sub(feed, "updated", f"{editions[0]['edition']['date']}T00:00:00Z")
    author = sub(feed, "author")
    sub(author, "name", paper["title"])
    sub(feed, "link", rel="self", href=f"{base}atom.xml")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}index.html")
    sub(feed, "generator", "gp-print", version=__version__)
    for data in editions:
        e = _entry(data, base)
        entry = sub(feed, "entry")
        sub(entry, "id", e["id"])
        sub(entry, "title", e["title"])
        sub(entry, "updated", e["date"])
        sub(entry, "published", e["date"])
        sub(entry, "link", rel="alternate", type="text/html", href=e["url"])
        if e["pdf"]:
            sub(entry, "link", rel="enclosure", type="application/pdf", href=e["pdf"]["url"],
                length=str(e["pdf"]["size"]))
        sub(entry, "summary", e["summary"])
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8") + b"\n"

"""Load and validate an edition folder into an `Edition` record.

Validation collects every problem it can find before it stops, so a sub-editor fixes ten
mistakes in one go rather than one per run.  Each problem names the file, the field and the fix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import os
import re
import sqlite3
import stat
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from PIL import Image, ImageFile

from gp_print.cache import MeasureStore, cache_dir, open_store
from gp_print.errors import InputError, Problem
from gp_print.model import (
    Ad,
    AdPosition,
    Edition,
    Grid,
    Inline,
    PagePlan,
    Paragraph,
    Photo,
    Section,
    Story,
    StoryKind,
)
from gp_print.paths import LAYOUTS_DIR

EDITION_FILE = "edition.toml"
FLATPLAN_FILE = "flatplan.toml"  # the desk's file: gp_print.desk
STORIES_DIR = "stories"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHOTO_FORMATS = {"JPEG", "PNG"}
AD_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg"}


@dataclass(frozen=True)
class Limits:
    """Resource limits on input; generous for a daily, small enough to stop a runaway file.

    An edition may change them in a `[limits]` table of edition.toml, within `LIMIT_RANGES`
    (see README, "Guarantees and limits")."""

    max_story_words: int = 6000  # words in one story's body
    max_headline_chars: int = 160  # characters in a headline
    max_photo_pixels: int = 60_000_000  # width × height of a photo or ad image, checked before decoding
    min_photo_px: int = 200  # short edge of a photo
    max_file_bytes: int = 40 * 1024 * 1024  # size of any one input file (edition.toml, story, photo, ad)


# How far an edition's [limits] may move each limit: wide, but never off.
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "max_story_words": (100, 100_000),
    "max_headline_chars": (20, 1_000),
    "max_photo_pixels": (10_000, 150_000_000),
    "min_photo_px": (1, 2_000),
    "max_file_bytes": (64 * 1024, 512 * 1024 * 1024),
}


class _Collector:
    """Gathers problems; every check appends rather than raises."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def add(self, path: Path, fld: str, message: str, fix: str = "", line: int | None = None) -> None:
        self.problems.append(Problem(_printable(self.rel(path)), _printable(fld), _printable(message),
                                     _printable(fix), line))


def _printable(text: str) -> str:
    """Text from the input shown in a problem: control, format and line-separator characters
    escaped, so one problem stays one line and cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


# ------------------------------------------------------------------------------- helpers


def _suggest(name: str, known: Mapping[str, Any] | set[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(sorted(known))}"


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _inside(root: Path, candidate: Path) -> bool:
    """Whether `candidate`, with every symlink and `..` resolved, lies inside `root`."""
    try:
        candidate.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # outside; or a name the OS refuses, a symlink loop
        return False
    return True


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _is_link(root: Path, path: Path) -> bool:
    """Whether `path` or a folder on the way to it from `root` is a symlink."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    return any((root.joinpath(*parts[: i + 1])).is_symlink() for i in range(len(parts)))


def _regular_file(file: Path, path: Path, fld: str, out: _Collector, limits: Limits, *,
                  missing: str, too_big: str) -> bool:
    """A plain file no larger than the limit (not a folder, nor a FIFO that would block the read)."""
    try:
        info = file.stat()
    except FileNotFoundError:
        out.add(path, fld, "file not found", missing)
        return False
    except OSError as exc:
        out.add(path, fld, f"cannot read: {exc.strerror}", "check the file's permissions")
        return False
    if not stat.S_ISREG(info.st_mode):
        out.add(path, fld, f"'{file.name}' is not a regular file", missing)
        return False
    if info.st_size > limits.max_file_bytes:
        out.add(path, fld, f"'{file.name}' is {_size(info.st_size)}, over the limit of {_size(limits.max_file_bytes)}",
                f"{too_big} (or raise [limits] max_file_bytes)")
        return False
    return True


@dataclass
class _Fields:
    """Typed access to one TOML table, recording a problem for every bad value."""

    data: Mapping[str, Any]
    path: Path
    out: _Collector
    prefix: str = ""
    known: dict[str, str] = field(default_factory=dict)

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        kind_name: str,
        *,
        required: bool = False,
        default: Any = None,
        example: str = "",
    ) -> Any:
        self.known[key] = kind_name
        if key not in self.data:
            if required:
                self.out.add(
                    self.path, self._name(key), "missing required field",
                    f"add {key} = {example or '…'} ({kind_name})",
                )
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints to Python; a bool is only right where a bool is asked for.
        ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.out.add(
                self.path, self._name(key), f"expected {kind_name}, found {type(value).__name__} {value!r}",
                f"write it as {kind_name}" + (f", e.g. {key} = {example}" if example else ""),
            )
            return default
        return value

    def text(self, key: str, *, required: bool = False, example: str = '"…"') -> str:
        value = self.get(key, str, "a string in quotes", required=required, default="", example=example)
        if required and isinstance(value, str) and key in self.data and not value.strip():
            self.out.add(self.path, self._name(key), "is empty", f"write the {key}")
        return " ".join(value.split()) if isinstance(value, str) else ""

    def unknown(self, extra: tuple[str, ...] = ()) -> None:
        allowed = set(self.known) | set(extra)
        for key in self.data:
            if key not in allowed:
                self.out.add(self.path, self._name(key), "unknown field", _suggest(key, allowed))


# ------------------------------------------------------------------------------- edition


def _load_toml(path: Path, out: _Collector, limits: Limits) -> dict[str, Any] | None:
    if path.is_symlink() and not _inside(path.parent, path):
        out.add(path, "", "the file is a link to a file outside the edition folder",
                f"copy {path.name} into the edition folder")
        return None
    if not _regular_file(path, path, "", out, limits, too_big="it holds only the edition's settings",
                         missing=f"create {path.name} in the edition folder (see README, Input format)"):
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        out.add(path, "", f"cannot read: {exc.strerror}", "check the file's permissions")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.add(path, "", f"not UTF-8 (byte {exc.start})", "save the file as UTF-8")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.add(path, "", f"malformed TOML: {exc}", "fix the syntax at that line", _toml_line(exc))
        return None


def _load_grid(data: Any, path: Path, out: _Collector) -> Grid:
    if data is None:
        return Grid()
    if not isinstance(data, dict):
        out.add(path, "grid", "expected a table", "write [grid] with trim_width_mm, columns, …")
        return Grid()
    f = _Fields(data, path, out, "grid.")
    defaults = Grid()
    values: dict[str, Any] = {}
    for name in ("trim_width_mm", "trim_height_mm", "bleed_mm", "column_width_mm", "gutter_mm",
                 "top_margin_mm", "bottom_margin_mm", "leading_pt"):
        value = f.get(name, (int, float), "a number", default=getattr(defaults, name))
        if isinstance(value, int | float) and value < 0:
            out.add(path, f"grid.{name}", "must not be negative", "give a positive number")
            value = getattr(defaults, name)
        values[name] = float(value)
    columns = f.get("columns", int, "a whole number", default=defaults.columns, example="7")
    if not 1 <= columns <= 12:
        out.add(path, "grid.columns", f"{columns} columns is outside 1–12", "use 7 for a tabloid, 8 for a weekly")
        columns = defaults.columns
    f.unknown()
    grid = Grid(columns=columns, **values)
    if grid.type_width_mm > grid.trim_width_mm - 10:
        out.add(path, "grid", f"the grid ({grid.type_width_mm:.1f} mm) is wider than the page allows "
                f"({grid.trim_width_mm - 10:.1f} mm with 5 mm margins)", "narrow the columns or gutters")
    if grid.leading_pt < 6 or grid.depth_lines < 20:
        out.add(path, "grid.leading_pt", "the leading leaves fewer than 20 lines a column", "use 9–12 pt")
        return Grid()  # later checks divide by the leading: go on with the default grid
    return grid


def _load_limits(data: Any, path: Path, out: _Collector, base: Limits) -> Limits:
    """The edition's [limits] table over `base`; each value a whole number inside LIMIT_RANGES."""
    if data is None:
        return base
    if not isinstance(data, dict):
        out.add(path, "limits", "expected a table", "write [limits] with e.g. max_story_words = 8000")
        return base
    f = _Fields(data, path, out, "limits.")
    values: dict[str, int] = {}
    for name, (low, high) in LIMIT_RANGES.items():
        current = getattr(base, name)
        value = f.get(name, int, "a whole number", default=current, example=f"{current:_}")
        if isinstance(value, int) and not low <= value <= high:
            out.add(path, f"limits.{name}", f"{value:,} is outside the allowed {low:,}–{high:,}",
                    f"give a value in that range (the default is {getattr(Limits(), name):,})")
            value = current
        values[name] = value
    f.unknown()
    return Limits(**values)


def _templates() -> set[str]:
    return {p.name.removesuffix(".html.j2") for p in (LAYOUTS_DIR / "pages").glob("*.html.j2")}


def _load_pages(data: Any, path: Path, out: _Collector, sections: set[str]) -> tuple[PagePlan, ...]:
    if not isinstance(data, list) or not data:
        out.add(path, "pages", "the edition has no pages", "add a [[pages]] table for every page")
        return ()
    templates = _templates()
    pages: list[PagePlan] = []
    for i, item in enumerate(data):
        where = f"pages[{i}]."
        if not isinstance(item, dict):
            out.add(path, f"pages[{i}]", "expected a table", "write [[pages]] with number, section, template")
            continue
        f = _Fields(item, path, out, where)
        number = f.get("number", int, "a whole number", required=True, example=str(i + 1))
        section = f.text("section", required=True, example='"news"')
        template = f.text("template", required=True, example='"news"')
        f.unknown()
        if section and section not in sections:
            out.add(path, where + "section", f"unknown section '{section}'",
                    f"use one of {', '.join(sorted(sections))} or add it to [[sections]]")
        if template and template not in templates:
            out.add(path, where + "template", f"no page template '{template}'",
                    f"use one of {', '.join(sorted(templates))} (layouts/pages/*.html.j2)")
        if isinstance(number, int) and number < 1:
            out.add(path, where + "number", f"page number {number} is below 1", "number the pages from 1")
        elif isinstance(number, int):
            pages.append(PagePlan(number, section, template))
    numbers = sorted(p.number for p in pages)
    seen: set[int] = set()
    for n in numbers:
        if n in seen:
            out.add(path, "pages", f"page {n} is planned twice", "give every page one [[pages]] entry")
        seen.add(n)
    if numbers and sorted(seen) != list(range(1, max(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - seen)
        out.add(path, "pages", f"the page plan has gaps: no page {', '.join(map(str, missing))}",
                "plan every page from 1 to the last")
    if len(pages) % 2 and len(pages) > 1:
        out.add(path, "pages", f"{len(pages)} pages cannot be printed (a paper has an even number of pages)",
                "add or remove a page")
    return tuple(sorted(pages, key=lambda p: p.number))


def _load_ads(data: Any, path: Path, out: _Collector, root: Path, grid: Grid,
              pages: tuple[PagePlan, ...], limits: Limits) -> tuple[Ad, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        out.add(path, "ads", "expected [[ads]] tables", "write one [[ads]] table per booked ad")
        return ()
    numbers = {p.number for p in pages}
    ads: list[Ad] = []
    for i, item in enumerate(data):
        where = f"ads[{i}]."
        if not isinstance(item, dict):
            out.add(path, f"ads[{i}]", "expected a table", "write [[ads]] with advertiser, file, page, …")
            continue
        f = _Fields(item, path, out, where)
        advertiser = f.text("advertiser", required=True, example='"Sarnia Hardware"')
        file = f.text("file", required=True, example='"ads/artwork.pdf"')
        page = f.get("page", int, "a page number", required=True, example="3")
        columns = f.get("columns", int, "a whole number of columns", required=True, example="3")
        height = f.get("height_cm", (int, float), "a number of centimetres", required=True, example="10")
        position_text = f.text("position", example='"bottom-right"') or "bottom"
        f.unknown()
        try:
            position = AdPosition(position_text)
        except ValueError:
            out.add(path, where + "position", f"unknown position '{position_text}'",
                    f"use one of {', '.join(p.value for p in AdPosition)}")
            position = AdPosition.BOTTOM
        if isinstance(page, int) and numbers and page not in numbers:
            out.add(path, where + "page", f"page {page} is not in the page plan", f"book it on a page 1–{max(numbers)}")
        if isinstance(columns, int) and not 1 <= columns <= grid.columns:
            out.add(path, where + "columns", f"{columns} columns does not fit a {grid.columns}-column page",
                    f"book 1–{grid.columns} columns")
        if isinstance(height, int | float):
            depth_cm = grid.lines_mm(grid.depth_lines) / 10
            if not 1 <= height <= depth_cm * 0.75:
                out.add(path, where + "height_cm", f"{height} cm does not fit the page",
                        f"book 1–{depth_cm * 0.75:.0f} cm (three-quarters of the {depth_cm:.0f} cm column)")
        artwork = root / file
        if file:
            if not _inside(root, artwork):
                how = " (it is a link to a file elsewhere)" if _is_link(root, artwork) else ""
                out.add(path, where + "file", f"'{file}' is outside the edition folder{how}",
                        "copy the artwork into ads/")
            elif not artwork.is_file():
                out.add(path, where + "file", f"artwork '{file}' not found",
                        "put the file in the edition's ads/ folder")
            elif artwork.suffix.lower() not in AD_SUFFIXES:
                out.add(path, where + "file", f"'{file}' is not PDF, PNG or JPEG", "export the ad as PDF")
            elif _regular_file(artwork, path, where + "file", out, limits,
                               missing="put the file in the edition's ads/ folder",
                               too_big="export the ad at 200–300 ppi"):
                _check_artwork(artwork, path, where + "file", out, limits)
        if all(isinstance(v, int | float) for v in (page, columns, height)) and advertiser and file:
            ads.append(Ad(advertiser, artwork, page, columns, float(height), position))
    _check_ad_overlaps(ads, path, out, grid)
    return tuple(ads)


def _check_artwork(artwork: Path, path: Path, fld: str, out: _Collector, limits: Limits) -> None:
    if artwork.suffix.lower() == ".pdf":
        with open(artwork, "rb") as handle:
            head = handle.read(1024)
        if b"%PDF-" not in head:
            out.add(path, fld, f"'{artwork.name}' is not a PDF file", "export the ad again as PDF")
            return
        _check_pdf(artwork, path, fld, out)
        return
    _open_image(artwork, path, fld, out, limits)


def _check_pdf(artwork: Path, path: Path, fld: str, out: _Collector) -> None:
    """Open the ad the way render does (pypdf, first page, trim box), so a damaged PDF is
    reported here rather than failing half-way through the render."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(artwork)
            if reader.is_encrypted:
                out.add(path, fld, f"'{artwork.name}' is encrypted", "export the ad again without a password")
                return
            box = reader.pages[0].trimbox
            width, height = float(box.width), float(box.height)
    except Exception as exc:  # pypdf raises many types for damaged files
        out.add(path, fld, f"'{artwork.name}' cannot be read as a PDF ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]})", "export the ad again as PDF")
        return
    if not (width > 0 and height > 0):
        out.add(path, fld, f"'{artwork.name}' has an empty page", "export the ad again as PDF")


def _check_ad_overlaps(ads: list[Ad], path: Path, out: _Collector, grid: Grid) -> None:
    by_page: dict[int, list[Ad]] = {}
    for ad in ads:
        by_page.setdefault(ad.page, []).append(ad)
    for page, booked in sorted(by_page.items()):
        sides = [ad.position for ad in booked]
        width = sum(ad.columns for ad in booked)
        clash = len(booked) > 1 and (
            AdPosition.BOTTOM in sides or len(set(sides)) < len(sides) or width > grid.columns
        )
        if clash:
            names = " and ".join(f"'{ad.advertiser}'" for ad in booked)
            out.add(path, "ads", f"ads {names} overlap on page {page}",
                    "book them on different pages or at bottom-left and bottom-right with room for both")


_DECODE_STORES: dict[Path, MeasureStore | None] = {}


def _decode_store() -> MeasureStore | None:
    """The cache of pictures known to decode (by content), so a rebuild does not decode every
    picture again just to check it; None when caching is off."""
    if os.environ.get("GP_PRINT_NO_CACHE"):
        return None
    where = cache_dir()
    if where not in _DECODE_STORES:
        _DECODE_STORES[where] = open_store()
    return _DECODE_STORES[where]


def _decode_key(file: Path) -> str:
    return "decoded:" + hashlib.sha256(file.read_bytes()).hexdigest()


def _decoded_before(store: MeasureStore, key: str) -> bool:
    with contextlib.suppress(OSError, sqlite3.Error):
        return bool(store.get_many([key]))
    return False


def _remember_decoded(store: MeasureStore, key: str) -> None:
    with contextlib.suppress(OSError, sqlite3.Error):
        store.put_many({key: {"ok": True}})


def _open_image(file: Path, path: Path, fld: str, out: _Collector, limits: Limits) -> tuple[int, int] | None:
    """Open and fully decode an image; refuse what would break or bloat the render."""
    bomb_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with our own message (restored below)
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # weasyprint.images turns this on for the whole process
    try:
        with Image.open(file) as img:
            fmt = img.format or "?"
            width, height = img.size
            if fmt not in PHOTO_FORMATS:
                out.add(path, fld, f"'{file.name}' is {fmt}, not JPEG or PNG", "save the picture as JPEG")
                return None
            if width * height > limits.max_photo_pixels:
                out.add(path, fld, f"'{file.name}' is {width}×{height} pixels, over the limit of "
                        f"{limits.max_photo_pixels:,}", f"downscale it to at most {limits.max_photo_pixels:,} pixels "
                        "(or raise [limits] max_photo_pixels)")
                return None
            store = _decode_store()
            key = _decode_key(file) if store is not None else ""
            if store is None or not _decoded_before(store, key):
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    img.load()
                if store is not None:
                    _remember_decoded(store, key)
    except FileNotFoundError:
        out.add(path, fld, f"'{file.name}' not found", "put the picture in the edition's photos/ folder")
        return None
    except Exception as exc:  # Pillow raises many types for damaged files
        detail = " ".join(str(exc).replace(str(file), file.name).split())[:200]
        out.add(path, fld, f"'{file.name}' cannot be read as an image ({type(exc).__name__}: {detail})",
                "export the picture again as JPEG")
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
        Image.MAX_IMAGE_PIXELS = bomb_limit
    return width, height


def _load_sections(data: Any, path: Path, out: _Collector) -> tuple[Section, ...]:
    if not isinstance(data, list) or not data:
        out.add(path, "sections", "no sections", 'add [[sections]] tables, e.g. id = "news", name = "News"')
        return ()
    sections: list[Section] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            out.add(path, f"sections[{i}]", "expected a table", 'write [[sections]] with id and name')
            continue
        f = _Fields(item, path, out, f"sections[{i}].")
        sid = f.text("id", required=True, example='"news"')
        name = f.text("name", required=True, example='"News"')
        f.unknown()
        if sid and not SLUG_RE.match(sid):
            out.add(path, f"sections[{i}].id", f"'{sid}' is not a simple id", "use lower-case letters and hyphens")
        if sid in {s.id for s in sections}:
            out.add(path, f"sections[{i}].id", f"section '{sid}' is defined twice", "give each section one entry")
        elif sid and name:
            sections.append(Section(sid, name))
    return tuple(sections)


# ------------------------------------------------------------------------------- stories


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Return (front matter, body, body's first line number) or None when there is none."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "+++":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2
    return None


_MD = MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(["replacements", "smartquotes"])


def parse_body(markdown: str) -> tuple[Paragraph, ...]:
    """Markdown body to paragraphs of styled runs; anything but text, emphasis and crossheads
    is flattened to text, and raw HTML is never passed through."""
    paragraphs: list[Paragraph] = []
    crosshead = False
    for token in _MD.parse(markdown):
        if token.type == "heading_open":
            crosshead = True
        elif token.type == "heading_close":
            crosshead = False
        elif token.type == "inline":
            runs = _inline_runs(token.children or [])
            if runs:
                paragraphs.append(Paragraph(runs, crosshead=crosshead))
        elif token.type in ("fence", "code_block", "html_block"):
            text = clean_text(token.content).strip()
            if text:
                paragraphs.append(Paragraph((Inline(text),)))
    return tuple(paragraphs)


def _inline_runs(children: list[Any]) -> tuple[Inline, ...]:
    runs: list[Inline] = []
    italic = bold = False
    for child in children:
        kind = child.type
        if kind == "em_open":
            italic = True
        elif kind == "em_close":
            italic = False
        elif kind == "strong_open":
            bold = True
        elif kind == "strong_close":
            bold = False
        elif kind in ("softbreak", "hardbreak"):
            runs.append(Inline(" ", italic, bold))
        elif kind in ("text", "code_inline", "html_inline"):
            runs.append(Inline(child.content, italic, bold))
        elif kind == "image":
            continue
    merged: list[Inline] = []
    for run in runs:
        text = clean_text(run.text)
        if not text:
            continue
        if merged and (merged[-1].italic, merged[-1].bold) == (run.italic, run.bold):
            merged[-1] = Inline(merged[-1].text + text, run.italic, run.bold)
        else:
            merged.append(Inline(text, run.italic, run.bold))
    if merged:
        merged[0] = Inline(merged[0].text.lstrip(), merged[0].italic, merged[0].bold)
        merged[-1] = Inline(merged[-1].text.rstrip(), merged[-1].italic, merged[-1].bold)
    return tuple(m for m in merged if m.text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\u200b\ufeff]")


def clean_text(text: str) -> str:
    """Drop control characters and soft hyphens; fold runs of white space."""
    text = _CONTROL.sub("", text)
    return re.sub(r"\s+", " ", text)


_STORY_FIELDS = {
    "slug", "headline", "section", "priority", "kicker", "standfirst", "byline", "pull_quote",
    "pull_quote_by", "front", "kind", "jump_headline", "tags", "photos", "source",
}


def load_story(path: Path, root: Path, sections: set[str], out: _Collector, limits: Limits) -> Story | None:
    if not _inside(root, path):
        out.add(path, "", "the story file is a link to a file outside the edition folder",
                "copy the story into the edition's stories/ folder instead of linking to it")
        return None
    if not _regular_file(path, path, "", out, limits, missing="a story is a .md text file in stories/",
                         too_big="split the story"):
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        out.add(path, "", f"cannot read: {exc.strerror}", "check the file's permissions")
        return None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        out.add(path, "", f"not UTF-8 (byte {exc.start})", "save the file as UTF-8", line)
        return None
    parts = split_front_matter(text)
    if parts is None:
        out.add(path, "front matter", "no front matter", "start the file with +++, the fields, then +++", 1)
        return None
    front, body_md, _ = parts
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        toml_line = _toml_line(exc)
        out.add(path, "front matter", f"malformed TOML: {exc}", "fix the syntax at that line",
                toml_line + 1 if toml_line else None)
        return None
    f = _Fields(data, path, out)
    slug = f.text("slug", required=True, example=f'"{path.stem}"')
    headline = f.text("headline", required=True, example='"Dredger to clear harbour silt"')
    section = f.text("section", required=True, example='"news"')
    priority = f.get("priority", int, "a whole number 1–9", default=5, example="3")
    kind_text = f.text("kind") or "story"
    front_page = f.get("front", bool, "true or false", default=False, example="true")
    tags = f.get("tags", list, "a list of strings", default=[], example='["harbour"]')
    texts = {k: f.text(k) for k in ("kicker", "standfirst", "byline", "pull_quote", "pull_quote_by",
                                     "jump_headline", "source")}
    photos_data = f.get("photos", list, "[[photos]] tables", default=[])
    f.unknown()
    if slug and not SLUG_RE.match(slug):
        out.add(path, "slug", f"'{slug}' is not a valid slug", "use lower-case letters, digits and hyphens")
    if section and sections and section not in sections:
        out.add(path, "section", f"unknown section '{section}'",
                f"use one of {', '.join(sorted(sections))} (the edition's [[sections]])")
    if isinstance(priority, int) and not 1 <= priority <= 9:
        out.add(path, "priority", f"{priority} is outside 1–9", "1 is the most important story, 9 the least")
        priority = 5
    try:
        kind = StoryKind(kind_text)
    except ValueError:
        out.add(path, "kind", f"unknown kind '{kind_text}'", f"use one of {', '.join(k.value for k in StoryKind)}")
        kind = StoryKind.STORY
    if len(headline) > limits.max_headline_chars:
        out.add(path, "headline", f"{len(headline)} characters is too long for any slot",
                f"cut it to at most {limits.max_headline_chars}")
    if not all(isinstance(t, str) for t in tags):
        out.add(path, "tags", "every tag must be a string", 'write tags = ["harbour", "states"]')
        tags = []
    body = parse_body(body_md)
    if not body:
        out.add(path, "body", "the story has no body text", "write the story below the closing +++")
    words = sum(len(p.text.split()) for p in body)
    if words > limits.max_story_words:
        out.add(path, "body", f"{words:,} words is over the limit of {limits.max_story_words:,}",
                "cut the story or split it into a series")
    photos = _load_photos(photos_data, path, root, out, limits)
    if not (slug and headline and section and body) or photos is None:
        return None
    return Story(
        slug=slug, headline=headline, section=section, priority=priority, body=body, source=path,
        kicker=texts["kicker"], standfirst=texts["standfirst"], byline=texts["byline"],
        pull_quote=texts["pull_quote"], pull_quote_by=texts["pull_quote_by"], front=bool(front_page),
        kind=kind, jump_headline=texts["jump_headline"], tags=tuple(tags), photos=photos,
    )


def _load_photos(data: list[Any], path: Path, root: Path, out: _Collector, limits: Limits) -> tuple[Photo, ...] | None:
    photos: list[Photo] = []
    ok = True
    for i, item in enumerate(data):
        where = f"photos[{i}]."
        if not isinstance(item, dict):
            out.add(path, f"photos[{i}]", "expected a table", "write [[photos]] with file, caption, credit")
            ok = False
            continue
        f = _Fields(item, path, out, where)
        file = f.text("file", required=True, example='"photos/harbour.jpg"')
        caption = f.text("caption", required=True, example='"What the picture shows"')
        credit = f.text("credit", required=True, example='"Picture: Jane Le Page"')
        f.unknown()
        if not file:
            ok = False
            continue
        image = root / file
        if not _inside(root, image):
            how = " (it is a link to a file elsewhere)" if _is_link(root, image) else ""
            out.add(path, where + "file", f"'{file}' is outside the edition folder{how}",
                    "copy the picture into photos/")
            ok = False
            continue
        if not image.is_file():
            out.add(path, where + "file", f"photo '{file}' not found",
                    "put the picture in the edition's photos/ folder or remove the [[photos]] entry")
            ok = False
            continue
        if not _regular_file(image, path, where + "file", out, limits,
                             missing="put the picture in the edition's photos/ folder",
                             too_big="save it as a JPEG of at most 6000 px"):
            ok = False
            continue
        size = _open_image(image, path, where + "file", out, limits)
        if size is None:
            ok = False
            continue
        if min(size) < limits.min_photo_px:
            out.add(path, where + "file", f"'{file}' is only {size[0]}×{size[1]} pixels",
                    f"supply a picture at least {limits.min_photo_px} px on the short edge")
            ok = False
            continue
        if caption and credit:
            photos.append(Photo(image, caption, credit, size[0], size[1]))
    return tuple(photos) if ok else None


# ------------------------------------------------------------------------------- entry


def load_edition(root: Path, *, limits: Limits = Limits()) -> Edition:
    """Read and validate the whole edition folder; raise `InputError` listing every problem."""
    root = root.resolve()
    out = _Collector(root)
    if not root.is_dir():
        out.add(root, "", "edition folder not found", "give the folder that holds edition.toml")
        raise InputError(out.problems)
    path = root / EDITION_FILE
    data = _load_toml(path, out, limits)
    if data is None:
        raise InputError(out.problems)
    f = _Fields(data, path, out)
    title = f.text("title", required=True, example='"Guernsey Press"')
    date = f.get("date", dt.date, "a date (YYYY-MM-DD, no quotes)", required=True, example="2019-12-30")
    if isinstance(date, dt.datetime):
        date = date.date()
    issue = f.get("issue", int, "a whole number", required=True, example="38511")
    price = f.text("price", required=True, example='"95p"')
    lang = f.text("lang") or "en-GB"
    tagline = f.text("tagline")
    grid = _load_grid(data.get("grid"), path, out)
    f.known["grid"] = "table"
    limits = _load_limits(data.get("limits"), path, out, limits)
    f.known["limits"] = "table"
    sections = _load_sections(data.get("sections"), path, out)
    pages = _load_pages(data.get("pages"), path, out, {s.id for s in sections})
    ads = _load_ads(data.get("ads"), path, out, root, grid, pages, limits)
    f.unknown(("sections", "pages", "ads"))

    story_dir = root / STORIES_DIR
    files = sorted(f for f in story_dir.glob("*.md") if not f.name.startswith(".")) if story_dir.is_dir() else []
    if files and not _inside(root, story_dir):
        out.add(story_dir, "", "the folder is a link to a folder outside the edition folder",
                "make stories/ a real folder inside the edition and copy the stories into it")
        files = []
    elif not files:
        out.add(story_dir, "", "no stories", "put the stories as .md files in the edition's stories/ folder")
    stories: list[Story] = []
    by_slug: dict[str, Path] = {}
    for file in files:
        story = load_story(file, root, {s.id for s in sections}, out, limits)
        if story is None:
            continue
        if story.slug in by_slug:
            out.add(file, "slug", f"slug '{story.slug}' is also used by {by_slug[story.slug].name}",
                    "give every story its own slug")
            continue
        by_slug[story.slug] = file
        stories.append(story)
    desk = None
    desk_path = root / FLATPLAN_FILE
    if desk_path.exists() or desk_path.is_symlink():
        # The desk's flatplan file (gp_print.desk), checked against everything above.
        from gp_print.desk import read_desk_plan

        desk_data = _load_toml(desk_path, out, limits)
        if desk_data is not None:
            desk = read_desk_plan(desk_path, desk_data, out, grid=grid, pages=pages, ads=ads, stories=stories)
    if out.problems:
        raise InputError(out.problems)
    assert isinstance(date, dt.date) and isinstance(issue, int)
    return Edition(
        root=root, title=title, date=date, issue=issue, price=price, lang=lang, tagline=tagline,
        grid=grid, sections=sections, pages=pages, ads=ads, stories=tuple(stories), desk=desk,
    )


"""Preflight: check press PDFs the way a printing plant does, whoever made them.

Nothing here trusts how a file was produced.  Each PDF is read with pypdf and every page is
walked — content streams, form XObjects, patterns, shadings, images, fonts, annotations — and
rasterised to CMYK with Ghostscript to measure ink.  Checks, per page:

* **PDF/X** — a PDF/X version key (Info or XMP), an output intent (GTS_PDFX) carrying a CMYK
  output profile, Trapped set, a file ID; the PDF version the variant allows; for PDF/X-1a and
  X-3 no transparency, for X-1a no ICC-based colour;
* **boxes** — TrimBox and BleedBox present, MediaBox ⊇ BleedBox ⊇ TrimBox, bleed at least
  3 mm on every side;
* **fonts** — every font used is embedded;
* **colour** — no RGB or Lab colour anywhere (DeviceRGB, CalRGB, ICC-based RGB, Lab, in
  colour operators, images, shadings, patterns, transparency groups), no spot colours, no
  annotations; black text should be one ink (a warning otherwise);
* **images** — effective resolution of every image at its placed size (from the content
  stream's transformation matrix); below 150 ppi is a warning;
* **ink** — total area coverage C+M+Y+K of the rendered page (Ghostscript, 72 dpi CMYK, so one
  pixel is a 0.35 mm square) must not exceed the ink limit (240 %).

A page passes, warns (it prints, but a person should look) or fails.  `build` runs this on the
staged pages before they are moved into the output folder; `gp-print preflight` runs it on
any folder of press PDFs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from gp_print.colour import DEFAULT_PRESS, Fit, PressSettings, max_ink, placed_ppi
from gp_print.errors import GPPrintError
from gp_print.model import PT_PER_MM, Edition
from gp_print.writer import atomic_write_text

#: Resolution of the ink raster (dpi): one pixel ≈ 0.35 mm.
INK_DPI = 72
PRESS_PAGE = re.compile(r"-P\d+\.pdf$", re.IGNORECASE)
#: The plate manifest written beside the press pages.
PLATES_FILE = "plates.json"
_PROCESS_INKS = {"Cyan", "Magenta", "Yellow", "Black", "All", "None"}
_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class PreflightError(GPPrintError):
    """A press PDF failed preflight: the plant would reject it."""


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str = ""


@dataclass
class PageReport:
    """The preflight of one page of one PDF."""

    file: Path
    page: int
    checks: list[Check] = field(default_factory=list)
    pdfx: str = ""
    max_tac: float | None = None
    min_ppi: float | None = None
    images: int = 0
    colour: bool = False

    @property
    def status(self) -> Status:
        states = {c.status for c in self.checks}
        return Status.FAIL if Status.FAIL in states else Status.WARN if Status.WARN in states else Status.PASS

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def problems(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.status is not Status.PASS]


@dataclass(frozen=True)
class PreflightResult:
    pages: tuple[PageReport, ...]

    @property
    def passed(self) -> bool:
        return all(p.status is not Status.FAIL for p in self.pages)

    @property
    def failures(self) -> tuple[PageReport, ...]:
        return tuple(p for p in self.pages if p.status is Status.FAIL)

    def table(self) -> str:
        return format_table(self.pages)


# ------------------------------------------------------------------------------ entry points


def press_pdfs(folder: Path) -> list[Path]:
    """The press pages in an output folder (``…-P01.pdf`` …), in page order."""
    return sorted(p for p in folder.glob("*.pdf") if PRESS_PAGE.search(p.name))


def preflight(paths: Iterable[Path], settings: PressSettings = DEFAULT_PRESS) -> PreflightResult:
    """Check PDF files, and the press pages of any folders, among `paths`."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = press_pdfs(path)
            if not found:
                raise PreflightError(f"{path}: no press PDFs (…-P01.pdf …) in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise PreflightError(f"{path}: no such file or folder")
    reports: list[PageReport] = []
    for file in files:
        reports += preflight_file(file, settings)
    return PreflightResult(tuple(reports))


def preflight_file(path: Path, settings: PressSettings = DEFAULT_PRESS) -> list[PageReport]:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            return [PageReport(path, 1, [Check("file", Status.FAIL, "encrypted — the plant cannot open it")])]
        pages = list(reader.pages)
    except Exception as exc:  # pypdf raises many types for a damaged file
        return [PageReport(path, 1, [Check("file", Status.FAIL, f"not a readable PDF ({type(exc).__name__}: {exc})")])]
    if not pages:
        return [PageReport(path, 1, [Check("file", Status.FAIL, "no pages")])]
    version, pdfx_checks = _document_checks(reader)
    inks = _ink_raster(path, len(pages))
    reports = []
    for index, page in enumerate(pages):
        report = PageReport(path, index + 1, pdfx=version)
        walk = _Walker(reader)
        try:
            walk.page(page)
        except Exception as exc:  # a content stream pypdf cannot parse is a failure, not a crash
            report.checks.append(Check("content", Status.FAIL, f"cannot be read ({type(exc).__name__}: {exc})"))
        report.checks.append(_pdfx_check(version, pdfx_checks, walk))
        report.checks.append(_box_check(page, settings))
        report.checks.append(_font_check(walk))
        report.checks.append(_colour_check(page, walk))
        report.checks.append(_image_check(report, walk, settings))
        report.checks.append(_ink_check(report, inks[index] if index < len(inks) else None, settings))
        reports.append(report)
    return reports


@functools.cache
def _preflight_digest() -> str:
    """What a preflight result depends on besides the file: this code and Ghostscript's version."""
    import pypdf

    gs = shutil.which("gs")
    version = subprocess.run([gs, "--version"], capture_output=True, text=True, check=False).stdout if gs else ""
    digest = hashlib.sha256(f"1|gs {version.strip()}|pypdf {pypdf.__version__}|".encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def preflight_file_cached(path: Path, settings: PressSettings = DEFAULT_PRESS) -> list[PageReport]:
    """`preflight_file`, remembered under the PDF's sha256 (and the settings, this code and
    Ghostscript's version) in the cache folder's `preflight/`: an unchanged page is checked once."""
    import dataclasses
    import os

    from gp_print.cache import cache_dir

    if os.environ.get("GP_PRINT_NO_CACHE"):
        return preflight_file(path, settings)
    key = hashlib.sha256(path.read_bytes())
    key.update(repr(settings).encode())
    key.update(hashlib.sha256(settings.profile.read_bytes()).digest())
    key.update(_preflight_digest().encode())
    entry = cache_dir() / "preflight" / f"{key.hexdigest()[:40]}.json"
    try:
        records = json.loads(entry.read_text())
        return [PageReport(path, r["page"], [Check(c["name"], Status(c["status"]), c["detail"]) for c in r["checks"]],
                           r["pdfx"], r["max_tac"], r["min_ppi"], r["images"], r["colour"]) for r in records]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    reports = preflight_file(path, settings)
    records = []
    for report in reports:
        record = dataclasses.asdict(report)
        record.pop("file")
        records.append(record)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(entry, json.dumps(records))
    except OSError:
        pass  # a full or read-only cache never fails a build
    return reports


def format_table(reports: Sequence[PageReport]) -> str:
    """A fixed-width table: one line per page, then what is wrong with each failing page."""
    names = ["pdfx", "boxes", "fonts", "colour", "images", "ink"]
    head = f"{'file':<28} {'pg':>2}  {'PDF/X':<8} " + " ".join(f"{n:<6}" for n in names) + \
        f" {'TAC %':>6} {'min ppi':>7}  result"
    lines = [head, "-" * len(head)]
    for r in reports:
        marks = []
        for n in names:
            c = next((c for c in r.checks if c.name == n), None)
            marks.append(f"{(c.status.value if c else '-'):<6}")
        tac = f"{r.max_tac:.0f}" if r.max_tac is not None else "-"
        ppi = f"{r.min_ppi:.0f}" if r.min_ppi is not None else "-"
        lines.append(f"{r.file.name[:28]:<28} {r.page:>2}  {(r.pdfx or '-')[:8]:<8} " + " ".join(marks)
                     + f" {tac:>6} {ppi:>7}  {r.status.value.upper()}")
    details = [f"  {r.file.name} p{r.page}: {problem}" for r in reports for problem in r.problems()]
    if details:
        lines += ["", *details]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ ads, plates


def ad_warnings(edition: Edition, settings: PressSettings = DEFAULT_PRESS) -> list[str]:
    """Booked ads that will not print well, found before rendering: a PDF ad with RGB, Lab or
    spot colour or a font not embedded (the page would then fail preflight), a raster ad below
    the minimum resolution at its booked size."""
    from PIL import Image

    out = []
    grid = edition.grid
    for ad in edition.ads:
        name = f"ad {ad.file.name} ({ad.advertiser}, page {ad.page})"
        if ad.file.suffix.lower() == ".pdf":
            try:
                reader = PdfReader(ad.file)
                walk = _Walker(reader)
                walk.page(reader.pages[0])
            except Exception as exc:  # a damaged ad is the loader's business; say what we saw
                out.append(f"{name} cannot be checked ({type(exc).__name__}: {exc})")
                continue
            kinds = [k for k, found in (("RGB", walk.rgb), ("Lab", walk.lab), ("spot", walk.spot)) if found]
            if kinds:
                out.append(f"{name} uses {' and '.join(kinds)} colour — the press prints CMYK only, so the page "
                           "will fail preflight; ask the advertiser for a CMYK or greyscale PDF (PDF/X-1a)")
            if walk.unembedded_fonts:
                out.append(f"{name} does not embed {', '.join(sorted(walk.unembedded_fonts))} — ask the "
                           "advertiser for a PDF with every font embedded")
        else:
            with Image.open(ad.file) as image:
                width, height = image.size
            ppi = placed_ppi(width, height, grid.span_mm(ad.columns), ad.height_cm * 10, Fit.CONTAIN)
            if ppi < settings.min_ppi:
                out.append(f"{name} is {ppi:.0f} ppi at its booked size (below {settings.min_ppi:g}) — "
                           "ask the advertiser for larger artwork")
    return out


def plate_manifest(edition: Edition, files: Sequence[tuple[int, Path]], result: PreflightResult,
                   settings: PressSettings = DEFAULT_PRESS) -> dict[str, Any]:
    """What the plant's upload script checks delivery against: one entry per press page."""
    by_file = {r.file: r for r in result.pages}
    plates = []
    for number, path in files:
        data = path.read_bytes()
        report = by_file.get(path)
        plates.append({
            "page": number,
            "file": path.name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "colour": "colour" if report and report.colour else "mono",
            "preflight": report.status.value if report else "not checked",
            "problems": report.problems() if report else [],
            "max_tac_percent": round(report.max_tac, 1) if report and report.max_tac is not None else None,
            "min_image_ppi": round(report.min_ppi) if report and report.min_ppi is not None else None,
        })
    return {
        "edition": f"{edition.title} {edition.date.isoformat()}",
        "issue": edition.issue,
        "pdf_variant": settings.pdf_variant.upper().removeprefix("PDF/"),
        "output_intent": settings.profile.name,
        "ink_limit_percent": settings.ink_limit,
        "trim_mm": [edition.grid.trim_width_mm, edition.grid.trim_height_mm],
        "bleed_mm": edition.grid.bleed_mm,
        "plates": plates,
    }


def write_plates(path: Path, manifest: dict[str, Any]) -> Path:
    atomic_write_text(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return path


# ------------------------------------------------------------------------------ document


def _document_checks(reader: PdfReader) -> tuple[str, list[tuple[Status, str]]]:
    """The declared PDF/X version and what is wrong with the document as PDF/X."""
    problems: list[tuple[Status, str]] = []
    info: Any = _resolved(reader.trailer.get("/Info")) or DictionaryObject()
    root: Any = _resolved(reader.trailer["/Root"])
    xmp = b""
    if "/Metadata" in root:
        xmp = root["/Metadata"].get_object().get_data()
    version = str(info.get("/GTS_PDFXVersion", "")) or _xmp_value(xmp, "GTS_PDFXVersion")
    if not version.startswith("PDF/X-"):
        problems.append((Status.FAIL, "no PDF/X version key (GTS_PDFXVersion in Info or XMP)"))
    variant = version.removeprefix("PDF/X-").split(":")[0].lower()
    intents: Any = _resolved(root.get("/OutputIntents")) or []
    pdfx_intents = [i.get_object() for i in intents if i.get_object().get("/S") == "/GTS_PDFX"]
    if not pdfx_intents:
        problems.append((Status.FAIL, "no PDF/X output intent (/OutputIntents with /S /GTS_PDFX)"))
    for intent in pdfx_intents:
        if "/OutputConditionIdentifier" not in intent:
            problems.append((Status.FAIL, "output intent without OutputConditionIdentifier"))
        profile = intent.get("/DestOutputProfile")
        if profile is None:
            problems.append((Status.FAIL, "output intent without a profile (DestOutputProfile)"))
            continue
        data = profile.get_object().get_data()
        if data[16:20] != b"CMYK" or data[12:16] != b"prtr":
            problems.append((Status.FAIL, f"output intent profile is not a CMYK printer profile "
                             f"({data[12:16]!r}/{data[16:20]!r})"))
    trapped = str(info.get("/Trapped", "")) or _xmp_value(xmp, "Trapped")
    if trapped.lstrip("/") not in ("True", "False"):
        problems.append((Status.FAIL, "Trapped is not set to True or False"))
    if "/ID" not in reader.trailer:
        problems.append((Status.FAIL, "no file ID in the trailer"))
    pdf_version = str(root.get("/Version", "")).lstrip("/") or reader.pdf_header.removeprefix("%PDF-")
    allowed = {"4": "1.6", "1a": "1.4", "3": "1.4"}.get(variant)
    if allowed and _version_tuple(pdf_version) > _version_tuple(allowed):
        problems.append((Status.FAIL, f"PDF {pdf_version} is newer than PDF/X-{variant} allows ({allowed})"))
    if "/Encrypt" in reader.trailer:
        problems.append((Status.FAIL, "encrypted"))
    return version.removeprefix("PDF/"), problems


def _xmp_value(xmp: bytes, key: str) -> str:
    text = xmp.decode("utf-8", "replace")
    match = re.search(rf":{key}>([^<]*)<", text) or re.search(rf':{key}="([^"]*)"', text)
    return match.group(1).strip() if match else ""


def _version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.strip().split(".")[:2])
    except ValueError:
        return (9, 9)


def _pdfx_check(version: str, problems: list[tuple[Status, str]], walk: _Walker) -> Check:
    found = list(problems)
    variant = version.removeprefix("X-").split(":")[0].lower()
    if variant in ("1a", "3") and walk.transparency:
        found.append((Status.FAIL, f"transparency ({', '.join(sorted(walk.transparency))}) is not allowed in "
                      f"PDF/X-{variant}"))
    if variant == "1a" and walk.icc_spaces:
        found.append((Status.FAIL, "ICC-based colour is not allowed in PDF/X-1a"))
    return _combine("pdfx", found, version)


def _combine(name: str, found: list[tuple[Status, str]], ok_detail: str = "") -> Check:
    if not found:
        return Check(name, Status.PASS, ok_detail)
    status = Status.FAIL if any(s is Status.FAIL for s, _ in found) else Status.WARN
    return Check(name, status, "; ".join(dict.fromkeys(text for _, text in found)))


# ------------------------------------------------------------------------------ boxes


def _box_check(page: Any, settings: PressSettings) -> Check:
    found: list[tuple[Status, str]] = []
    media = _box(page, "/MediaBox")
    trim = _box(page, "/TrimBox")
    bleed = _box(page, "/BleedBox")
    if media is None:
        return Check("boxes", Status.FAIL, "no MediaBox")
    if trim is None:
        found.append((Status.FAIL, "no TrimBox (the finished page size)"))
    if bleed is None:
        found.append((Status.FAIL, "no BleedBox"))
    if trim and bleed:
        if not _contains(media, bleed):
            found.append((Status.FAIL, "BleedBox reaches outside the MediaBox"))
        if not _contains(bleed, trim):
            found.append((Status.FAIL, "TrimBox reaches outside the BleedBox"))
        else:
            least = min(trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3]) / PT_PER_MM
            if least < settings.min_bleed_mm - 0.01:
                found.append((Status.FAIL, f"bleed is {least:.2f} mm on one side, the plant needs "
                              f"{settings.min_bleed_mm:g} mm"))
    elif trim and not _contains(media, trim):
        found.append((Status.FAIL, "TrimBox reaches outside the MediaBox"))
    size = f"{(trim[2] - trim[0]) / PT_PER_MM:.0f}×{(trim[3] - trim[1]) / PT_PER_MM:.0f} mm" if trim else ""
    return _combine("boxes", found, size)


def _box(page: Any, key: str) -> tuple[float, float, float, float] | None:
    if key not in page and key != "/MediaBox":
        return None
    try:
        values = [float(v) for v in page[key]]  # /MediaBox may be inherited: pypdf resolves it
    except (KeyError, TypeError, ValueError):
        return None
    x0, y0, x1, y1 = values
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _contains(outer: tuple[float, ...], inner: tuple[float, ...], tol: float = 0.01) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


# ------------------------------------------------------------------------------ fonts, colour, images


def _font_check(walk: _Walker) -> Check:
    missing = sorted(walk.unembedded_fonts)
    if missing:
        return Check("fonts", Status.FAIL, f"not embedded: {', '.join(missing)}")
    return Check("fonts", Status.PASS, f"{len(walk.fonts)} embedded")


def _colour_check(page: Any, walk: _Walker) -> Check:
    found: list[tuple[Status, str]] = []
    for where in sorted(walk.rgb):
        found.append((Status.FAIL, f"RGB colour ({where})"))
    for where in sorted(walk.lab):
        found.append((Status.FAIL, f"Lab colour ({where})"))
    for where in sorted(walk.spot):
        found.append((Status.FAIL, f"spot colour ({where}) — the press prints CMYK only"))
    for where in sorted(walk.unknown):
        found.append((Status.FAIL, f"colour space cannot be checked ({where})"))
    annots = page.get("/Annots")
    if annots is not None and len(annots.get_object()) > 0:
        found.append((Status.FAIL, f"{len(annots.get_object())} annotation(s) — a press page carries none"))
    if walk.rich_black_text:
        found.append((Status.WARN, f"{walk.rich_black_text} black text run(s) built from several inks — "
                      "black text should be 100 % K"))
    return _combine("colour", found, "CMYK/grey only")


def _image_check(report: PageReport, walk: _Walker, settings: PressSettings) -> Check:
    report.images = len(walk.image_ppi)
    if not walk.image_ppi:
        return Check("images", Status.PASS, "no images")
    report.min_ppi = min(ppi for _, ppi in walk.image_ppi)
    low = sorted({f"{name} {ppi:.0f} ppi" for name, ppi in walk.image_ppi if ppi < settings.min_ppi - 0.5})
    if low:
        return Check("images", Status.WARN, f"below {settings.min_ppi:g} ppi at placed size: {', '.join(low)}")
    return Check("images", Status.PASS, f"{report.images} image(s), lowest {report.min_ppi:.0f} ppi")


def _ink_check(report: PageReport, raster: Any, settings: PressSettings) -> Check:
    if raster is None:
        return Check("ink", Status.FAIL, "Ghostscript could not render the page")
    report.max_tac = max_ink(raster)
    report.colour = any(band.getextrema()[1] > 0 for band in raster.split()[:3])  # type: ignore[operator]
    if report.max_tac > settings.ink_limit + 0.2:
        return Check("ink", Status.FAIL, f"total ink {report.max_tac:.0f} % over the limit of {settings.ink_limit:g} %")
    return Check("ink", Status.PASS, f"max {report.max_tac:.0f} %")


def _ink_raster(path: Path, pages: int) -> list[Any]:
    """Every page of `path` rendered by Ghostscript to CMYK at INK_DPI (the BleedBox area)."""
    from PIL import Image

    gs = shutil.which("gs")
    if gs is None:
        raise PreflightError("Ghostscript (gs) is needed to measure ink coverage — install it "
                             "(apt-get install ghostscript; `make setup` does)")
    with tempfile.TemporaryDirectory(prefix="gp-preflight-") as scratch:
        pattern = Path(scratch) / "page-%04d.tif"
        run = subprocess.run(
            [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE", "-sDEVICE=tiff32nc",
             f"-r{INK_DPI}", "-dUseBleedBox", f"-sOutputFile={pattern}", str(path)],
            capture_output=True, text=True, timeout=300, check=False,
        )
        images: list[Any] = []
        for n in range(1, pages + 1):
            file = Path(scratch) / f"page-{n:04d}.tif"
            if not file.is_file() or "Could not draw this page" in run.stderr:
                images.append(None)
                continue
            with Image.open(file) as image:
                image.load()
                images.append(image.copy())
    return images


# ------------------------------------------------------------------------------ the walk


def _mul(m: _Matrix, n: _Matrix) -> _Matrix:
    """m × n (m applied first)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


class _Walker:
    """Walks a page's drawing: what colour spaces, fonts and images it uses, and where."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.rgb: set[str] = set()
        self.lab: set[str] = set()
        self.spot: set[str] = set()
        self.unknown: set[str] = set()
        self.icc_spaces: set[str] = set()
        self.transparency: set[str] = set()
        self.fonts: set[str] = set()
        self.unembedded_fonts: set[str] = set()
        self.image_ppi: list[tuple[str, float]] = []
        self.rich_black_text = 0
        self._seen_forms: set[tuple[int, _Matrix]] = set()
        self._seen_fonts: set[int] = set()

    # -- colour spaces

    def colour_space(self, space: Any, resources: Any, where: str) -> str:
        """Record and return the kind of a colour space: gray, cmyk, rgb, lab, spot, pattern."""
        kind = self._kind(space, resources, where)
        {"rgb": self.rgb, "lab": self.lab, "spot": self.spot, "unknown": self.unknown}.get(kind, set()).add(where)
        return kind

    def _kind(self, space: Any, resources: Any, where: str) -> str:
        space = space.get_object() if isinstance(space, IndirectObject) else space
        if isinstance(space, (NameObject, str)):
            name = str(space)
            device = {"/DeviceGray": "gray", "/G": "gray", "/CalGray": "gray", "/DeviceCMYK": "cmyk", "/CMYK": "cmyk",
                      "/DeviceRGB": "rgb", "/RGB": "rgb", "/CalRGB": "rgb", "/Lab": "lab", "/Pattern": "pattern",
                      "/I": "indexed"}
            if name in device:
                return device[name]
            named = _resource(resources, "/ColorSpace", name)
            if named is None:
                return "unknown"
            return self._kind(named, None, where)
        if isinstance(space, ArrayObject) and space:
            family = str(space[0])
            if family in ("/CalRGB",):
                return "rgb"
            if family in ("/CalGray",):
                return "gray"
            if family == "/Lab":
                return "lab"
            if family == "/ICCBased":
                stream = space[1].get_object()
                self.icc_spaces.add(where)
                n = int(stream.get("/N", 0))
                data = stream.get_data()
                if data[16:20] == b"Lab ":
                    return "lab"
                return {1: "gray", 3: "rgb", 4: "cmyk"}.get(n, "unknown")
            if family in ("/Indexed", "/I"):
                return self._kind(space[1], resources, where)
            if family == "/Pattern":
                return self._kind(space[1], resources, where) if len(space) > 1 else "pattern"
            if family == "/Separation":
                ink = str(space[1]).lstrip("/")
                return "cmyk" if ink in _PROCESS_INKS else self._spot(ink, where)
            if family == "/DeviceN":
                inks = [str(n).lstrip("/") for n in space[1].get_object()]
                others = [i for i in inks if i not in _PROCESS_INKS]
                return self._spot(", ".join(others), where) if others else "cmyk"
            return self._kind(space[0], resources, where)
        return "unknown"

    def _spot(self, ink: str, where: str) -> str:
        self.spot.add(f"{ink} in {where}")
        return "cmyk"  # recorded as a spot; not also counted as unknown

    # -- fonts

    def font(self, font: Any) -> None:
        ref = font.indirect_reference.idnum if getattr(font, "indirect_reference", None) else id(font)
        if ref in self._seen_fonts:
            return
        self._seen_fonts.add(ref)
        name = str(font.get("/BaseFont", "/Type3")).lstrip("/")
        self.fonts.add(name)
        subtype = font.get("/Subtype")
        if subtype == "/Type3":
            for value in _fonts(_resolved(font.get("/Resources"))):
                self.font(value)
            return
        target = font
        if subtype == "/Type0":
            target = font["/DescendantFonts"][0].get_object()
        descriptor = target.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else None
        if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            self.unembedded_fonts.add(name)

    # -- drawing

    def page(self, page: Any) -> None:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else DictionaryObject()
        group = page.get("/Group")
        if group is not None:
            self._group(group.get_object(), resources, "page group")
        contents = page.get_contents()
        if contents is not None:
            self._run(_operations(contents, self.reader), resources, _IDENTITY, "page")
        for font in _fonts(resources):
            self.font(font)

    def _group(self, group: Any, resources: Any, where: str) -> None:
        if group.get("/S") == "/Transparency":
            self.transparency.add(where)
            if "/CS" in group:
                self.colour_space(group["/CS"], resources, f"blending space of {where}")

    def _run(self, operations: list[Any], resources: Any, ctm: _Matrix, where: str) -> None:
        stack: list[tuple[_Matrix, str, str]] = []
        fill_kind, stroke_kind = "gray", "gray"
        fill_value: list[float] = [0.0]
        for operands, op in operations:
            if op == b"q":
                stack.append((ctm, fill_kind, stroke_kind))
            elif op == b"Q":
                if stack:
                    ctm, fill_kind, stroke_kind = stack.pop()
            elif op == b"cm":
                ctm = _mul(tuple(float(v) for v in operands), ctm)  # type: ignore[arg-type]
            elif op in (b"rg", b"RG"):
                self.rgb.add(f"{where} '{op.decode()}' operator")
                if op == b"rg":
                    fill_kind = "rgb"
            elif op == b"k":
                fill_kind, fill_value = "cmyk", [float(v) for v in operands]
            elif op == b"g":
                fill_kind, fill_value = "gray", [float(v) for v in operands]
            elif op in (b"K", b"G"):
                stroke_kind = "cmyk" if op == b"K" else "gray"
            elif op in (b"cs", b"CS"):
                kind = self.colour_space(operands[0], resources, f"{where} colour space {operands[0]}")
                if op == b"cs":
                    fill_kind, fill_value = kind, []
                else:
                    stroke_kind = kind
            elif op in (b"sc", b"scn", b"SC", b"SCN"):
                if operands and isinstance(operands[-1], NameObject):
                    self._pattern(operands[-1], resources, ctm, where)
                elif op in (b"sc", b"scn"):
                    fill_value = [float(v) for v in operands]
            elif op == b"sh":
                shading = _resource(resources, "/Shading", operands[0])
                if shading is not None:
                    self.colour_space(shading.get_object().get("/ColorSpace"), resources,
                                      f"{where} shading {operands[0]}")
            elif op == b"gs":
                self._ext_gstate(_resource(resources, "/ExtGState", operands[0]), resources, where)
            elif op == b"Do":
                self._xobject(operands[0], resources, ctm, where)
            elif op == b"INLINE IMAGE":
                self._inline_image(operands, resources, ctm, where)
            elif op in (b"Tj", b"TJ", b"'", b'"') and fill_kind == "cmyk" and len(fill_value) == 4:
                c, m, y, k = fill_value
                if k >= 0.9 and c + m + y > 0.05:
                    self.rich_black_text += 1

    def _ext_gstate(self, state: Any, resources: Any, where: str) -> None:
        if state is None:
            return
        state = state.get_object()
        for key in ("/CA", "/ca"):
            if key in state and float(state[key]) < 1:
                self.transparency.add(f"opacity in {where}")
        if str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible"):
            self.transparency.add(f"blend mode in {where}")
        mask = state.get("/SMask")
        if mask is not None and str(mask) != "/None":
            self.transparency.add(f"soft mask in {where}")
            group = mask.get_object().get("/G")
            if group is not None:
                self._form(group.get_object(), resources, _IDENTITY, f"soft mask in {where}")

    def _pattern(self, name: Any, resources: Any, ctm: _Matrix, where: str) -> None:
        pattern = _resource(resources, "/Pattern", name)
        if pattern is None:
            return
        pattern = pattern.get_object()
        label = f"{where} pattern {name}"
        if int(pattern.get("/PatternType", 1)) == 2:
            shading = pattern.get("/Shading")
            if shading is not None:
                self.colour_space(shading.get_object().get("/ColorSpace"), resources, label)
        else:
            self._form(pattern, resources, ctm, label)

    def _xobject(self, name: Any, resources: Any, ctm: _Matrix, where: str) -> None:
        xobject = _resource(resources, "/XObject", name)
        if xobject is None:
            self.unknown.add(f"missing XObject {name} in {where}")
            return
        obj = xobject.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            self._image(obj, resources, ctm, f"image {name}")
        elif subtype == "/Form":
            key = xobject.idnum if isinstance(xobject, IndirectObject) else id(obj)
            if (key, ctm) in self._seen_forms:
                return
            self._seen_forms.add((key, ctm))
            self._form(obj, resources, ctm, f"form {name}")

    def _form(self, form: Any, parent_resources: Any, ctm: _Matrix, where: str) -> None:
        resources = form.get("/Resources")
        resources = resources.get_object() if resources is not None else parent_resources
        matrix = tuple(float(v) for v in form.get("/Matrix", _IDENTITY))
        if "/Group" in form:
            self._group(form["/Group"].get_object(), resources, where)
        for font in _fonts(resources):
            self.font(font)
        if isinstance(form, StreamObject):
            self._run(_operations(form, self.reader), resources, _mul(matrix, ctm), where)  # type: ignore[arg-type]

    def _image(self, image: Any, resources: Any, ctm: _Matrix, where: str) -> None:
        if str(image.get("/ImageMask", "false")).lower() == "true":
            return  # a stencil: painted in the fill colour, already checked
        space = image.get("/ColorSpace")
        if space is None:
            if image.get("/Filter") == "/JPXDecode":
                self.unknown.add(f"{where} (JPEG 2000 without a colour space)")
            else:
                self.unknown.add(f"{where} (no colour space)")
        else:
            self.colour_space(space, resources, where)
        if "/SMask" in image:
            self.transparency.add(f"soft mask of {where}")
        self._resolution(int(image.get("/Width", 0)), int(image.get("/Height", 0)), ctm, where)

    def _inline_image(self, operands: Any, resources: Any, ctm: _Matrix, where: str) -> None:
        settings = operands.get("settings", {}) if isinstance(operands, dict) else {}
        if str(settings.get("/IM", settings.get("/ImageMask", "false"))).lower() == "true":
            return
        space = settings.get("/CS", settings.get("/ColorSpace"))
        label = f"inline image in {where}"
        if space is None:
            self.unknown.add(label)
        else:
            self.colour_space(space, resources, label)
        self._resolution(int(settings.get("/W", settings.get("/Width", 0))),
                         int(settings.get("/H", settings.get("/Height", 0))), ctm, label)

    def _resolution(self, width_px: int, height_px: int, ctm: _Matrix, where: str) -> None:
        if width_px < 16 or height_px < 16:
            return  # rules, dots and other decorations drawn as tiny images
        a, b, c, d, _, _ = ctm
        width_in = math.hypot(a, b) / 72
        height_in = math.hypot(c, d) / 72
        if width_in <= 0 or height_in <= 0:
            return
        self.image_ppi.append((f"{where} ({width_px}×{height_px} px)", min(width_px / width_in, height_px / height_in)))


# ------------------------------------------------------------------------------ content streams
#
# pypdf's content-stream parser builds an object for every string of every TJ array: half of a
# page's preflight went on it.  The walker needs only the operators and the numbers and names
# given to a few of them, so a page is read with one regular expression instead; strings,
# arrays and dictionaries are skipped whole.  A stream with an inline image (BI … ID … EI: raw
# bytes that no tokenizer can skip safely) or anything this reader does not understand is
# handed to pypdf, so nothing is ever dropped unread.

_WS = rb"\x00\t\n\x0c\r "
_DELIMS = rb"()<>\[\]{}/%"
_TOKEN = re.compile(
    rb"(?P<ws>[" + _WS + rb"]+)"
    rb"|(?P<comment>%[^\r\n]*)"
    rb"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))(?![^" + _WS + _DELIMS + rb"])"
    rb"|(?P<name>/[^" + _WS + _DELIMS + rb"]*)"
    rb"|(?P<open><<|\[)"
    rb"|(?P<close>>>|\])"
    rb"|(?P<hex><[0-9A-Fa-f" + _WS + rb"]*>)"
    rb"|(?P<string>\()"
    rb"|(?P<word>[^" + _WS + _DELIMS + rb"]+)"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_SKIPPED = object()  # an operand the walker never looks at: a string, an array, a dictionary


def _operations(stream: Any, reader: PdfReader) -> list[tuple[list[Any], bytes]]:
    """The (operands, operator) pairs of a page's or form's content stream, as pypdf's
    `ContentStream.operations` gives them for what the walker reads."""
    data = stream.get_data()
    found = _fast_operations(data)
    if found is not None:
        return found
    from pypdf.generic import ContentStream

    return ContentStream(stream, reader).operations  # type: ignore[no-any-return]


def _string_end(data: bytes, start: int) -> int | None:
    """Where the literal string opening at `start` ends (after its closing parenthesis)."""
    depth, i, end = 0, start, len(data)
    while i < end:
        c = data[i]
        if c == 0x5C:  # backslash: the next byte is escaped
            i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _fast_operations(data: bytes) -> list[tuple[list[Any], bytes]] | None:
    """`_operations` by regular expression, or None when pypdf must read the stream."""
    operations: list[tuple[list[Any], bytes]] = []
    operands: list[Any] = []
    depth = 0  # inside an array or a dictionary
    pos, end = 0, len(data)
    match = _TOKEN.match
    while pos < end:
        m = match(data, pos)
        if m is None:
            return None
        kind = m.lastgroup
        pos = m.end()
        if kind == "ws" or kind == "comment":
            continue
        if kind == "string":
            after = _string_end(data, m.start())
            if after is None:
                return None
            pos = after
            if depth == 0:
                operands.append(_SKIPPED)
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                operands.append(_SKIPPED)
        elif depth:
            continue
        elif kind == "num":
            text = m.group()
            operands.append(float(text) if b"." in text else int(text))
        elif kind == "name":
            operands.append(NameObject(_NAME_ESCAPE.sub(lambda e: bytes([int(e.group(1), 16)]), m.group())
                                       .decode("utf-8", "surrogateescape")))
        elif kind == "hex":
            operands.append(_SKIPPED)
        else:
            word = m.group()  # (pypdf reads true, false and null here as operators too)
            if word in (b"BI", b"ID", b"EI"):
                return None  # an inline image: pypdf knows where its bytes end
            else:
                operations.append((operands, word))
                operands = []
    if depth:
        return None
    return operations


def _resolved(obj: Any) -> Any:
    return obj.get_object() if obj is not None and hasattr(obj, "get_object") else obj


def _fonts(resources: Any) -> list[Any]:
    """The font dictionaries of a resource dictionary."""
    fonts = _resolved(resources.get("/Font")) if resources is not None else None
    return [_resolved(f) for f in fonts.values()] if fonts else []


def _resource(resources: Any, category: str, name: Any) -> Any:
    if resources is None:
        return None
    resources = resources.get_object()
    group = resources.get(category)
    if group is None:
        return None
    group = group.get_object()
    key = name if isinstance(name, str) else str(name)
    return group.raw_get(key) if key in group else None

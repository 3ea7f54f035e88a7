"""Colour and resolution: every picture made ready for the page it is printed on.

Two renditions of each placed picture (a photo or a raster ad) are made before a page is
rendered, each at the size it is placed at:

* **press** — converted with LittleCMS (Pillow's ImageCms) from the picture's own profile
  (its embedded ICC profile, else sRGB) to the paper's CMYK newsprint profile
  (`layouts/colour/`), perceptual intent with black point compensation, so the profile's total
  ink limit (240 %) holds; resampled to the plant's resolution (200 ppi) at its placed size;
  saved as a CMYK JPEG.  A greyscale picture stays greyscale: it prints in black ink only.
* **screen** — for the readers' e-edition: sRGB, about 150 ppi, JPEG.

Nothing is ever enlarged: a picture with fewer pixels than that keeps them (and `build` warns
below 150 ppi).  Renditions are cached in ``$XDG_CACHE_HOME/gp-print/press-images/`` under a
hash of the source bytes, the target size, the profile and the settings, so a rebuild converts
only what changed; files appear there atomically, so concurrent builds can share the folder.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageMath, ImageOps

from gp_print.errors import GPPrintError
from gp_print.paths import LAYOUTS_DIR
from gp_print.writer import atomic_write_bytes

#: The newsprint CMYK profile shipped with gp-print (how it was made: layouts/colour/README.md).
NEWSPRINT_PROFILE = LAYOUTS_DIR / "colour" / "gp-newsprint-tr002.icc"
MM_PER_INCH = 25.4
#: Bump when the way renditions are made changes, so old cache entries are not reused.
_RENDITION_VERSION = "2"
PDF_VARIANTS = ("pdf/x-4", "pdf/x-3", "pdf/x-1a")


@dataclass(frozen=True)
class PressSettings:
    """What the printing plant asks for.  The defaults are the Guernsey Press plant's."""

    #: PDF/X flavour of the press pages: "pdf/x-4" (default), or "pdf/x-3" / "pdf/x-1a".
    pdf_variant: str = "pdf/x-4"
    #: CMYK output profile: the press condition, embedded as the PDF/X output intent.
    profile: Path = NEWSPRINT_PROFILE
    #: Total area coverage allowed (C + M + Y + K, per cent): ISOnewspaper26 / IFRA26.
    ink_limit: float = 240.0
    #: Resolution pictures are resampled to at their placed size (pixels per inch).
    press_ppi: float = 200.0
    #: Below this effective resolution a picture is a warning (and a preflight failure).
    min_ppi: float = 150.0
    press_jpeg_quality: int = 90
    #: Bleed the plant needs beyond the trim on every side (mm).
    min_bleed_mm: float = 3.0
    #: Pictures in the e-edition: resolution and JPEG quality.
    screen_ppi: float = 150.0
    screen_jpeg_quality: int = 75

    def __post_init__(self) -> None:
        if self.pdf_variant not in PDF_VARIANTS:
            raise GPPrintError(f"PDF variant '{self.pdf_variant}' is not supported — use one of "
                               f"{', '.join(PDF_VARIANTS)}")


DEFAULT_PRESS = PressSettings()


class Fit(StrEnum):
    """How a picture fills its frame (the CSS object-fit of the frame's img)."""

    COVER = "cover"      # photos: fill the frame, crop the overhang
    CONTAIN = "contain"  # ads: the whole artwork, inside the booked space


@dataclass(frozen=True)
class Rendition:
    path: Path
    width_px: int
    height_px: int
    #: Effective resolution of the rendition at its placed size.
    ppi: float
    mode: str


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gp-print" / "press-images"


def placed_ppi(width_px: int, height_px: int, box_w_mm: float, box_h_mm: float, fit: Fit) -> float:
    """Pixels per inch of a picture drawn into a box (scaled as object-fit does)."""
    if box_w_mm <= 0 or box_h_mm <= 0:
        return 0.0
    across = width_px / (box_w_mm / MM_PER_INCH)
    down = height_px / (box_h_mm / MM_PER_INCH)
    return min(across, down) if fit is Fit.COVER else max(across, down)


def _target_size(size: tuple[int, int], box_mm: tuple[float, float], fit: Fit, ppi: float) -> tuple[int, int]:
    now = placed_ppi(size[0], size[1], box_mm[0], box_mm[1], fit)
    if now <= ppi:
        return size
    scale = ppi / now
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


@cache
def _profile_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GPPrintError(f"colour profile {path} cannot be read ({exc.strerror}) — the press pages need it; "
                           "see layouts/colour/README.md") from None


@cache
def output_profile(path: Path) -> ImageCms.ImageCmsProfile:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(_profile_bytes(path)))
    if profile.profile.xcolor_space.strip() != "CMYK":
        raise GPPrintError(f"colour profile {path} is not a CMYK output profile — give the press's CMYK profile")
    return profile


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@cache
def _transform(source_icc: bytes | None, dest: str, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform:
    """A LittleCMS transform; `dest` is a CMYK profile path, or "srgb"."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(source_icc)) if source_icc else _srgb()
    target = _srgb() if dest == "srgb" else output_profile(Path(dest))
    return ImageCms.buildTransform(source, target, in_mode, out_mode,
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL,
                                   flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)


def max_ink(image: Image.Image) -> float:
    """Highest total ink (C + M + Y + K, per cent) of any pixel of a CMYK image."""
    c, m, y, k = image.split()
    total = ImageMath.lambda_eval(lambda a: a["c"] + a["m"] + a["y"] + a["k"], c=c, m=m, y=y, k=k)
    return float(total.getextrema()[1]) * 100 / 255  # type: ignore[index]


def limit_ink(image: Image.Image, limit: float) -> Image.Image:
    """Take cyan, magenta and yellow down in proportion wherever C + M + Y + K exceeds `limit`
    (black is kept: it carries the detail).  A profile conversion already stays inside its
    limit; this is the guard for CMYK pictures that arrive without a profile."""
    if max_ink(image) <= limit:
        return image
    cap = limit * 255 / 100
    c, m, y, k = image.split()
    cf, mf, yf, kf = (band.convert("F") for band in (c, m, y, k))

    def share(a: dict[str, Any]) -> Any:  # the share of C, M and Y each pixel keeps
        cmy = a["c"] + a["m"] + a["y"]
        excess = a["c"] + a["m"] + a["y"] + a["k"] - cap
        return a["max"](1.0 - a["max"](excess, 0.0) / a["max"](cmy, 1.0), 0.0)

    keep = ImageMath.lambda_eval(share, c=cf, m=mf, y=yf, k=kf)

    def scaled(band: Image.Image) -> Image.Image:
        out = ImageMath.lambda_eval(lambda a: a["band"] * a["keep"], band=band, keep=keep)
        return out.convert("L")  # type: ignore[union-attr]

    return Image.merge("CMYK", (scaled(cf), scaled(mf), scaled(yf), k))


def _open_flat(source: Path, at_least: tuple[int, int] | None = None) -> tuple[Image.Image, bytes | None]:
    """The picture as displayed (EXIF orientation applied), flattened onto white paper, in
    RGB, L or CMYK; and its embedded ICC profile, if any.  With `at_least` (width, height as
    displayed), a JPEG is decoded straight at the smallest of its 1/2, 1/4, 1/8 scales that is
    no smaller (libjpeg's draft mode: a camera picture for a two-column slot is decoded at a
    quarter of its pixels, not all of them)."""
    with Image.open(source) as opened:
        if at_least is not None and opened.format == "JPEG":
            width, height = at_least
            if opened.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # turned a quarter: stored on its side
                width, height = height, width
            opened.draft(opened.mode, (width, height))
        opened.load()
        icc = opened.info.get("icc_profile") or None
        image = ImageOps.exif_transpose(opened) or opened
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
        image = image.convert("L" if opened.mode in ("LA",) else "RGB")
    elif image.mode in ("1", "I;16", "I", "F"):
        image = image.convert("L")
        icc = None
    elif image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
        icc = None
    if icc and image.mode == "L":
        icc = None  # a grey picture prints in black alone; its grey profile is not needed
    return image, icc


def _key(kind: str, source_bytes: bytes, size: tuple[int, int], *parts: object) -> str:
    digest = hashlib.sha256()
    digest.update(f"{kind}|{_RENDITION_VERSION}|{size[0]}x{size[1]}|".encode())
    digest.update(hashlib.sha256(source_bytes).digest())
    for part in parts:
        digest.update(b"|")
        digest.update(part if isinstance(part, bytes) else str(part).encode())
    return digest.hexdigest()[:40]


def _display_size(source: Path) -> tuple[int, int]:
    with Image.open(source) as image:
        size = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def press_rendition(source: Path, box_mm: tuple[float, float], fit: Fit,
                    settings: PressSettings = DEFAULT_PRESS) -> Rendition:
    """The picture as the press prints it: CMYK (or grey) through the press profile, at the
    plant's resolution at `box_mm` (width, height of its frame), as a JPEG in the cache."""
    source_bytes = source.read_bytes()
    size = _target_size(_display_size(source), box_mm, fit, settings.press_ppi)
    profile = _profile_bytes(settings.profile)
    key = _key("press", source_bytes, size, hashlib.sha256(profile).digest(), settings.ink_limit,
               settings.press_jpeg_quality)
    path = cache_dir() / f"{key}.jpg"
    if not path.is_file():
        image, icc = _open_resized(source, size)
        if image.mode == "RGB":
            image = _transform(icc, str(settings.profile), "RGB", "CMYK").apply(image)
        elif image.mode == "CMYK" and icc:
            image = _transform(icc, str(settings.profile), "CMYK", "CMYK").apply(image)
        atomic_write_bytes(path, _press_jpeg(image, settings))
    return Rendition(path, size[0], size[1], placed_ppi(size[0], size[1], box_mm[0], box_mm[1], fit),
                     _image_mode(path))


def _press_jpeg(image: Image.Image, settings: PressSettings) -> bytes:
    """Encode for the press.  JPEG's rounding can lift a pixel a few per cent over the ink
    limit, so the encoded result is measured and, if it overshoots, encoded again from a
    picture limited that much lower."""
    cap = settings.ink_limit
    for _ in range(8):
        limited = limit_ink(image, cap) if image.mode == "CMYK" else image
        out = io.BytesIO()
        limited.save(out, "JPEG", quality=settings.press_jpeg_quality, dpi=(settings.press_ppi,) * 2)
        if image.mode != "CMYK":
            break
        with Image.open(io.BytesIO(out.getvalue())) as decoded:
            over = max_ink(decoded) - settings.ink_limit
        if over <= 0:
            break
        cap -= over + 1.0
    else:
        raise GPPrintError("could not keep a picture's total ink under the limit — report this as a gp-print bug")
    return out.getvalue()


def screen_rendition(source: Path, box_mm: tuple[float, float], fit: Fit,
                     settings: PressSettings = DEFAULT_PRESS) -> Rendition:
    """The picture as the e-edition shows it: sRGB (or grey), about `screen_ppi` at its size.
    A PDF (an ad) becomes a PNG of its page: the e-edition carries no CMYK."""
    if source.suffix.lower() == ".pdf":
        return _screen_pdf_rendition(source, box_mm, settings)
    source_bytes = source.read_bytes()
    size = _target_size(_display_size(source), box_mm, fit, settings.screen_ppi)
    key = _key("screen", source_bytes, size, settings.screen_jpeg_quality,
               hashlib.sha256(_profile_bytes(settings.profile)).digest())
    path = cache_dir() / f"{key}-screen.jpg"
    if not path.is_file():
        image, icc = _open_resized(source, size)
        if image.mode == "CMYK":
            # A CMYK picture without a profile is taken to be made for our press.
            profile = icc or _profile_bytes(settings.profile)
            image = _transform(profile, "srgb", "CMYK", "RGB").apply(image)
        elif image.mode == "RGB" and icc:
            image = _transform(icc, "srgb", "RGB", "RGB").apply(image)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=settings.screen_jpeg_quality, optimize=True)  # type: ignore[union-attr]
        atomic_write_bytes(path, out.getvalue())
    mode = "L" if _image_mode(path) == "L" else "RGB"
    return Rendition(path, size[0], size[1], placed_ppi(size[0], size[1], box_mm[0], box_mm[1], fit), mode)


def _image_mode(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def _open_resized(source: Path, size: tuple[int, int]) -> tuple[Image.Image, bytes | None]:
    """The picture flattened (upright, one layer, its ICC profile apart) at `size` pixels."""
    image, icc = _open_flat(source, at_least=size)
    if image.size != size:
        # Reduced by whole steps first, then Lanczos over the last factor of three or less:
        # the same picture to the eye, several times quicker for a big source.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image, icc


def _screen_pdf_rendition(source: Path, box_mm: tuple[float, float], settings: PressSettings) -> Rendition:
    import pypdfium2 as pdfium

    source_bytes = source.read_bytes()
    document = pdfium.PdfDocument(source_bytes)
    try:
        page = document[0]
        width_pt, height_pt = page.get_size()
        # Drawn whole inside the booked space (object-fit: contain), at screen_ppi there.
        scale = min(box_mm[0] / MM_PER_INCH * 72 / width_pt, box_mm[1] / MM_PER_INCH * 72 / height_pt)
        render_scale = scale * settings.screen_ppi / 72
        size = max(1, round(width_pt * render_scale)), max(1, round(height_pt * render_scale))
        path = cache_dir() / f"{_key('screen-pdf', source_bytes, size)}-screen.png"
        if not path.is_file():
            bitmap = page.render(scale=render_scale, fill_color=(255, 255, 255, 255))
            image = bitmap.to_pil().convert("RGB")
            if image.size != size:
                image = image.resize(size, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, "PNG", optimize=True)
            atomic_write_bytes(path, out.getvalue())
    finally:
        document.close()
    return Rendition(path, size[0], size[1], placed_ppi(size[0], size[1], box_mm[0], box_mm[1], Fit.CONTAIN), "RGB")

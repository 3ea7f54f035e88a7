"""Pictures made ready for press and screen: CMYK through the newsprint profile within the ink
limit at 200 ppi, greyscale kept to black ink, never enlarged, cached; sRGB at 150 ppi for the
e-edition."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tests.press.press_support import write_image, write_pdf

from gp_print import colour
from gp_print.colour import DEFAULT_PRESS, Fit, PressSettings, max_ink, press_rendition, screen_rendition
from gp_print.errors import GPPrintError


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "gp-print" / "press-images"


def gradient(path: Path, size: tuple[int, int] = (1200, 800)) -> Path:
    """Saturated colours and deep shadows: the pictures that push total ink highest."""
    image = Image.new("RGB", size)
    pixels = image.load()
    assert pixels is not None
    for x in range(size[0]):
        for y in range(size[1]):
            pixels[x, y] = (x * 255 // size[0], y * 255 // size[1], (x + y) % 256 // 3)
    image.save(path, quality=92)
    return path


def test_photo_becomes_cmyk_at_press_resolution_within_the_ink_limit(tmp_path: Path, own_cache: Path) -> None:
    box = (73.5, 40.0)  # two columns
    rendition = press_rendition(gradient(tmp_path / "photo.jpg"), box, Fit.COVER)
    assert rendition.path.parent == own_cache
    assert rendition.mode == "CMYK"
    assert rendition.ppi == pytest.approx(DEFAULT_PRESS.press_ppi, abs=1)
    with Image.open(rendition.path) as image:
        assert image.format == "JPEG" and image.mode == "CMYK"
        assert image.size == (rendition.width_px, rendition.height_px)
        # cover: the frame's width decides, 73.5 mm at 200 ppi
        assert image.width == round(73.5 / 25.4 * 200)
        assert max_ink(image) <= DEFAULT_PRESS.ink_limit


def test_plain_convert_would_break_the_ink_limit() -> None:
    """Why the profile matters: Pillow's naive RGB → CMYK puts 300 % on dark colours."""
    naive = Image.new("RGB", (8, 8), (20, 10, 10)).convert("CMYK")
    assert max_ink(naive) > 280


def test_greyscale_photo_stays_black_ink_only(tmp_path: Path) -> None:
    source = write_image(tmp_path / "grey.png", "L", (900, 600), 90)
    rendition = press_rendition(source, (73.5, 49.0), Fit.COVER)
    assert rendition.mode == "L"


def test_small_photo_is_not_enlarged(tmp_path: Path) -> None:
    source = gradient(tmp_path / "small.jpg", (300, 200))
    rendition = press_rendition(source, (150.0, 100.0), Fit.COVER)
    assert (rendition.width_px, rendition.height_px) == (300, 200)
    assert rendition.ppi == pytest.approx(300 / (150 / 25.4), abs=0.5)  # ≈ 51 ppi: build warns


def test_cmyk_without_profile_is_held_to_the_ink_limit(tmp_path: Path) -> None:
    source = write_image(tmp_path / "heavy.jpg", "CMYK", (400, 400), (230, 230, 230, 255), quality=95)
    rendition = press_rendition(source, (35.0, 35.0), Fit.COVER)
    with Image.open(rendition.path) as image:
        assert image.mode == "CMYK"
        assert max_ink(image) <= DEFAULT_PRESS.ink_limit
        assert image.getpixel((200, 200))[3] >= 250  # black is kept; C, M, Y give way  # type: ignore[index]


def test_renditions_are_cached_by_content_and_size(tmp_path: Path) -> None:
    source = gradient(tmp_path / "photo.jpg")
    first = press_rendition(source, (73.5, 40.0), Fit.COVER)
    stamp = first.path.stat().st_mtime_ns
    again = press_rendition(source, (73.5, 40.0), Fit.COVER)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    other_size = press_rendition(source, (35.0, 30.0), Fit.COVER)
    assert other_size.path != first.path
    other_ink = press_rendition(source, (73.5, 40.0), Fit.COVER, PressSettings(ink_limit=220))
    assert other_ink.path != first.path
    with Image.open(other_ink.path) as image:
        assert max_ink(image) <= 220


def test_screen_rendition_is_srgb_at_screen_resolution(tmp_path: Path) -> None:
    rendition = screen_rendition(gradient(tmp_path / "photo.jpg"), (73.5, 40.0), Fit.COVER)
    assert rendition.mode == "RGB"
    assert rendition.ppi == pytest.approx(DEFAULT_PRESS.screen_ppi, abs=1)
    with Image.open(rendition.path) as image:
        assert image.format == "JPEG" and image.mode == "RGB"


def test_pdf_ad_becomes_an_rgb_picture_for_the_screen(tmp_path: Path) -> None:
    ad = write_pdf(tmp_path / "ad.pdf", "<p>Sale now on</p>", css="p { color: device-cmyk(0 0.9 0.9 0) }")
    rendition = screen_rendition(ad, (112.0, 100.0), Fit.CONTAIN)
    with Image.open(rendition.path) as image:
        assert image.mode == "RGB"
        assert rendition.ppi == pytest.approx(DEFAULT_PRESS.screen_ppi, abs=2)


def test_unknown_pdf_variant_is_refused() -> None:
    with pytest.raises(GPPrintError, match="pdf/x-4"):
        PressSettings(pdf_variant="pdf/x-2")


def test_profile_is_a_cmyk_output_profile() -> None:
    profile = colour.output_profile(DEFAULT_PRESS.profile)
    assert profile.profile.xcolor_space.strip() == "CMYK"
    assert profile.profile.model == "CGATS TR 002"

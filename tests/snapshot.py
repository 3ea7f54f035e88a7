"""Image snapshot tests: compare a rendered page with a golden PNG.

Use in a test::

    from tests.snapshot import assert_matches_snapshot
    assert_matches_snapshot(rasterise(pdf, grey=True), GOLDENS / "front.png")

Goldens are greyscale PNGs (mode "L"); the actual image is converted to "L" before the
comparison.  Identical pixels pass at once.  Otherwise the images are compared with
pixelmatch (perceptual threshold, anti-aliased pixels not counted), only in the 128-pixel
tiles that hold a changed pixel, so a small change on a full page costs a fraction of a
second instead of the several seconds pure-Python pixelmatch takes for a whole page.

On failure ``actual.png``, ``expected.png`` and ``diff.png`` (red: counted difference, yellow:
anti-aliasing, ignored) go to ``tests/_failures/<golden stem>/``.

Refreshing goldens::

    GP_UPDATE_SNAPSHOTS=1 python -m pytest tests/...   # writes <golden stem>.new.png, skips
    python -m tests.snapshot status                    # lists pending new snapshots
    python -m tests.snapshot accept [--yes]            # shows the diffs, replaces the goldens
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont
from pixelmatch.contrib.PIL import pixelmatch

TESTS_DIR = Path(__file__).resolve().parent
#: Where failing comparisons leave their images; tests may point it elsewhere.
FAILURE_DIR = TESTS_DIR / "_failures"
UPDATE_ENV = "GP_UPDATE_SNAPSHOTS"
NEW_SUFFIX = ".new.png"

#: Default pixel budget, as a fraction of the image's pixels: 1 in 20,000 (0.005 %), i.e.
#: 86 pixels on a tabloid page at 100 dpi (1138 × 1496 trim).  Measured on such a page:
#: one headline letter changed (60 pt) counts 155 pixels, a body-text letter or punctuation
#: mark that shifts the rest of its line 130–300, a changed word ≈ 650; all fail.  0.1 %
#: (1 702 pixels) would pass every one of them.  A budget cannot absorb sub-pixel layout
#: drift: pdfium places glyphs on whole pixels, so moving a page's content by 0.01 pt
#: already counts ≈ 5 000 pixels.  What the budget absorbs is stray pixels, e.g. a photo
#: resampled by another Pillow version; a changed renderer or layout engine means new goldens.
DEFAULT_TOLERANCE = 0.00005
#: The budget is never below this many pixels (small test images).
MIN_DIFF_PIXELS = 10

_TILE = 128
# pixelmatch's anti-aliasing test looks two pixels away from a changed pixel and treats the
# image border specially; 4 pixels of context make a tile count exactly as the full image.
_CONTEXT = 4
_DIFF_ALPHA = 0.1  # how strongly diff.png shows the page under the red pixels (pixelmatch's)
_RED = (255, 0, 0)
_PANEL_GAP = 16
_FONT = TESTS_DIR.parent / "fonts" / "pt-sans" / "PT_Sans-Web-Regular.ttf"


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing two greyscale images."""

    diff_pixels: int | None  # None when the sizes differ
    diff_image: Image.Image  # RGB: the expected image faded, counted differences in red
    complete: bool = True  # false when counting stopped early (see compare_images)

    @property
    def size_mismatch(self) -> bool:
        return self.diff_pixels is None


def default_max_diff_pixels(size: tuple[int, int]) -> int:
    """The default pixel budget for an image of ``size``: 0.005 % of its pixels, at least 10."""
    return max(MIN_DIFF_PIXELS, math.ceil(size[0] * size[1] * DEFAULT_TOLERANCE))


def to_grey(image: Image.Image) -> Image.Image:
    """``image`` as mode "L", transparent parts laid on white."""
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def compare_images(
    expected: Image.Image,
    actual: Image.Image,
    *,
    threshold: float = 0.1,
    stop_after: int | None = None,
) -> Comparison:
    """Count the pixels of ``actual`` that differ from ``expected`` (both made greyscale).

    Counts exactly what pixelmatch counts on the whole image with ``includeAA=False``, but
    runs it only on tiles holding a pixel that changed by more than the threshold allows.
    With ``stop_after`` the count stops (``complete`` false) once it exceeds that number.
    """
    expected, actual = to_grey(expected), to_grey(actual)
    if expected.size != actual.size:
        return Comparison(None, _side_by_side([expected, actual]))
    diff = _faded(expected)
    if expected.tobytes() == actual.tobytes():
        return Comparison(0, diff)

    width, height = expected.size
    # pixelmatch counts a grey pixel when 0.5053 * d² > 35215 * threshold², i.e. when it
    # changed by d > 264 * threshold levels; tiles with no such pixel count nothing.
    limit = max(0, math.floor(threshold * math.sqrt(35215 / 0.5053)) - 1)
    changed = ImageChops.difference(expected, actual).point(lambda v: 255 if v > limit else 0)
    bbox = changed.getbbox()
    if bbox is None:
        return Comparison(0, diff)
    count = 0
    for top in range(bbox[1] - bbox[1] % _TILE, bbox[3], _TILE):
        for left in range(bbox[0] - bbox[0] % _TILE, bbox[2], _TILE):
            core = (left, top, min(left + _TILE, width), min(top + _TILE, height))
            if changed.crop(core).getbbox() is None:
                continue
            outer = (
                max(0, core[0] - _CONTEXT),
                max(0, core[1] - _CONTEXT),
                min(width, core[2] + _CONTEXT),
                min(height, core[3] + _CONTEXT),
            )
            piece = Image.new("RGBA", (outer[2] - outer[0], outer[3] - outer[1]))
            pixelmatch(
                expected.crop(outer),
                actual.crop(outer),
                piece,
                threshold=threshold,
                includeAA=False,
                alpha=_DIFF_ALPHA,
            )
            inner = piece.crop(
                (core[0] - outer[0], core[1] - outer[1], core[2] - outer[0], core[3] - outer[1])
            ).convert("RGB")
            count += _count_colour(inner, _RED)
            diff.paste(inner, core[:2])
            if stop_after is not None and count > stop_after:
                return Comparison(count, diff, complete=False)
    return Comparison(count, diff)


def new_snapshot_path(golden: Path) -> Path:
    """Where a refreshed snapshot for ``golden`` is written: ``<stem>.new.png`` beside it."""
    return golden.with_name(golden.stem + NEW_SUFFIX)


def golden_for(new_snapshot: Path) -> Path:
    """The golden a ``<stem>.new.png`` replaces."""
    return new_snapshot.with_name(new_snapshot.name[: -len(NEW_SUFFIX)] + ".png")


def assert_matches_snapshot(
    actual: Image.Image,
    golden: Path,
    *,
    max_diff_pixels: int | None = None,
    threshold: float = 0.1,
    failure_dir: Path | None = None,
) -> None:
    """Fail unless ``actual`` matches the greyscale golden PNG ``golden``.

    ``max_diff_pixels``: how many pixels may differ, after pixelmatch's perceptual
    ``threshold`` (0–1, smaller is stricter) and not counting anti-aliased pixels.  The
    default is 0.005 % of the image's pixels, at least 10 (86 pixels on a 100 dpi tabloid
    page; see ``DEFAULT_TOLERANCE``): room for a few stray pixels, too little for a changed
    headline letter or word.
    ``failure_dir`` defaults to the module's ``FAILURE_DIR`` (``tests/_failures``).

    With ``GP_UPDATE_SNAPSHOTS=1`` a missing or failing golden writes ``<stem>.new.png``
    beside it and skips the test; ``python -m tests.snapshot accept`` then replaces it.
    """
    golden = Path(golden)
    if golden.suffix != ".png" or golden.name.endswith(NEW_SUFFIX):
        raise ValueError(f"{golden}: a golden must be a .png not named *{NEW_SUFFIX}")
    image = to_grey(actual)
    updating = os.environ.get(UPDATE_ENV) == "1"
    failures = (FAILURE_DIR if failure_dir is None else failure_dir) / golden.stem
    this_test = os.environ.get("PYTEST_CURRENT_TEST", "<this test>").rsplit(" ", 1)[0]
    refresh = (
        f"If the change is intended: {UPDATE_ENV}=1 python -m pytest '{this_test}', then "
        "`python -m tests.snapshot accept`."
    )

    if not golden.exists():
        if updating:
            _new_snapshot(image, golden, "no golden yet")
        raise AssertionError(
            f"golden {golden} does not exist — create it with {UPDATE_ENV}=1 python -m pytest "
            f"'{this_test}', look at the .new.png written beside it, then "
            "`python -m tests.snapshot accept`"
        )

    with Image.open(golden) as stored:
        expected = to_grey(stored.copy())
    budget = default_max_diff_pixels(image.size) if max_diff_pixels is None else max_diff_pixels
    if expected.size == image.size and expected.tobytes() == image.tobytes():
        _clear_failures(failures)
        return
    # Refreshing only needs to know that the budget is exceeded: stop counting there.
    comparison = compare_images(expected, image, threshold=threshold, stop_after=budget if updating else None)
    if comparison.diff_pixels is not None and comparison.diff_pixels <= budget:
        _clear_failures(failures)
        return

    if comparison.diff_pixels is None:
        what = f"size differs: golden {_size(expected)}, actual {_size(image)}"
    else:
        share = budget / (image.width * image.height)
        counted = f"{comparison.diff_pixels}" if comparison.complete else f"more than {budget}"
        what = (
            f"{counted} pixels differ (pixelmatch threshold {threshold}), "
            f"tolerance {budget} pixels ({share:.3%} of {_size(image)})"
        )
    if updating:
        _new_snapshot(image, golden, what)

    save_png(image, failures / "actual.png")
    save_png(expected, failures / "expected.png")
    save_png(comparison.diff_image, failures / "diff.png")
    raise AssertionError(f"{golden.name}: {what}; actual.png, expected.png and diff.png are in {failures}. {refresh}")


def _new_snapshot(image: Image.Image, golden: Path, why: str) -> None:
    new = new_snapshot_path(golden)
    save_png(image, new)
    pytest.skip(
        f"{golden.name}: {why}; new snapshot written to {new}, review and accept with `python -m tests.snapshot accept`"
    )


def save_png(image: Image.Image, path: Path) -> None:
    """Write ``image`` as a PNG atomically, with no metadata (deterministic bytes)."""
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _clear_failures(folder: Path) -> None:
    """Remove images left by an earlier failure of a test that now passes."""
    for name in ("actual.png", "expected.png", "diff.png"):
        (folder / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # absent, or holds something else (an accept review)
        folder.rmdir()


def _faded(image: Image.Image) -> Image.Image:
    """The page as pixelmatch draws it under a diff: greyscale blended towards white."""
    return image.point(lambda v: int(255 + (v - 255) * _DIFF_ALPHA)).convert("RGB")


def _count_colour(image: Image.Image, colour: tuple[int, int, int]) -> int:
    masks = [band.point(lambda v, c=c: 255 if v == c else 0) for band, c in zip(image.split(), colour, strict=True)]
    both = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])
    return both.histogram()[255]


def _size(image: Image.Image) -> str:
    return f"{image.width}×{image.height}"


def _side_by_side(images: Sequence[Image.Image], labels: Sequence[str] = ()) -> Image.Image:
    """Images next to each other on mid grey, each under its label (repository font)."""
    font = (
        ImageFont.truetype(str(_FONT), 18, layout_engine=ImageFont.Layout.BASIC) if labels and _FONT.is_file() else None
    )
    label_height = 28 if font else 0
    width = sum(i.width for i in images) + _PANEL_GAP * (len(images) + 1)
    height = max(i.height for i in images) + label_height + 2 * _PANEL_GAP
    sheet = Image.new("RGB", (width, height), (128, 128, 128))
    draw = ImageDraw.Draw(sheet)
    x = _PANEL_GAP
    for index, image in enumerate(images):
        if font and index < len(labels):
            draw.text((x, _PANEL_GAP), labels[index], font=font, fill=(255, 255, 255))
        sheet.paste(image.convert("RGB"), (x, _PANEL_GAP + label_height))
        x += image.width + _PANEL_GAP
    return sheet


# ----------------------------------------------------------------------------------------
# python -m tests.snapshot status | accept [--yes]


def pending_snapshots(tests_dir: Path) -> list[Path]:
    """Every ``*.new.png`` under ``tests_dir``, outside its ``_failures`` folder."""
    failures = tests_dir / "_failures"
    return sorted(p for p in tests_dir.rglob(f"*{NEW_SUFFIX}") if failures not in p.parents and p.is_file())


def _review(new: Path, tests_dir: Path) -> str:
    """One line about a pending snapshot; writes its side-by-side review image."""
    golden = golden_for(new)
    with Image.open(new) as stored:
        image = to_grey(stored.copy())
    review = tests_dir / "_failures" / golden.stem / "side-by-side.png"
    if not golden.exists():
        save_png(_side_by_side([image], ["new (no golden yet)"]), review)
        return f"{_rel(golden, tests_dir)}: new golden, {_size(image)} — see {_rel(review, tests_dir)}"
    with Image.open(golden) as stored:
        expected = to_grey(stored.copy())
    comparison = compare_images(expected, image)
    if comparison.diff_pixels is None:
        what = f"size changes from {_size(expected)} to {_size(image)}"
        panels, labels = [expected, image], ["golden", "new"]
    else:
        what = f"{comparison.diff_pixels} differing pixels"
        panels, labels = [expected, image, comparison.diff_image], ["golden", "new", "diff"]
    save_png(_side_by_side(panels, labels), review)
    return f"{_rel(golden, tests_dir)}: {what} — see {_rel(review, tests_dir)}"


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base.parent))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--tests-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"the tests folder to search for *{NEW_SUFFIX} (default: {TESTS_DIR})",
    )
    parser = argparse.ArgumentParser(
        prog="python -m tests.snapshot",
        description="Review and accept new image snapshots.",
        parents=[where],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[where], help=f"list pending *{NEW_SUFFIX} snapshots")
    accept = commands.add_parser(
        "accept", parents=[where], help="show the diffs, then replace goldens with the new images"
    )
    accept.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)

    tests_dir: Path = getattr(args, "tests_dir", TESTS_DIR).resolve()
    pending = pending_snapshots(tests_dir)
    if not pending:
        print(f"No pending snapshots under {tests_dir}.")
        return 0
    if args.command == "status":
        print(f"{len(pending)} pending snapshot(s):")
        for new in pending:
            state = "changed" if golden_for(new).exists() else "new"
            print(f"  {_rel(new, tests_dir)} ({state})")
        print("Review and accept with `python -m tests.snapshot accept`.")
        return 0

    print(f"{len(pending)} pending snapshot(s):")
    for new in pending:
        print(f"  {_review(new, tests_dir)}")
    if not args.yes:
        try:
            answer = input(f"Replace {len(pending)} golden(s) with the new images? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing replaced.")
            return 1
    for new in pending:
        golden = golden_for(new)
        os.replace(new, golden)
        print(f"  accepted {_rel(golden, tests_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

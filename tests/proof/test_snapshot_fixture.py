"""The image snapshot fixture (tests/snapshot.py) and its accept/status command."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pixelmatch.contrib.PIL import pixelmatch
from tests import snapshot
from tests.snapshot import assert_matches_snapshot, compare_images

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Failure images go to a temporary folder; no refresh mode unless a test asks."""
    failures = tmp_path / "_failures"
    monkeypatch.setattr(snapshot, "FAILURE_DIR", failures)
    monkeypatch.delenv(snapshot.UPDATE_ENV, raising=False)
    return failures


def page_image(size: tuple[int, int] = (200, 300)) -> Image.Image:
    """A small greyscale 'page': a headline bar, text-like lines, a grey picture."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 190, 30), fill=0)
    for y in range(50, 250, 8):
        draw.line((10, y, 120, y), fill=40, width=2)
    draw.rectangle((130, 50, 190, 120), fill=150)
    return image


def golden_from(image: Image.Image, folder: Path, name: str = "front.png") -> Path:
    golden = folder / "goldens" / name
    snapshot.save_png(image, golden)
    return golden


def with_dots(image: Image.Image, count: int) -> Image.Image:
    """``image`` with ``count`` isolated black dots in its white area (real differences)."""
    changed = image.copy()
    for i in range(count):
        changed.putpixel((20 + 4 * (i % 20), 260 + 4 * (i // 20)), 0)
    return changed


def red_pixels(path: Path) -> int:
    with Image.open(path) as diff:
        data = diff.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(data), 3) if data[i : i + 3] == b"\xff\x00\x00")


# --- comparison --------------------------------------------------------------------------


def test_identical_image_passes(tmp_path: Path, isolated: Path) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    assert_matches_snapshot(image, golden)
    assert_matches_snapshot(image.convert("RGB"), golden)  # converted to L first
    assert not isolated.exists()


def test_goldens_are_greyscale_pngs(tmp_path: Path) -> None:
    golden = golden_from(page_image().convert("RGB"), tmp_path)
    snapshot.save_png(snapshot.to_grey(page_image().convert("RGB")), golden)
    with Image.open(golden) as stored:
        assert stored.mode == "L"


def test_default_tolerance() -> None:
    assert snapshot.default_max_diff_pixels((200, 300)) == 10  # floor for small images
    assert snapshot.default_max_diff_pixels((1138, 1496)) == 86  # 0.005 % of a tabloid page


def test_few_changed_pixels_pass_within_tolerance(tmp_path: Path, isolated: Path) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    changed = with_dots(image, 5)
    assert compare_images(image, changed).diff_pixels == 5
    assert_matches_snapshot(changed, golden)  # default budget: 10 pixels here
    assert_matches_snapshot(changed, golden, max_diff_pixels=5)
    assert not isolated.exists()


def test_changes_beyond_tolerance_fail_and_leave_images(tmp_path: Path, isolated: Path) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    changed = with_dots(image, 30)
    with pytest.raises(AssertionError) as failure:
        assert_matches_snapshot(changed, golden)
    message = str(failure.value)
    folder = isolated / "front"
    assert "30 pixels differ" in message
    assert "tolerance 10 pixels" in message
    assert str(folder) in message
    with Image.open(folder / "actual.png") as actual, Image.open(folder / "expected.png") as exp:
        assert actual.tobytes() == changed.tobytes()
        assert exp.tobytes() == image.tobytes()
    assert red_pixels(folder / "diff.png") == 30
    # A larger explicit budget lets it pass, and the stale failure images are cleared.
    assert_matches_snapshot(changed, golden, max_diff_pixels=30)
    assert not folder.exists()


def test_failure_folder_can_be_given_per_call(tmp_path: Path) -> None:
    golden = golden_from(page_image(), tmp_path)
    with pytest.raises(AssertionError):
        assert_matches_snapshot(with_dots(page_image(), 40), golden, failure_dir=tmp_path / "f")
    assert sorted(p.name for p in (tmp_path / "f" / "front").iterdir()) == [
        "actual.png",
        "diff.png",
        "expected.png",
    ]


def test_threshold_ignores_small_tone_changes(tmp_path: Path) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    lighter = image.point(lambda v: min(255, v + 12))  # below the 0.1 threshold (~26 levels)
    assert_matches_snapshot(lighter, golden, max_diff_pixels=0)
    with pytest.raises(AssertionError):
        assert_matches_snapshot(lighter, golden, max_diff_pixels=0, threshold=0.02)


def test_size_mismatch_fails(tmp_path: Path, isolated: Path) -> None:
    golden = golden_from(page_image(), tmp_path)
    with pytest.raises(AssertionError, match="size differs: golden 200×300, actual 201×300"):
        assert_matches_snapshot(page_image((201, 300)), golden, max_diff_pixels=10**9)
    assert (isolated / "front" / "diff.png").is_file()


def test_missing_golden_fails_and_says_how_to_create_it(tmp_path: Path) -> None:
    golden = tmp_path / "goldens" / "front.png"
    with pytest.raises(AssertionError, match="does not exist") as failure:
        assert_matches_snapshot(page_image(), golden)
    assert "GP_UPDATE_SNAPSHOTS=1 python -m pytest" in str(failure.value)
    assert "test_missing_golden_fails_and_says_how_to_create_it" in str(failure.value)
    assert not snapshot.new_snapshot_path(golden).exists()


def test_counting_matches_whole_image_pixelmatch() -> None:
    """The tiled comparison counts exactly what pixelmatch counts on the whole image."""
    rnd = random.Random(7)
    for _ in range(6):
        width, height = rnd.randint(40, 300), rnd.randint(40, 300)
        base = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(base)
        for _ in range(30):
            x, y = rnd.randrange(width), rnd.randrange(height)
            draw.line((x, y, x + rnd.randint(2, 40), y + rnd.randint(-3, 3)), fill=rnd.randrange(200))
        changed = base.copy()
        for _ in range(rnd.randint(1, 150)):
            changed.putpixel((rnd.randrange(width), rnd.randrange(height)), rnd.randrange(256))
        for threshold in (0.0, 0.1, 0.3):
            whole = pixelmatch(base, changed, None, threshold=threshold)
            assert compare_images(base, changed, threshold=threshold).diff_pixels == whole


# --- refreshing goldens ------------------------------------------------------------------


def test_update_mode_writes_new_snapshot_for_missing_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(snapshot.UPDATE_ENV, "1")
    golden = tmp_path / "goldens" / "front.png"
    with pytest.raises(pytest.skip.Exception, match=r"python -m tests\.snapshot accept"):
        assert_matches_snapshot(page_image().convert("RGB"), golden)
    new = tmp_path / "goldens" / "front.new.png"
    assert snapshot.new_snapshot_path(golden) == new
    assert not golden.exists()
    with Image.open(new) as written:
        assert written.mode == "L" and written.tobytes() == page_image().tobytes()


def test_update_mode_writes_new_snapshot_for_differing_golden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    before = golden.read_bytes()
    monkeypatch.setenv(snapshot.UPDATE_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="new snapshot written") as skipped:
        assert_matches_snapshot(with_dots(image, 40), golden)
    assert "more than 10 pixels differ" in str(skipped.value)  # counting stopped early
    assert golden.read_bytes() == before
    assert snapshot.new_snapshot_path(golden).is_file()
    assert not isolated.exists()  # not a failure: no failure images


def test_update_mode_leaves_matching_goldens_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = page_image()
    golden = golden_from(image, tmp_path)
    monkeypatch.setenv(snapshot.UPDATE_ENV, "1")
    assert_matches_snapshot(image, golden)
    assert_matches_snapshot(with_dots(image, 3), golden)  # within tolerance: still a pass
    assert not snapshot.new_snapshot_path(golden).exists()


def pending_setup(tmp_path: Path) -> tuple[Path, Path, Image.Image, Image.Image]:
    """A tests folder with one changed golden and one brand-new snapshot pending."""
    tests_dir = tmp_path / "tests"
    old = page_image()
    new = with_dots(old, 25)
    changed = golden_from(old, tests_dir / "proof", "front.png")
    snapshot.save_png(new, snapshot.new_snapshot_path(changed))
    snapshot.save_png(old, tests_dir / "site" / "goldens" / "index.new.png")
    return tests_dir, changed, old, new


def test_accept_yes_replaces_goldens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tests_dir, golden, _, new = pending_setup(tmp_path)
    assert snapshot.main(["accept", "--yes", "--tests-dir", str(tests_dir)]) == 0
    out = capsys.readouterr().out
    assert "25 differing pixels" in out
    assert "new golden" in out
    with Image.open(golden) as accepted:
        assert accepted.tobytes() == new.tobytes()
    assert (tests_dir / "site" / "goldens" / "index.png").is_file()
    assert snapshot.pending_snapshots(tests_dir) == []
    review = tests_dir / "_failures" / "front" / "side-by-side.png"
    with Image.open(review) as sheet:
        assert sheet.width > 3 * 200 and red_pixels(review) == 25


def test_accept_asks_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tests_dir, golden, old, _ = pending_setup(tmp_path)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert snapshot.main(["accept", "--tests-dir", str(tests_dir)]) == 1
    assert "Nothing replaced" in capsys.readouterr().out
    with Image.open(golden) as kept:
        assert kept.tobytes() == old.tobytes()
    assert len(snapshot.pending_snapshots(tests_dir)) == 2

    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert snapshot.main(["--tests-dir", str(tests_dir), "accept"]) == 0
    assert snapshot.pending_snapshots(tests_dir) == []


def test_status_lists_pending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tests_dir, *_ = pending_setup(tmp_path)
    assert snapshot.main(["status", "--tests-dir", str(tests_dir)]) == 0
    out = capsys.readouterr().out
    assert "2 pending" in out
    assert "front.new.png (changed)" in out and "index.new.png (new)" in out
    assert snapshot.main(["accept", "-y", "--tests-dir", str(tests_dir)]) == 0
    capsys.readouterr()
    assert snapshot.main(["status", "--tests-dir", str(tests_dir)]) == 0
    assert "No pending snapshots" in capsys.readouterr().out


def test_module_runs_from_the_repository_root(tmp_path: Path) -> None:
    tests_dir, *_ = pending_setup(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != snapshot.UPDATE_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "tests.snapshot", "status", "--tests-dir", str(tests_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "2 pending" in result.stdout

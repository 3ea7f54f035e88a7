"""Resource limits are settings: defaults in load.Limits, overridable in edition.toml [limits]."""

from __future__ import annotations

import dataclasses

import pytest

from gp_print.load import LIMIT_RANGES, Limits, load_edition

LIBRARY = "stories/news-library-hours.md"


def _set_limits(edition, text: str) -> None:
    edition.replace("edition.toml", "[[sections]]", f"[limits]\n{text}\n\n[[sections]]")


def test_defaults_are_inside_their_allowed_ranges():
    defaults = Limits()
    assert set(LIMIT_RANGES) == {f.name for f in dataclasses.fields(Limits)}
    for name, (low, high) in LIMIT_RANGES.items():
        assert low <= getattr(defaults, name) <= high, name


def test_lowering_a_limit_in_edition_toml(minimal_edition):
    _set_limits(minimal_edition, "max_story_words = 100")
    minimal_edition.expect_problem(LIBRARY, "body", says="over the limit of 100", fix="cut the story")


def test_raising_a_limit_in_edition_toml(minimal_edition):
    headline = "Library opens later " * 11  # 220 characters: over the default 160
    minimal_edition.replace(LIBRARY, "Library opens later on Thursdays from next week", headline.strip())
    minimal_edition.expect_problem(LIBRARY, "headline", says="too long", fix="at most 160")
    _set_limits(minimal_edition, "max_headline_chars = 240")
    edition = minimal_edition.load()
    assert any(s.headline == headline.strip() for s in edition.stories)


def test_photo_limits_from_edition_toml(minimal_edition):
    # The test photo is 600 × 400 = 240,000 pixels.
    _set_limits(minimal_edition, "max_photo_pixels = 200_000\nmin_photo_px = 450")
    error = minimal_edition.input_error()
    assert "over the limit of 200,000" in str(error)
    assert len(error.problems) == 1  # refused before the short-edge check


def test_limits_given_in_python_are_the_base_the_edition_overrides(minimal_root):
    edition = load_edition(minimal_root, limits=Limits(max_story_words=50_000))
    assert len(edition.stories) == 3
    with pytest.raises(Exception, match="over the limit of 100"):
        load_edition(minimal_root, limits=Limits(max_story_words=100))


@pytest.mark.parametrize(("text", "field", "says"), [
    ("max_story_words = 0", "limits.max_story_words", "0 is outside the allowed 100–100,000"),
    ("max_photo_pixels = 1_000_000_000", "limits.max_photo_pixels", "outside the allowed"),
    ("max_file_bytes = 1.5", "limits.max_file_bytes", "expected a whole number"),
    ("min_photo_px = true", "limits.min_photo_px", "found bool"),
    ("max_words = 10", "limits.max_words", "unknown field"),
])
def test_bad_limits_are_problems(minimal_edition, text, field, says):
    _set_limits(minimal_edition, text)
    minimal_edition.expect_problem("edition.toml", field, says=says, fix="")


def test_limits_must_be_a_table(minimal_edition):
    minimal_edition.replace("edition.toml", "[[sections]]", "limits = 5\n\n[[sections]]")
    minimal_edition.expect_problem("edition.toml", "limits", says="expected a table", fix="[limits]")

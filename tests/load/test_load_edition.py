"""load_edition on good input: the records it returns for the minimal and the sample edition."""

from __future__ import annotations

import datetime as dt

import pytest
from PIL import Image

from gp_print.load import load_edition
from gp_print.model import Ad, AdPosition, Grid, PagePlan, Photo, Section, StoryKind


def test_minimal_edition_header(minimal_root):
    edition = load_edition(minimal_root)
    assert edition.root == minimal_root.resolve()
    assert edition.title == "Guernsey Press"
    assert edition.date == dt.date(2020, 1, 2)
    assert edition.issue == 38513
    assert edition.price == "95p"
    assert edition.lang == "en-GB"
    assert edition.tagline == "Guernsey's daily newspaper since 1897"
    assert edition.grid == Grid()  # no [grid] table: the default tabloid grid
    assert edition.code == "GP"


def test_minimal_edition_sections_and_pages(minimal_root):
    edition = load_edition(minimal_root)
    assert edition.sections == (Section("news", "News"), Section("sport", "Sport"))
    assert edition.pages == (PagePlan(1, "news", "front"), PagePlan(2, "sport", "news"))
    assert edition.section("sport").name == "Sport"


def test_minimal_edition_ad(minimal_root):
    edition = load_edition(minimal_root)
    root = minimal_root.resolve()
    assert edition.ads == (
        Ad("Vale Bakery", root / "ads" / "vale-bakery.png", page=2, columns=3, height_cm=5.0,
           position=AdPosition.BOTTOM_RIGHT),
    )
    ad = edition.ads[0]
    assert isinstance(ad.position, AdPosition)
    # The artwork is drawn at its booked size, 3 columns × 5 cm.
    with Image.open(ad.file) as img:
        width_px, height_px = img.size
    booked = edition.grid.span_mm(ad.columns) / (ad.height_cm * 10)
    assert width_px / height_px == pytest.approx(booked, rel=0.01)


def test_ad_position_defaults_to_bottom(minimal_edition):
    minimal_edition.replace("edition.toml", 'position = "bottom-right"\n', "")
    assert minimal_edition.load().ads[0].position is AdPosition.BOTTOM


def test_minimal_edition_stories(minimal_root):
    edition = load_edition(minimal_root)
    assert [s.slug for s in edition.stories] == [
        "news-harbour-dredging", "news-library-hours", "sport-new-year-swim",
    ]
    lead = edition.stories[0]
    assert lead.headline == "Dredger to clear silt from St Peter Port harbour"
    assert lead.section == "news"
    assert lead.priority == 1
    assert lead.kicker == "Harbours"
    assert lead.byline == "By Jane Le Page"
    assert lead.front is True
    assert lead.kind is StoryKind.STORY
    assert lead.jump_headline == "Dredger"
    assert lead.tags == ("harbour",)
    assert lead.source == minimal_root.resolve() / "stories" / "news-harbour-dredging.md"
    for story in edition.stories:
        assert 60 <= story.words <= 150, story.slug


def test_story_defaults(minimal_edition):
    """Optional fields left out take the documented defaults (docs/story-format.md)."""
    minimal_edition.write("stories/news-bare.md", '+++\nslug = "news-bare"\nheadline = "Bare story"\n'
                          'section = "news"\n+++\nOne paragraph of body text.\n')
    story = {s.slug: s for s in minimal_edition.load().stories}["news-bare"]
    assert story.priority == 5
    assert story.kind is StoryKind.STORY
    assert story.front is False
    assert (story.kicker, story.standfirst, story.byline, story.pull_quote) == ("", "", "", "")
    assert story.tags == ()
    assert story.photos == ()


def test_stories_are_in_file_name_order_not_slug_order(minimal_edition):
    minimal_edition.write("stories/aaa-first-file.md", '+++\nslug = "zzz-last-slug"\nheadline = "Sorted by file"\n'
                          'section = "news"\n+++\nThe file name, not the slug, decides the order.\n')
    stories = minimal_edition.load().stories
    assert [s.source.name for s in stories] == sorted(s.source.name for s in stories)
    assert stories[0].slug == "zzz-last-slug"


def test_photo_record(minimal_root):
    story = load_edition(minimal_root).stories[0]
    assert story.photos == (
        Photo(
            file=minimal_root.resolve() / "photos" / "harbour-dawn.jpg",
            caption="The harbour at first light, where the dredger will begin work on Monday",
            credit="Picture: generated test image / CC0",
            width_px=600,
            height_px=400,
        ),
    )
    assert story.photos[0].aspect == pytest.approx(400 / 600)


def test_photo_size_is_read_from_the_file_not_trusted(minimal_edition):
    Image.new("RGB", (300, 450), "navy").save(minimal_edition.path("photos/harbour-dawn.jpg"), "JPEG")
    photo = minimal_edition.load().stories[0].photos[0]
    assert (photo.width_px, photo.height_px) == (300, 450)


def test_png_photo_is_accepted(minimal_edition):
    Image.new("RGB", (400, 300), "teal").save(minimal_edition.path("photos/chart.png"), "PNG")
    minimal_edition.replace("stories/news-harbour-dredging.md", "photos/harbour-dawn.jpg", "photos/chart.png")
    assert minimal_edition.load().stories[0].photos[0].width_px == 400


def test_loading_does_not_touch_the_edition_folder(minimal_edition):
    before = {p: p.stat().st_mtime_ns for p in minimal_edition.root.rglob("*")}
    minimal_edition.load()
    assert {p: p.stat().st_mtime_ns for p in minimal_edition.root.rglob("*")} == before


def test_sample_edition_loads(sample_root):
    edition = load_edition(sample_root)
    assert edition.title == "Guernsey Press"
    assert edition.date == dt.date(2019, 12, 30)
    assert len(edition.stories) >= 20
    assert len(edition.pages) >= 12
    assert len(edition.ads) >= 3
    assert [p.number for p in edition.pages] == list(range(1, len(edition.pages) + 1))
    assert len({s.slug for s in edition.stories}) == len(edition.stories)
    sections = {s.id for s in edition.sections}
    assert {s.section for s in edition.stories} <= sections
    assert {p.section for p in edition.pages} <= sections
    assert all(isinstance(ad.position, AdPosition) for ad in edition.ads)
    assert all(ad.file.is_file() for ad in edition.ads)
    photos = [p for s in edition.stories for p in s.photos]
    assert photos and all(p.width_px >= 200 and p.height_px >= 200 for p in photos)

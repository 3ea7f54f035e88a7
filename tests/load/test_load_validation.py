"""Validation: each test breaks a copy of the minimal edition and checks what InputError says.

Every problem must name the file (relative to the folder holding the edition), the field and the
fix, and validation must collect every problem before it raises.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageFile

from gp_print.errors import InputError

LEAD = "stories/news-harbour-dredging.md"
LIBRARY = "stories/news-library-hours.md"
SWIM = "stories/sport-new-year-swim.md"
PHOTO = "photos/harbour-dawn.jpg"
EDITION = "edition.toml"

SECOND_AD = """
[[ads]]
advertiser = "Cobo Surf School"
file = "ads/vale-bakery.png"
page = 2
columns = 3
height_cm = 5
position = "bottom-right"
"""


def test_good_edition_has_no_problems(minimal_edition):
    assert len(minimal_edition.load().stories) == 3


# ----------------------------------------------------------------------------- stories


def test_missing_photo_file(minimal_edition):
    minimal_edition.remove(PHOTO)
    minimal_edition.expect_problem(LEAD, "photos[0].file", says=f"photo '{PHOTO}' not found", fix="photos/ folder")


def test_unknown_section_lists_the_known_ones(minimal_edition):
    minimal_edition.replace(SWIM, 'section = "sport"', 'section = "sports"')
    problem = minimal_edition.expect_problem(SWIM, "section", says="unknown section 'sports'", fix="use one of")
    assert "news, sport" in problem.fix


def test_non_utf8_story(minimal_edition):
    path = minimal_edition.path(LIBRARY)
    raw = path.read_bytes().replace(b"until 8pm", "until 8pm (été)".encode("latin-1"))
    path.write_bytes(raw)
    # Lines 1–8 are the front matter; the Latin-1 bytes are on line 9, the first body line.
    minimal_edition.expect_problem(LIBRARY, "", says="not UTF-8", fix="save the file as UTF-8", line=9)


def test_missing_required_field(minimal_edition):
    minimal_edition.replace(LIBRARY, 'headline = "Library opens later on Thursdays from next week"\n', "")
    minimal_edition.expect_problem(LIBRARY, "headline", says="missing required field", fix="add headline = ")


def test_empty_required_field(minimal_edition):
    minimal_edition.replace(LIBRARY, 'headline = "Library opens later on Thursdays from next week"',
                            'headline = "   "')
    minimal_edition.expect_problem(LIBRARY, "headline", says="is empty", fix="write the headline")


def test_wrong_type(minimal_edition):
    minimal_edition.replace(LIBRARY, "priority = 3", 'priority = "high"')
    minimal_edition.expect_problem(LIBRARY, "priority", says="expected a whole number 1–9, found str 'high'",
                                   fix="priority = 3")


def test_boolean_is_not_a_number(minimal_edition):
    minimal_edition.replace(LIBRARY, "priority = 3", "priority = true")
    minimal_edition.expect_problem(LIBRARY, "priority", says="found bool", fix="whole number")


def test_priority_out_of_range(minimal_edition):
    minimal_edition.replace(LIBRARY, "priority = 3", "priority = 12")
    minimal_edition.expect_problem(LIBRARY, "priority", says="outside 1–9", fix="1 is the most important")


def test_duplicate_slug(minimal_edition):
    minimal_edition.replace(LIBRARY, 'slug = "news-library-hours"', 'slug = "news-harbour-dredging"')
    minimal_edition.expect_problem(LIBRARY, "slug", says="also used by news-harbour-dredging.md",
                                   fix="its own slug")


def test_unknown_field_with_a_typo_suggests_the_right_name(minimal_edition):
    minimal_edition.replace(LIBRARY, "headline =", "headlne =")
    error = minimal_edition.input_error()
    minimal_edition.expect_problem(LIBRARY, "headlne", says="unknown field", fix="did you mean 'headline'?",
                                   error=error)
    # …and the headline it lost is reported too, in the same run.
    minimal_edition.expect_problem(LIBRARY, "headline", says="missing required field", fix="add headline",
                                   error=error)


def test_malformed_story_front_matter_gives_the_file_line(minimal_edition):
    minimal_edition.replace(LIBRARY, 'section = "news"', 'section = "news')
    # The front matter starts on line 2, so its TOML line 3 is line 4 of the file.
    minimal_edition.expect_problem(LIBRARY, "front matter", says="malformed TOML", fix="fix the syntax", line=4)


def test_story_without_front_matter(minimal_edition):
    minimal_edition.write(LIBRARY, "Just a paragraph, no front matter.\n")
    minimal_edition.expect_problem(LIBRARY, "front matter", says="no front matter", fix="+++", line=1)


@pytest.mark.parametrize("after", ["", "\n\n   \n"], ids=["nothing", "blank-lines"])
def test_empty_body(minimal_edition, after):
    path = minimal_edition.path(LIBRARY)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n+++\n") + 5] + after, encoding="utf-8")
    minimal_edition.expect_problem(LIBRARY, "body", says="no body text", fix="below the closing +++")


# ----------------------------------------------------------------------------- photos


def test_photo_that_is_really_a_pdf(minimal_edition):
    minimal_edition.write(PHOTO, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                                 b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    problem = minimal_edition.expect_problem(LEAD, "photos[0].file", says="cannot be read as an image",
                                             fix="as JPEG")
    assert "harbour-dawn.jpg" in problem.message


def test_photo_in_a_format_that_is_not_jpeg_or_png(minimal_edition):
    Image.new("RGB", (600, 400), "olive").save(minimal_edition.path(PHOTO), "GIF")
    minimal_edition.expect_problem(LEAD, "photos[0].file", says="'harbour-dawn.jpg' is GIF, not JPEG or PNG",
                                   fix="save the picture as JPEG")


def _truncate_photo(edition):
    path = edition.path(PHOTO)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_jpeg(minimal_edition, monkeypatch):
    # Pillow's default; see the xfail below for what happens once WeasyPrint has been imported.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    _truncate_photo(minimal_edition)
    problem = minimal_edition.expect_problem(LEAD, "photos[0].file", says="cannot be read as an image",
                                             fix="export the picture again")
    assert "truncated" in problem.message


def test_truncated_jpeg_after_weasyprint_has_been_imported(minimal_edition, monkeypatch):
    # What `import weasyprint.images` (weasyprint/images.py, line 23) does to the whole process the first
    # time a page is measured or rendered.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _truncate_photo(minimal_edition)
    minimal_edition.expect_problem(LEAD, "photos[0].file", says="cannot be read as an image",
                                   fix="export the picture again")


def test_one_pixel_photo(minimal_edition):
    Image.new("RGB", (1, 1), "white").save(minimal_edition.path(PHOTO), "JPEG")
    minimal_edition.expect_problem(LEAD, "photos[0].file", says="only 1×1 pixels", fix="at least 200 px")


def test_photo_outside_the_edition(minimal_edition, tmp_path):
    Image.new("RGB", (600, 400), "white").save(tmp_path / "elsewhere.jpg", "JPEG")
    minimal_edition.replace(LEAD, f'file = "{PHOTO}"', 'file = "../elsewhere.jpg"')
    minimal_edition.expect_problem(LEAD, "photos[0].file", says="outside the edition folder", fix="photos/")


def test_photo_without_caption(minimal_edition):
    minimal_edition.replace(LEAD, "caption = ", "# caption = ")
    minimal_edition.expect_problem(LEAD, "photos[0].caption", says="missing required field", fix="add caption")


# ----------------------------------------------------------------------------- edition.toml


def test_malformed_edition_toml_gives_the_line(minimal_edition):
    minimal_edition.replace(EDITION, 'price = "95p"', 'price = "95p')  # line 7: unterminated string
    minimal_edition.expect_problem(EDITION, "", says="malformed TOML", fix="fix the syntax at that line", line=7)


def test_missing_edition_toml(minimal_edition):
    minimal_edition.remove(EDITION)
    minimal_edition.expect_problem(EDITION, "", says="file not found", fix="create edition.toml")


def test_edition_date_in_quotes(minimal_edition):
    minimal_edition.replace(EDITION, "date = 2020-01-02", 'date = "2020-01-02"')
    minimal_edition.expect_problem(EDITION, "date", says="expected a date", fix="date = 2019-12-30")


def test_unknown_edition_field_suggests_the_right_name(minimal_edition):
    minimal_edition.replace(EDITION, "tagline =", "taglin =")
    minimal_edition.expect_problem(EDITION, "taglin", says="unknown field", fix="did you mean 'tagline'?")


def test_page_plan_with_a_gap(minimal_edition):
    minimal_edition.replace(EDITION, "number = 2", "number = 3")
    minimal_edition.expect_problem(EDITION, "pages", says="gaps: no page 2", fix="plan every page from 1")


def test_page_planned_twice(minimal_edition):
    minimal_edition.replace(EDITION, "number = 2", "number = 1")
    minimal_edition.expect_problem(EDITION, "pages", says="page 1 is planned twice", fix="one [[pages]] entry")


def test_edition_with_no_pages(minimal_edition):
    path = minimal_edition.path(EDITION)
    text, count = re.subn(r"\[\[pages\]\]\n(?:\w.*\n)*\n?", "", path.read_text(encoding="utf-8"))
    assert count == 2
    path.write_text(text, encoding="utf-8")
    minimal_edition.expect_problem(EDITION, "pages", says="the edition has no pages", fix="[[pages]] table")


def test_page_with_an_unknown_template(minimal_edition):
    minimal_edition.replace(EDITION, 'template = "news"', 'template = "newz"')
    problem = minimal_edition.expect_problem(EDITION, "pages[1].template", says="no page template 'newz'",
                                             fix="use one of")
    assert "news" in problem.fix.split("use one of", 1)[1]


@pytest.mark.parametrize(
    ("old", "new", "field", "says", "fix"),
    [
        ("height_cm = 5", "height_cm = 40", "ads[0].height_cm", "40 cm does not fit the page", "book 1–26 cm"),
        ("columns = 3", "columns = 9", "ads[0].columns", "9 columns does not fit a 7-column page", "book 1–7"),
    ],
    ids=["too-deep", "too-wide"],
)
def test_ad_larger_than_the_page(minimal_edition, old, new, field, says, fix):
    minimal_edition.replace(EDITION, old, new)
    minimal_edition.expect_problem(EDITION, field, says=says, fix=fix)


def test_two_ads_overlapping(minimal_edition):
    minimal_edition.append(EDITION, SECOND_AD)
    problem = minimal_edition.expect_problem(EDITION, "ads", says="overlap on page 2", fix="different pages")
    assert "'Vale Bakery'" in problem.message
    assert "'Cobo Surf School'" in problem.message


def test_two_ads_side_by_side_do_not_overlap(minimal_edition):
    minimal_edition.append(EDITION, SECOND_AD.replace("bottom-right", "bottom-left"))
    assert len(minimal_edition.load().ads) == 2


def test_ad_on_a_page_not_in_the_plan(minimal_edition):
    minimal_edition.replace(EDITION, "page = 2", "page = 5")
    minimal_edition.expect_problem(EDITION, "ads[0].page", says="page 5 is not in the page plan", fix="page 1–2")


def test_ad_artwork_missing(minimal_edition):
    minimal_edition.remove("ads/vale-bakery.png")
    minimal_edition.expect_problem(EDITION, "ads[0].file", says="'ads/vale-bakery.png' not found",
                                   fix="ads/ folder")


def test_ad_with_unknown_position(minimal_edition):
    minimal_edition.replace(EDITION, 'position = "bottom-right"', 'position = "top"')
    minimal_edition.expect_problem(EDITION, "ads[0].position", says="unknown position 'top'",
                                   fix="bottom, bottom-left, bottom-right")


def test_fake_pdf_ad_artwork(minimal_edition):
    minimal_edition.write("ads/fake.pdf", b"<html>not a pdf</html>")
    minimal_edition.replace(EDITION, "ads/vale-bakery.png", "ads/fake.pdf")
    minimal_edition.expect_problem(EDITION, "ads[0].file", says="'fake.pdf' is not a PDF file", fix="as PDF")


# ----------------------------------------------------------------------------- collect all


def test_every_problem_is_reported_in_one_error(minimal_edition):
    minimal_edition.remove(PHOTO)  # 1
    minimal_edition.replace(SWIM, 'section = "sport"', 'section = "sports"')  # 2
    minimal_edition.replace(LIBRARY, "priority = 3", 'priority = "high"')  # 3
    minimal_edition.replace(EDITION, "tagline =", "taglin =")  # 4
    minimal_edition.replace(EDITION, "height_cm = 5", "height_cm = 40")  # 5
    minimal_edition.replace(EDITION, 'template = "news"', 'template = "newz"')  # 6
    error = minimal_edition.input_error()
    assert isinstance(error, InputError)
    assert len(error.problems) >= 5
    expected = [
        (LEAD, "photos[0].file", "not found", "photos/ folder"),
        (SWIM, "section", "unknown section 'sports'", "news, sport"),
        (LIBRARY, "priority", "found str 'high'", "priority = 3"),
        (EDITION, "taglin", "unknown field", "did you mean 'tagline'?"),
        (EDITION, "ads[0].height_cm", "40 cm does not fit", "book 1–"),
        (EDITION, "pages[1].template", "no page template 'newz'", "use one of"),
    ]
    for rel, field, says, fix in expected:
        minimal_edition.expect_problem(rel, field, says=says, fix=fix, error=error)
    text = str(error)
    assert text.startswith(f"{len(error.problems)} problems in the edition:")
    assert len(text.splitlines()) == len(error.problems) + 1


# ----------------------------------------------------------------------------- known bugs


def test_zero_leading_is_reported_not_a_crash(minimal_edition):
    minimal_edition.replace(EDITION, "[[sections]]", "[grid]\nleading_pt = 0\n\n[[sections]]")
    minimal_edition.expect_problem(EDITION, "grid.leading_pt", says="fewer than 20 lines", fix="9–12 pt")


def test_page_number_below_one(minimal_edition):
    minimal_edition.replace(EDITION, "number = 2", "number = 0")
    error = minimal_edition.input_error()
    assert not any(p.message.endswith("no page ") for p in error.problems), str(error)
    assert any(p.field == "pages[1].number" for p in error.problems), str(error)

"""parse_article on the real seed article and on variants built from it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gp_print.errors import ArticleImportError
from gp_print.importer import ImportedArticle, ImportedPhoto, parse_article

HEADLINE = "Kim Jong Un calls for \u2018offensive measures\u2019 ahead of deadline"
STANDFIRST = (
    "The North Korean leader\u2019s call came before his end-of-year deadline for the US "
    "to make concessions in nuclear negotiations."
)
BOILERPLATE = "Sorry, we are not accepting comments on this article."
PHOTO_1 = ImportedPhoto(
    keyword="North Korea US",
    caption="Kim Jong Un, in white at left, speaks at the meeting on Sunday",
    credit="Korean Central News Agency/Korea News Service/AP/PA",
    file=None,
)
PHOTO_2 = ImportedPhoto(
    keyword="South Korea North Korea US",
    caption=(
        "People watch a TV screen showing an image of North Korean leader Kim Jong Un during a "
        "news "
        "program at the Seoul Railway Station in Seoul, South Korea, on Sunday"
    ),
    credit="Ahn Young-joon/AP",
    file=None,
)
# Counted by hand in seed-article.txt: 3 paragraphs, photo, 3 paragraphs, photo, 3 paragraphs,
# then the boilerplate line.
SEED_PARAGRAPHS = 9
FRAGMENTS = [
    "",
    "  ",
    "Guernsey Press",
    "Published",
    "Published: 30 Dec 2019",
    "Headline without stop",
    "A sentence paragraph.",
    "North Korea US",
    "A caption line (Credit/AP)",
    "Unbalanced caption )",
    "()",
    "# heading",
    "Sorry, we are not accepting comments on this article.",
    "\ufeff",
    "\u2018Curly\u2019 \u201cquotes\u201d",
]
PHOTO_BLOCK_1 = (
    "North Korea US\nKim Jong Un, in white at left, speaks at the meeting on Sunday "
    "(Korean Central News Agency/Korea News Service/AP/PA)\n"
)


def test_seed_article(seed_text: str) -> None:
    article = parse_article(seed_text, "seed-article.txt")
    assert article.paper == "Guernsey Press"
    assert article.headline == HEADLINE
    assert article.standfirst == STANDFIRST
    assert article.slug == "kim-jong-un-calls-for-offensive-measures-ahead-of-deadline"
    assert len(article.paragraphs) == SEED_PARAGRAPHS
    assert article.paragraphs[0].startswith(
        "North Korean leader Kim Jong Un called for his military"
    )
    assert article.paragraphs[2].endswith("the Korean Central News Agency said.")
    assert article.paragraphs[3].startswith("Mr Kim, who has said the North would pursue")
    assert article.paragraphs[-1] == (
        "The North said earlier this month it conducted two \u201ccrucial\u201d tests at its "
        "long-range rocket launch facility, raising speculation it has been developing a new "
        "long-range missile or preparing a satellite launch."
    )
    assert article.photos == (PHOTO_1, PHOTO_2)
    assert BOILERPLATE not in article.paragraphs
    assert all("accepting comments" not in p for p in article.paragraphs)
    assert all(
        p.keyword not in article.paragraphs and p.caption not in " ".join(article.paragraphs)
        for p in article.photos
    )
    assert "Published" not in article.paragraphs
    # Unicode kept as is
    assert "\u201cnew path\u201d" in article.paragraphs[3]


def _variants(seed: str) -> dict[str, str]:
    lines = seed.split("\n")
    body_spaced = "\n".join(line + "  \t" for line in lines)
    return {
        "crlf": seed.replace("\n", "\r\n"),
        "cr": seed.replace("\n", "\r"),
        "bom-crlf-trailing-spaces": "\ufeff" + body_spaced.replace("\n", "\r\n"),
        "extra-blank-lines": "\n\n   \n" + seed.replace("\n\n", "\n\n\n \n\n") + "\n\n\n",
        "no-blank-lines-between-paragraphs": seed.replace("\n\n", "\n"),
        "no-published": seed.replace("Published\n\n", ""),
        "published-with-date": seed.replace("Published\n", "Published: 30 Dec 2019 10:15 GMT\n"),
        "published-date-next-line": seed.replace("Published\n", "Published\n30 December 2019\n"),
        "no-paper-name": seed.replace("Guernsey Press\n\n", ""),
        "trailing-newline": seed + "\n",
    }


@pytest.mark.parametrize(
    "name",
    [
        "crlf",
        "cr",
        "bom-crlf-trailing-spaces",
        "extra-blank-lines",
        "no-blank-lines-between-paragraphs",
        "no-published",
        "published-with-date",
        "published-date-next-line",
        "no-paper-name",
        "trailing-newline",
    ],
)
def test_variants_parse_like_the_seed(seed_text: str, name: str) -> None:
    expected = parse_article(seed_text)
    article = parse_article(_variants(seed_text)[name], f"{name}.txt")
    assert article.headline == expected.headline
    assert article.standfirst == expected.standfirst
    assert article.paragraphs == expected.paragraphs
    assert article.photos == expected.photos
    assert article.slug == expected.slug
    assert article.paper == ("" if name == "no-paper-name" else "Guernsey Press")


def test_no_boilerplate(seed_text: str) -> None:
    text = seed_text.replace(BOILERPLATE, "")
    assert BOILERPLATE not in text
    article = parse_article(text)
    assert len(article.paragraphs) == SEED_PARAGRAPHS
    assert article.paragraphs == parse_article(seed_text).paragraphs


@pytest.mark.parametrize(
    "line",
    [
        "Sorry, we are not accepting comments on this article.",
        "Sorry, we are not accepting comments on this story",
        "SORRY, WE ARE NOT ACCEPTING COMMENTS ON THIS ARTICLE.",
    ],
)
def test_boilerplate_variants_dropped(seed_text: str, line: str) -> None:
    article = parse_article(seed_text.replace(BOILERPLATE, line + "\n\n"))
    assert len(article.paragraphs) == SEED_PARAGRAPHS
    assert line not in article.paragraphs


def test_boilerplate_only_dropped_at_the_end(seed_text: str) -> None:
    quoted = "Sorry, we are not accepting comments from the public, the minister said."
    text = seed_text.replace("Published\n\n", f"Published\n\n{quoted}\n\n")
    article = parse_article(text)
    assert article.paragraphs[0] == quoted
    assert len(article.paragraphs) == SEED_PARAGRAPHS + 1


def test_no_photo_blocks(seed_text: str) -> None:
    text = seed_text
    for photo in (PHOTO_1, PHOTO_2):
        text = text.replace(f"{photo.keyword}\n{photo.caption} ({photo.credit})\n\n", "")
    assert "(Ahn Young-joon/AP)" not in text
    article = parse_article(text)
    assert article.photos == ()
    assert article.paragraphs == parse_article(seed_text).paragraphs


def test_three_photo_blocks_anywhere(seed_text: str) -> None:
    third = "Kim Jong Un\nMr Kim (centre) visits a factory in Pyongyang (KCNA via KNS/AP)\n"
    # first thing in the body, with no blank line before the next paragraph
    text = seed_text.replace("Published\n\n", "Published\n\n" + third)
    article = parse_article(text)
    assert [p.keyword for p in article.photos] == [
        "Kim Jong Un",
        "North Korea US",
        "South Korea North Korea US",
    ]
    assert article.photos[0] == ImportedPhoto(
        keyword="Kim Jong Un",
        caption="Mr Kim (centre) visits a factory in Pyongyang",
        credit="KCNA via KNS/AP",
        file=None,
    )
    assert article.photos[1:] == (PHOTO_1, PHOTO_2)
    assert len(article.paragraphs) == SEED_PARAGRAPHS


def test_photo_block_at_the_very_end(seed_text: str) -> None:
    text = seed_text.replace(PHOTO_BLOCK_1 + "\n", "") + "\n\n" + PHOTO_BLOCK_1
    article = parse_article(text)
    assert [p.keyword for p in article.photos] == [
        "South Korea North Korea US",
        "North Korea US",
    ]
    assert len(article.paragraphs) == SEED_PARAGRAPHS


def test_photo_block_needs_adjacent_lines(seed_text: str) -> None:
    # a blank line between keyword and caption: not a photo block, both are paragraphs
    text = seed_text.replace("North Korea US\nKim Jong Un", "North Korea US\n\nKim Jong Un")
    article = parse_article(text)
    assert [p.keyword for p in article.photos] == ["South Korea North Korea US"]
    assert "North Korea US" in article.paragraphs
    assert len(article.paragraphs) == SEED_PARAGRAPHS + 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # a sentence (final full stop) is not a keyword line
        ("It happened on Sunday.", "Officials confirmed it (in a statement)"),
        # too many words for a keyword line
        ("One two three four five six seven eight nine", "Caption here (Credit)"),
        # second line does not end in parentheses
        ("North Korea US", "Kim Jong Un speaks (Korean Central News Agency) at length"),
        # empty parentheses carry no credit
        ("North Korea US", "Kim Jong Un speaks ()"),
    ],
)
def test_not_photo_blocks(seed_text: str, first: str, second: str) -> None:
    text = seed_text.replace("Published\n\n", f"Published\n\n{first}\n{second}\n\n")
    article = parse_article(text)
    assert article.paragraphs[:2] == (first, second)
    assert len(article.photos) == 2


def test_headline_full_stop_dropped() -> None:
    article = parse_article(
        "Guernsey Press\n\nHarbour to be dredged.\n\nStandfirst.\n\nPublished\n\nBody.\n"
    )
    assert article.headline == "Harbour to be dredged"
    assert article.slug == "harbour-to-be-dredged"


def test_minimal_article_without_published_or_standfirst_line() -> None:
    article = parse_article("Guernsey Press\nHeadline here\nStandfirst here.\nOnly paragraph.")
    assert (article.paper, article.headline, article.standfirst) == (
        "Guernsey Press",
        "Headline here",
        "Standfirst here.",
    )
    assert article.paragraphs == ("Only paragraph.",)


def test_published_right_after_headline_means_no_standfirst() -> None:
    article = parse_article("Guernsey Press\nHeadline here\nPublished\nOnly paragraph.")
    assert (article.paper, article.headline, article.standfirst) == (
        "Guernsey Press",
        "Headline here",
        "",
    )
    assert article.paragraphs == ("Only paragraph.",)


def test_headline_starting_with_published_is_a_headline() -> None:
    article = parse_article(
        "Guernsey Press\nPublished accounts show loss\nStandfirst.\nPublished\nBody."
    )
    assert article.headline == "Published accounts show loss"
    assert article.paragraphs == ("Body.",)


def test_control_characters_dropped() -> None:
    article = parse_article(
        "Guernsey Press\nHead\x00line\nStand\x1bfirst.\nPublished\nBo\x07dy\ttext."
    )
    assert article.headline == "Headline"
    assert article.standfirst == "Standfirst."
    assert article.paragraphs == ("Body text.",)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "empty"),
        ("\ufeff  \r\n\r\n\t\n", "empty"),
        ("Guernsey Press\n", "headline"),
        ("Guernsey Press\n\nPublished\n\nBody paragraph.", "headline"),
        ("Guernsey Press\nHeadline\nStandfirst.\nPublished\n", "body"),
        (
            (
                "Guernsey Press\nHeadline\nStandfirst.\n\n"
                "Sorry, we are not accepting comments on this article."
            ),
            "body",
        ),
        (
            "Guernsey Press\nHeadline\nStandfirst.\nPublished\nNorth Korea US\nA caption (AP/PA)\n",
            "body",
        ),
    ],
)
def test_errors_say_what_is_missing(text: str, field: str) -> None:
    with pytest.raises(ArticleImportError) as info:
        parse_article(text, "broken.txt")
    message = info.value.message
    assert message.startswith("broken.txt")
    assert field in message
    assert "—" in message  # a fix follows


def test_parse_is_pure_and_returns_records(seed_text: str) -> None:
    first = parse_article(seed_text)
    assert isinstance(first, ImportedArticle)
    assert parse_article(seed_text) == first
    assert all(photo.file is None for photo in first.photos)


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_arrangement_parses_or_fails_cleanly(lines: list[str], newline: str) -> None:
    """Shuffled article pieces either parse or raise ArticleImportError — nothing else."""
    text = newline.join(lines)
    try:
        article = parse_article(text, "fuzz.txt")
    except ArticleImportError as exc:
        assert exc.message.startswith("fuzz.txt")
        return
    assert article.headline
    assert article.paragraphs
    assert all(p and p == p.strip() for p in article.paragraphs)
    assert not any(p.lower().startswith("sorry, we are not") for p in article.paragraphs[-1:])
    assert len(article.slug) <= 60

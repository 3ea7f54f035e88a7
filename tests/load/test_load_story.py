"""Story bodies: Markdown to paragraphs of styled runs, and raw HTML kept only as text."""

from __future__ import annotations

import pytest

from gp_print.load import load_edition, parse_body, split_front_matter
from gp_print.measure import runs_html
from gp_print.model import Inline, Paragraph

SCRIPT = "<script>alert(1)</script>"


def test_emphasis_becomes_italic_and_bold_runs(minimal_root):
    body = load_edition(minimal_root).stories[0].body
    assert body[1].runs == (
        Inline("The work, which is expected to take "),
        Inline("about three weeks", italic=True),
        Inline(", will deepen the inner berths used by fishing boats and visiting yachts. "
               "Moorings near the Albert Pier will be closed while the dredger is alongside."),
    )
    bold = [run for run in body[3].runs if run.bold]
    assert bold == [Inline("more than twice", bold=True)]


def test_crosshead(minimal_root):
    body = load_edition(minimal_root).stories[0].body
    assert body[2] == Paragraph((Inline("Berths to reopen by March"),), crosshead=True)
    assert [p.crosshead for p in body] == [False, False, True, False, False]


@pytest.mark.parametrize(
    ("markdown", "runs"),
    [
        ("Plain *italic* and **bold**.",
         (Inline("Plain "), Inline("italic", italic=True), Inline(" and "), Inline("bold", bold=True), Inline("."))),
        ("_under_ __score__", (Inline("under", italic=True), Inline(" "), Inline("score", bold=True))),
        ("***both***", (Inline("both", italic=True, bold=True),)),
        ("*italic with **bold** inside*",
         (Inline("italic with ", italic=True), Inline("bold", italic=True, bold=True),
          Inline(" inside", italic=True))),
    ],
    ids=["star", "underscore", "bold-italic", "nested"],
)
def test_inline_styles(markdown, runs):
    assert parse_body(markdown) == (Paragraph(runs),)


def test_any_heading_level_is_a_crosshead():
    body = parse_body("# One\n\n### Three\n\nText.")
    assert [(p.text, p.crosshead) for p in body] == [("One", True), ("Three", True), ("Text.", False)]


def test_paragraph_lines_are_joined_and_spaces_folded():
    (para,) = parse_body("First line\nsecond   line\u00ad here.")
    assert para.text == "First line second line here."


def test_typographer_quotes():
    (para,) = parse_body('"It\'s cold," she said.')
    assert para.text == "“It’s cold,” she said."


def test_links_and_images_keep_only_their_text():
    (para,) = parse_body("See [the States](https://gov.gg) today. ![alt text](photos/x.jpg)")
    assert para.text == "See the States today."


@pytest.mark.parametrize(
    "markdown",
    [
        f"The reader wrote {SCRIPT} in the letter.",  # inline HTML
        f"{SCRIPT}\n\nNext paragraph.",  # an HTML block on its own
        f'<div onclick="x()">{SCRIPT}</div>\n\nNext paragraph.',
    ],
    ids=["inline", "block", "div-block"],
)
def test_raw_html_is_kept_only_as_literal_text(markdown):
    body = parse_body(markdown)
    assert SCRIPT in body[0].text
    # No run carries styling from the tags, and on the way to the page the text is escaped.
    assert not any(run.italic or run.bold for p in body for run in p.runs)
    html = "".join(str(runs_html(p)) for p in body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert "<div" not in html


def test_html_tags_do_not_become_styles():
    (para,) = parse_body("<b>not bold</b> and <i>not italic</i>")
    assert para.runs == (Inline("<b>not bold</b> and <i>not italic</i>"),)


def test_raw_html_in_a_story_file_loads_as_text(minimal_edition):
    minimal_edition.append("stories/news-library-hours.md", f"\nA reader sent {SCRIPT} by email.\n\n{SCRIPT}\n")
    story = {s.slug: s for s in minimal_edition.load().stories}["news-library-hours"]
    assert story.body[-2].text == f"A reader sent {SCRIPT} by email."
    assert story.body[-1].text == SCRIPT
    assert "<script" not in str(runs_html(story.body[-1]))


def test_code_is_flattened_to_text():
    body = parse_body("```\nline one\n   line two\n```")
    assert body == (Paragraph((Inline("line one line two"),)),)


def test_control_characters_are_dropped():
    (para,) = parse_body("Zero\u200bwidth and\x07 bell.")
    assert para.text == "Zerowidth and bell."


def test_split_front_matter():
    assert split_front_matter('+++\nslug = "a"\n+++\nBody.\n') == ('slug = "a"', "Body.\n", 4)
    assert split_front_matter("No front matter.\n") is None
    assert split_front_matter('+++\nslug = "a"\nnever closed\n') is None

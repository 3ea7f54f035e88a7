"""Property-based fuzzing of everything that reads text a person wrote: the article importer, the
story front-matter loader, edition.toml, the Markdown body parser and the body-to-HTML step.

Any input gives either a valid result or a clean error (`GPPrintError`, or a `Problem` recorded
for the sub-editor) — never another exception, a hang or a crash.  Every example runs under a
hypothesis deadline and a hard wall-clock alarm; the budget is the `gp-fuzz` profile in
conftest.py (a few hundred examples per test, derandomised so CI is reproducible).
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.hardening.conftest import FUZZ_PROFILE
from tests.hardening.hardening_support import MINIMAL, time_limit

from gp_print.errors import ArticleImportError, GPPrintError, InputError, Problem
from gp_print.importer import ImportedArticle, parse_article, render_story, toml_string
from gp_print.load import Limits, _Collector, load_edition, load_story, parse_body, split_front_matter
from gp_print.measure import runs_html
from gp_print.model import Edition, Inline, Paragraph, Story

FUZZ = settings(settings.get_profile(FUZZ_PROFILE))
ALARM_S = 10  # a hang, not a slow example: the deadline catches those
SECTIONS = {"news", "sport"}
ALLOWED_TAGS = re.compile(r'</?(?:i|b)>|<span class="initial">|</span>')
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\u200b\ufeff]")

any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
nasty_chars = st.sampled_from(list("\x00\x01\x1b\x7f\u00ad\u200b\ufeff\u2028\u2029\r\n\t\"'\\<>&*_`#[]()!{}=+-|~$"))
nasty_text = st.lists(st.one_of(st.text(max_size=12), nasty_chars), max_size=40).map("".join)
html_bits = st.sampled_from([
    "<script>alert(1)</script>", "<style>p{background:url(http://e.x/a)}</style>", "<iframe src=//e.x>",
    '<img src="file:///etc/passwd" onerror=alert(1)>', "<link rel=stylesheet href=https://e.x/s.css>",
    "<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&#0;", "&#x110000;", "&amp;", "</p>", "<b>", "</i>",
])
md_bits = st.sampled_from([
    "*", "**", "_", "__", "`", "```", "~~~", "#", "## ", "> ", "- ", "1. ", "1) ", "---", "===", "    ",
    "[a](http://e.x)", "![i](http://e.x/i.png)", "<http://e.x>", "[x]: http://e.x", "\\", "  \n", "\n\n",
    "| a | b |\n|---|---|", "+++",
])
nonempty_nasty = st.tuples(st.one_of(nasty_chars, st.characters(exclude_categories=["Cs"])), nasty_text).map("".join)
markdownish = st.lists(st.one_of(nasty_text, html_bits, md_bits, st.just(" "), st.just("\n")),
                       max_size=40).map("".join)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """An edition-shaped folder for load_story (hypothesis examples share it; each writes its own file)."""
    root = Path(tempfile.mkdtemp(prefix="gp-fuzz-"))
    shutil.copytree(MINIMAL / "photos", root / "photos")
    (root / "stories").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _one_line(problem: Problem) -> None:
    assert "\n" not in str(problem) and "\r" not in str(problem), repr(str(problem))


def _load(root: Path, data: bytes) -> tuple[Story | None, list[Problem]]:
    path = root / "stories" / "fuzz.md"
    path.write_bytes(data)
    out = _Collector(root)
    with time_limit(ALARM_S):
        story = load_story(path, root, SECTIONS, out, Limits())
    for problem in out.problems:
        _one_line(problem)
        assert problem.file == f"{root.name}/stories/fuzz.md"
    if story is None:
        assert out.problems, "a story was refused without saying why"
    else:
        assert isinstance(story, Story)
        assert story.slug and story.headline and story.section and story.body
        for para in story.body:
            assert para.runs and all(run.text for run in para.runs)
            assert not CONTROL.search(para.text)
    return story, out.problems


# ----------------------------------------------------------------------------- importer


article_lines = st.lists(st.one_of(
    nasty_text, html_bits,
    st.sampled_from(["Guernsey Press", "Published", "Published: 30 Dec 2019 10:15", "30 December 2019",
                     "North Korea US", "A caption of the picture (AP/PA)", "Credit (", ")", "(a (b) c)",
                     "Sorry, we are not accepting comments on this article.", ".", "..", "", "   "]),
), max_size=30)


@FUZZ
@given(st.one_of(any_text, st.tuples(article_lines, st.sampled_from(["\n", "\r\n", "\r"])).map(
    lambda t: t[1].join(t[0]))))
def test_fuzz_importer(scratch, text):
    try:
        with time_limit(ALARM_S):
            article = parse_article(text, source="fuzz.txt")
    except ArticleImportError as exc:
        assert "\n" not in exc.message and exc.message.startswith("fuzz.txt")
        return
    assert isinstance(article, ImportedArticle)
    assert article.headline and article.paragraphs and article.slug
    story_text = render_story(article, section="news", priority=5, byline=None, source="fuzz.txt")
    _, problems = _load(scratch, story_text.encode("utf-8"))
    # What the importer writes is a story file the loader reads without a syntax problem.
    assert not [p for p in problems if p.field == "front matter"], problems


# ----------------------------------------------------------------------------- front matter


toml_value = st.one_of(
    nasty_text.map(toml_string),
    nasty_text.map(lambda s: "'" + re.sub(r"[\x00-\x1f\x7f']", "", s) + "'"),
    st.integers(-10**20, 10**20).map(str), st.booleans().map(str).map(str.lower),
    st.sampled_from(["1979-05-27", "1979-05-27T07:32:00Z", "inf", "nan", "[]", '["a", 1]', "{}", "{ a = 1 }",
                     '"photos/harbour-dawn.jpg"', '"../../../../etc/passwd"', '"/etc/passwd"', '"file:///etc/passwd"',
                     '"photos"', '"photos/../photos/harbour-dawn.jpg"', '"news"', '"sport"', '"story"', '"letter"',
                     '"fuzz-story"', "3", "0", "10"]),
)
toml_key = st.one_of(
    st.sampled_from(["slug", "headline", "section", "priority", "kicker", "standfirst", "byline", "pull_quote",
                     "pull_quote_by", "front", "kind", "jump_headline", "tags", "source", "photos"]),
    nonempty_nasty.map(toml_string),  # any key at all, control characters included
)
photo_table = st.fixed_dictionaries({"file": toml_value, "caption": toml_value, "credit": toml_value}).map(
    lambda d: "\n[[photos]]\n" + "\n".join(f"{k} = {v}" for k, v in d.items()))
front_matter = st.tuples(
    st.lists(st.tuples(toml_key, toml_value).map(lambda kv: f"{kv[0]} = {kv[1]}"), max_size=12),
    st.lists(photo_table, max_size=2),
    st.booleans(),
    st.lists(nasty_text, max_size=1),  # sometimes a line that is not TOML at all
).map(lambda t: "\n".join([
    'slug = "fuzz-story"\nheadline = "A headline"\nsection = "news"' if t[2] else "", *t[0], *t[3], *t[1]]))
story_text = st.tuples(front_matter, markdownish, st.sampled_from(["+++", "+++ ", " +++", "++", ""])).map(
    lambda t: f"+++\n{t[0]}\n{t[2]}\n{t[1]}")


@FUZZ
@given(st.one_of(story_text, any_text, markdownish))
def test_fuzz_split_front_matter(text):
    with time_limit(ALARM_S):
        parts = split_front_matter(text)
    if parts is None:
        return
    front, body, body_line = parts
    lines = text.split("\n")
    assert lines[0].strip() == "+++"
    assert lines[body_line - 2].strip() == "+++"
    assert "\n".join(lines[1: body_line - 2]) == front
    assert "\n".join(lines[body_line - 1:]) == body


@FUZZ
@given(st.one_of(story_text.map(str.encode), any_text.map(str.encode), st.binary(max_size=300),
                 story_text.map(lambda s: s.encode("utf-16")),
                 story_text.map(lambda s: s.encode("latin-1", "replace"))))
def test_fuzz_load_story(scratch, data):
    _load(scratch, data)


edition_lines = st.lists(st.one_of(
    st.tuples(st.sampled_from(["title", "date", "issue", "price", "lang", "tagline", "bogus"]), toml_value).map(
        lambda kv: f"{kv[0]} = {kv[1]}"),
    st.tuples(toml_key, toml_value).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(["[grid]", "[limits]", "[[sections]]", "[[pages]]", "[[ads]]", "[sections]", "[pages]"]),
    st.tuples(st.sampled_from(["columns", "leading_pt", "trim_width_mm", "id", "name", "number", "section",
                               "template", "advertiser", "file", "page", "height_cm", "position",
                               "max_story_words", "max_photo_pixels", "min_photo_px", "max_file_bytes"]),
              toml_value).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    nasty_text,
), max_size=30).map("\n".join)


@pytest.fixture(scope="module")
def edition_scratch() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="gp-fuzz-edition-")) / "minimal"
    shutil.copytree(MINIMAL, root)
    yield root
    shutil.rmtree(root.parent, ignore_errors=True)


@FUZZ
@given(st.one_of(edition_lines, edition_lines.map(
    lambda extra: (MINIMAL / "edition.toml").read_text(encoding="utf-8") + "\n" + extra)))
def test_fuzz_edition_toml(edition_scratch, text):
    (edition_scratch / "edition.toml").write_text(text, encoding="utf-8")
    try:
        with time_limit(ALARM_S):
            edition = load_edition(edition_scratch)
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            _one_line(problem)
        return
    except GPPrintError:  # pragma: no cover - any other clean error is fine too
        return
    assert isinstance(edition, Edition) and edition.pages and edition.stories


# ----------------------------------------------------------------------------- body and HTML


def _markup_free(text: str) -> bool:
    return "<" not in ALLOWED_TAGS.sub("", text)


@FUZZ
@given(st.one_of(markdownish, any_text))
def test_fuzz_parse_body(markdown):
    with time_limit(ALARM_S):
        paragraphs = parse_body(markdown)
    for para in paragraphs:
        assert isinstance(para, Paragraph) and para.runs
        assert all(run.text for run in para.runs)
        assert para.text == para.text.strip() or para.text.strip()
        assert not CONTROL.search(para.text)
        out = str(runs_html(para))
        assert _markup_free(out), out
        assert html.unescape(ALLOWED_TAGS.sub("", out)) == para.text


runs = st.lists(st.builds(Inline, text=st.one_of(any_text, html_bits, nasty_text).filter(bool),
                          italic=st.booleans(), bold=st.booleans()), min_size=1, max_size=6)


@FUZZ
@given(runs, st.data())
def test_fuzz_runs_html_escapes_everything(inline_runs, data):
    para = Paragraph(tuple(inline_runs))
    length = len(para.text)
    start = data.draw(st.integers(0, length), label="start")
    end = data.draw(st.one_of(st.none(), st.integers(start, length)), label="end")
    # The drop cap is only asked for on a paragraph's opening piece, which runs past the initial.
    dropcap = data.draw(st.booleans(), label="dropcap") and start == 0 and (end is None or end >= 4)
    with time_limit(ALARM_S):
        out = str(runs_html(para, start, end, dropcap=dropcap))
    assert _markup_free(out), out
    assert html.unescape(ALLOWED_TAGS.sub("", out)) == para.text[start:end]

"""Lighthouse-style basics of every page of the published site, read with html.parser: a title
and a language, one h1 and headings in order, alt text on every image, a strict CSP meta before
anything is loaded, no inline script or style, nothing fetched from elsewhere."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.site.site_support import FIRST

from gp_print.site import CSP

SEED_SLUG = "kim-jong-un-calls-for-offensive-measures-ahead-of-deadline"


@dataclass
class PageFacts:
    lang: str | None = None
    title: str = ""
    headings: list[int] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)
    csp: str | None = None
    csp_before_resources: bool = True
    inline_scripts: int = 0
    style_elements: int = 0
    style_attributes: int = 0
    event_handlers: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    articles: list[dict[str, str | None]] = field(default_factory=list)
    figures: int = 0
    figcaptions_with_small: int = 0


class FactParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = PageFacts()
        self._in_title = False
        self._in_script = False
        self._in_figcaption = False
        self._resources_seen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        f = self.facts
        if tag == "html":
            f.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            f.csp = a.get("content")
            f.csp_before_resources = not self._resources_seen
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            f.headings.append(int(tag[1]))
        elif tag == "img":
            f.images.append(a)
        elif tag == "script":
            self._in_script = True
            if not a.get("src"):
                f.inline_scripts += 1
        elif tag == "style":
            f.style_elements += 1
        elif tag == "article":
            f.articles.append(a)
        elif tag == "figure":
            f.figures += 1
        elif tag == "figcaption":
            self._in_figcaption = True
        elif tag == "small" and self._in_figcaption:
            f.figcaptions_with_small += 1
        if tag in ("script", "link", "img"):
            self._resources_seen = True
        if "style" in a:
            f.style_attributes += 1
        f.event_handlers += [name for name in a if name.startswith("on")]
        f.urls += [v for k, v in a.items() if k in ("src", "href", "action", "srcset") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "script":
            self._in_script = False
        elif tag == "figcaption":
            self._in_figcaption = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.facts.title += data
        if self._in_script and data.strip():
            self.facts.inline_scripts += 1


def facts(path: Path) -> PageFacts:
    parser = FactParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.facts


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_has_the_basics(site_dir: Path):
    pages = html_pages(site_dir)
    editions = [json.loads(p.read_text(encoding="utf-8")) for p in site_dir.glob("*/edition.json")]
    # The archive and its search; per edition: index, viewer, search, story list and the articles.
    assert len(pages) == 2 + sum(4 + len(e["stories"]) for e in editions)
    problems = []
    for path in pages:
        name = str(path.relative_to(site_dir))
        f = facts(path)
        if f.lang != "en-GB":
            problems.append(f"{name}: <html lang> is {f.lang!r}")
        if not f.title.strip():
            problems.append(f"{name}: no <title>")
        if f.headings.count(1) != 1:
            problems.append(f"{name}: {f.headings.count(1)} h1 elements")
        if f.headings and f.headings[0] != 1:
            problems.append(f"{name}: the first heading is h{f.headings[0]}")
        for before, after in zip(f.headings, f.headings[1:], strict=False):
            if after > before + 1:
                problems.append(f"{name}: h{before} is followed by h{after}")
        for img in f.images:
            if not (img.get("alt") or "").strip():
                problems.append(f"{name}: <img src={img.get('src')}> has no alt text")
            if not (img.get("width") and img.get("height")):
                problems.append(f"{name}: <img src={img.get('src')}> has no width/height (layout shift)")
        if f.csp != CSP:
            problems.append(f"{name}: Content-Security-Policy meta is {f.csp!r}")
        if not f.csp_before_resources:
            problems.append(f"{name}: the CSP meta comes after a script, stylesheet or image")
        if f.inline_scripts or f.style_elements or f.style_attributes or f.event_handlers:
            problems.append(f"{name}: inline code: {f.inline_scripts} scripts, {f.style_elements} <style>, "
                            f"{f.style_attributes} style=, handlers {f.event_handlers}")
        for url in f.urls:
            if "//" in url or url.startswith(("data:", "javascript:")):
                problems.append(f"{name}: links outside the site: {url}")
    assert not problems, "\n".join(problems)


def test_the_csp_is_strict():
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["default-src"] == "'self'"
    for name in ("script-src", "style-src"):
        assert directives[name] == "'self'", "no 'unsafe-inline', no hosts"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"


def test_every_local_link_resolves(site_dir: Path):
    missing = []
    for path in html_pages(site_dir):
        for url in facts(path).urls:
            target = url.split("#", 1)[0].split("?", 1)[0]
            if not target:
                continue
            if not (path.parent / target).resolve().exists():
                missing.append(f"{path.relative_to(site_dir)} → {url}")
    assert not missing, "\n".join(missing[:30])


def test_article_view_is_semantic(site_dir: Path):
    path = site_dir / FIRST / "stories" / f"{SEED_SLUG}.html"
    f = facts(path)
    assert f.articles == [{"class": "story kind-story", "lang": "en-GB"}]
    text = path.read_text(encoding="utf-8")
    assert "<h1>Kim Jong Un calls for ‘offensive measures’ ahead of deadline</h1>" in text
    assert 'class="standfirst"' in text and 'class="byline"' in text
    assert 'href="../page.html#p8"' in text, "the article links back to its page"
    assert 'id="text-size"' in text and "hidden" in text.split('id="text-size"')[1].split(">")[0]


def test_photos_have_captions_and_credits(site_dir: Path):
    with_photos = 0
    for path in sorted((site_dir / FIRST / "stories").glob("*.html")):
        f = facts(path)
        if f.figures:
            with_photos += 1
            assert f.figcaptions_with_small == f.figures, path.name
            assert all(img["alt"] for img in f.images)
    assert with_photos >= 10


@pytest.mark.parametrize("page", ["index.html", f"{FIRST}/index.html", f"{FIRST}/page.html"])
def test_pages_work_without_javascript(site_dir: Path, page: str):
    """The archive, the edition and the viewer are plain links and images: no script needed to
    reach every page and story (the viewer's stacked pages scroll to #pN)."""
    text = (site_dir / page).read_text(encoding="utf-8")
    if page.endswith("page.html"):
        for n in range(1, 15):
            assert f'id="p{n}"' in text
        assert f'href="stories/{SEED_SLUG}.html"' in text
    else:
        assert "<noscript" not in text  # nothing here depends on JavaScript

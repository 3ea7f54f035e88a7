"""The readers' site in a real browser: Debian's headless Chromium driven by Playwright, against
`gp-print serve` on 127.0.0.1 (issue 5's acceptance walk).  Every step leaves a screenshot in
tests/_artifacts/site/.  Without Chromium (or Playwright) the tests fail when CI is set and are
skipped otherwise; `make system-deps` installs Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from tests.site.site_support import ARTIFACTS, CHROMIUM, FIRST, SECOND, missing_tool

SEED_SLUG = "kim-jong-un-calls-for-offensive-measures-ahead-of-deadline"
SEED_PAGE = 8
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="module")
def server_url(site_dir: Path) -> Iterator[str]:
    """`gp-print serve SITE --port 0`, the real command, in a child process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gp_print.cli import main; main()", "serve", str(site_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert " on http://127.0.0.1:" in line, f"gp-print serve did not start: {line!r}"
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def expect(locator: Any) -> Any:
    """Playwright's web-first assertions (they poll without eval, which the site's CSP forbids)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("Playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        missing_tool(f"{CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """Console errors and page errors: a CSP violation or a script error fails the walk."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        return page

    def check(self) -> None:
        problems, self.problems[:] = list(self.problems), []
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture()
def page(browser: Any, console: Console) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = console.watch(context.new_page())
    page.set_default_timeout(15_000)
    try:
        yield page
        console.check()
    finally:
        context.close()


def open_viewer(page: Any, url: str, number: int) -> Any:
    page.goto(f"{url}{FIRST}/page.html#p{number}")
    page.wait_for_selector("#viewer[data-ready='1']")
    return page.locator("#viewer")


# ------------------------------------------------------------------------------- the walk


def test_archive_lists_editions_newest_first(page: Any, server_url: str):
    page.goto(server_url)
    assert page.locator("h1").inner_text() == "Guernsey Press e-edition"
    dates = page.locator(".edition-card h2").all_inner_texts()
    assert dates == ["Tuesday 31 December 2019", "Monday 30 December 2019"]
    page.wait_for_load_state("networkidle")
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "01-archive")


def test_edition_shows_pages_by_section(page: Any, server_url: str):
    page.goto(server_url)
    page.click(f".edition-card h2 a[href='{FIRST}/index.html']")
    page.wait_for_url(f"**/{FIRST}/index.html")
    assert page.locator("h1").inner_text() == "Monday 30 December 2019"
    assert page.locator(".section-pages h2").all_inner_texts() == ["News", "World", "Opinion", "Sport"]
    assert page.locator(".thumbs img").count() == 14
    page.wait_for_load_state("networkidle")
    shot(page, "02-edition", full_page=True)


def test_viewer_pages_forward_with_the_keyboard(page: Any, server_url: str):
    page.goto(f"{server_url}{FIRST}/index.html")
    page.click("a.button[href='page.html#p1']")
    viewer = page.wait_for_selector("#viewer[data-ready='1']")
    assert viewer.get_attribute("data-page") == "1"
    page.wait_for_load_state("networkidle")
    shot(page, "03-viewer-page-1")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert viewer.get_attribute("data-page") == "3"
    assert page.url.endswith("page.html#p3"), "the URL follows the page, to be shared"
    assert page.locator("#where").inner_text() == "Page 3 of 14"
    assert page.locator("#p3").is_visible() and not page.locator("#p2").is_visible()
    page.keyboard.press("ArrowLeft")
    assert viewer.get_attribute("data-page") == "2"
    page.keyboard.press("ArrowRight")
    page.wait_for_load_state("networkidle")
    shot(page, "04-viewer-page-3")


def test_shared_page_url_opens_that_page(page: Any, server_url: str):
    viewer = open_viewer(page, server_url, 11)
    assert viewer.get_attribute("data-page") == "11"
    assert page.title().startswith("Page 11 — ")


def test_viewer_zooms_and_pans(page: Any, server_url: str):
    viewer = open_viewer(page, server_url, 1)
    sheet = page.locator("#p1 .sheet")
    before = sheet.bounding_box()
    page.keyboard.press("+")
    assert viewer.get_attribute("data-zoom") == "1.50"
    page.keyboard.press("+")
    assert viewer.get_attribute("data-zoom") == "2.25"
    assert "scale(2.25)" in sheet.evaluate("s => s.style.transform")
    assert sheet.bounding_box()["width"] == pytest.approx(before["width"] * 2.25, rel=0.01)
    # The sharper page image is loaded once zoomed in.
    expect(page.locator("#p1 .page-image")).to_have_attribute("src", re.compile(r"-zoom\.webp$"))
    # Drag to pan: the page moves, and the drag is not taken for a click on a story.
    stage = page.locator("#p1 .stage").bounding_box()
    x, y = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    start = sheet.evaluate("s => s.style.transform")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 200, y - 150, steps=8)
    page.mouse.up()
    assert sheet.evaluate("s => s.style.transform") != start
    assert page.url.endswith("page.html#p1")
    page.wait_for_load_state("networkidle")
    shot(page, "05-viewer-zoomed")
    page.keyboard.press("-")
    assert viewer.get_attribute("data-zoom") == "1.50"
    page.click("button[data-action='fit']")
    assert viewer.get_attribute("data-zoom") == "1.00"


def test_swipe_turns_the_page(page: Any, server_url: str):
    viewer = open_viewer(page, server_url, 5)
    stage = page.locator("#p5 .stage").bounding_box()
    y = stage["y"] + stage["height"] / 2
    page.mouse.move(stage["x"] + stage["width"] * 0.7, y)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.3, y + 10, steps=10)
    page.mouse.up()
    assert viewer.get_attribute("data-page") == "6"
    page.mouse.move(stage["x"] + stage["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.7, y, steps=10)
    page.mouse.up()
    assert viewer.get_attribute("data-page") == "5"


def test_click_a_story_on_the_page_opens_its_article(page: Any, server_url: str):
    open_viewer(page, server_url, SEED_PAGE)
    area = page.locator(f"#p{SEED_PAGE} a.area[href='stories/{SEED_SLUG}.html']")
    area.hover()
    shot(page, "06-viewer-story-area")
    area.click()
    page.wait_for_url(f"**/{FIRST}/stories/{SEED_SLUG}.html")
    assert page.locator("h1").inner_text() == "Kim Jong Un calls for ‘offensive measures’ ahead of deadline"
    assert page.locator("article .standfirst").is_visible()
    shot(page, "07-article")
    page.click(f"article .where a[href='../page.html#p{SEED_PAGE}']")
    page.wait_for_selector("#viewer[data-ready='1']")
    assert page.locator("#viewer").get_attribute("data-page") == str(SEED_PAGE)


def test_jump_line_on_a_page_turns_to_the_continuation(page: Any, server_url: str):
    open_viewer(page, server_url, 1)
    jump = page.locator("#p1 a.area.jump").first
    target = jump.get_attribute("href")
    jump.click()
    assert page.locator("#viewer").get_attribute("data-page") == target.removeprefix("#p")


def test_text_size_buttons_are_remembered(page: Any, server_url: str):
    page.goto(f"{server_url}{FIRST}/stories/{SEED_SLUG}.html")
    expect(page.locator("#text-size")).to_be_visible()
    body = page.locator("article .body p").first
    size = body.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    page.click("button[aria-label='Larger text']")
    page.click("button[aria-label='Larger text']")
    assert page.locator("html").get_attribute("data-text-size") == "2"
    bigger = body.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    assert bigger > size * 1.2
    page.goto(f"{server_url}{FIRST}/stories/index.html")
    page.click("a.headline >> nth=3")
    page.wait_for_selector("article h1")
    expect(page.locator("#text-size")).to_be_visible()  # article.js has run
    assert page.locator("html").get_attribute("data-text-size") == "2", "kept in localStorage"
    shot(page, "08-article-larger-text")
    page.click("button[aria-label='Smaller text']")
    page.click("button[aria-label='Smaller text']")
    assert page.locator("html").get_attribute("data-text-size") is None


def test_search_finds_the_seed_article(page: Any, server_url: str):
    page.goto(f"{server_url}{FIRST}/search.html")
    page.fill("#q", "offensive")
    page.press("#q", "Enter")
    page.wait_for_selector("#results li")
    results = page.locator("#results li h2 a")
    assert "Kim Jong Un calls for ‘offensive measures’" in results.all_inner_texts()[0]
    assert "1 story holds" in page.locator("#search-status").inner_text()
    assert page.url.endswith("search.html?q=offensive")
    shot(page, "09-search")
    page.locator(f"#results a[href$='page.html#p{SEED_PAGE}']").first.click()
    page.wait_for_selector("#viewer[data-ready='1']")
    assert page.locator("#viewer").get_attribute("data-page") == str(SEED_PAGE)
    page.goto(f"{server_url}{FIRST}/search.html?q=offensive")
    page.wait_for_selector("#results li")
    results.first.click()
    page.wait_for_url(f"**/stories/{SEED_SLUG}.html")


def test_archive_search_covers_every_edition(page: Any, server_url: str):
    page.goto(f"{server_url}search.html?q=offens")
    page.wait_for_selector("#results li")
    links = page.locator("#results li h2 a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(f"/{FIRST}/stories/{SEED_SLUG}.html" in h for h in hrefs)
    assert any(f"/{SECOND}/stories/{SEED_SLUG}.html" in h for h in hrefs)
    page.fill("#q", "zzzqqq")
    page.press("#q", "Enter")
    expect(page.locator("#search-status")).to_have_text(re.compile(r"^No story"))
    assert page.locator("#results li").count() == 0


def test_download_the_eedition(page: Any, server_url: str, tmp_path: Path):
    page.goto(f"{server_url}{FIRST}/index.html")
    with page.expect_download() as info:
        page.click("section.downloads a[href$='-eedition.pdf']")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "GP-20191230-eedition.pdf"
    assert len(PdfReader(saved).pages) == 14
    with page.expect_download() as info:
        page.click("section.downloads a[href$='-sport.pdf']")
    info.value.save_as(tmp_path / "sport.pdf")
    assert len(PdfReader(tmp_path / "sport.pdf").pages) == 3


def test_pages_work_without_javascript(browser: Any, server_url: str, console: Console):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = console.watch(context.new_page())
        page.goto(f"{server_url}{FIRST}/page.html#p5")
        assert page.locator(".pages > li").count() == 14
        assert all(page.locator(f"#p{n}").is_visible() for n in (1, 5, 14)), "the pages are stacked"
        assert page.evaluate("window.scrollY") > 1000, "#p5 scrolled to page 5"
        assert page.locator("#toolbar").is_hidden()
        page.goto(f"{server_url}{FIRST}/stories/{SEED_SLUG}.html")
        assert page.locator("article h1").is_visible()
        assert page.locator("#text-size").is_hidden()
        shot(page, "10-article-without-javascript")
        console.check()
    finally:
        context.close()


def test_phone_viewer_and_article(browser: Any, server_url: str, console: Console):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    try:
        page = console.watch(context.new_page())
        page.goto(f"{server_url}{FIRST}/page.html#p1")
        page.wait_for_selector("#viewer[data-ready='1']")
        box = page.locator("#p1 .sheet").bounding_box()
        assert box["width"] <= 390 and box["height"] <= 844, "the page fits the phone's screen"
        page.wait_for_load_state("networkidle")
        shot(page, "11-phone-viewer")
        page.goto(f"{server_url}{FIRST}/stories/{SEED_SLUG}.html")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
        shot(page, "12-phone-article")
        console.check()
    finally:
        context.close()


def test_no_request_leaves_the_site(browser: Any, server_url: str):
    context = browser.new_context(viewport=DESKTOP)
    outside: list[str] = []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server_url) else None)
    try:
        page = context.new_page()
        for path in ("", f"{FIRST}/index.html", f"{FIRST}/page.html#p1", f"{FIRST}/stories/{SEED_SLUG}.html",
                     f"{FIRST}/search.html?q=harbour"):
            page.goto(server_url + path)
            page.wait_for_load_state("networkidle")
        assert not outside, outside
        assert re.search(r"default-src 'self'", page.locator("meta[http-equiv]").get_attribute("content"))
    finally:
        context.close()

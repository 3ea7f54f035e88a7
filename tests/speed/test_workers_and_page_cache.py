"""Speed without changing a byte (issue 6): pages rendered in worker processes come out exactly
as in one process, and the page cache renders again only the pages whose content changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import MINIMAL

import gp_print.render
from gp_print.build import build_edition


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".pdf", ".json")}


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GP_PRINT_NO_CACHE", "1")  # render every page both times
    one = build_edition(MINIMAL, tmp_path / "one", workers=1)
    two = build_edition(MINIMAL, tmp_path / "two", workers=2)
    assert one.rendered == two.rendered == tuple(p.number for p in one.flatplan.pages)
    first, second = _outputs(tmp_path / "one"), _outputs(tmp_path / "two")
    assert sorted(first) == sorted(second)
    assert [name for name in first if name.endswith(".pdf")], "no PDFs were written"
    for name in first:
        assert first[name] == second[name], f"{name} differs between one and two workers"


@pytest.fixture()
def counted_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Page numbers passed to render.render_page in this process (builds with workers=1)."""
    calls: list[int] = []
    real = gp_print.render.render_page

    def counting(edition, layout, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(layout.number)
        return real(edition, layout, *args, **kwargs)

    monkeypatch.setattr(gp_print.render, "render_page", counting)
    return calls


def test_page_cache_renders_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               counted_renders: list[int]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GP_PRINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("GP_PRINT_NO_CACHE", raising=False)
    edition = tmp_path / "edition"
    shutil.copytree(MINIMAL, edition)
    out = tmp_path / "out"

    cold = build_edition(edition, out, workers=1)
    every = sorted(p.number for p in cold.flatplan.pages)
    assert sorted(counted_renders) == every and sorted(cold.rendered) == every
    before = _outputs(out)

    counted_renders.clear()
    again = build_edition(edition, out, workers=1)
    assert counted_renders == [] and again.rendered == ()
    assert _outputs(out) == before, "pages from the page cache must be the same bytes"

    # A late fix to one story's copy: only the page(s) that story is on are rendered again.
    slug = "news-library-hours"
    story = edition / "stories" / f"{slug}.md"
    story.write_text(story.read_text(encoding="utf-8").replace("until Easter", "until March"), encoding="utf-8")
    counted_renders.clear()
    edited = build_edition(edition, out, workers=1)
    on_pages = sorted({layout.number for layout in edited.flatplan.pages
                       for slot in layout.stories if slot.story.slug == slug})
    assert on_pages, "the edited story is not placed"
    # The plan is unchanged: the same stories in the same boxes on every page.
    geometry = [[(slot.story.slug, slot.rect) for slot in layout.stories] for layout in edited.flatplan.pages]
    assert geometry == [[(slot.story.slug, slot.rect) for slot in layout.stories] for layout in cold.flatplan.pages]
    assert sorted(counted_renders) == on_pages and sorted(edited.rendered) == on_pages
    assert len(on_pages) < len(every)
    after = _outputs(out)
    for layout in edited.flatplan.pages:
        name = gp_print.render.press_name(edited.flatplan.edition, layout.number)
        assert (after[name] == before[name]) == (layout.number not in on_pages), name

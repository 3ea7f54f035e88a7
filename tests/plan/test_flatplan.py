"""The sample edition's flatplan: boxes on the grid, none overlapping, pages full, jumps sound."""

from __future__ import annotations

import itertools

from gp_print.model import BuildResult, Rect
from gp_print.quality import edition_quality


def _overlap(a: Rect, b: Rect) -> bool:
    return (a.column < b.column + b.columns and b.column < a.column + a.columns
            and a.line < b.bottom and b.line < a.bottom)


def test_boxes_stay_on_the_grid_and_never_overlap(sample_build: BuildResult) -> None:
    grid = sample_build.flatplan.edition.grid
    for page in sample_build.flatplan.pages:
        boxes = [("story " + s.story.slug, s.rect) for s in page.stories]
        boxes += [("ad " + a.ad.advertiser, a.rect) for a in page.ads]
        boxes += [("house ad " + f.kind, f.rect) for f in page.fillers]
        for name, rect in boxes:
            assert rect.column >= 0 and rect.column + rect.columns <= grid.columns, (page.number, name)
            assert page.top_line <= rect.line and rect.bottom <= grid.depth_lines, (page.number, name, rect)
        for (n1, r1), (n2, r2) in itertools.combinations(boxes, 2):
            assert not _overlap(r1, r2), f"page {page.number}: {n1} overlaps {n2}"


def test_story_parts_stay_inside_the_story(sample_build: BuildResult) -> None:
    for page in sample_build.flatplan.pages:
        for slot in page.stories:
            parts = [c.rect for c in slot.columns] + ([slot.photo.rect] if slot.photo else [])
            for rect in parts:
                assert slot.rect.column <= rect.column
                assert rect.column + rect.columns <= slot.rect.column + slot.rect.columns
                assert slot.rect.line <= rect.line and rect.bottom <= slot.rect.bottom, (page.number, slot.story.slug)
            for a, b in itertools.combinations(parts, 2):
                assert not _overlap(a, b), (page.number, slot.story.slug)


def test_columns_hold_what_the_plan_says(sample_build: BuildResult) -> None:
    for page in sample_build.flatplan.pages:
        for slot in page.stories:
            for column in slot.columns:
                assert column.lines_used <= column.rect.lines
                assert sum(p.lines for p in column.pieces) == column.lines_used
                for piece in column.pieces:
                    # Widows and orphans: a cut paragraph leaves at least two lines each side.
                    if piece.continues:
                        assert piece.lines >= 2 or piece.first_line > 0
                        assert piece.total_lines - (piece.first_line + piece.lines) >= 2


def test_every_page_is_filled(sample_build: BuildResult) -> None:
    grid = sample_build.flatplan.edition.grid
    for page in sample_build.flatplan.pages:
        assert page.fill_ratio(grid) >= 0.97, (page.number, page.holes)
        assert page.stories, f"page {page.number} carries no story"


def test_the_sample_meets_every_quality_target(sample_build: BuildResult) -> None:
    quality = edition_quality(sample_build.flatplan)
    assert quality.ok and not quality.unplaced, quality.summary()
    assert "0 white runs over 2 lines" in quality.summary()


def test_jumps_go_forward_within_the_section(sample_build: BuildResult) -> None:
    plan = sample_build.flatplan
    sections = {p.number: p.plan.section for p in plan.pages}
    for jump in plan.jumps:
        assert jump.to_page > jump.from_page
        story = next(s for s in plan.edition.stories if s.slug == jump.slug)
        assert sections[jump.to_page] == story.section


def test_leads_keep_their_pictures(sample_build: BuildResult) -> None:
    for page in sample_build.flatplan.pages:
        for slot in page.stories:
            if slot.rank in ("front-lead", "lead") and slot.story.photos and slot.continued_from is None:
                assert slot.photo is not None, (page.number, slot.story.slug)

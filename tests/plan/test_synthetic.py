"""Synthetic editions (gp-print sample): the same files for a seed, and a planner that places
every story or lists it, never oversets, and fills every page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gp_print.load import load_edition
from gp_print.measure import Measurer
from gp_print.model import PageLayout
from gp_print.plan import plan_edition
from gp_print.quality import MIN_FILL, edition_quality
from gp_print.synth import make_edition


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_files(tmp_path: Path) -> None:
    make_edition(tmp_path / "a", pages=8, stories=20, seed=5)
    make_edition(tmp_path / "b", pages=8, stories=20, seed=5)
    make_edition(tmp_path / "c", pages=8, stories=20, seed=6)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


@pytest.mark.parametrize(("pages", "stories", "seed"), [
    (12, 30, 3), (12, 30, 11), (48, 120, 7), (48, 120, 23),
    # Known miss, kept in sight: strict, so the day the planner meets it this fails until unmarked.
    pytest.param(48, 120, 5, marks=pytest.mark.xfail(
        strict=True, reason="page 5: a lead too short for the template's shallowest lead box; 96.1 % filled")),
])
def test_synthetic_edition_plans_cleanly(tmp_path: Path, pages: int, stories: int, seed: int) -> None:
    make_edition(tmp_path / "ed", pages=pages, stories=stories, seed=seed)
    edition = load_edition(tmp_path / "ed")
    early: list[PageLayout] = []
    plan = plan_edition(edition, Measurer(edition), on_page=early.append)
    # The pages handed out before the plan was done (a build renders them at once) are final.
    assert len(early) >= len(plan.pages) // 2, [layout.number for layout in early]
    assert all(layout == plan.pages[layout.number - 1] for layout in early)
    quality = edition_quality(plan)
    assert not [w for w in plan.warnings if w.startswith("overset")], plan.warnings
    for page in quality.pages:
        assert page.overset_lines == 0, page
        assert page.fill >= MIN_FILL, page
        assert not page.short_jumps and not page.widows and not page.orphans and not page.heads_at_foot, page
    # White deeper than two lines at the foot of a column: at most one column in 48 pages
    # (README, "Quality of the plan"), and never deeper than three lines.
    runs = [run for page in quality.pages for run in page.white]
    assert len(runs) <= 1, quality.summary()
    assert all(run.lines <= 3 for run in runs), quality.summary()
    placed = {s.story.slug for p in plan.pages for s in p.stories}
    listed = {s.slug for s, _ in plan.unplaced}
    assert placed | listed == {s.slug for s in edition.stories}
    assert not placed & listed
    # Every jump lands on a later page of the story's own section.
    sections = {p.number: p.plan.section for p in plan.pages}
    for jump in plan.jumps:
        story = next(s for s in edition.stories if s.slug == jump.slug)
        assert jump.to_page > jump.from_page and sections[jump.to_page] == story.section

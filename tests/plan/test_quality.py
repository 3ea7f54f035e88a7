"""The quality checks can fail: each problem, planted in a sample page, is found and counted."""

from __future__ import annotations

from dataclasses import replace

from gp_print.model import BuildResult
from gp_print.quality import MIN_FILL, page_quality


def test_each_planted_problem_is_found(sample_build: BuildResult) -> None:
    flatplan = sample_build.flatplan
    page = next(p for p in flatplan.pages if any(len(s.columns) >= 2 for s in p.stories))
    assert page_quality(page, flatplan).ok
    slot = next(s for s in page.stories if len(s.columns) >= 2 and s.continued_from is None)
    i = page.stories.index(slot)

    def with_slot(new: object) -> object:
        return replace(page, stories=(*page.stories[:i], new, *page.stories[i + 1:]))

    first, second = slot.columns[0], slot.columns[1]
    # A column six lines short of its foot: white, and the fill drops.
    short = with_slot(replace(slot, columns=(replace(first, lines_used=first.rect.lines - 6), *slot.columns[1:])))
    found = page_quality(short, flatplan)  # type: ignore[arg-type]
    assert [run.lines for run in found.white] == [6] and found.fill < page_quality(page, flatplan).fill
    # A head over a single line of its story.
    head = with_slot(replace(slot, columns=(replace(first, lines_used=1), *slot.columns[1:])))
    assert page_quality(head, flatplan).heads_at_foot == (slot.story.slug,)  # type: ignore[arg-type]
    # A paragraph's last line alone at the head of the next column (widow), its first alone at a foot (orphan).
    piece = second.pieces[0]
    widowed = replace(piece, first_line=max(1, piece.total_lines - 1), lines=1, total_lines=max(2, piece.total_lines))
    orphaned = replace(first.pieces[-1], first_line=0, lines=1, total_lines=5)
    bad = with_slot(replace(slot, columns=(replace(first, pieces=(*first.pieces[:-1], orphaned)),
                                           replace(second, pieces=(widowed, *second.pieces[1:])),
                                           *slot.columns[2:])))
    found = page_quality(bad, flatplan)  # type: ignore[arg-type]
    assert found.widows and found.orphans and not found.ok
    # A turn of two lines.
    turn = with_slot(replace(slot, continued_from=1, columns=(replace(first, lines_used=2),
                                                               *(replace(c, lines_used=0) for c in slot.columns[1:]))))
    assert page_quality(turn, flatplan).short_jumps == (slot.story.slug,)  # type: ignore[arg-type]
    # Overset is counted.
    assert page_quality(with_slot(replace(slot, overset_lines=9)), flatplan).overset_lines == 9  # type: ignore[arg-type]
    assert MIN_FILL == 0.97

"""Make-up of measured paragraphs into columns: widows, orphans, crossheads, exact fill."""

from __future__ import annotations

from gp_print.measure import ParagraphMetrics
from gp_print.plan import Cursor, make_up, remaining_lines


def para(n: int, *, crosshead: bool = False, splittable: bool = True) -> ParagraphMetrics:
    lines = tuple(f"line {i}" for i in range(n))
    offsets = tuple(range(0, 7 * n, 7)) if splittable else None
    return ParagraphMetrics(lines=lines, offsets=offsets, hyphenated=(False,) * n, crosshead=crosshead)


def test_everything_fits_in_one_column() -> None:
    mk = make_up([para(3), para(4)], [10])
    assert mk.fits and mk.used == (7,)


def test_split_keeps_two_lines_each_side() -> None:
    # 5 lines of room: 3-line paragraph, then a 6-line one split 2 | 4.
    mk = make_up([para(3), para(6)], [5, 10])
    first, second = mk.columns
    assert [(p.para, p.first_line, p.lines) for p in first] == [(0, 0, 3), (1, 0, 2)]
    assert [(p.para, p.first_line, p.lines) for p in second] == [(1, 2, 4)]


def test_no_widow_pulls_a_line_over() -> None:
    # 4 lines of room for a 5-line paragraph would leave a one-line widow: take 3, carry 2.
    mk = make_up([para(5)], [4, 10])
    assert [p.lines for p in mk.columns[0]] == [3]
    assert [(p.first_line, p.lines) for p in mk.columns[1]] == [(3, 2)]


def test_no_orphan_moves_the_paragraph() -> None:
    # One line of room at the foot: the paragraph starts in the next column instead.
    mk = make_up([para(4), para(6)], [5, 10])
    assert [p.para for p in mk.columns[0]] == [0]
    assert mk.columns[1][0].first_line == 0 and mk.columns[1][0].lines == 6


def test_crosshead_stays_with_its_text() -> None:
    # A crosshead (1 line + 1 space) needs two lines of its paragraph below it in the same column.
    mk = make_up([para(6), para(1, crosshead=True), para(5)], [9, 10])
    assert all(p.para != 1 for p in mk.columns[0])
    assert mk.columns[1][0].para == 1 and mk.columns[1][0].at_top


def test_unsplittable_paragraph_is_not_cut() -> None:
    mk = make_up([para(8, splittable=False)], [5, 5])
    assert mk.remaining_lines == 8 and not mk.fits


def test_overflow_reports_remaining_lines() -> None:
    metrics = [para(10), para(10)]
    mk = make_up(metrics, [6, 6])
    assert mk.remaining_lines == remaining_lines(metrics, mk.end) == 20 - sum(mk.used)
    assert mk.end == Cursor(1, 2)

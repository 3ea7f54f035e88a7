"""Proof marks (issue 3): a sub-editor sees overset, holes, white at a column foot, house ads
and jumps on the PNG proof at a glance — in the right place, in the right colour."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from gp_print.model import BuildResult, Rect
from gp_print.proof import HOLE, HOUSE_AD, JUMP, mark_problems

DPI = 50


def _pixel_mm(image: Image.Image, x_mm: float, y_mm: float) -> tuple[int, int, int]:
    return image.getpixel((round(x_mm * DPI / 25.4), round(y_mm * DPI / 25.4)))  # type: ignore[return-value]


def test_marks_land_on_the_problems(sample_build: BuildResult) -> None:
    flatplan = sample_build.flatplan
    grid = flatplan.edition.grid
    layout = flatplan.pages[2]
    slots = list(layout.stories)
    overset = replace(slots[-1], overset_lines=7, continues_on=None, continued_from=None)
    jumped = replace(slots[0], continues_on=9, overset_lines=0)
    # One column of a story stopped 6 lines short of its box foot.
    short = slots[1]
    column = short.columns[0]
    short = replace(short, columns=(replace(column, lines_used=column.rect.lines - 6), *short.columns[1:]))
    hole = Rect(0, 2, grid.depth_lines - 8, 8)
    marked_layout = replace(layout, stories=(jumped, short, *slots[2:-1], overset), holes=(hole,))
    blank = Image.new("RGB", (round(grid.trim_width_mm * DPI / 25.4), round(grid.trim_height_mm * DPI / 25.4)),
                      "white")

    marked = mark_problems(blank, marked_layout, grid, DPI)

    def centre(rect: Rect) -> tuple[float, float]:
        left, top, width, depth = grid.page_box_mm(rect)
        return left + width / 2, top + depth / 2

    def edge(rect: Rect) -> tuple[float, float]:
        left, top, width, depth = grid.page_box_mm(rect)
        return left + width / 2, top + depth - 0.3

    hole_pixel = _pixel_mm(marked, *centre(hole))
    assert hole_pixel[0] > hole_pixel[1] + 40, hole_pixel  # red wash over the hole
    white = Rect(column.rect.column, 1, column.rect.bottom - 6, 6)
    white_pixel = _pixel_mm(marked, *centre(white))
    assert white_pixel[0] > white_pixel[1] + 40, white_pixel
    overset_edge = _pixel_mm(marked, *edge(overset.rect))
    assert overset_edge == HOLE, overset_edge
    jump_edge = _pixel_mm(marked, *edge(jumped.rect))
    assert jump_edge == JUMP, jump_edge
    for filler in layout.fillers:
        assert _pixel_mm(marked, *edge(filler.rect)) == HOUSE_AD
    # Where nothing is wrong, the proof is left as it was.
    fine = short.columns[1]
    assert fine.rect.lines - fine.lines_used <= 2
    assert _pixel_mm(marked, *centre(fine.rect)) == (255, 255, 255)

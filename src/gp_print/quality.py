"""The flatplan's quality targets, checked page by page: what a chief sub looks for on a proof.

Nothing overset or silently dropped; the type area filled (white deeper than two lines in any
column is a hole, wherever it is: between stories or at the foot of a story's column); no
paragraph cut to leave a single line at a column's foot (orphan) or head (widow); no jump of
fewer than `MIN_JUMP_LINES` lines; no headline stranded at the foot of a column over fewer
than `MIN_LINES_UNDER_HEAD` lines of its story.  `gp-print plan` and `gp-print build` print
the summary; the tests hold the planner to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gp_print.model import Flatplan, PageLayout, Rect

MIN_FILL = 0.97
MAX_WHITE_LINES = 2
MIN_JUMP_LINES = 4
MIN_LINES_UNDER_HEAD = 3


@dataclass(frozen=True)
class PageQuality:
    number: int
    fill: float
    white: tuple[Rect, ...]  # runs deeper than MAX_WHITE_LINES, one column wide
    overset_lines: int
    short_jumps: tuple[str, ...]
    widows: tuple[str, ...]
    orphans: tuple[str, ...]
    heads_at_foot: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (self.fill >= MIN_FILL and not self.white and not self.overset_lines and not self.short_jumps
                and not self.widows and not self.orphans and not self.heads_at_foot)


@dataclass(frozen=True)
class EditionQuality:
    pages: tuple[PageQuality, ...]
    unplaced: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pages)

    def summary(self) -> str:
        def where(pages: list[int]) -> str:
            return f" (page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages[:8]))}" \
                   f"{', …' if len(pages) > 8 else ''})" if pages else ""

        white = [p.number for p in self.pages if p.white]
        low = [p.number for p in self.pages if p.fill < MIN_FILL]
        parts = [
            f"{sum(p.overset_lines for p in self.pages)} lines overset",
            f"{len(self.unplaced)} unplaced",
            f"fill {min((p.fill for p in self.pages), default=1.0) * 100:.1f} % at least"
            f"{' — under 97 %' + where(low) if low else ''}",
            f"{sum(len(p.white) for p in self.pages)} white runs over {MAX_WHITE_LINES} lines{where(white)}",
            f"{sum(len(p.short_jumps) for p in self.pages)} short jumps",
            f"{sum(len(p.widows) + len(p.orphans) for p in self.pages)} widows/orphans",
            f"{sum(len(p.heads_at_foot) for p in self.pages)} headlines at a column foot",
        ]
        return "quality: " + " · ".join(parts)


def page_quality(page: PageLayout, flatplan: Flatplan) -> PageQuality:
    grid = flatplan.edition.grid
    short_jumps, widows, orphans, heads = [], [], [], []
    for slot in page.stories:
        text_lines = sum(c.lines_used for c in slot.columns)
        if slot.continued_from is not None and text_lines < MIN_JUMP_LINES:
            short_jumps.append(slot.story.slug)
        if slot.continued_from is None and slot.columns:
            under_head = slot.columns[0].lines_used
            if under_head < min(MIN_LINES_UNDER_HEAD, text_lines):
                heads.append(slot.story.slug)
        for column in slot.columns:
            for piece in column.pieces:
                if piece.continues and piece.lines < 2 and piece.first_line == 0:
                    orphans.append(f"{slot.story.slug} ¶{piece.index + 1}")
                if piece.continued and piece.lines < 2:
                    widows.append(f"{slot.story.slug} ¶{piece.index + 1}")
    return PageQuality(
        number=page.number, fill=page.fill_ratio(grid),
        white=tuple(run for run in page.white() if run.lines > MAX_WHITE_LINES),
        overset_lines=sum(slot.overset_lines for slot in page.stories),
        short_jumps=tuple(short_jumps), widows=tuple(widows), orphans=tuple(orphans), heads_at_foot=tuple(heads))


def edition_quality(flatplan: Flatplan) -> EditionQuality:
    return EditionQuality(tuple(page_quality(page, flatplan) for page in flatplan.pages),
                          tuple(story.slug for story, _ in flatplan.unplaced))

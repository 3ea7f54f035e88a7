"""Plan the pages: place ads and stories on the column grid, copyfit, and jump overflow.

The planner works in grid lines and measured paragraphs only; it never renders a page.  Each
page is made up the way a stone sub would: booked ads first, stacked from the foot; then the
page lead across the top; then the columns below divided into stacks whose edges meet the ads,
each filled top to bottom, the last story of a stack cut to fit (its remainder jumping to a
later page of the section) or opened out (bigger picture, pull quote) to fill.
"""

from __future__ import annotations

import itertools
import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from gp_print.measure import Measurer, ParagraphMetrics, body_paragraphs, paragraph_classes, runs_html
from gp_print.model import (
    Ad,
    AdPosition,
    AdSlot,
    ColumnText,
    Edition,
    Flatplan,
    Grid,
    Jump,
    PageLayout,
    PagePlan,
    ParagraphPiece,
    Photo,
    PhotoPlacement,
    Rect,
    Story,
    StoryKind,
    StorySlot,
    Teaser,
)
from gp_print.paths import LAYOUTS_DIR

log = logging.getLogger("gp_print.plan")

GAP = 1  # grid lines between stacked stories (a hairline rule runs through it)
MIN_JUMP_LINES = 4
MIN_STACK_LINES = 14

HEADLINE_SIZES: dict[str, tuple[tuple[float, ...], int]] = {
    "front-lead": ((84, 78, 72, 66, 60, 54, 48), 3),
    "lead": ((60, 54, 48, 44, 40, 36, 32), 3),
    "second": ((36, 33, 30, 27, 24, 22), 3),
    "minor": ((26, 24, 22, 20, 18, 16), 4),
    "brief": ((14, 13, 12), 3),
    "letter": ((16, 15, 14, 13), 3),
    "comment": ((34, 30, 27, 24, 22), 4),
    "jump": ((20, 18, 16, 14), 2),
}


@dataclass(frozen=True)
class TemplateSpec:
    top_lines: int
    lead: bool
    lead_rank: str
    lead_share: tuple[float, float]
    stacks: tuple[int, ...]


@cache
def template_specs() -> dict[str, TemplateSpec]:
    data = tomllib.loads((LAYOUTS_DIR / "templates.toml").read_text(encoding="utf-8"))
    return {
        name: TemplateSpec(
            top_lines=int(spec["top_lines"]), lead=bool(spec["lead"]), lead_rank=str(spec["lead_rank"]),
            lead_share=(float(spec["lead_share"][0]), float(spec["lead_share"][1])),
            stacks=tuple(int(s) for s in spec["stacks"]),
        )
        for name, spec in data.items()
    }


# ----------------------------------------------------------------------------- make-up


@dataclass(frozen=True)
class Cursor:
    """A place in a story's body: paragraph index and the line within it."""

    para: int = 0
    line: int = 0


@dataclass(frozen=True)
class Piece:
    para: int
    first_line: int
    lines: int
    at_top: bool


@dataclass(frozen=True)
class MakeUp:
    columns: tuple[tuple[Piece, ...], ...]
    used: tuple[int, ...]
    end: Cursor
    remaining_lines: int

    @property
    def fits(self) -> bool:
        return self.remaining_lines == 0


def _lines(metrics: Sequence[ParagraphMetrics], index: int, at_top: bool) -> int:
    m = metrics[index]
    return m.count + (0 if at_top or not m.crosshead else 1)


def remaining_lines(metrics: Sequence[ParagraphMetrics], start: Cursor) -> int:
    total = 0
    for i in range(start.para, len(metrics)):
        total += _lines(metrics, i, False) - (start.line if i == start.para else 0)
    return total


def make_up(metrics: Sequence[ParagraphMetrics], capacities: Sequence[int], start: Cursor = Cursor(),
            *, dropcap: bool = False) -> MakeUp:
    """Fill columns of the given depths in reading order, keeping widows and orphans of at
    least two lines, crossheads with their text and never cutting a line in two."""
    columns: list[tuple[Piece, ...]] = []
    used: list[int] = []
    para, line = start.para, start.line
    for capacity in capacities:
        room = capacity
        pieces: list[Piece] = []
        while para < len(metrics) and room > 0:
            m = metrics[para]
            at_top = room == capacity
            if m.crosshead:
                need = _lines(metrics, para, at_top)
                follow = min(2, metrics[para + 1].count) if para + 1 < len(metrics) else 0
                if need + follow <= room:
                    pieces.append(Piece(para, 0, need, at_top))
                    room -= need
                    para, line = para + 1, 0
                    continue
                break
            left = m.count - line
            if left <= room:
                pieces.append(Piece(para, line, left, at_top))
                room -= left
                para, line = para + 1, 0
                continue
            take = room
            if left - take < 2:
                take = left - 2
            first_ok = line > 0 or take >= 2
            dropcap_ok = not (dropcap and para == 0 and line + take < 4)
            if take >= 1 and first_ok and dropcap_ok and m.offsets is not None and take >= (1 if line else 2):
                pieces.append(Piece(para, line, take, at_top))
                room -= take
                line += take
            break
        columns.append(tuple(pieces))
        used.append(capacity - room)
    end = Cursor(para, line)
    return MakeUp(tuple(columns), tuple(used), end, remaining_lines(metrics, end) if para < len(metrics) else 0)


# ----------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Geometry:
    """Where a candidate's body columns start and how deep they are, in lines from the box top."""

    starts: tuple[int, ...]
    capacities: tuple[int, ...]
    pull_quote_column: int
    pull_quote_lines: int
    dropcap: bool


@dataclass(frozen=True)
class Candidate:
    slot: StorySlot
    makeup: MakeUp
    geometry: Geometry
    overflow: int
    jumps: bool
    slack: int
    score: float

    @property
    def end(self) -> Cursor:
        return self.makeup.end


class Planner:
    def __init__(self, edition: Edition, measurer: Measurer) -> None:
        self.edition = edition
        self.grid: Grid = edition.grid
        self.m = measurer
        self.warnings: list[str] = []
        self.specs = template_specs()
        self._natural: dict[tuple[str, int, str, Cursor, int | None], int] = {}

    # -- measured parts ---------------------------------------------------------------------

    def headline(self, story: Story, rank: str, columns: int, show_standfirst: bool,
                 continued_from: int | None) -> tuple[float, int]:
        """Largest headline size for the rank that fits the width in its line limit."""
        sizes, max_lines = HEADLINE_SIZES.get(rank, HEADLINE_SIZES["minor"])
        width = self.grid.span_mm(columns)
        probes = [self.m.head_probe(story, width, s, show_standfirst, continued_from, rank) for s in sizes]
        results = self.m.measure(probes)
        chosen = len(sizes) - 1
        for i, result in enumerate(results):
            if not result.overflow and result.line_counts.get("hl", 99) <= max_lines:
                chosen = i
                break
        result = results[chosen]
        if result.overflow:
            self.warnings.append(f"{story.slug}: headline does not fit {columns} column(s) even at {sizes[chosen]}pt")
        return sizes[chosen], self.m.lines_for(result.height_mm, slack_mm=1.6)

    def caption_lines(self, photo: Photo, columns: int) -> int:
        probe = self.m.block_probe("caption", self.grid.span_mm(columns), photo)
        (result,) = self.m.measure([probe])
        return self.m.lines_for(result.height_mm, slack_mm=0.4)

    def pullquote_lines(self, story: Story) -> int:
        probe = self.m.block_probe("pullquote", self.grid.column_width_mm, story)
        (result,) = self.m.measure([probe])
        return self.m.lines_for(result.height_mm, slack_mm=self.grid.leading_mm * 0.6)

    def photo_natural_lines(self, photo: Photo, columns: int) -> int:
        return max(4, round(self.grid.span_mm(columns) * photo.aspect / self.grid.leading_mm))

    # -- fitting one story in one box -------------------------------------------------------

    def candidates(self, story: Story, rect: Rect, rank: str, *, start: Cursor = Cursor(),
                   continued_from: int | None = None, can_jump: bool, natural_only: bool = False,
                   ) -> list[Candidate]:
        cont = continued_from is not None
        dropcap = rank in ("front-lead", "lead") and not cont and story.kind is StoryKind.STORY
        metrics = self.m.body(story, dropcap=dropcap)
        head_rank = "jump" if cont else rank
        show_standfirst = bool(story.standfirst) and rank in ("front-lead", "lead", "second", "comment")
        size, head_lines = self.headline(story, head_rank, rect.columns, show_standfirst, continued_from)
        w, h = rect.columns, rect.lines
        photo = story.photos[0] if story.photos and not cont else None
        photo_opts: list[tuple[int, int, int] | None] = [None]
        if photo is not None:
            widths = sorted({w, max(1, w - 1), max(1, w - 2), max(1, (w + 1) // 2)}, reverse=True)
            if w >= 5:
                widths = [c for c in widths if c >= 3]
            for pw in widths:
                natural = self.photo_natural_lines(photo, pw)
                cap_lines = self.caption_lines(photo, pw)
                lo, hi = max(6, int(natural * 0.62)), int(natural * 1.6) + 1
                heights = [natural] if natural_only else range(lo, hi + 1)
                for ph in heights:
                    photo_opts.append((pw, ph, cap_lines))
        pq_opts = [0]
        if story.pull_quote and not cont and w >= 2 and rank not in ("brief", "letter"):
            pq_opts.append(self.pullquote_lines(story))
        results: list[Candidate] = []
        for popt, pq in itertools.product(photo_opts, pq_opts):
            starts = [head_lines] * w
            if popt is not None:
                pw, ph, cap = popt
                below = head_lines + ph + cap + 1
                for c in range(w - pw, w):
                    starts[c] = below
            caps = [h - s for s in starts]
            pq_col = -1
            if pq:
                pq_col = next((c for c in range(1, w) if caps[c] - pq >= 6), -1)
                if pq_col < 0:
                    continue
                caps[pq_col] -= pq + 1
            if min(caps) < 3 or sum(caps) < 6:
                continue
            mk = make_up(metrics, caps, start, dropcap=dropcap)
            overflow = mk.remaining_lines
            jumps = False
            if overflow:
                if not can_jump:
                    penalty = 10_000.0 + overflow * 100
                else:
                    jump_caps = list(caps)
                    jump_caps[-1] -= 1
                    mk = make_up(metrics, jump_caps, start, dropcap=dropcap)
                    overflow = mk.remaining_lines
                    penalty = 500.0 if overflow >= MIN_JUMP_LINES else 5_000.0
                    caps = jump_caps
                    jumps = True
            else:
                penalty = 0.0
            slack = sum(c - u for c, u in zip(caps, mk.used, strict=True))
            # Empty feet in more than one column look worse than one short last column.
            ragged = sum(1 for c, u in zip(caps[:-1], mk.used[:-1], strict=True) if c - u > 1)
            score = penalty + slack * 10 + ragged * 25
            if popt is not None:
                natural = self.photo_natural_lines(photo, popt[0]) if photo else 0
                score += abs(popt[1] - natural) * 0.8 + (w - popt[0]) * 2
            elif photo is not None:
                score += 60
            if pq:
                score += 4
            placement = None
            if popt is not None and photo is not None:
                pw, ph, cap = popt
                placement = PhotoPlacement(photo, Rect(rect.column + w - pw, pw, rect.line + head_lines, ph + cap),
                                           image_lines=ph)
            slot = StorySlot(
                story=story, rect=rect, rank=rank, headline_pt=size, head_lines=head_lines, photo=placement,
                columns=(), show_standfirst=show_standfirst, show_pull_quote=bool(pq),
                continued_from=continued_from, slack_lines=slack,
            )
            geometry = Geometry(tuple(starts), tuple(caps), pq_col, pq, dropcap)
            results.append(Candidate(slot, mk, geometry, overflow, jumps, slack, score))
        results.sort(key=lambda c: c.score)
        return results

    def natural_lines(self, story: Story, columns: int, rank: str, *, start: Cursor = Cursor(),
                      continued_from: int | None = None) -> int:
        """The shortest box of this width that holds the whole story with its picture."""
        key = (story.slug, columns, rank, start, continued_from)
        if key not in self._natural:
            self._natural[key] = self._natural_lines(story, columns, rank, start, continued_from)
        return self._natural[key]

    def _natural_lines(self, story: Story, columns: int, rank: str, start: Cursor,
                       continued_from: int | None) -> int:
        metrics = self.m.body(story, dropcap=False)
        body = remaining_lines(metrics, start)
        lo = max(8, body // columns)
        for h in range(lo, lo + 160):
            found = self.candidates(story, Rect(0, columns, 0, h), rank, start=start,
                                    continued_from=continued_from, can_jump=False, natural_only=True)
            if found and found[0].overflow == 0 and found[0].slack <= columns:
                return h
        return lo + 160

    def finish(self, cand: Candidate) -> StorySlot:
        """Turn a chosen candidate into a slot with its column pieces as HTML."""
        g = cand.geometry
        slot = cand.slot
        metrics = self.m.body(slot.story, dropcap=g.dropcap)
        rect = slot.rect
        paras = body_paragraphs(slot.story)
        columns: list[ColumnText] = []
        for c, pieces in enumerate(cand.makeup.columns):
            pq = g.pull_quote_lines if c == g.pull_quote_column else 0
            top = g.starts[c] + (pq + 1 if pq else 0)
            col_rect = Rect(rect.column + c, 1, rect.line + top, g.capacities[c])
            out = [self._piece_html(slot.story, paras, piece, metrics[piece.para], g.dropcap) for piece in pieces]
            columns.append(ColumnText(col_rect, tuple(out), cand.makeup.used[c], pull_quote_lines=pq))
        return replace(slot, columns=tuple(columns))

    def _piece_html(self, story: Story, paras: Sequence[object], piece: Piece, m: ParagraphMetrics,
                    dropcap: bool) -> ParagraphPiece:
        para = paras[piece.para]
        assert hasattr(para, "runs")
        classes = paragraph_classes(story, piece.para, paras, dropcap=dropcap and piece.first_line == 0)  # type: ignore[arg-type]
        end_line = piece.first_line + (piece.lines - (1 if m.crosshead and not piece.at_top else 0))
        if m.crosshead:
            start_char, end_char = 0, None
            if piece.at_top:
                classes += " at-top"
        else:
            offsets = m.offsets or (0,)
            start_char = offsets[piece.first_line] if piece.first_line else 0
            end_char = offsets[end_line] if end_line < m.count else None
            if end_char is not None:
                # A trailing space would make WeasyPrint break the last line differently.
                text = para.text  # type: ignore[attr-defined]
                while end_char > start_char and text[end_char - 1] == " ":
                    end_char -= 1
        extra = []
        if piece.first_line > 0:
            extra.append("cont")
            classes = classes.replace("dropcap", "").replace("first", "")
        if not m.crosshead and end_line < m.count:
            extra.append("splits")
        html = runs_html(para, start_char, end_char, dropcap="dropcap" in classes.split())  # type: ignore[arg-type]
        if not m.crosshead and end_line < m.count and m.hyphenated[end_line - 1]:
            html = html + "-"
        classes = " ".join(classes.split() + extra)
        tag = f'<p class="{classes}">{html}</p>'
        return ParagraphPiece(
            paragraph=para, index=piece.para, first_line=piece.first_line,  # type: ignore[arg-type]
            lines=piece.lines, total_lines=m.count, html=tag, drop_cap="dropcap" in classes,
        )


# ----------------------------------------------------------------------------- pages


@dataclass
class Pending:
    """A story waiting for a slot: fresh, or the remainder of one that jumped."""

    story: Story
    start: Cursor = Cursor()
    from_page: int | None = None


def stack_patterns(columns: int, preferred: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every way to divide the columns into stacks of 2–4 (and 1 beside an ad), best first."""
    out: list[tuple[int, ...]] = []
    for n in range(1, columns + 1):
        for parts in itertools.product(range(1, columns + 1), repeat=n):
            if sum(parts) == columns and all(1 <= p <= 5 for p in parts):
                out.append(parts)
    out.sort(key=lambda p: (p != preferred, sum(1 for x in p if x < 2), abs(len(p) - len(preferred)),
                            max(p) - min(p)))
    return out


def ad_rects(ads: Sequence[Ad], grid: Grid) -> list[AdSlot]:
    slots = []
    for ad in ads:
        lines = int(ad.height_cm * 10 / grid.leading_mm + 0.999)
        if ad.position is AdPosition.BOTTOM_RIGHT:
            column = grid.columns - ad.columns
        elif ad.position is AdPosition.BOTTOM_LEFT:
            column = 0
        else:
            column = (grid.columns - ad.columns) // 2
        slots.append(AdSlot(ad, Rect(column, ad.columns, grid.depth_lines - lines, lines)))
    return slots


def plan_edition(edition: Edition, measurer: Measurer | None = None) -> Flatplan:
    """The flatplan of the whole edition: every page's ads and story slots, and every jump."""
    m = measurer or Measurer(edition)
    planner = Planner(edition, m)
    m.paragraphs(edition.stories)
    grid = edition.grid
    queues: dict[str, list[Pending]] = {}
    for story in sorted(edition.stories, key=lambda s: (s.priority, -s.words, s.slug)):
        queues.setdefault(story.section, []).append(Pending(story))
    pages_by_section: dict[str, list[int]] = {}
    for planned in edition.pages:
        pages_by_section.setdefault(planned.section, []).append(planned.number)
    continuations: dict[str, list[Pending]] = {}
    layouts: list[PageLayout] = []
    jumps: list[Jump] = []
    front_taken: set[str] = set()

    assigned = _share_out(planner, edition, queues, front_taken)
    for page in edition.pages:
        spec = planner.specs[page.template]
        ads = ad_rects([a for a in edition.ads if a.page == page.number], grid)
        later_in_section = [n for n in pages_by_section[page.section] if n > page.number]
        can_jump = bool(later_in_section)
        if page.template == "front":
            fronts = [p for p in queues.get(page.section, []) if p.story.front]
            others = [p for q in queues.values() for p in q if p.story.front and p not in fronts]
            queue = fronts + others
            for p in queue:
                front_taken.add(p.story.slug)
            for q in queues.values():
                q[:] = [p for p in q if p.story.slug not in front_taken]
            jump_section = page.section
        else:
            mine = [p for p in queues.get(page.section, [])
                    if assigned.get(p.story.slug, page.number) <= page.number]
            later = [p for p in queues.get(page.section, []) if p not in mine]
            queue = continuations.pop(page.section, []) + mine + later
            jump_section = page.section
        layout, leftover, jumped = _layout_page(planner, page, spec, ads, queue, can_jump)
        layouts.append(layout)
        # Jumped remainders continue on the next page of the section.
        for pending in jumped:
            continuations.setdefault(jump_section, []).append(pending)
        if page.template == "front":
            # Front candidates that found no room go back to their sections' queues.
            for p in leftover:
                queues.setdefault(p.story.section, []).insert(0, p)
        else:
            fresh = [p for p in leftover if p.from_page is None]
            carried = [p for p in leftover if p.from_page is not None]
            queues[page.section] = fresh
            if carried:
                continuations.setdefault(page.section, [])[:0] = carried

    # Resolve jump targets: every continuation placed names its origin page.
    slots_by_key: dict[tuple[str, int], int] = {}
    for layout in layouts:
        for slot in layout.stories:
            if slot.continued_from is not None:
                slots_by_key[(slot.story.slug, slot.continued_from)] = layout.number
    resolved: list[PageLayout] = []
    overset: list[str] = []
    for layout in layouts:
        new_slots = []
        for slot in layout.stories:
            if slot.continues_on == -1:
                target = slots_by_key.get((slot.story.slug, layout.number))
                if target is None:
                    overset.append(slot.story.slug)
                    planner.warnings.append(
                        f"overset: '{slot.story.slug}' on page {layout.number} jumps but no later page had room "
                        "for its continuation — cut the story or free space in its section")
                    slot = replace(slot, continues_on=None)
                else:
                    slot = replace(slot, continues_on=target)
                    jumps.append(Jump(slot.story.slug, layout.number, target))
            new_slots.append(slot)
        resolved.append(replace(layout, stories=tuple(new_slots)))

    unplaced: list[tuple[Story, str]] = []
    for section, q in queues.items():
        for p in q:
            unplaced.append((p.story, f"no room left on the {section} pages"))
    for section, q in continuations.items():
        for p in q:
            lines = remaining_lines(m.body(p.story, dropcap=False), p.start)
            planner.warnings.append(f"overset: continuation of '{p.story.slug}' ({lines} lines) found no room "
                                    f"on a later {section} page")
    for story, reason in unplaced:
        planner.warnings.append(f"unplaced: '{story.slug}' — {reason}")

    resolved = _add_teasers(resolved, edition)
    return Flatplan(edition, tuple(resolved), tuple(jumps), tuple(unplaced), tuple(planner.warnings))


def _share_out(planner: Planner, edition: Edition, queues: dict[str, list[Pending]],
               front_taken: set[str]) -> dict[str, int]:
    """Share each section's stories out over its pages before make-up, so copy is spread
    across the section instead of piling onto its first pages: each page gets a lead in
    priority order, then every further story goes to the page with the most room left."""
    grid = planner.grid
    assigned: dict[str, int] = {}
    front_sections = {p.section for p in edition.pages if p.template == "front"}
    for section, queue in queues.items():
        pages = [p for p in edition.pages if p.section == section and p.template != "front"]
        if not pages:
            continue
        room: dict[int, float] = {}
        for p in pages:
            spec = planner.specs[p.template]
            area = grid.columns * (grid.depth_lines - spec.top_lines)
            for ad in ad_rects([a for a in edition.ads if a.page == p.number], grid):
                area -= ad.rect.columns * (ad.rect.lines + GAP)
            room[p.number] = float(area)
        stories = [q.story for q in queue if q.story.slug not in front_taken or section not in front_sections]
        stories = [s for s in stories if s.slug not in front_taken]
        for i, story in enumerate(stories):
            demand = planner.natural_lines(story, 3, "second") * 3 + GAP * 3
            if i < len(pages):
                number = pages[i].number
            else:
                number = max(room, key=lambda n: (room[n] / max(1.0, _page_area(planner, n)), -n))
            assigned[story.slug] = number
            room[number] -= demand
    return assigned


def _page_area(planner: Planner, number: int) -> float:
    grid = planner.grid
    return float(grid.columns * grid.depth_lines)


def _add_teasers(layouts: list[PageLayout], edition: Edition) -> list[PageLayout]:
    """The front page's index strip points at the top story of each other section."""
    out = []
    firsts: list[Teaser] = []
    seen: set[str] = set()
    for layout in layouts[1:]:
        section = layout.plan.section
        if section in seen or not layout.stories:
            continue
        if layouts and section == layouts[0].plan.section:
            continue
        seen.add(section)
        top = min((s for s in layout.stories if s.continued_from is None), key=lambda s: s.story.priority,
                  default=None)
        if top is not None:
            firsts.append(Teaser(top.story, layout.number))
    for layout in layouts:
        if layout.plan.template == "front":
            layout = replace(layout, teasers=tuple(firsts[:4]))
        out.append(layout)
    return out


def _rank_for(story: Story, columns: int, first_in_stack: bool) -> str:
    if story.kind is StoryKind.BRIEF:
        return "brief"
    if story.kind is StoryKind.LETTER:
        return "letter"
    if story.kind is StoryKind.COMMENT:
        return "comment"
    return "second" if columns >= 3 and first_in_stack else "minor"


def _layout_page(planner: Planner, page: PagePlan, spec: TemplateSpec, ads: list[AdSlot],
                 queue: list[Pending], can_jump: bool) -> tuple[PageLayout, list[Pending], list[Pending]]:
    grid = planner.grid
    depth = grid.depth_lines
    top = spec.top_lines
    bottoms = [depth] * grid.columns
    for ad in ads:
        for c in range(ad.rect.column, ad.rect.column + ad.rect.columns):
            bottoms[c] = min(bottoms[c], ad.rect.line - GAP)
    queue = list(queue)
    slots: list[StorySlot] = []
    jumped: list[Pending] = []
    holes: list[Rect] = []

    def place(cand: Candidate, pending: Pending) -> None:
        slot = planner.finish(cand)
        if cand.overflow and cand.jumps:
            slot = replace(slot, continues_on=-1)
            jumped.append(Pending(pending.story, cand.end, page.number))
        elif cand.overflow:
            planner.warnings.append(
                f"overset: '{pending.story.slug}' on page {page.number} is overset by {cand.overflow} lines "
                "— cut the story or give it a bigger slot")
        slots.append(slot)

    lead_bottom = top
    # The lead: the first fresh story, across the whole page.
    fresh = [p for p in queue if p.from_page is None]
    if spec.lead and fresh:
        pending = fresh[0]
        queue.remove(pending)
        avail = min(bottoms) - top
        lo, hi = (int(avail * s) for s in spec.lead_share)
        if not queue:
            lo = hi = avail
        natural = planner.natural_lines(pending.story, grid.columns, spec.lead_rank)
        if not can_jump:
            hi = max(hi, min(natural, avail - (MIN_STACK_LINES + GAP if queue else 0)))
        height = max(lo, min(hi, natural))
        rect = Rect(0, grid.columns, top, height)
        cands = planner.candidates(pending.story, rect, spec.lead_rank, can_jump=can_jump)
        if cands:
            place(cands[0], pending)
            lead_bottom = top + height + GAP
        else:
            queue.insert(0, pending)

    # Stacks below the lead, their edges meeting the ads' edges.
    edges = {ad.rect.column for ad in ads} | {ad.rect.column + ad.rect.columns for ad in ads}
    edges -= {0, grid.columns}
    count = len(queue)
    pattern = next(
        (p for p in stack_patterns(grid.columns, spec.stacks)
         if edges <= set(itertools.accumulate(p[:-1])) and len(p) <= max(1, count)),
        spec.stacks,
    )
    column = 0
    for width in pattern:
        stack_bottom = min(bottoms[column:column + width])
        line = lead_bottom
        first = True
        while line < stack_bottom - 3:
            room = stack_bottom - line
            if not queue:
                if _open_out(planner, slots, column, width, line, room):
                    break
                holes.append(Rect(column, width, line, room))
                planner.warnings.append(f"page {page.number}: hole of {room} lines × {width} columns "
                                        "(no more stories for this section)")
                break
            # Stories are chosen and shaped to fit; only when none fits does one jump to a later page.
            pending, cand = _choose(planner, queue, column, width, line, room, first, False)
            if cand is None and can_jump:
                pending, cand = _choose(planner, queue, column, width, line, room, first, True)
            if cand is None:
                if not _open_out(planner, slots, column, width, line, room):
                    holes.append(Rect(column, width, line, room))
                    planner.warnings.append(f"page {page.number}: hole of {room} lines × {width} columns "
                                            "(no story fits)")
                break
            queue.remove(pending)
            place(cand, pending)
            line = cand.slot.rect.bottom + GAP
            first = False
        column += width

    layout = PageLayout(plan=page, stories=tuple(slots), ads=tuple(ads), teasers=(), top_line=top,
                        holes=tuple(holes))
    return layout, queue, jumped


def _open_out(planner: Planner, slots: list[StorySlot], column: int, width: int, line: int, room: int) -> bool:
    """Give the room left at the foot of a stack to the story above it, if it can fill it."""
    above = [i for i, s in enumerate(slots)
             if s.rect.column == column and s.rect.columns == width and s.rect.bottom + GAP == line]
    if not above:
        return False
    i = above[0]
    slot = slots[i]
    if slot.continues_on is not None:
        return False
    rect = replace(slot.rect, lines=slot.rect.lines + room)
    start = Cursor()
    if slot.continued_from is not None:
        first = slot.columns[0].pieces[0] if slot.columns and slot.columns[0].pieces else None
        start = Cursor(first.index, first.first_line) if first else Cursor()
    cands = [c for c in planner.candidates(slot.story, rect, slot.rank, start=start,
                                           continued_from=slot.continued_from, can_jump=False)
             if c.overflow == 0 and c.slack <= max(2, width)]
    if not cands:
        return False
    slots[i] = planner.finish(cands[0])
    return True


def _choose(planner: Planner, queue: list[Pending], column: int, width: int, line: int, room: int,
            first: bool, can_jump: bool) -> tuple[Pending, Candidate | None]:
    """Pick the next story for a stack: natural height if the rest of the stack stays usable,
    otherwise the story that fills what is left best."""
    best: tuple[float, Pending, Candidate] | None = None
    for order, pending in enumerate(queue[:12]):
        story = pending.story
        cont = pending.from_page
        rank = "jump" if cont is not None else _rank_for(story, width, first)
        if cont is not None:
            rank = "minor"
        natural = planner.natural_lines(story, width, rank, start=pending.start, continued_from=cont)
        if natural + GAP + MIN_STACK_LINES <= room and len(queue) > 1:
            rect = Rect(column, width, line, natural)
            cands = planner.candidates(story, rect, rank, start=pending.start, continued_from=cont,
                                       can_jump=False)
            if cands and cands[0].overflow == 0:
                score = order * 40.0 + cands[0].score * 0.1
                if best is None or score < best[0]:
                    best = (score, pending, cands[0])
                if order == 0:
                    break
                continue
        rect = Rect(column, width, line, room)
        jump_ok = can_jump and cont is None and story.kind is StoryKind.STORY
        cands = [c for c in planner.candidates(story, rect, rank, start=pending.start, continued_from=cont,
                                               can_jump=jump_ok) if c.overflow == 0 or c.jumps]
        if not cands:
            continue
        cand = cands[0]
        score = order * 40.0 + cand.score
        if best is None or score < best[0]:
            best = (score, pending, cand)
    if best is None:
        return queue[0], None
    return best[1], best[2]

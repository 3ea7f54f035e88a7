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
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from gp_print.colour import Fit, placed_ppi
from gp_print.measure import (
    Measurer,
    ParagraphMetrics,
    Probe,
    ProbeResult,
    body_paragraphs,
    paragraph_classes,
    runs_html,
)
from gp_print.model import (
    Ad,
    AdPosition,
    AdSlot,
    ColumnText,
    DeskPlan,
    Edition,
    Filler,
    Flatplan,
    Grid,
    Jump,
    PageLayout,
    PagePlan,
    PageRecord,
    Paragraph,
    ParagraphPiece,
    Photo,
    PhotoPlacement,
    Rect,
    SlotRecord,
    Story,
    StoryKind,
    StorySlot,
    Teaser,
    unfilled_lines,
)
from gp_print.paths import LAYOUTS_DIR
from gp_print.quality import MAX_WHITE_LINES, MIN_FILL, MIN_JUMP_LINES

log = logging.getLogger("gp_print.plan")

GAP = 1  # grid lines between stacked stories (a hairline rule runs through it)
MIN_GOOD_JUMP_LINES = 15
MIN_STACK_LINES = 14
MIN_LEAD_COLUMN_LINES = 10  # a page lead has copy for at least this many lines in every column
MIN_FOLLOW_LINES = 9  # a story set at natural depth must leave at least this for the next one
FILLER_MIN_LINES = 6  # holes this deep get a house ad; shallower ones stay white and are reported
MAX_HEAD_PAD_LINES = 5  # at most this much extra white under a headline to fill a stack
MIN_PHOTO_PPI = 150  # a picture is never enlarged below this effective resolution
# House ads by section (templates in layouts/partials/house-ads.html.j2); "" is the default.
HOUSE_ADS: dict[str, tuple[str, ...]] = {
    "opinion": ("letters", "eedition"),
    "sport": ("results", "subscribe"),
    "": ("eedition", "subscribe", "photo-sales"),
}

HEADLINE_SIZES: dict[str, tuple[tuple[float, ...], int]] = {
    "front-lead": ((84, 78, 72, 66, 60, 54, 48), 2),
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
    return _Galley(metrics, dropcap).make_up(capacities, start)


def _fill_column(counts: Sequence[int], crossheads: Sequence[bool], splittable: Sequence[bool], para: int,
                 line: int, capacity: int, dropcap: bool) -> tuple[tuple[Piece, ...], int, int, int]:
    """One column of `make_up`, from (para, line), over the paragraphs' line counts, crosshead
    flags and whether each can be split: its pieces, where the next column starts and the
    lines it uses."""
    room = capacity
    pieces: list[Piece] = []
    total = len(counts)
    while para < total and room > 0:
        at_top = room == capacity
        if crossheads[para]:
            need = counts[para] + (0 if at_top else 1)
            follow = min(2, counts[para + 1]) if para + 1 < total else 0
            if need + follow <= room:
                pieces.append(Piece(para, 0, need, at_top))
                room -= need
                para, line = para + 1, 0
                continue
            break
        left = counts[para] - line
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
        if take >= 1 and first_ok and dropcap_ok and splittable[para] and take >= (1 if line else 2):
            pieces.append(Piece(para, line, take, at_top))
            room -= take
            line += take
        break
    return tuple(pieces), para, line, capacity - room


class _Galley:
    """One story body's make-up, remembered.  A column fills the same way whenever it starts
    at the same place in the text and is as deep, and the page search asks for the same
    columns (and the same sets of columns) again and again."""

    __slots__ = ("_after", "_columns", "_made", "_paras", "dropcap", "metrics")

    def __init__(self, metrics: Sequence[ParagraphMetrics], dropcap: bool) -> None:
        self.metrics = metrics
        self.dropcap = dropcap
        self._paras = (tuple(m.count for m in metrics), tuple(m.crosshead for m in metrics),
                       tuple(m.offsets is not None for m in metrics))
        self._columns: dict[tuple[int, int, int], tuple[tuple[Piece, ...], int, int, int]] = {}
        self._made: dict[tuple[tuple[int, ...], Cursor], MakeUp] = {}
        self._after: list[int] | None = None

    def make_up(self, capacities: Sequence[int], start: Cursor) -> MakeUp:
        key = (tuple(capacities), start)
        found = self._made.get(key)
        if found is not None:
            return found
        metrics, dropcap, known = self.metrics, self.dropcap, self._columns
        counts, crossheads, splittable = self._paras
        columns: list[tuple[Piece, ...]] = []
        used: list[int] = []
        para, line = start.para, start.line
        for capacity in key[0]:
            step = known.get((para, line, capacity))
            if step is None:
                step = known[(para, line, capacity)] = _fill_column(counts, crossheads, splittable, para, line,
                                                                    capacity, dropcap)
            pieces, para, line, lines = step
            columns.append(pieces)
            used.append(lines)
        end = Cursor(para, line)
        left = self.remaining(end) if para < len(metrics) else 0
        found = self._made[key] = MakeUp(tuple(columns), tuple(used), end, left)
        return found

    def remaining(self, start: Cursor) -> int:
        """`remaining_lines(self.metrics, start)`, from running totals."""
        after = self._after
        if after is None:
            metrics = self.metrics
            after = [0] * (len(metrics) + 1)
            for i in range(len(metrics) - 1, -1, -1):
                after[i] = after[i + 1] + _lines(metrics, i, False)
            self._after = after
        if start.para >= len(self.metrics):
            return 0
        return after[start.para] - start.line


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
class _Setting:
    """A story shaped at one width and rank, whatever the depth: its body, head, and the
    picture frames (all of them, or only natural-size ones) and pull quotes it may get."""

    galley: _Galley
    dropcap: bool
    size: float
    head_lines: int
    show_standfirst: bool
    photo: Photo | None
    photo_opts: tuple[tuple[int, int, int] | None, ...]
    natural_opts: tuple[tuple[int, int, int] | None, ...]
    quote: tuple[str, str] | None
    pq_opts: tuple[int, ...]


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


def _head_fits(result: ProbeResult, max_lines: int) -> bool:
    """Whether a headline block set at one size keeps to its width and line limit."""
    return not result.overflow and result.line_counts.get("hl", 99) <= max_lines


class Planner:
    def __init__(self, edition: Edition, measurer: Measurer) -> None:
        self.edition = edition
        self.grid: Grid = edition.grid
        self.m = measurer
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.specs = template_specs()
        self.stories = {story.slug: story for story in edition.stories}
        self.balanced: dict[tuple[object, ...], MakeUp] = {}
        self._natural: dict[tuple[str, int, str, Cursor, int | None, int | None], int] = {}
        self._candidates: dict[tuple[object, ...], list[Candidate]] = {}
        self._heads: dict[tuple[object, ...], tuple[float, int]] = {}
        self._blocks: dict[tuple[object, ...], int] = {}
        self._galleys: dict[tuple[str, bool], _Galley] = {}
        self._floors: dict[tuple[str, int, str, Cursor, int | None], int] = {}
        self._settings: dict[tuple[str, int, str, int | None], _Setting] = {}
        self._head_asked: set[tuple[object, ...]] = set()
        self._quotes: dict[str, tuple[str, str] | None] = {}
        self._finished: dict[tuple[str, bool, int], tuple[tuple[Piece, ...], tuple[ParagraphPiece, ...]]] = {}

    # -- measured parts ---------------------------------------------------------------------

    def headline(self, story: Story, rank: str, columns: int, show_standfirst: bool,
                 continued_from: int | None) -> tuple[float, int]:
        """Largest headline size for the rank that fits the width in its line limit."""
        key = (story.slug, rank, columns, show_standfirst, continued_from)
        if key not in self._heads:
            self._heads[key] = self._headline(story, rank, columns, show_standfirst, continued_from)
        return self._heads[key]

    def _headline(self, story: Story, rank: str, columns: int, show_standfirst: bool,
                  continued_from: int | None) -> tuple[float, int]:
        sizes, max_lines = HEADLINE_SIZES.get(rank, HEADLINE_SIZES["minor"])
        width = self.grid.span_mm(columns)
        probes = [self.m.head_probe(story, width, s, show_standfirst, continued_from, rank) for s in sizes]
        # The largest size nearly always fits: the others are set only when it does not.
        results = self.m.measure(probes[:1])
        if not _head_fits(results[0], max_lines):
            results += self.m.measure(probes[1:])
        chosen = len(sizes) - 1
        for i, result in enumerate(results):
            if _head_fits(result, max_lines):
                chosen = i
                break
        result = results[chosen]
        if result.overflow:
            self.warnings.append(f"{story.slug}: headline does not fit {columns} column(s) even at {sizes[chosen]}pt")
        return sizes[chosen], self.m.lines_for(result.height_mm, slack_mm=1.6)

    def prefetch(self, pendings: Sequence[Pending], columns: int, rank_of: Callable[[Pending], str]) -> None:
        """Measure, in one WeasyPrint render, the headline blocks, captions and pull quotes a
        search over these stories at this width will ask for (one render per probe would cost
        far more).  A headline is set at its largest size first, as `_headline` sets it; the
        smaller sizes follow, in a second render, only for those that do not fit."""
        probes: list[Probe] = []
        heads: list[tuple[int, Story, str, bool, int | None]] = []
        width = self.grid.span_mm(columns)
        for pending in pendings:
            story, cont = pending.story, pending.from_page
            rank = "jump" if cont is not None else rank_of(pending)
            standfirst = self._shows_standfirst(story, rank)
            key = (story.slug, rank, columns, standfirst, cont)
            if key not in self._heads and key not in self._head_asked:
                self._head_asked.add(key)
                sizes, _ = HEADLINE_SIZES.get(rank, HEADLINE_SIZES["minor"])
                heads.append((len(probes), story, rank, standfirst, cont))
                probes.append(self.m.head_probe(story, width, sizes[0], standfirst, cont, rank))
            if story.photos and cont is None:
                photo = story.photos[0]
                probes += [self.m.block_probe("caption", self.grid.span_mm(c), photo)
                           for c in range(1, columns + 1)
                           if ("caption", photo.file, photo.caption, photo.credit, c) not in self._blocks]
            quote = self._quote(story)
            if quote and cont is None and columns >= 2 and rank not in ("brief", "letter") \
                    and ("pullquote", *quote) not in self._blocks:
                probes.append(self.m.block_probe("pullquote", self.grid.column_width_mm, *quote))
        if not probes:
            return
        results = self.m.measure(probes)
        smaller = []
        for index, story, rank, standfirst, cont in heads:
            sizes, max_lines = HEADLINE_SIZES.get(rank, HEADLINE_SIZES["minor"])
            if not _head_fits(results[index], max_lines):
                smaller += [self.m.head_probe(story, width, size, standfirst, cont, rank) for size in sizes[1:]]
        if smaller:
            self.m.measure(smaller)

    def _quote(self, story: Story) -> tuple[str, str] | None:
        """`pull_quote_for`, by slug (hashing a whole story for its cache costs more)."""
        if story.slug not in self._quotes:
            self._quotes[story.slug] = pull_quote_for(story)
        return self._quotes[story.slug]

    @staticmethod
    def _shows_standfirst(story: Story, rank: str) -> bool:
        return bool(story.standfirst) and rank in ("front-lead", "lead", "second", "comment")

    def caption_lines(self, photo: Photo, columns: int) -> int:
        key = ("caption", photo.file, photo.caption, photo.credit, columns)
        if key not in self._blocks:
            probe = self.m.block_probe("caption", self.grid.span_mm(columns), photo)
            (result,) = self.m.measure([probe])
            self._blocks[key] = self.m.lines_for(result.height_mm, slack_mm=0.4)
        return self._blocks[key]

    def pullquote_lines(self, text: str, by: str) -> int:
        key = ("pullquote", text, by)
        if key not in self._blocks:
            probe = self.m.block_probe("pullquote", self.grid.column_width_mm, text, by)
            (result,) = self.m.measure([probe])
            self._blocks[key] = self.m.lines_for(result.height_mm, slack_mm=self.grid.leading_mm * 0.6)
        return self._blocks[key]

    def sharp_enough(self, photo: Photo, columns: int, lines: int) -> bool:
        """Whether the picture keeps the print resolution (MIN_PHOTO_PPI) when it fills a frame
        this size (object-fit: cover scales it to the frame's larger demand)."""
        ppi = placed_ppi(photo.width_px, photo.height_px, self.grid.span_mm(columns), self.grid.lines_mm(lines),
                         Fit.COVER)
        return ppi >= MIN_PHOTO_PPI

    def photo_natural_lines(self, photo: Photo, columns: int) -> int:
        return max(4, round(self.grid.span_mm(columns) * photo.aspect / self.grid.leading_mm))

    # -- fitting one story in one box -------------------------------------------------------

    def candidates(self, story: Story, columns: int, lines: int, rank: str, *, start: Cursor = Cursor(),
                   continued_from: int | None = None, can_jump: bool, natural_only: bool = False,
                   ) -> list[Candidate]:
        """Every way to set the story in a box of this size, best first, placed at the top left
        of the type area.  The page search asks for the same sizes again and again, so shapes are
        worked out once and `best` moves the one it picks to where it is wanted."""
        key = (story.slug, columns, lines, rank, start, continued_from, can_jump, natural_only)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates_at_origin(story, Rect(0, columns, 0, lines), rank, start=start,
                                               continued_from=continued_from, can_jump=can_jump,
                                               natural_only=natural_only)
            self._candidates[key] = found
        return found

    def best(self, story: Story, rect: Rect, rank: str, *, accept: Callable[[Candidate], bool] = lambda c: True,
             start: Cursor = Cursor(), continued_from: int | None = None, can_jump: bool) -> Candidate | None:
        """The best shape `accept` allows, placed at `rect` (only it is moved there)."""
        for cand in self.candidates(story, rect.columns, rect.lines, rank, start=start,
                                    continued_from=continued_from, can_jump=can_jump):
            if accept(cand):
                return _shift(cand, rect)
        return None

    def _candidates_at_origin(self, story: Story, rect: Rect, rank: str, *, start: Cursor,
                              continued_from: int | None, can_jump: bool, natural_only: bool,
                              ) -> list[Candidate]:
        st = self._setting(story, rect.columns, rank, continued_from)
        w = rect.columns
        photo, quote, head_lines = st.photo, st.quote, st.head_lines
        results: list[Candidate] = []
        for popt, pq, starts, caps, pq_col, mk, jumps, penalty in self._shapes(
                st, w, rect.lines, st.natural_opts if natural_only else st.photo_opts, start, can_jump):
            overflow = mk.remaining_lines
            slack = sum(c - u for c, u in zip(caps, mk.used, strict=True))
            # Empty feet in more than one column look worse than one short last column.
            ragged = sum(1 for c, u in zip(caps[:-1], mk.used[:-1], strict=True) if c - u > 1)
            score = penalty + slack * 10 + ragged * 25
            if popt is not None:
                natural = self.photo_natural_lines(photo, popt[0]) if photo else 0
                score += abs(popt[1] - natural) * 0.8 + (w - popt[0]) * 2
            elif photo is not None:
                score += 400 if rank in ("front-lead", "lead") else 60
            if pq:
                score += 4
            placement = None
            if popt is not None and photo is not None:
                pw, ph, cap = popt
                placement = PhotoPlacement(photo, Rect(rect.column + w - pw, pw, rect.line + head_lines, ph + cap),
                                           image_lines=ph)
            slot = StorySlot(
                story=story, rect=rect, rank=rank, headline_pt=st.size, head_lines=head_lines, photo=placement,
                columns=(), show_standfirst=st.show_standfirst, show_pull_quote=bool(pq),
                pull_quote=quote[0] if pq and quote else "", pull_quote_by=quote[1] if pq and quote else "",
                continued_from=continued_from, slack_lines=slack,
            )
            geometry = Geometry(starts, caps, pq_col, pq, st.dropcap)
            results.append(Candidate(slot, mk, geometry, overflow, jumps, slack, score))
        results.sort(key=lambda c: c.score)
        return results

    def _setting(self, story: Story, w: int, rank: str, continued_from: int | None) -> _Setting:
        """What shaping the story at this width and rank needs, whatever the depth of its box."""
        key = (story.slug, w, rank, continued_from)
        found = self._settings.get(key)
        if found is not None:
            return found
        cont = continued_from is not None
        dropcap = rank in ("front-lead", "lead") and not cont and story.kind is StoryKind.STORY
        galley = self._galley(story, dropcap)
        head_rank = "jump" if cont else rank
        show_standfirst = self._shows_standfirst(story, rank)
        self._premeasure(story, w, rank, continued_from)
        size, head_lines = self.headline(story, head_rank, w, show_standfirst, continued_from)
        photo = story.photos[0] if story.photos and not cont else None
        photo_opts: list[tuple[int, int, int] | None] = [None]
        natural_opts: list[tuple[int, int, int] | None] = [None]
        if photo is not None:
            # Wide pictures first; a small original still gets the widest frame it prints sharp in.
            widths = [c for c in range(w, 0, -1) if self.sharp_enough(photo, c, 1)][:5]
            for pw in widths:
                if not self.sharp_enough(photo, pw, 1):
                    continue
                natural = self.photo_natural_lines(photo, pw)
                cap_lines = self.caption_lines(photo, pw)
                lo, hi = max(6, int(natural * 0.62)), int(natural * 1.6) + 1
                for ph in range(lo, hi + 1, 2):
                    if self.sharp_enough(photo, pw, ph):
                        photo_opts.append((pw, ph, cap_lines))
                if self.sharp_enough(photo, pw, natural):
                    natural_opts.append((pw, natural, cap_lines))
        pq_opts = [0]
        quote = self._quote(story)
        if quote and not cont and w >= 2 and rank not in ("brief", "letter"):
            pq_opts.append(self.pullquote_lines(*quote))
        found = self._settings[key] = _Setting(galley, dropcap, size, head_lines, show_standfirst, photo,
                                               tuple(photo_opts), tuple(natural_opts), quote, tuple(pq_opts))
        return found

    def _premeasure(self, story: Story, w: int, rank: str, continued_from: int | None) -> None:
        """Measure in one render what `_setting` is about to ask for one part at a time: the
        headline at its largest size, the captions at the picture widths, the pull quote."""
        cont = continued_from is not None
        head_rank = "jump" if cont else rank
        standfirst = self._shows_standfirst(story, rank)
        probes = []
        key = (story.slug, head_rank, w, standfirst, continued_from)
        if key not in self._heads and key not in self._head_asked:
            sizes, _ = HEADLINE_SIZES.get(head_rank, HEADLINE_SIZES["minor"])
            probes.append(self.m.head_probe(story, self.grid.span_mm(w), sizes[0], standfirst, continued_from,
                                            head_rank))
        photo = story.photos[0] if story.photos and not cont else None
        if photo is not None:
            probes += [self.m.block_probe("caption", self.grid.span_mm(c), photo)
                       for c in [c for c in range(w, 0, -1) if self.sharp_enough(photo, c, 1)][:5]
                       if ("caption", photo.file, photo.caption, photo.credit, c) not in self._blocks]
        quote = self._quote(story)
        if quote and not cont and w >= 2 and rank not in ("brief", "letter") \
                and ("pullquote", *quote) not in self._blocks:
            probes.append(self.m.block_probe("pullquote", self.grid.column_width_mm, *quote))
        if len(probes) > 1:
            self.m.measure(probes)

    @staticmethod
    def _shapes(st: _Setting, w: int, h: int, photo_opts: Sequence[tuple[int, int, int] | None], start: Cursor,
                can_jump: bool) -> Iterator[tuple[tuple[int, int, int] | None, int, tuple[int, ...], tuple[int, ...],
                                                  int, MakeUp, bool, float]]:
        """Every shape of the story in a box `w` columns by `h` lines: (picture, pull quote,
        column starts, column depths, pull-quote column, make-up, jumps, penalty)."""
        head_lines, galley = st.head_lines, st.galley
        for popt, pq in itertools.product(photo_opts, st.pq_opts):
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
            mk = galley.make_up(caps, start)
            overflow = mk.remaining_lines
            jumps = False
            if overflow:
                if not can_jump:
                    penalty = 10_000.0 + overflow * 100
                else:
                    jump_caps = list(caps)
                    jump_caps[-1] -= 1
                    mk = galley.make_up(jump_caps, start)
                    overflow = mk.remaining_lines
                    # A jump is for a long story: a short turn is worse than a smaller picture.
                    penalty = 500.0 if overflow >= MIN_GOOD_JUMP_LINES else 2_500.0 if overflow >= MIN_JUMP_LINES \
                        else 5_000.0
                    caps = jump_caps
                    jumps = True
            else:
                penalty = 0.0
            yield popt, pq, tuple(starts), tuple(caps), pq_col, mk, jumps, penalty

    def _galley(self, story: Story, dropcap: bool) -> _Galley:
        """The story's body, as measured, with its make-ups remembered."""
        metrics = self.m.body(story, dropcap=dropcap)
        galley = self._galleys.get((story.slug, dropcap))
        if galley is None or galley.metrics is not metrics:
            galley = self._galleys[(story.slug, dropcap)] = _Galley(metrics, dropcap)
        return galley

    def natural_lines(self, story: Story, columns: int, rank: str, *, start: Cursor = Cursor(),
                      continued_from: int | None = None, within: int | None = None) -> int:
        """The shortest box of this width that holds the whole story with its picture; with
        `within`, without the picture when the box that shows it would be deeper than that."""
        key = (story.slug, columns, rank, start, continued_from, within)
        if key not in self._natural:
            self._natural[key] = self._natural_lines(story, columns, rank, start, continued_from, within)
        return self._natural[key]

    def _natural_lines(self, story: Story, columns: int, rank: str, start: Cursor,
                       continued_from: int | None, within: int | None = None) -> int:
        metrics = self.m.body(story, dropcap=False)
        body = remaining_lines(metrics, start)
        lo = max(8, body // columns)
        st = self._setting(story, columns, rank, continued_from)
        # The shapes `candidates(..., natural_only=True)` would offer, tested without making
        # candidates of them, from the shallowest box that can hold the story at all.
        first = max(lo, self.depth_floor(story, columns, rank, start, continued_from))
        framed = [o for o in st.natural_opts if o is not None]
        # A story with a picture is measured with it: its natural depth is the one that shows it.
        wants_photo = bool(story.photos) and continued_from is None
        for need_photo in ((True, False) if wants_photo else (False,)):
            opts = framed if need_photo else st.natural_opts
            low = first
            if need_photo:
                # The columns under a picture start below it and its caption, and hold 3 lines or more.
                need = self._need(st, columns, start)
                low = max(first, min((max(st.head_lines + ph + cap + 4,
                                          st.head_lines - (-(need + pw * (ph + cap + 1)) // columns))
                                      for pw, ph, cap in framed), default=lo + 160))
            for h in range(low, lo + 160 if within is None or not need_photo else min(lo + 160, within + 1)):
                for _, _, _, caps, _, mk, _, _ in self._shapes(st, columns, h, opts, start, False):
                    if mk.remaining_lines == 0 and sum(caps) - sum(mk.used) <= columns:
                        return h
        return lo + 160

    def head_of(self, story: Story, columns: int, rank: str, continued_from: int | None) -> tuple[float, int]:
        """The headline (size, lines) `candidates` sets for the story at this width and rank."""
        return self.headline(story, "jump" if continued_from is not None else rank, columns,
                             self._shows_standfirst(story, rank), continued_from)

    @staticmethod
    def _need(st: _Setting, columns: int, start: Cursor) -> int:
        """The fewest lines the body from `start` can take in `columns` columns: all its lines
        but at most one per column (a crosshead at a column top loses its space above)."""
        crossheads = sum(1 for m in st.galley.metrics[start.para:] if m.crosshead)
        return st.galley.remaining(start) - min(columns, crossheads)

    def depth_floor(self, story: Story, columns: int, rank: str, start: Cursor,
                    continued_from: int | None) -> int:
        """A depth below which no candidate of `candidates` holds the whole story (none has
        overflow 0): every column starts under the head."""
        key = (story.slug, columns, rank, start, continued_from)
        floor = self._floors.get(key)
        if floor is None:
            st = self._setting(story, columns, rank, continued_from)
            floor = self._floors[key] = st.head_lines + max(0, -(-self._need(st, columns, start) // columns))
        return floor

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
            # The search finishes the same columns (the same make-up) again and again.
            key = (slot.story.slug, g.dropcap, id(pieces))
            known = self._finished.get(key)
            if known is None or known[0] is not pieces:
                known = self._finished[key] = (pieces, tuple(
                    self._piece_html(paras, piece, metrics[piece.para], g.dropcap) for piece in pieces))
            columns.append(ColumnText(col_rect, known[1], cand.makeup.used[c], pull_quote_lines=pq))
        return replace(slot, columns=tuple(columns))

    @staticmethod
    def _piece_html(paras: Sequence[Paragraph], piece: Piece, m: ParagraphMetrics, dropcap: bool) -> ParagraphPiece:
        para = paras[piece.para]
        classes = paragraph_classes(piece.para, paras, dropcap=dropcap and piece.first_line == 0)
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
                text = para.text
                while end_char > start_char and text[end_char - 1] == " ":
                    end_char -= 1
        extra = []
        if piece.first_line > 0:
            extra.append("cont")
            classes = " ".join(c for c in classes.split() if c != "first")  # a continued piece has no lead-in
        if not m.crosshead and end_line < m.count:
            extra.append("splits")
        html = runs_html(para, start_char, end_char, dropcap="dropcap" in classes.split())
        if not m.crosshead and end_line < m.count and m.hyphenated[end_line - 1]:
            html = html + "-"
        classes = " ".join(classes.split() + extra)
        tag = f'<p class="{classes}">{html}</p>'
        return ParagraphPiece(
            paragraph=para, index=piece.para, first_line=piece.first_line,
            lines=piece.lines, total_lines=m.count, html=tag, drop_cap="dropcap" in classes,
        )


_QUOTED = re.compile(r"“([^”]{30,220})[,.]?”")


@cache
def pull_quote_for(story: Story) -> tuple[str, str] | None:
    """The desk's pull quote, else the longest short direct quotation in the body.  A pull
    quote is always the story's own words, so it can be taken verbatim from the copy."""
    if story.pull_quote:
        return story.pull_quote, story.pull_quote_by
    found = [m.group(1).strip().rstrip(",.") for p in story.body for m in _QUOTED.finditer(p.text)]
    found = [q for q in found if 6 <= len(q.split()) <= 28]
    if not found:
        return None
    return max(found, key=lambda q: (len(q), q)), ""


def _end_of(slot: StorySlot) -> Cursor:
    """Where the slot's text stops in its story's body."""
    for column in reversed(slot.columns):
        if column.pieces:
            last = column.pieces[-1]
            if last.continues:
                return Cursor(last.index, last.first_line + last.lines)
            return Cursor(last.index + 1, 0)
    return Cursor()


def _shift(cand: Candidate, rect: Rect) -> Candidate:
    """The same shape, placed at `rect`'s position."""
    slot = cand.slot
    photo = slot.photo
    if photo is not None:
        photo = replace(photo, rect=replace(photo.rect, column=photo.rect.column + rect.column,
                                            line=photo.rect.line + rect.line))
    return replace(cand, slot=replace(slot, rect=rect, photo=photo))


# ----------------------------------------------------------------------------- pages


@dataclass
class Pending:
    """A story waiting for a slot: fresh, or the remainder of one that jumped."""

    story: Story
    start: Cursor = Cursor()
    from_page: int | None = None


@cache
def stack_patterns(columns: int, preferred: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every way to divide the columns into stacks of 1–5, best first."""
    def compositions(left: int) -> list[tuple[int, ...]]:
        if left == 0:
            return [()]
        return [(first, *rest) for first in range(1, min(5, left) + 1) for rest in compositions(left - first)]

    out = compositions(columns)
    out.sort(key=lambda p: (p != preferred, sum(1 for x in p if x < 2), abs(len(p) - len(preferred)),
                            max(p) - min(p), p))
    return tuple(out)


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


def plan_edition(edition: Edition, measurer: Measurer | None = None, *, replan: bool = False,
                 on_page: Callable[[PageLayout], None] | None = None) -> Flatplan:
    """The flatplan of the whole edition: every page's ads and story slots, and every jump.
    With the desk's flatplan file (`edition.desk`), its locked pages and pinned slots are kept,
    and so is every page no changed story touches, unless `replan` (see gp_print.desk).
    Without the desk's file, `on_page` is called with each page as soon as it is final (a
    page of a section planned, not the front, no jump still to be given its page number), so
    a build can render it while later sections are planned."""
    m = measurer or Measurer(edition)
    planner = Planner(edition, m)
    m.paragraphs(edition.stories)
    if edition.desk is None:
        return _plan(planner, edition, {}, {}, on_page)
    return _plan_with_desk(planner, edition, edition.desk, replan=replan)


Pins = Mapping[int, Sequence[SlotRecord]]


def _plan(planner: Planner, edition: Edition, fixed: Mapping[int, PageRecord], pins: Pins,
          on_page: Callable[[PageLayout], None] | None = None) -> Flatplan:
    """Plan every page but the `fixed` ones, which are set again as recorded; `pins` are
    slots kept on the pages that are planned."""
    planner.warnings, planner.notes = [], []
    m = planner.m
    grid = edition.grid
    # Stories already set, on kept pages or pinned, are out of the queues; a continuation kept
    # on a later page waits for that page (`reserved`).
    set_aside: set[str] = set()
    reserved: dict[str, int] = {}
    for number, records in [(n, r.slots) for n, r in fixed.items()] + [(n, tuple(r)) for n, r in pins.items()]:
        for record in records:
            if record.continued_from is None:
                set_aside.add(record.story)
            else:
                reserved[record.story] = number
    queues: dict[str, list[Pending]] = {}
    for story in sorted(edition.stories, key=lambda s: (s.priority, -s.words, s.slug)):
        if story.slug not in set_aside:
            queues.setdefault(story.section, []).append(Pending(story))
    pages_by_section: dict[str, list[int]] = {}
    for planned in edition.pages:
        pages_by_section.setdefault(planned.section, []).append(planned.number)
    continuations: dict[str, list[Pending]] = {}
    layouts: list[PageLayout] = []
    jumps: list[Jump] = []
    # Front-page candidates are the front's, not their section's, when the edition has a front
    # that is being planned.
    has_front = any(p.template == "front" and p.number not in fixed for p in edition.pages)
    front_taken: set[str] = ({s.slug for s in edition.stories if s.front and s.slug not in set_aside}
                             if has_front else set())

    assigned = _share_out(planner, edition, queues, front_taken, fixed, pins)
    for page in [p for p in edition.pages if p.template == "front"]:
        spec = planner.specs[page.template]
        ads = ad_rects([a for a in edition.ads if a.page == page.number], grid)
        if page.number in fixed:
            layout, jumped = _rebuild_page(planner, page, spec, ads, fixed[page.number], {})
        else:
            can_jump = any(n > page.number for n in pages_by_section[page.section])
            fronts = [p for p in queues.get(page.section, []) if p.story.front]
            others = [p for q in queues.values() for p in q if p.story.front and p not in fronts]
            queue = fronts + others
            for q in queues.values():
                q[:] = [p for p in q if p.story.slug not in front_taken]
            layout, leftover, jumped = _layout_page(planner, page, spec, ads, queue, can_jump,
                                                    pins.get(page.number, ()))
            # Front candidates that found no room go back to their sections' queues.
            for p in leftover:
                queues.setdefault(p.story.section, []).insert(0, p)
        layouts.append(layout)
        for pending in jumped:
            continuations.setdefault(pending.story.section, []).append(pending)

    sections = list(dict.fromkeys(p.section for p in edition.pages if p.template != "front"))
    for section in sections:
        pages = [p for p in edition.pages if p.section == section and p.template != "front"]
        carried = continuations.pop(section, [])
        queue = queues.get(section, [])
        mark = len(planner.warnings), len(planner.notes)
        run = _plan_section(planner, pages, queue, carried, assigned, fixed, pins, reserved)
        if run.held and any(layout.fillers for layout in run.layouts if layout.number not in fixed):
            # Repair: stories were held over while house ads filled space.  Try again with the
            # held stories first in the queue; keep whichever run holds fewer over.
            first_try = run, planner.warnings[mark[0]:], planner.notes[mark[1]:]
            del planner.warnings[mark[0]:], planner.notes[mark[1]:]
            held = {p.story.slug for p in run.held}
            boosted = [p for p in queue if p.story.slug in held] + [p for p in queue if p.story.slug not in held]
            retry = _plan_section(planner, pages, boosted, carried,
                                  {k: v for k, v in assigned.items() if k not in held}, fixed, pins, reserved)
            if len(retry.held) >= len(run.held):
                del planner.warnings[mark[0]:], planner.notes[mark[1]:]
                run, warnings, notes = first_try
                planner.warnings.extend(warnings)
                planner.notes.extend(notes)
            else:
                run = retry
        layouts.extend(run.layouts)
        if on_page is not None:
            # Final now: only the front (its teasers) and a page whose jump waits for its
            # continuation's page number change after this.
            for layout in run.layouts:
                if layout.number not in fixed and not any(slot.continues_on == -1 for slot in layout.stories):
                    on_page(layout)
        queues[section] = run.held
        if run.carried:
            continuations[section] = run.carried
    layouts.sort(key=lambda layout: layout.number)

    # Resolve jump targets: every continuation placed names its origin page.
    slots_by_key: dict[tuple[str, int], int] = {}
    for layout in layouts:
        for slot in layout.stories:
            if slot.continued_from is not None:
                slots_by_key[(slot.story.slug, slot.continued_from)] = layout.number
    resolved: list[PageLayout] = []
    for layout in layouts:
        new_slots = []
        for slot in layout.stories:
            if slot.continues_on == -1:
                target = slots_by_key.get((slot.story.slug, layout.number))
                if target is None:
                    planner.warnings.append(
                        f"overset: '{slot.story.slug}' on page {layout.number} jumps but no later page had room "
                        "for its continuation — cut the story or free space in its section")
                    left = remaining_lines(m.body(slot.story, dropcap=False), _end_of(slot))
                    slot = replace(slot, continues_on=None, overset_lines=left)
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
    return Flatplan(edition, tuple(resolved), tuple(jumps), tuple(unplaced), tuple(planner.warnings),
                    tuple(planner.notes), kept=tuple(sorted(fixed)))


# ----------------------------------------------------------------------------- the desk's file


def desk_touched(edition: Edition, desk: DeskPlan) -> set[int]:
    """The pages of the desk's file that a change touches: a story added to, edited on or
    spiked from them, their ads rebooked, their section or template changed, their slots
    changed by hand, or the page new to the plan."""
    from gp_print.desk import page_ads, story_digest

    records = {record.number: record for record in desk.pages}
    now = {story.slug: story_digest(story, edition.root) for story in edition.stories}
    before = dict(desk.digests)
    changed = {slug for slug, digest in now.items() if before.get(slug, digest) != digest}
    changed |= {slug for slug in before if slug not in now}
    touched: set[int] = set()
    for page in edition.pages:
        was = records.get(page.number)
        if (was is None or (was.section, was.template) != (page.section, page.template)
                or was.ads != page_ads(edition.ads, edition.grid, page.number)
                or was.edited or any(slot.story in changed or slot.story not in now for slot in was.slots)):
            touched.add(page.number)
    return touched


def desk_unchanged(edition: Edition) -> bool:
    """Whether the edition has the desk's file and nothing since it touches a page: no late
    story, no edit, no spike, no new booking (the plan then sets every page as recorded)."""
    desk = edition.desk
    if desk is None:
        return False
    before = dict(desk.digests)
    return all(story.slug in before for story in edition.stories) and not desk_touched(edition, desk)


def _plan_with_desk(planner: Planner, edition: Edition, desk: DeskPlan, *, replan: bool) -> Flatplan:
    """Plan round the desk's file: locked pages and pins always stay; without `replan`, so does
    every page no added, edited or spiked story touches, and each late story goes to the one
    page of its section where the paper comes out best."""
    records = {record.number: record for record in desk.pages}
    locked = {n: r for n, r in records.items() if r.lock}
    pins: dict[int, tuple[SlotRecord, ...]] = {
        n: tuple(s for s in r.slots if s.pin) for n, r in records.items() if not r.lock}
    # A continuation kept on a locked page needs its first part cut where it was: pin that too.
    for record in locked.values():
        for slot in record.slots:
            origin = records.get(slot.continued_from) if slot.continued_from is not None else None
            if origin is None or origin.lock:
                continue
            first = next((o for o in origin.slots if o.story == slot.story and o.jumps and not o.pin), None)
            if first is not None:
                pins[origin.number] = (*pins[origin.number], replace(first, pin=True))
    pins = {n: p for n, p in pins.items() if p}
    if replan:
        return _plan(planner, edition, locked, pins)

    before = dict(desk.digests)
    touched = desk_touched(edition, desk)

    numbers = {p.number for p in edition.pages}

    def with_jumps(pages: set[int]) -> set[int]:
        """A page planned again may cut its jumping stories elsewhere: their turns go with it."""
        out = set(pages) - set(locked)
        grew = True
        while grew:
            grew = False
            for record in records.values():
                for slot in record.slots:
                    if slot.continued_from in out and record.number not in out and record.number not in locked:
                        out.add(record.number)
                        grew = True
        return out

    def fixed_for(pages: set[int]) -> dict[int, PageRecord]:
        """The recorded pages kept when `pages` are planned again."""
        replanned = with_jumps(pages)
        return {n: r for n, r in records.items() if n not in replanned and n in numbers}

    def run(pages: set[int]) -> Flatplan:
        return _plan(planner, edition, fixed_for(pages), pins)

    result: Flatplan | None = None
    late = [s for s in sorted(edition.stories, key=lambda s: (s.priority, -s.words, s.slug)) if s.slug not in before]
    for story in late:
        options = [p.number for p in edition.pages if p.number not in locked and p.number not in touched
                   and (p.section == story.section or (story.front and p.template == "front"))]
        best: tuple[float, int, Flatplan] | None = None
        for number in options:
            trial = run(touched | {number})
            score = _late_score(trial, story)
            if best is None or score < best[0]:
                best = (score, number, trial)
        if best is not None:
            touched.add(best[1])
            result = best[2]
    # The last late story's best trial is the plan, if it planned exactly the pages now touched.
    if result is None or result.kept != tuple(sorted(fixed_for(touched))):
        result = run(touched)
    return result


def _late_score(flatplan: Flatplan, story: Story) -> float:
    """How good a paper is with a late story on one page: it must get in, nothing overset,
    as little held over (most of all nothing important) and as little white as can be."""
    slots = [slot for page in flatplan.pages for slot in page.stories]
    score = 0.0 if any(slot.story.slug == story.slug for slot in slots) else 1_000_000.0
    score += 1000.0 * sum(slot.overset_lines for slot in slots)
    score += sum(200.0 * max(1, 10 - held.priority) for held, _ in flatplan.unplaced)
    score += sum(3.0 * hole.columns * hole.lines for page in flatplan.pages for hole in page.holes)
    score += sum(1.0 * f.rect.columns * f.rect.lines for page in flatplan.pages for f in page.fillers)
    return score


def _recorded_candidate(planner: Planner, story: Story, record: SlotRecord, start: Cursor) -> Candidate | None:
    """The story set in a recorded slot the way the record says (picture, pull quote); the
    best shape for the box when the record's no longer fits (the desk moved a pin)."""
    rect = replace(record.rect, lines=record.rect.lines - record.head_pad)
    if rect.lines < 3:
        return None
    found = planner.candidates(story, rect.columns, rect.lines, record.rank, start=start,
                               continued_from=record.continued_from, can_jump=record.jumps)

    def same(cand: Candidate) -> bool:
        photo = cand.slot.photo
        shape = (photo.rect.columns, photo.image_lines) if photo is not None else None
        return shape == record.photo and cand.slot.show_pull_quote == record.pull_quote

    cand = next((c for c in found if same(c)), None) or (found[0] if found else None)
    return _shift(cand, rect) if cand is not None else None


def _settle(planner: Planner, cand: Candidate, pending: Pending, page: int, pad: int = 0,
            ) -> tuple[StorySlot, Pending | None, str | None]:
    """A chosen shape as a finished slot: its jump (to be resolved) or its overset reported."""
    slot = planner.finish(_balanced(planner, cand, pending.start))
    if pad:
        slot = _pad_head(slot, pad)
    if cand.overflow and cand.jumps:
        return replace(slot, continues_on=-1), Pending(pending.story, cand.end, page), None
    if cand.overflow:
        return replace(slot, overset_lines=cand.overflow), None, (
            f"overset: '{pending.story.slug}' on page {page} is overset by {cand.overflow} lines "
            "— cut the story or give it a bigger slot")
    return slot, None, None


def _balanced(planner: Planner, cand: Candidate, start: Cursor) -> Candidate:
    """The same story in the same box with its spare lines shared out over its columns, so no
    column stops more than MAX_WHITE_LINES short of the box foot (a column two lines short
    reads as set; one six lines short reads as a hole), as far as the make-up rules allow:
    a line at a time is taken off the foot of a full column, right to left, while the story
    still fits."""
    caps = cand.geometry.capacities
    worst = max((c - u for c, u in zip(caps, cand.makeup.used, strict=True)), default=0)
    if cand.overflow or worst <= MAX_WHITE_LINES or len(caps) < 2:
        return cand
    key = (cand.slot.story.slug, caps, start, cand.geometry.dropcap)
    found = planner.balanced.get(key)
    if found is None:
        galley = planner._galley(cand.slot.story, cand.geometry.dropcap)
        found, targets, stepped = cand.makeup, list(caps), True
        while stepped and worst > MAX_WHITE_LINES:
            stepped = False
            for i in range(len(caps) - 2, -1, -1):
                trial = list(targets)
                trial[i] -= 1
                if trial[i] < caps[i] - MAX_WHITE_LINES:
                    continue  # spread the white thin, never into a hole of its own
                makeup = galley.make_up(trial, start)
                if makeup.remaining_lines or makeup.end != cand.makeup.end:
                    continue
                targets, stepped = trial, True
                spread = max(c - u for c, u in zip(caps, makeup.used, strict=True))
                if spread < worst:
                    found, worst = makeup, spread
                    if worst <= MAX_WHITE_LINES:
                        break
        planner.balanced[key] = found
    return replace(cand, makeup=found) if found is not cand.makeup else cand


def _recorded(planner: Planner, page: PagePlan, record: SlotRecord, arriving: Mapping[str, Pending],
              ) -> tuple[Pending, Candidate] | None:
    """A recorded slot's story and shape; a continuation starts where its story's first part
    actually stopped."""
    story = planner.stories[record.story]
    if record.continued_from is not None:
        pending = arriving.get(record.story)
        if pending is None:
            planner.warnings.append(
                f"page {page.number}: the turn of '{record.story}' kept from the flatplan file no longer follows "
                f"a jump (its first part now fits) — the space is left empty: plan page {page.number} again")
            return None
    else:
        pending = Pending(story)
    cand = _recorded_candidate(planner, story, record, pending.start)
    if cand is None:
        planner.warnings.append(f"page {page.number}: '{record.story}' cannot be set in the slot the flatplan file "
                                "gives it — give it a bigger slot")
        return None
    return pending, cand


def _rebuild_page(planner: Planner, page: PagePlan, spec: TemplateSpec, ads: list[AdSlot], record: PageRecord,
                  arriving: Mapping[str, Pending]) -> tuple[PageLayout, list[Pending]]:
    """A kept page set again exactly as the flatplan file records it."""
    slots: list[StorySlot] = []
    jumped: list[Pending] = []
    for slot_record in record.slots:
        found = _recorded(planner, page, slot_record, arriving)
        if found is None:
            continue
        slot, jump, warning = _settle(planner, found[1], found[0], page.number, slot_record.head_pad)
        slots.append(slot)
        if jump is not None:
            jumped.append(jump)
        if warning:
            planner.warnings.append(warning)
    for hole in record.holes:
        planner.warnings.append(f"page {page.number}: hole of {hole.lines} lines × {hole.columns} columns "
                                "(kept from the flatplan file)")
    for filler in record.fillers:
        planner.notes.append(f"page {page.number}: house ad in {filler.rect.lines} lines × {filler.rect.columns} "
                             "columns (kept from the flatplan file)")
    layout = PageLayout(plan=page, stories=tuple(slots), ads=tuple(ads), teasers=(), top_line=spec.top_lines,
                        holes=record.holes, fillers=record.fillers)
    return layout, jumped


@dataclass(frozen=True)
class _SectionRun:
    layouts: list[PageLayout]
    held: list[Pending]
    carried: list[Pending]


def _plan_section(planner: Planner, pages: list[PagePlan], queue: list[Pending], carried: list[Pending],
                  assigned: dict[str, int], fixed: Mapping[int, PageRecord] | None = None, pins: Pins | None = None,
                  reserved: Mapping[str, int] | None = None) -> _SectionRun:
    """Make up one section's pages in order; jumps continue on the section's later pages.
    `fixed` pages are set again as recorded; a continuation `reserved` for a kept slot on a
    later page waits for it."""
    grid = planner.grid
    fixed, pins, reserved = fixed or {}, pins or {}, reserved or {}
    layouts: list[PageLayout] = []
    queue = list(queue)
    continuations = list(carried)
    for page in pages:
        spec = planner.specs[page.template]
        ads = ad_rects([a for a in planner.edition.ads if a.page == page.number], grid)
        waiting = [p for p in continuations if reserved.get(p.story.slug, -1) > page.number]
        arriving = {p.story.slug: p for p in continuations if reserved.get(p.story.slug) == page.number}
        free = [p for p in continuations if p not in waiting and p.story.slug not in arriving]
        if page.number in fixed:
            layout, jumped = _rebuild_page(planner, page, spec, ads, fixed[page.number], arriving)
            layouts.append(layout)
            continuations = waiting + free + jumped
            continue
        can_jump = any(p.number > page.number for p in pages)
        mine = [p for p in queue if assigned.get(p.story.slug, page.number) <= page.number]
        later = [p for p in queue if p not in mine]
        layout, leftover, jumped = _layout_page(planner, page, spec, ads, free + mine + later, can_jump,
                                                pins.get(page.number, ()), arriving)
        layouts.append(layout)
        queue = [p for p in leftover if p.from_page is None]
        continuations = waiting + [p for p in leftover if p.from_page is not None] + jumped
    return _SectionRun(layouts, queue, continuations)


def _share_out(planner: Planner, edition: Edition, queues: dict[str, list[Pending]],
               front_taken: set[str], fixed: Mapping[int, PageRecord] | None = None,
               pins: Pins | None = None) -> dict[str, int]:
    """Share each section's stories out over its pages before make-up, so copy is spread
    across the section instead of piling onto its first pages: each page gets a lead in
    priority order (the back page first: it carries the section's top story, as a tabloid's
    sport back page does), then every further story goes to the page with the most room left."""
    grid = planner.grid
    assigned: dict[str, int] = {}
    for section, queue in queues.items():
        pages = sorted((p for p in edition.pages
                        if p.section == section and p.template != "front" and p.number not in (fixed or {})),
                       key=lambda p: (p.template != "back", p.number))
        room: dict[int, float] = {}
        for p in pages:
            area = grid.columns * (grid.depth_lines - planner.specs[p.template].top_lines)
            for ad in ad_rects([a for a in edition.ads if a.page == p.number], grid):
                area -= ad.rect.columns * (ad.rect.lines + GAP)
            for pin in (pins or {}).get(p.number, ()):
                area -= pin.rect.columns * (pin.rect.lines + GAP)
            room[p.number] = float(area)
        stories = [q.story for q in queue if q.story.slug not in front_taken]
        planner.prefetch([Pending(s) for s in stories], 3, lambda p: "second")
        for i, story in enumerate(stories):
            if not pages:
                break
            number = pages[i].number if i < len(pages) else max(room, key=lambda n: (room[n], -n))
            assigned[story.slug] = number
            room[number] -= planner.natural_lines(story, 3, "second") * 3 + GAP * 3
    return assigned


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


@dataclass
class _Attempt:
    """One way of making up a page, with what it cost."""

    slots: list[StorySlot]
    holes: list[Rect]
    fillers: list[Filler]
    queue: list[Pending]
    jumped: list[Pending]
    warnings: list[str]
    notes: list[str]
    cost: float = 0.0


def _layout_page(planner: Planner, page: PagePlan, spec: TemplateSpec, ads: list[AdSlot],
                 queue: list[Pending], can_jump: bool, pins: Sequence[SlotRecord] = (),
                 arriving: Mapping[str, Pending] | None = None) -> tuple[PageLayout, list[Pending], list[Pending]]:
    """Make up one page: try a few lead depths and stack divisions, keep the best.  Pinned
    slots stay where the desk put them; stacks are divided so that none is cut by one."""
    grid = planner.grid
    top = spec.top_lines
    bottoms = [grid.depth_lines] * grid.columns
    for ad in ads:
        for c in range(ad.rect.column, ad.rect.column + ad.rect.columns):
            bottoms[c] = min(bottoms[c], ad.rect.line - GAP)
    pinned: list[tuple[Pending, Candidate, SlotRecord]] = []
    for record in pins:
        found = _recorded(planner, page, record, arriving or {})
        if found is not None:
            pinned.append((*found, record))
    blocks = [ad.rect for ad in ads] + [record.rect for *_, record in pinned]
    edges = {r.column for r in blocks} | {r.column + r.columns for r in blocks}
    edges -= {0, grid.columns}
    patterns = [p for p in stack_patterns(grid.columns, spec.stacks)
                if edges <= set(itertools.accumulate(p[:-1])) and all(w >= 2 for w in p)][:4]
    if not patterns:
        patterns = [_edge_pattern(edges, grid.columns)] if pinned else [spec.stacks]
    pin_top = min((record.rect.line for *_, record in pinned), default=grid.depth_lines)

    fresh = [p for p in queue if p.from_page is None]
    lead = _lead_for(planner, fresh) if spec.lead else None
    lead_heights: list[int | None] = [None]
    lo = 0
    if lead is not None:
        avail = min(bottoms) - top
        lo, hi = (int(avail * f) for f in spec.lead_share)
        natural = planner.natural_lines(lead.story, grid.columns, spec.lead_rank, within=avail)
        if len(queue) == 1:
            # The page's last story: the whole page, or its own depth with house ads below.
            lead_heights = list(sorted({avail, min(avail, natural)}))
        else:
            if not can_jump:
                hi = max(hi, min(natural, avail - MIN_STACK_LINES - GAP))
            # Also the lead at its full natural depth, picture and all, if the page has room for it.
            full = min(natural, avail - MIN_STACK_LINES - GAP)
            lead_heights = list(sorted({max(lo, min(hi, natural)), lo, (lo + hi) // 2, max(lo, full)}))
            if natural < lo:
                # A short lead at its own depth: a deeper box would leave white under its text.
                lead_heights.insert(0, natural)
    if lead is not None and lead.story.photos:
        # Depths at which the lead can show its picture, when there are any.
        pictured = [h for h in lead_heights if h is not None and planner.best(
            lead.story, Rect(0, grid.columns, top, h), spec.lead_rank, can_jump=can_jump,
            accept=lambda c: c.slot.photo is not None) is not None]
        lead_heights = list(pictured) or lead_heights
    options: list[tuple[Pending | None, int | None]] = [(lead, h) for h in lead_heights]
    if lead is not None and not can_jump and len(fresh) > 2:
        # On a section's last page nothing can jump: also try leading with the next story.
        other = next(p for p in fresh if p is not lead)
        natural = planner.natural_lines(other.story, grid.columns, spec.lead_rank)
        options.append((other, max(lo, min(natural, min(bottoms) - top - MIN_STACK_LINES - GAP))))
    if pinned:
        # The lead runs across the top: it must end above the highest pinned slot.
        room_above = pin_top - top - GAP
        options = [(o, h) for o, h in options if h is None or h <= room_above]
        if not options and lead is not None and room_above >= max(lo, MIN_STACK_LINES):
            options = [(lead, room_above)]
        options = options or [(None, None)]
    best: _Attempt | None = None
    for lead_option, lead_height in options:
        for pattern in patterns:
            attempt = _attempt(planner, page, spec, queue, can_jump, bottoms, lead_option, lead_height, pattern,
                               pinned, pin_top)
            if best is None or attempt.cost < best.cost:
                best = attempt
    assert best is not None
    planner.warnings.extend(best.warnings)
    planner.notes.extend(best.notes)
    layout = PageLayout(plan=page, stories=tuple(best.slots), ads=tuple(ads), teasers=(), top_line=top,
                        holes=tuple(best.holes), fillers=tuple(best.fillers))
    return layout, best.queue, best.jumped


def _lead_for(planner: Planner, fresh: Sequence[Pending]) -> Pending | None:
    """The page lead: the first story in the queue with copy enough to run across every column
    (a brief set seven columns wide is mostly white); failing that, the first story."""
    need = planner.grid.columns * MIN_LEAD_COLUMN_LINES
    for pending in fresh[:3]:
        if remaining_lines(planner.m.body(pending.story, dropcap=False), pending.start) >= need:
            return pending
    return fresh[0] if fresh else None


def _edge_pattern(edges: set[int], columns: int) -> tuple[int, ...]:
    """The stacks whose sides are exactly these column edges."""
    cuts = [0, *sorted(edges), columns]
    return tuple(b - a for a, b in itertools.pairwise(cuts))


def _attempt(planner: Planner, page: PagePlan, spec: TemplateSpec, queue_in: list[Pending], can_jump: bool,
             bottoms: list[int], lead: Pending | None, lead_height: int | None,
             pattern: tuple[int, ...], pinned: Sequence[tuple[Pending, Candidate, SlotRecord]] = (),
             pin_top: int | None = None) -> _Attempt:
    grid = planner.grid
    top = spec.top_lines
    att = _Attempt([], [], [], list(queue_in), [], [], [])
    own = {p.story.slug for p in queue_in[:]}
    pin_top = grid.depth_lines if pin_top is None else pin_top

    def place(cand: Candidate, pending: Pending, pad: int = 0, pin: bool = False) -> None:
        slot, jump, warning = _settle(planner, cand, pending, page.number, pad)
        if jump is not None:
            att.jumped.append(jump)
            att.cost += 150
        elif warning:
            att.warnings.append(warning)
            att.cost += 2000 + cand.overflow * 20
        att.cost += cand.slack * 3  # white at the feet of a story's columns
        # White deeper than two lines in a column reads as a hole: cost it like one.
        att.cost += 9 * sum(max(0, c.rect.lines - c.lines_used - MAX_WHITE_LINES) for c in slot.columns)
        if pending.story.photos and pending.from_page is None and slot.photo is None:
            # A story's picture left out is a loss a reader sees, most of all on a lead.
            att.cost += 300 if slot.rank in ("front-lead", "lead") else 30
        att.slots.append(slot)
        if not pin:
            att.queue.remove(pending)

    for pin_pending, pin_cand, pin_record in pinned:
        place(pin_cand, pin_pending, pin_record.head_pad, pin=True)
    pinned_slots = len(att.slots)

    lead_bottom = top
    if lead is not None and lead_height is not None:
        rect = Rect(0, grid.columns, top, lead_height)
        # A lead shows its picture: take a shape without it only when none with it exists.
        photos = bool(lead.story.photos)
        chosen = planner.best(lead.story, rect, spec.lead_rank, can_jump=can_jump,
                              accept=lambda c: c.slot.photo is not None or not photos) \
            or planner.best(lead.story, rect, spec.lead_rank, can_jump=can_jump)
        if chosen and chosen.overflow and not chosen.jumps:
            # The lead cannot jump from the section's last page: lead with a story that fits.
            avail = min(bottoms) - top
            for other in [p for p in att.queue if p.from_page is None and p is not lead]:
                other_natural = planner.natural_lines(other.story, grid.columns, spec.lead_rank)
                if other_natural <= avail - (MIN_STACK_LINES + GAP) and top + other_natural + GAP <= pin_top:
                    lead, lead_height = other, other_natural
                    rect = Rect(0, grid.columns, top, lead_height)
                    chosen = planner.best(lead.story, rect, spec.lead_rank, can_jump=False)
                    break
        if chosen:
            place(chosen, lead)
            lead_bottom = top + lead_height + GAP

    def fill_hole(column: int, width: int, line: int, room: int, why: str, segment_top: int) -> None:
        if _open_out(planner, att.slots, column, width, line, room, keep=pinned_slots):
            return
        if room < FILLER_MIN_LINES and _feather(att.slots, column, width, segment_top, room, line,
                                                keep=pinned_slots):
            return
        if room >= FILLER_MIN_LINES:
            kinds = HOUSE_ADS.get(page.section, HOUSE_ADS[""])
            att.fillers.append(Filler(Rect(column, width, line, room), kinds[(page.number + column) % len(kinds)]))
            att.notes.append(f"page {page.number}: house ad in {room} lines × {width} columns ({why})")
            att.cost += room * width * (1.0 if why.startswith("no more") else 2.5)
            return
        att.holes.append(Rect(column, width, line, room))
        att.warnings.append(f"page {page.number}: hole of {room} lines × {width} columns ({why})")
        att.cost += room * width * 3

    column = 0
    for width in pattern:
        stack_bottom = min(bottoms[column:column + width])
        # Pinned slots in the stack cut it into segments, each filled from its top.
        segments = []
        segment_top = lead_bottom
        in_stack = [r.rect for *_, r in pinned
                    if r.rect.column < column + width and column < r.rect.column + r.rect.columns]
        for rect in sorted(in_stack, key=lambda r: r.line):
            if rect.line - GAP > segment_top:
                segments.append((segment_top, rect.line - GAP))
            segment_top = max(segment_top, rect.bottom + GAP)
        segments.append((segment_top, stack_bottom))
        for segment_top, segment_bottom in segments:
            line = segment_top
            first = segment_top == lead_bottom
            while line < segment_bottom - 2:
                room = segment_bottom - line
                if not att.queue:
                    fill_hole(column, width, line, room, "no more stories for this section", segment_top)
                    break
                # Below the lead, only front-page stories jump; elsewhere stories are chosen to fit.
                stack_jump = can_jump and page.template == "front"
                pending, cand = _choose(planner, att.queue, column, width, line, room, first, stack_jump)
                if cand is None:
                    fill_hole(column, width, line, room, "no story fits", segment_top)
                    break
                place(cand, pending)
                line = cand.slot.rect.bottom + GAP
                first = False
        column += width
    # Stories this page was given but could not take cost more than ones it took from later pages.
    placed = {s.story.slug for s in att.slots}
    if page.template == "front":
        # The front's stories were chosen for the front: leaving one off is a failure.
        att.cost += 400 * sum(1 for slug in own if slug not in placed)
    elif can_jump:
        att.cost += sum(40 for slug in own if slug not in placed and any(p.story.slug == slug for p in queue_in[:4]))
    else:
        # The section's last page: a story left out now is held over; a turn left out is
        # overset text — the worst outcome of all.
        att.cost += 400 * sum(1 for slug in own if slug not in placed)
        att.cost += 2000 * sum(1 for p in att.queue if p.from_page is not None)
    # The page must be filled to the quality target (gp_print.quality): white beyond it costs dear.
    over = unfilled_lines(att.slots, att.holes) - int(grid.columns * (grid.depth_lines - top) * (1 - MIN_FILL))
    if over > 0:
        att.cost += 300 + 20 * over
    att.cost -= 5 * len(placed)
    return att


def _move(slot: StorySlot, lines: int) -> StorySlot:
    """The same slot set `lines` lower on the page."""
    def down(rect: Rect) -> Rect:
        return replace(rect, line=rect.line + lines)

    photo = replace(slot.photo, rect=down(slot.photo.rect)) if slot.photo else None
    columns = tuple(replace(c, rect=down(c.rect)) for c in slot.columns)
    return replace(slot, rect=down(slot.rect), photo=photo, columns=columns)


def _feather(slots: list[StorySlot], column: int, width: int, top: int, room: int, foot: int | None = None,
             *, keep: int = 0) -> bool:
    """Spread a few spare lines at a stack's foot as extra space between its stories, as a
    stone sub would, rather than leave them white at the bottom.  The first `keep` slots are
    pinned and never move; only stories between `top` and the white at `foot` do."""
    stack = sorted((i for i, s in enumerate(slots)
                    if i >= keep and s.rect.column == column and s.rect.columns == width and s.rect.line >= top
                    and (foot is None or s.rect.bottom <= foot)),
                   key=lambda i: slots[i].rect.line)
    gaps = len(stack) - 1
    if gaps < 1 or room > 2 * gaps:
        return False
    moved = 0
    for n, i in enumerate(stack[1:]):
        moved += room // gaps + (1 if n < room % gaps else 0)
        slots[i] = _move(slots[i], moved)
    return True


def _open_out(planner: Planner, slots: list[StorySlot], column: int, width: int, line: int, room: int,
              *, keep: int = 0) -> bool:
    """Give the room left at the foot of a stack to the story above it, if it can fill it (not
    to one of the first `keep` slots: those are pinned)."""
    above = [i for i, s in enumerate(slots)
             if i >= keep and s.rect.column == column and s.rect.columns == width and s.rect.bottom + GAP == line]
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
    cand = planner.best(slot.story, rect, slot.rank, start=start, continued_from=slot.continued_from,
                        can_jump=False, accept=lambda c: c.overflow == 0 and c.slack <= max(2, width))
    if cand is not None:
        slots[i] = planner.finish(cand)
        return True
    if room <= MAX_HEAD_PAD_LINES:
        slots[i] = _pad_head(slot, room)
        return True
    return False


def _pad_head(slot: StorySlot, lines: int) -> StorySlot:
    """Open a few lines of white between a story's head and its text (picture and columns
    move down together), so the story reaches the foot of its stack."""
    moved = _move(slot, lines)
    return replace(moved, rect=replace(slot.rect, lines=slot.rect.lines + lines),
                   head_lines=slot.head_lines + lines, head_pad=slot.head_pad + lines)


def _choose(planner: Planner, queue: list[Pending], column: int, width: int, line: int, room: int,
            first: bool, can_jump: bool) -> tuple[Pending, Candidate | None]:
    """Pick the next story for a stack and its shape.

    A story that can be opened out to fill exactly what is left of the stack is best; one set
    at its natural depth, leaving room for another below, is next; a jump is the last resort.
    Stories nearer the head of the queue (higher priority, or booked for this page) win ties."""
    best: tuple[float, Pending, Candidate] | None = None

    def consider(score: float, pending: Pending, cand: Candidate) -> None:
        nonlocal best
        if best is None or score < best[0]:
            best = (score, pending, cand)

    planner.prefetch(queue[:12], width, lambda p: _rank_for(p.story, width, first))
    for order, pending in enumerate(queue[:12]):
        story = pending.story
        cont = pending.from_page
        rank = "minor" if cont is not None else _rank_for(story, width, first)
        base = order * 30.0
        if best is not None and best[0] <= base:
            # Every score below is at least `base` (a candidate's score is never negative), so
            # no story from here on can win; only set their heads, as the search would have
            # (a headline that does not fit is a warning, in this order).
            for rest in queue[order:12]:
                planner.head_of(rest.story, width, "minor" if rest.from_page is not None
                                else _rank_for(rest.story, width, first), rest.from_page)
            break
        natural = planner.natural_lines(story, width, rank, start=pending.start, continued_from=cont)
        exact = None
        if room >= planner.depth_floor(story, width, rank, pending.start, cont):
            exact = planner.best(story, Rect(column, width, line, room), rank, start=pending.start,
                                 continued_from=cont, can_jump=False,
                                 accept=lambda c: c.overflow == 0 and c.slack <= max(1, width))
        if exact:
            consider(base + exact.score * 0.5, pending, exact)
        if natural <= room:
            left = room - natural - GAP
            if left >= 0:
                nat = planner.best(story, Rect(column, width, line, natural), rank, start=pending.start,
                                   continued_from=cont, can_jump=False)
                if nat and nat.overflow == 0:
                    # Leaving too little for another story means a house ad or white space below.
                    follow = 25 if left >= MIN_FOLLOW_LINES and len(queue) > 1 else 90
                    consider(base + follow + nat.score * 0.5, pending, nat)
        elif not exact and can_jump and cont is None and story.kind is StoryKind.STORY:
            jump = planner.best(story, Rect(column, width, line, room), rank, can_jump=True,
                                accept=lambda c: c.jumps and c.overflow >= MIN_JUMP_LINES)
            if jump:
                consider(base + 300 + jump.score * 0.1, pending, jump)
    if best is None:
        return queue[0], None
    return best[1], best[2]

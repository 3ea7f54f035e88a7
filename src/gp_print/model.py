"""The records passed between pipeline stages.

Everything here is a frozen dataclass or a tuple of them: a stage reads records and returns new
ones, never edits what it was given.  Lengths on the page are millimetres unless a name says
otherwise; vertical positions inside the type area are counted in *lines* of the body-text
baseline grid, so that text in neighbouring columns sits on the same baselines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PT_PER_MM = 72 / 25.4


# --------------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Grid:
    """Page geometry: trim, bleed and the column grid of the type area."""

    trim_width_mm: float = 289.0
    trim_height_mm: float = 380.0
    bleed_mm: float = 3.0
    columns: int = 7
    column_width_mm: float = 35.0
    gutter_mm: float = 3.5
    top_margin_mm: float = 16.0
    bottom_margin_mm: float = 12.0
    leading_pt: float = 10.5

    @property
    def type_width_mm(self) -> float:
        return self.span_mm(self.columns)

    @property
    def side_margin_mm(self) -> float:
        return (self.trim_width_mm - self.type_width_mm) / 2

    @property
    def leading_mm(self) -> float:
        return self.leading_pt / PT_PER_MM

    @property
    def depth_lines(self) -> int:
        """How many body lines one column of the type area holds."""
        usable = self.trim_height_mm - self.top_margin_mm - self.bottom_margin_mm
        return int(usable / self.leading_mm + 1e-6)

    def span_mm(self, columns: int) -> float:
        """Width of a box `columns` grid columns wide (gutters inside it included)."""
        return columns * self.column_width_mm + max(columns - 1, 0) * self.gutter_mm

    def column_x_mm(self, column: int) -> float:
        """Left edge of grid column `column` (0-based), from the left edge of the type area."""
        return column * (self.column_width_mm + self.gutter_mm)

    def lines_mm(self, lines: float) -> float:
        return lines * self.leading_mm

    def page_box_mm(self, rect: Rect, *, depth_mm: float | None = None) -> tuple[float, float, float, float]:
        """A grid box as (left, top, width, depth) in mm from the trim's top-left corner."""
        depth = self.lines_mm(rect.lines) if depth_mm is None else depth_mm
        return (self.side_margin_mm + self.column_x_mm(rect.column), self.top_margin_mm + self.lines_mm(rect.line),
                self.span_mm(rect.columns), depth)

    def image_depth_mm(self, lines: int) -> float:
        """Depth of a picture frame `lines` deep: a hair less, so it never touches the caption."""
        return self.lines_mm(lines) - 0.6


@dataclass(frozen=True)
class Section:
    id: str
    name: str


@dataclass(frozen=True)
class PagePlan:
    """One page of the flatplan as the edition file books it."""

    number: int
    section: str
    template: str


class AdPosition(StrEnum):
    BOTTOM = "bottom"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"


@dataclass(frozen=True)
class Ad:
    """A booked display ad: sold in columns × centimetres, stacked from the foot of a page."""

    advertiser: str
    file: Path
    page: int
    columns: int
    height_cm: float
    position: AdPosition


@dataclass(frozen=True)
class Photo:
    file: Path
    caption: str
    credit: str
    width_px: int
    height_px: int

    @property
    def aspect(self) -> float:
        """Height over width."""
        return self.height_px / self.width_px


class StoryKind(StrEnum):
    STORY = "story"
    COMMENT = "comment"
    LETTER = "letter"
    BRIEF = "brief"


@dataclass(frozen=True)
class Inline:
    """A run of body text with one style; paragraphs are tuples of runs."""

    text: str
    italic: bool = False
    bold: bool = False


@dataclass(frozen=True)
class Paragraph:
    runs: tuple[Inline, ...]
    crosshead: bool = False

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass(frozen=True)
class Story:
    slug: str
    headline: str
    section: str
    priority: int
    body: tuple[Paragraph, ...]
    source: Path
    kicker: str = ""
    standfirst: str = ""
    byline: str = ""
    pull_quote: str = ""
    pull_quote_by: str = ""
    front: bool = False
    kind: StoryKind = StoryKind.STORY
    jump_headline: str = ""
    tags: tuple[str, ...] = ()
    photos: tuple[Photo, ...] = ()

    @property
    def words(self) -> int:
        return sum(len(p.text.split()) for p in self.body)

    @property
    def short_headline(self) -> str:
        """The head a continuation carries: the desk's jump head, else the first words."""
        if self.jump_headline:
            return self.jump_headline
        words = self.headline.split()
        return " ".join(words[:3]) + ("…" if len(words) > 3 else "")


@dataclass(frozen=True)
class Edition:
    root: Path
    title: str
    date: dt.date
    issue: int
    price: str
    lang: str
    tagline: str
    grid: Grid
    sections: tuple[Section, ...]
    pages: tuple[PagePlan, ...]
    ads: tuple[Ad, ...]
    stories: tuple[Story, ...]
    #: The desk's flatplan file (flatplan.toml), when the edition folder has one.
    desk: DeskPlan | None = None

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    @property
    def code(self) -> str:
        """Short paper code used in file names (GP for the Guernsey Press)."""
        letters = "".join(w[0] for w in self.title.split() if w[:1].isalpha())
        return letters.upper() or "ED"

    @property
    def date_long(self) -> str:
        return f"{self.date:%A} {self.date.day} {self.date:%B %Y}"


# --------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Rect:
    """A box on the grid: columns from the left of the type area, lines from its top."""

    column: int
    columns: int
    line: int
    lines: int

    @property
    def bottom(self) -> int:
        return self.line + self.lines


@dataclass(frozen=True)
class ColumnText:
    """One column of a story's body: the paragraph pieces that fill it."""

    rect: Rect
    pieces: tuple[ParagraphPiece, ...]
    lines_used: int
    pull_quote_lines: int = 0


@dataclass(frozen=True)
class ParagraphPiece:
    """All or part of a paragraph.  A paragraph cut at a column foot continues in the next."""

    paragraph: Paragraph
    index: int
    first_line: int
    lines: int
    total_lines: int
    html: str
    drop_cap: bool = False

    @property
    def continues(self) -> bool:
        return self.first_line + self.lines < self.total_lines

    @property
    def continued(self) -> bool:
        return self.first_line > 0


@dataclass(frozen=True)
class PhotoPlacement:
    photo: Photo
    rect: Rect
    image_lines: int


@dataclass(frozen=True)
class Jump:
    """A link between the two parts of a jumped story."""

    slug: str
    from_page: int
    to_page: int


@dataclass(frozen=True)
class StorySlot:
    """A story (or the continuation of one) set in its box on a page."""

    story: Story
    rect: Rect
    rank: str
    headline_pt: float
    head_lines: int
    photo: PhotoPlacement | None
    columns: tuple[ColumnText, ...]
    show_standfirst: bool
    show_pull_quote: bool
    continued_from: int | None = None
    continues_on: int | None = None
    slack_lines: int = 0
    overset_lines: int = 0
    pull_quote: str = ""
    pull_quote_by: str = ""
    #: Lines of white opened under the headline so the story reaches the foot of its stack.
    head_pad: int = 0


@dataclass(frozen=True)
class AdSlot:
    ad: Ad
    rect: Rect


@dataclass(frozen=True)
class Teaser:
    """A pointer on the front page to a story inside."""

    story: Story
    page: int


@dataclass(frozen=True)
class Filler:
    """A house ad (the paper's own promotion) set in space no story could fill."""

    rect: Rect
    kind: str


@dataclass(frozen=True)
class PageLayout:
    plan: PagePlan
    stories: tuple[StorySlot, ...]
    ads: tuple[AdSlot, ...]
    teasers: tuple[Teaser, ...]
    top_line: int
    holes: tuple[Rect, ...]
    fillers: tuple[Filler, ...] = ()

    @property
    def number(self) -> int:
        return self.plan.number

    def white(self) -> list[Rect]:
        """Every run of empty lines in the type area, one column wide: the holes, and the white
        at the foot of a story's columns."""
        return [Rect(h.column + c, 1, h.line, h.lines) for h in self.holes for c in range(h.columns)] \
            + column_white(self.stories)

    def fill_ratio(self, grid: Grid) -> float:
        """The share of the type area below the page head that carries something."""
        area = grid.columns * (grid.depth_lines - self.top_line)
        return 1 - unfilled_lines(self.stories, self.holes) / area if area else 1.0


def column_white(stories: Sequence[StorySlot]) -> list[Rect]:
    """The white at the foot of the stories' columns (a column of text that stops short of its
    box), one run per column."""
    runs = []
    for slot in stories:
        for column in slot.columns:
            short = column.rect.lines - column.lines_used
            if short > 0:
                runs.append(Rect(column.rect.column, 1, column.rect.bottom - short, short))
    return runs


def unfilled_lines(stories: Sequence[StorySlot], holes: Sequence[Rect]) -> int:
    """Column-lines of the type area left empty: holes, and white at the feet of columns."""
    return sum(h.columns * h.lines for h in holes) + sum(run.lines for run in column_white(stories))


@dataclass(frozen=True)
class Flatplan:
    edition: Edition
    pages: tuple[PageLayout, ...]
    jumps: tuple[Jump, ...]
    unplaced: tuple[tuple[Story, str], ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...] = ()
    #: Pages set again exactly as the desk's flatplan file had them (locked, or untouched by a change).
    kept: tuple[int, ...] = ()

    def page_of(self, slug: str) -> int | None:
        for page in self.pages:
            for slot in page.stories:
                if slot.story.slug == slug and slot.continued_from is None:
                    return page.number
        return None


# --------------------------------------------------------------------------------- the desk's file


@dataclass(frozen=True)
class SlotRecord:
    """A story's slot as the desk's flatplan file records it: enough to set it again the same
    way (the planner's choices, not the text, which is measured again)."""

    story: str
    rect: Rect
    rank: str
    photo: tuple[int, int] | None = None  # picture columns × image lines
    pull_quote: bool = False
    head_pad: int = 0
    start: tuple[int, int] = (0, 0)  # paragraph and line a continuation starts at
    continued_from: int | None = None
    jumps: bool = False
    pin: bool = False


@dataclass(frozen=True)
class PageRecord:
    """A page of the desk's flatplan file; `lock` keeps it exactly as it is."""

    number: int
    section: str
    template: str
    lock: bool
    slots: tuple[SlotRecord, ...]
    fillers: tuple[Filler, ...] = ()
    holes: tuple[Rect, ...] = ()
    ads: tuple[tuple[str, Rect], ...] = ()
    #: The desk changed the page's slots by hand (moved, resized, added or deleted one).
    edited: bool = False


@dataclass(frozen=True)
class DeskPlan:
    """The flatplan file next to the edition, as the desk left it: the last plan, with their pins
    and locks, and a digest of every story as it was planned (to see which ones changed since)."""

    path: Path
    pages: tuple[PageRecord, ...]
    digests: tuple[tuple[str, str], ...]

    def page(self, number: int) -> PageRecord | None:
        return next((p for p in self.pages if p.number == number), None)


# --------------------------------------------------------------------------------- output


@dataclass(frozen=True)
class LinkArea:
    """A clickable area a page carries into the e-edition (jump lines, front-page teasers)."""

    rect_pt: tuple[float, float, float, float]
    target_page: int


@dataclass(frozen=True)
class RenderedPage:
    number: int
    press_pdf: Path
    links: tuple[LinkArea, ...]
    story_areas: tuple[tuple[str, tuple[float, float, float, float]], ...]
    #: The same page for the e-edition (sRGB, trimmed); an intermediate in the staging folder.
    screen_pdf: Path | None = None


@dataclass(frozen=True)
class BuildResult:
    flatplan: Flatplan
    pages: tuple[RenderedPage, ...]
    eedition: Path
    warnings: tuple[str, ...]
    seconds: float
    #: plates.json: every press page with its size, sha256, colour/mono and preflight result.
    plates: Path | None = None
    #: Numbers of the pages this build rendered (the others came from the page cache).
    rendered: tuple[int, ...] = ()

"""The desk's flatplan file: `flatplan.toml` next to the stories, written by `gp-print plan`.

It is how the desk stays in charge of the planner.  The file records every page's slots as
the planner chose them; a person may then set `lock = true` on a page (the page is kept
exactly as it is) or `pin = true` on a slot (the story keeps that slot, the rest of the page
re-flows round it).  The next plan reads it back:

* stories unchanged since the file was written: every page is set again as the file has it;
* stories added, edited or spiked since: only the pages they touch are planned again (a late
  story goes to the one page of its section where it fits best), the others are kept;
* `--replan`: every page that is not locked is planned afresh round the pins.

Columns and lines in the file count from 1 (column 1 is the left-hand column, line 1 the top
line of the type area), as the desk counts them; the records count from 0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gp_print.errors import GPPrintError
from gp_print.load import FLATPLAN_FILE, _Collector, _Fields
from gp_print.model import (
    Ad,
    DeskPlan,
    Filler,
    Flatplan,
    Grid,
    PagePlan,
    PageRecord,
    Rect,
    SlotRecord,
    Story,
    StorySlot,
)
from gp_print.writer import atomic_write_bytes

__all__ = ["FLATPLAN_FILE", "read_desk_plan", "story_digest", "write_flatplan_file"]

_HEADER = """\
# The flatplan of {title}, {date} (issue {issue}), as gp-print planned it.
#
# The desk may change two things here, then run `gp-print plan` again:
#   lock = true   on a [[page]]       the page is kept exactly as it is;
#   pin = true    on a [[page.slot]]  the story keeps this slot; the rest of its page re-flows
#                                     round it (a pinned story may also be moved: change its
#                                     page, column, line, columns or lines).
# `gp-print plan` keeps every page that no changed story touches; `gp-print plan --replan`
# plans every page that is not locked afresh round the pins.
# Columns count from 1 at the left, lines from 1 at the top of the type area ({columns} columns,
# {depth} lines).  Everything else is the planner's own record: leave it as it is.
"""


def story_digest(story: Story, root: Path) -> str:
    """What the plan of a story depends on, hashed: a story whose digest changed is planned again."""
    from gp_print.render import canonical_record

    record = canonical_record(story, root)
    record[1].pop("source", None)  # the file name is not the story
    blob = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def page_ads(ads: Sequence[Ad], grid: Grid, number: int) -> tuple[tuple[str, Rect], ...]:
    from gp_print.plan import ad_rects

    return tuple((slot.ad.advertiser, slot.rect) for slot in ad_rects([a for a in ads if a.page == number], grid))


# ------------------------------------------------------------------------------- writing


def slot_record(slot: StorySlot, pin: bool = False) -> SlotRecord:
    start = (0, 0)
    if slot.continued_from is not None and slot.columns and slot.columns[0].pieces:
        first = slot.columns[0].pieces[0]
        start = (first.index, first.first_line)
    photo = (slot.photo.rect.columns, slot.photo.image_lines) if slot.photo is not None else None
    return SlotRecord(story=slot.story.slug, rect=slot.rect, rank=slot.rank, photo=photo,
                      pull_quote=slot.show_pull_quote, head_pad=slot.head_pad, start=start,
                      continued_from=slot.continued_from, jumps=slot.continues_on is not None, pin=pin)


def desk_plan(flatplan: Flatplan, path: Path) -> DeskPlan:
    """The file's records for a plan; pins and locks the desk had set are carried over."""
    edition = flatplan.edition
    before = edition.desk
    pages = []
    for layout in flatplan.pages:
        old = before.page(layout.number) if before else None
        pinned = {(s.story, s.continued_from) for s in old.slots if s.pin} if old else set()
        slots = tuple(slot_record(s, (s.story.slug, s.continued_from) in pinned) for s in layout.stories)
        pages.append(PageRecord(layout.number, layout.plan.section, layout.plan.template,
                                bool(old and old.lock), slots, layout.fillers, layout.holes,
                                page_ads(edition.ads, edition.grid, layout.number)))
    digests = tuple((s.slug, story_digest(s, edition.root)) for s in sorted(edition.stories, key=lambda s: s.slug))
    return DeskPlan(path, tuple(pages), digests)


def slots_digest(slots: Sequence[SlotRecord]) -> str:
    """The page's slots as the planner left them, pins aside: a page whose digest no longer
    matches was edited by hand, and is planned again round its pins."""
    shapes = [(s.story, s.rect, s.rank, s.photo, s.pull_quote, s.head_pad, s.start, s.continued_from, s.jumps)
              for s in slots]
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:16]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _rect_lines(rect: Rect) -> list[str]:
    return [f"column = {rect.column + 1}", f"columns = {rect.columns}",
            f"line = {rect.line + 1}", f"lines = {rect.lines}"]


def render_desk_plan(desk: DeskPlan, flatplan: Flatplan) -> str:
    edition = flatplan.edition
    out = [_HEADER.format(title=edition.title, date=edition.date_long, issue=edition.issue,
                          columns=edition.grid.columns, depth=edition.grid.depth_lines)]
    out.append(f"edition = {_q(f'{edition.date.isoformat()} #{edition.issue}')}\n")
    layouts = {layout.number: layout for layout in flatplan.pages}
    for page in desk.pages:
        layout = layouts[page.number]
        out.append(f"\n[[page]]  # page {page.number}: {layout.fill_ratio(edition.grid) * 100:.1f} % filled")
        out += [f"number = {page.number}", f"section = {_q(page.section)}", f"template = {_q(page.template)}",
                f"lock = {'true' if page.lock else 'false'}",
                f"planned = {_q(slots_digest(page.slots))}  # how the planner left the slots: leave it"]
        for slot in page.slots:
            note = ""
            story_slot = next(s for s in layout.stories
                              if s.story.slug == slot.story and s.continued_from == slot.continued_from)
            if story_slot.continues_on:
                note = f"  # continued on page {story_slot.continues_on}"
            elif story_slot.overset_lines:
                note = f"  # OVERSET by {story_slot.overset_lines} lines"
            out.append(f"\n  [[page.slot]]{note}")
            out += [f"  story = {_q(slot.story)}", f"  pin = {'true' if slot.pin else 'false'}"]
            out += ["  " + line for line in _rect_lines(slot.rect)]
            out.append(f"  rank = {_q(slot.rank)}")
            if slot.photo is not None:
                out.append(f"  photo = [{slot.photo[0]}, {slot.photo[1]}]  # picture columns × lines")
            if slot.pull_quote:
                out.append("  pull_quote = true")
            if slot.head_pad:
                out.append(f"  head_pad = {slot.head_pad}")
            if slot.continued_from is not None:
                out.append(f"  continued_from = {slot.continued_from}")
                out.append(f"  start = [{slot.start[0]}, {slot.start[1]}]  # paragraph, line")
            if slot.jumps:
                out.append("  jumps = true")
        for filler in page.fillers:
            out.append("\n  [[page.house_ad]]")
            out += ["  " + line for line in _rect_lines(filler.rect)] + [f"  kind = {_q(filler.kind)}"]
        for hole in page.holes:
            out.append("\n  [[page.hole]]")
            out += ["  " + line for line in _rect_lines(hole)]
        for advertiser, rect in page.ads:
            out.append("\n  [[page.ad]]  # booked in edition.toml; listed to see when a booking changes")
            out += [f"  advertiser = {_q(advertiser)}"] + ["  " + line for line in _rect_lines(rect)]
    out.append("\n# Every story as it was planned: a story whose text or settings change is planned again.")
    out.append("[stories]")
    out += [f"{_q(slug)} = {_q(digest)}" for slug, digest in desk.digests]
    return "\n".join(out) + "\n"


def write_flatplan_file(flatplan: Flatplan, path: Path | None = None) -> Path:
    """Write (atomically) the desk's file for this plan, keeping the desk's pins and locks."""
    path = path or flatplan.edition.root / FLATPLAN_FILE
    text = render_desk_plan(desk_plan(flatplan, path), flatplan)
    try:
        if not (path.is_file() and path.read_text(encoding="utf-8") == text):
            atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        raise GPPrintError(f"{path}: cannot write the flatplan file ({exc.strerror}) — make the edition "
                           "folder writable, or run `gp-print plan --no-write`") from exc
    return path


# ------------------------------------------------------------------------------- reading


def read_desk_plan(path: Path, data: dict[str, Any], out: _Collector, *, grid: Grid, pages: Sequence[PagePlan],
                   ads: Sequence[Ad], stories: Sequence[Story]) -> DeskPlan | None:
    """The desk's file, checked against the edition; every problem is collected."""
    before = len(out.problems)
    f = _Fields(data, path, out)
    f.text("edition")
    f.known["page"] = "array of tables"
    f.known["stories"] = "table"
    f.unknown()
    by_number = {p.number: p for p in pages}
    slugs = {s.slug: s for s in stories}
    records: list[PageRecord] = []
    seen_pages: set[int] = set()
    pinned_where: dict[tuple[str, int | None], str] = {}
    for where, raw in _tables(data.get("page", []), path, out, "page", "page"):
        pf = _Fields(raw, path, out, where)
        number = pf.get("number", int, "a whole number", required=True, example="3")
        section = pf.text("section")
        template = pf.text("template")
        lock = pf.get("lock", bool, "true or false", default=False, example="true")
        planned = pf.text("planned")
        for key in ("slot", "house_ad", "hole", "ad"):
            pf.known[key] = "array of tables"
        pf.unknown()
        if not isinstance(number, int):
            continue
        page_plan = by_number.get(number)
        if page_plan is None:
            out.add(path, where + "number", f"page {number} is not in edition.toml's page plan",
                    "delete this [[page]] or add the page to edition.toml")
            continue
        if number in seen_pages:
            out.add(path, where + "number", f"page {number} is listed twice", "keep one [[page]] per page")
            continue
        seen_pages.add(number)
        page_ads_now = page_ads(ads, grid, number)
        slots = _read_slots(raw.get("slot", []), path, out, where, grid, number, slugs, page_ads_now, pinned_where)
        fillers = tuple(Filler(rect, kind) for rect, kind in _read_boxes(raw.get("house_ad", []), path, out,
                                                                       where + "house_ad", grid, with_kind=True))
        holes = tuple(rect for rect, _ in _read_boxes(raw.get("hole", []), path, out, where + "hole", grid))
        recorded_ads = []
        for rect, advertiser in _read_boxes(raw.get("ad", []), path, out, where + "ad", grid, with_advertiser=True):
            recorded_ads.append((advertiser, rect))
        same_page = section == page_plan.section and template == page_plan.template
        records.append(PageRecord(number, page_plan.section if same_page else section,
                                  page_plan.template if same_page else template, bool(lock), slots, fillers, holes,
                                  tuple(recorded_ads), edited=planned != slots_digest(slots)))
    raw_digests = data.get("stories", {})
    digests: list[tuple[str, str]] = []
    if isinstance(raw_digests, dict):
        digests = [(str(k), str(v)) for k, v in raw_digests.items() if isinstance(v, str)]
    else:
        out.add(path, "stories", "expected a table of story digests", "leave [stories] as gp-print wrote it")
    if len(out.problems) > before:
        return None
    return DeskPlan(path, tuple(records), tuple(sorted(digests)))


def _tables(raw: Any, path: Path, out: _Collector, where: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each table of an array of tables `where` (e.g. `page[2].slot`), with its field prefix;
    anything that is not a table is a problem."""
    if not isinstance(raw, list):
        out.add(path, where, f"expected [[{name}]] tables", f"write each one as a [[{name}]] table")
        return
    for i, item in enumerate(raw):
        here = f"{where}[{i + 1}]"
        if not isinstance(item, dict):
            out.add(path, here, "expected a table", f"write it as a [[{name}]] table")
            continue
        yield here + ".", item


def _read_rect(raw: dict[str, Any], path: Path, out: _Collector, where: str, grid: Grid) -> Rect | None:
    f = _Fields(raw, path, out, where)
    values = {}
    for key, top in (("column", grid.columns), ("columns", grid.columns), ("line", grid.depth_lines),
                     ("lines", grid.depth_lines)):
        value = f.get(key, int, "a whole number", required=True, example="1")
        if isinstance(value, int) and not 1 <= value <= top:
            out.add(path, where + key, f"{value} is off the grid", f"give a number from 1 to {top}")
            value = None
        values[key] = value
    if any(v is None for v in values.values()):
        return None
    rect = Rect(values["column"] - 1, values["columns"], values["line"] - 1, values["lines"])
    if rect.column + rect.columns > grid.columns or rect.bottom > grid.depth_lines:
        out.add(path, where + "columns", "the box runs off the type area",
                f"keep column + columns within {grid.columns + 1} and line + lines within {grid.depth_lines + 1}")
        return None
    return rect


def _read_boxes(raw: Any, path: Path, out: _Collector, where: str, grid: Grid, *, with_kind: bool = False,
                with_advertiser: bool = False) -> list[tuple[Rect, str]]:
    found: list[tuple[Rect, str]] = []
    for here, item in _tables(raw, path, out, where, "page." + where.rsplit(".", 1)[-1]):
        f = _Fields(item, path, out, here)
        label = f.text("kind") if with_kind else f.text("advertiser") if with_advertiser else ""
        for key in ("column", "columns", "line", "lines"):
            f.known[key] = "a whole number"
        f.unknown()
        rect = _read_rect(item, path, out, here, grid)
        if rect is not None:
            found.append((rect, label))
    return found


def _overlaps(a: Rect, b: Rect) -> bool:
    return (a.column < b.column + b.columns and b.column < a.column + a.columns
            and a.line < b.bottom and b.line < a.bottom)


def _read_slots(raw: Any, path: Path, out: _Collector, where: str, grid: Grid, number: int,
                slugs: dict[str, Story], ads: tuple[tuple[str, Rect], ...],
                pinned_where: dict[tuple[str, int | None], str]) -> tuple[SlotRecord, ...]:
    slots: list[SlotRecord] = []
    for here, item in _tables(raw, path, out, where + "slot", "page.slot"):
        f = _Fields(item, path, out, here)
        slug = f.text("story", required=True, example='"harbour-dredging"')
        pin = f.get("pin", bool, "true or false", default=False, example="true")
        rank = f.text("rank") or "minor"
        photo = f.get("photo", list, "[columns, lines]", example="[3, 20]")
        pull_quote = f.get("pull_quote", bool, "true or false", default=False)
        head_pad = f.get("head_pad", int, "a whole number", default=0)
        continued_from = f.get("continued_from", int, "a page number", example="2")
        start = f.get("start", list, "[paragraph, line]", default=[0, 0])
        jumps = f.get("jumps", bool, "true or false", default=False)
        for key in ("column", "columns", "line", "lines"):
            f.known[key] = "a whole number"
        f.unknown()
        rect = _read_rect(item, path, out, here, grid)
        if slug and slug not in slugs:
            if pin:
                out.add(path, here + "story", f"pinned story '{slug}' is not in the edition's stories/",
                        "unpin the slot, or put the story back")
            continue  # a spiked story: its page is planned again
        if rect is None or not slug:
            continue
        if photo is not None and not (len(photo) == 2 and all(isinstance(v, int) and v > 0 for v in photo)):
            out.add(path, here + "photo", f"{photo!r} is not [columns, lines]", "leave it as gp-print wrote it")
            photo = None
        if not (isinstance(start, list) and len(start) == 2 and all(isinstance(v, int) and v >= 0 for v in start)):
            out.add(path, here + "start", f"{start!r} is not [paragraph, line]", "leave it as gp-print wrote it")
            start = [0, 0]
        if pin:
            for advertiser, ad_rect in ads:
                if _overlaps(rect, ad_rect):
                    out.add(path, here + "line", f"the pinned slot overlaps the {advertiser} ad",
                            "move the slot clear of the booked ads")
            for other in slots:
                if other.pin and _overlaps(rect, other.rect):
                    out.add(path, here + "line", f"the pinned slot overlaps the pinned slot of '{other.story}'",
                            "move one of them")
            pin_key = (slug, continued_from if isinstance(continued_from, int) else None)
            if pin_key in pinned_where:
                out.add(path, here + "pin", f"'{slug}' is also pinned at {pinned_where[pin_key]}", "pin it once")
            pinned_where[pin_key] = here[:-1]
        slots.append(SlotRecord(
            story=slug, rect=rect, rank=rank, photo=(photo[0], photo[1]) if photo else None,
            pull_quote=bool(pull_quote), head_pad=head_pad if isinstance(head_pad, int) else 0,
            start=(start[0], start[1]), continued_from=continued_from if isinstance(continued_from, int) else None,
            jumps=bool(jumps), pin=bool(pin)))
    return tuple(slots)


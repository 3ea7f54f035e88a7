"""The desk stays in charge (issue 3): the flatplan file next to the edition, pins that survive a
re-plan, locked pages, and a late story that re-plans (and re-renders) only the pages it touches."""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import SAMPLE, EditionCopy

from gp_print.build import build_edition, plan
from gp_print.errors import GPPrintError, InputError
from gp_print.load import load_edition
from gp_print.model import Flatplan, PageLayout, Rect, StorySlot
from gp_print.plan import desk_touched, desk_unchanged


def _overlap(a: Rect, b: Rect) -> bool:
    return (a.column < b.column + b.columns and b.column < a.column + a.columns
            and a.line < b.bottom and b.line < a.bottom)


def _assert_sound(flatplan: Flatplan) -> None:
    """No box overlaps another, nothing overset, every page ≥ 97 % filled."""
    grid = flatplan.edition.grid
    for page in flatplan.pages:
        boxes = [s.rect for s in page.stories] + [a.rect for a in page.ads] + [f.rect for f in page.fillers]
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), f"page {page.number}: {a} overlaps {b}"
        assert page.fill_ratio(grid) >= 0.97, page.number
        assert not any(s.overset_lines for s in page.stories), page.number


def _shape(page: PageLayout) -> tuple[object, ...]:
    """A page as set, without the paths of the edition folder it was read from."""
    slots = tuple((s.story.slug, s.rect, s.rank, s.headline_pt, s.head_lines,
                   (s.photo.rect, s.photo.image_lines) if s.photo else None,
                   tuple((c.rect, tuple(piece.html for piece in c.pieces)) for c in s.columns),
                   s.continued_from, s.continues_on, s.overset_lines, s.pull_quote) for s in page.stories)
    return slots, page.holes, page.fillers, tuple((t.story.slug, t.page) for t in page.teasers)


def _slot(page: PageLayout, slug: str) -> StorySlot:
    return next(s for s in page.stories if s.story.slug == slug and s.continued_from is None)


def _set_in_file(text: str, page: int, slug: str, key: str, value: str) -> str:
    """Set `key = value` in the slot of `slug` on `page` (or on the page itself when slug is '')."""
    blocks = re.split(r"(?m)^(?=\[\[page\]\])", text)
    for i, block in enumerate(blocks):
        if re.search(rf"(?m)^number = {page}$", block):
            if not slug:
                blocks[i] = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", block, count=1)
            else:
                parts = re.split(r"(?m)^(?=  \[\[page\.slot\]\])", block)
                hits = [j for j, part in enumerate(parts) if f'story = "{slug}"' in part]
                assert hits, f"{slug} not on page {page}"
                parts[hits[0]] = re.sub(rf"(?m)^  {key} = .*$", f"  {key} = {value}", parts[hits[0]], count=1)
                blocks[i] = "".join(parts)
            return "".join(blocks)
    raise AssertionError(f"page {page} not in the file")


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Flatplan]:
    """A copy of the sample edition, planned once, with its flatplan.toml written."""
    root = tmp_path_factory.mktemp("desk") / "edition"
    shutil.copytree(SAMPLE, root)
    return root, plan(root, write=True)


def _copy(planned: tuple[Path, Flatplan], tmp_path: Path) -> Path:
    target = tmp_path / "edition"
    shutil.copytree(planned[0], target)
    return target


def test_the_file_is_written_and_an_unchanged_edition_keeps_every_page(planned: tuple[Path, Flatplan],
                                                                       tmp_path: Path) -> None:
    root, first = planned
    text = (root / "flatplan.toml").read_text(encoding="utf-8")
    assert text.startswith("# The flatplan of Guernsey Press")
    assert len(re.findall(r"(?m)^\[\[page\]\]", text)) == len(first.pages)
    assert 'story = "news-fog-strands-travellers"' in text
    copy = _copy(planned, tmp_path)
    assert desk_unchanged(load_edition(copy))  # (so a build does not start its workers early)
    assert not desk_unchanged(load_edition(SAMPLE))  # no file: everything is planned
    again = plan(copy)
    assert again.kept == tuple(p.number for p in first.pages)
    # Set again from the file, every page is exactly what the planner made (the edition's path aside).
    assert [_shape(p) for p in again.pages] == [_shape(p) for p in first.pages]


def test_pins_and_locks_survive_a_replan(planned: tuple[Path, Flatplan], tmp_path: Path) -> None:
    first = planned[1]
    root = _copy(planned, tmp_path)
    # Pin a story below the lead of page 2, lock page 5; then spike a story on page 2 and re-plan.
    page2 = first.pages[1]
    below_lead = [s for s in page2.stories if s.continued_from is None and s.rect.line > page2.top_line]
    pinned = below_lead[-1]
    spiked = next(s for s in page2.stories if s.continued_from is None and s is not pinned
                  and s.continues_on is None and not any(
                      t.story.slug == s.story.slug for p in first.pages for t in p.stories if t.continued_from))
    text = (root / "flatplan.toml").read_text(encoding="utf-8")
    text = _set_in_file(text, 2, pinned.story.slug, "pin", "true")
    text = _set_in_file(text, 5, "", "lock", "true")
    (root / "flatplan.toml").write_text(text, encoding="utf-8")
    (root / "stories" / spiked.story.source.name).unlink()

    replanned = plan(root, replan=True, write=True)

    assert replanned.kept == (5,)
    assert _shape(replanned.pages[4])[:3] == _shape(first.pages[4])[:3], "the locked page changed"
    slot = _slot(replanned.pages[1], pinned.story.slug)
    assert slot.rect == pinned.rect and slot.head_lines == pinned.head_lines
    assert [c.rect for c in slot.columns] == [c.rect for c in pinned.columns]
    assert not any(s.story.slug == spiked.story.slug for p in replanned.pages for s in p.stories)
    assert _shape(replanned.pages[1]) != _shape(page2), "page 2 was not re-flowed"
    _assert_sound(replanned)
    # The pin and the lock are still in the file the re-plan wrote, for the next run.
    again = (root / "flatplan.toml").read_text(encoding="utf-8")
    assert re.search(rf'story = "{pinned.story.slug}"\n  pin = true', again)
    assert re.search(r"(?m)^number = 5\n.*\n.*\nlock = true", again)


def test_a_pinned_lead_keeps_the_top_of_its_page(planned: tuple[Path, Flatplan], tmp_path: Path) -> None:
    first = planned[1]
    root = _copy(planned, tmp_path)
    page = first.pages[2]
    lead = page.stories[0]
    assert lead.rect.columns == first.edition.grid.columns
    text = _set_in_file((root / "flatplan.toml").read_text(encoding="utf-8"), page.number, lead.story.slug,
                        "pin", "true")
    (root / "flatplan.toml").write_text(text, encoding="utf-8")
    # Lower the lead's story priority so a fresh plan would not lead with it.
    source = root / "stories" / lead.story.source.name
    source.write_text(re.sub(r"(?m)^priority = \d+", "priority = 9", source.read_text(encoding="utf-8")),
                      encoding="utf-8")
    replanned = plan(root, replan=True)
    slot = next(s for s in replanned.pages[2].stories if s.story.slug == lead.story.slug)
    assert slot.rect == lead.rect
    _assert_sound(replanned)


def test_a_late_story_replans_and_rerenders_only_the_pages_it_touches(
        planned: tuple[Path, Flatplan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GP_PRINT_NO_CACHE", raising=False)
    first = planned[1]
    root = _copy(planned, tmp_path)
    out = tmp_path / "out"
    before = build_edition(root, out, workers=2)
    assert before.flatplan.kept == tuple(p.number for p in first.pages)

    # 23:30: a story comes in, important enough to make the paper.
    late = root / "stories" / "world-hong-kong-protests.md"
    shutil.copy(root / "held" / late.name, late)
    late.write_text(re.sub(r"(?m)^priority = \d+", "priority = 2", late.read_text(encoding="utf-8")),
                    encoding="utf-8")
    assert not desk_unchanged(load_edition(root))
    after = build_edition(root, out, workers=2)

    changed = {a.number for a, b in zip(before.flatplan.pages, after.flatplan.pages, strict=True)
               if _shape(a) != _shape(b)}
    assert any(s.story.slug == "world-hong-kong-protests" for p in after.flatplan.pages for s in p.stories)
    assert len(after.flatplan.kept) >= len(first.pages) - 3, after.flatplan.kept
    assert changed and changed.isdisjoint(after.flatplan.kept)
    assert set(after.rendered) == changed, (after.rendered, changed)
    _assert_sound(after.flatplan)
    # Whatever the late story pushed out is listed, with the reason, not dropped silently.
    placed = {s.story.slug for p in after.flatplan.pages for s in p.stories}
    held = {story.slug for story, _ in after.flatplan.unplaced}
    assert placed | held == {s.slug for s in after.flatplan.edition.stories}


def test_an_edited_story_replans_only_its_pages(planned: tuple[Path, Flatplan], tmp_path: Path) -> None:
    first = planned[1]
    root = _copy(planned, tmp_path)
    page = first.pages[9]
    slot = next(s for s in page.stories if s.continued_from is None and s.continues_on is None)
    source = root / "stories" / slot.story.source.name
    text = source.read_text(encoding="utf-8")
    body_at = text.index("\n+++\n") + 5 if "\n+++\n" in text else text.index("\n---\n", 4) + 5
    paragraphs = text[body_at:].strip().split("\n\n")
    source.write_text(text[:body_at] + "\n\n".join(paragraphs[:-1]) + "\n", encoding="utf-8")  # the sub cuts a par
    reloaded = load_edition(root)
    assert reloaded.desk is not None and page.number in desk_touched(reloaded, reloaded.desk)
    assert not desk_unchanged(reloaded)
    edited = plan(root)
    assert page.number not in edited.kept
    assert len(edited.kept) >= len(first.pages) - 2
    for number in edited.kept:
        assert _shape(edited.pages[number - 1])[:3] == _shape(first.pages[number - 1])[:3]
    _assert_sound(edited)


def test_a_bad_desk_file_lists_every_problem(minimal_edition: EditionCopy) -> None:
    minimal_edition.write("flatplan.toml", """\
edition = "2020-01-02 #38513"

[[page]]
number = 1
section = "news"
template = "front"
lock = "yes"

  [[page.slot]]
  story = "news-no-such-story"
  pin = true
  column = 1
  columns = 7
  line = 1
  lines = 20

  [[page.slot]]
  story = "news-harbour-dredging"
  pin = true
  column = 9
  columns = 2
  line = 1
  lines = 20

[[page]]
number = 7
section = "news"
template = "news"
lock = false

[[page]]
number = 2
section = "sport"
template = "news"
lock = false

  [[page.slot]]
  story = "sport-new-year-swim"
  pin = true
  column = 5
  columns = 3
  line = 70
  lines = 20
""")
    with pytest.raises(InputError) as caught:
        load_edition(minimal_edition.root)
    problems = {(p.field, p.message.split(" ")[0]) for p in caught.value.problems}
    text = str(caught.value)
    assert "flatplan.toml" in text
    assert ("page[1].lock", "expected") in problems
    assert any(f == "page[1].slot[1].story" for f, _ in problems), problems
    assert any(f == "page[1].slot[2].column" for f, _ in problems), problems
    assert any(f == "page[2].number" for f, _ in problems), problems
    assert any(f == "page[3].slot[1].line" and "Vale Bakery" in m for f, m in
               ((p.field, p.message) for p in caught.value.problems)), problems
    assert all(p.fix for p in caught.value.problems)


def test_a_pin_moved_by_hand_replans_its_page_round_it(planned: tuple[Path, Flatplan], tmp_path: Path) -> None:
    first = planned[1]
    root = _copy(planned, tmp_path)
    page2 = first.pages[1]
    moved = [s for s in page2.stories if s.continued_from is None and s.rect.line > page2.top_line][-1]
    text = _set_in_file((root / "flatplan.toml").read_text(encoding="utf-8"), 2, moved.story.slug, "pin", "true")
    text = _set_in_file(text, 2, moved.story.slug, "line", str(moved.rect.line + 1 - 3))  # three lines higher
    (root / "flatplan.toml").write_text(text, encoding="utf-8")

    again = plan(root)

    assert 2 not in again.kept and len(again.kept) >= len(first.pages) - 2
    slot = _slot(again.pages[1], moved.story.slug)
    assert slot.rect == replace(moved.rect, line=moved.rect.line - 3)
    _assert_sound(again)


def test_an_unwritable_edition_folder_is_a_clear_error(planned: tuple[Path, Flatplan], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import gp_print.desk

    def refuse(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(gp_print.desk, "atomic_write_bytes", refuse)
    root = _copy(planned, tmp_path)
    (root / "flatplan.toml").unlink()
    with pytest.raises(GPPrintError, match=r"flatplan.toml: cannot write the flatplan file \(Permission denied\)"):
        plan(root, write=True)

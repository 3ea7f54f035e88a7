"""Benchmark: a synthetic edition built the gp-print way against one-document WeasyPrint.

    .venv/bin/python benchmarks/bench_edition.py [--pages 48 --stories 120 --seed 7 --workers N]

Everything runs in temporary folders (the edition, the outputs and a fresh cache folder, so the
first build is cold).  Prints one table: seconds for each step, its ratio to the baseline and to
the cold build, the issue's target, and the peak memory of the whole process tree.  Not a test:
the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ memory


def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of `root_pid` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
            with open(f"/proc/{entry}/statm") as handle:
                pages = int(handle.read().split()[1])
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in rss:
        p = pid
        while p and p != root_pid:
            p = parents.get(p, 0)
        if p == root_pid:
            total += rss[pid]
    return total


class PeakMemory:
    """Samples the process tree's resident memory every 50 ms in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self.phase_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            now = _tree_rss_bytes(pid)
            self.peak = max(self.peak, now)
            self.phase_peak = max(self.phase_peak, now)
            self._stop.wait(0.05)

    def reset_phase(self) -> None:
        self.phase_peak = _tree_rss_bytes(os.getpid())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------ baseline


_COL = re.compile(r'<div class="box col" style="[^"]*">(.*?)</div>', re.S)


def _naive_columns(html: str, layout: Any, grid: Any) -> str:
    """The page as one would write it without a planner: each story's body in ONE box of
    the slot's width with `column-count`, WeasyPrint balancing the columns (same text, same
    boxes, same pictures).  The planner's version gives every column its own box instead."""
    from gp_print.render import Geometry

    geo = Geometry(grid)
    for slot in layout.stories:
        anchor = f'id="story-{slot.story.slug}{"-cont" if slot.continued_from else ""}"'
        start = html.index(anchor)
        end = html.index("</article>", start)
        article = html[start:end]
        bodies = _COL.findall(article)
        if not bodies or not slot.columns:
            continue
        first, cols = slot.columns[0].rect, len(slot.columns)
        depth = max(col.rect.bottom for col in slot.columns) - first.line
        # (WeasyPrint lays out columns only in a box in the normal flow, so inside the placed box.)
        box = (f'<div class="box col" style="{geo.box(first.column, cols, first.line, depth)}">'
               f'<div style="height: 100%; column-count: {cols}; column-gap: {grid.gutter_mm}mm; '
               f'column-fill: balance">' + "".join(bodies) + "</div></div>")
        article = _COL.sub("", article, count=len(bodies) - 1)
        article = _COL.sub(lambda _m, new=box: new, article, count=1)
        html = html[:start] + article + html[end:]
    return html


def baseline_one_document(flatplan: Any, out: Path, *, balance: bool) -> Path:
    """The one-document way: every planned page's press HTML (`render.page_html`) concatenated
    into ONE WeasyPrint document, laid out and written sequentially as a single PDF/X-4 file.
    Pictures are the same press renditions the build uses (already converted, not timed).

    `balance=True` is the issue's naive baseline: each story's body is one multicol box that
    WeasyPrint balances (`_naive_columns`).  `balance=False` keeps the planner's fixed column
    boxes, i.e. the render without our pipeline but with our planner's work already done: a
    stricter yardstick, printed beside it."""
    from gp_print.colour import DEFAULT_PRESS, press_rendition
    from gp_print.fetch import configure_fonts, make_fetcher
    from gp_print.paths import LAYOUTS_DIR
    from gp_print.render import _press_colour, page_html, placed_pictures

    configure_fonts()
    import weasyprint

    edition = flatplan.edition
    grid = edition.grid
    head = ""
    bodies = []
    for layout in flatplan.pages:
        images = {source: None if source.suffix.lower() == ".pdf" else press_rendition(source, box, fit)
                  for source, (box, fit) in placed_pictures(edition, layout).items()}
        html = page_html(edition, layout, press=True, images=images)
        if balance:
            html = _naive_columns(html, layout, grid)
        if not head:
            head = html[:html.index("<body")]
        match = re.search(r"<body([^>]*)>(.*)</body>", html, re.S)
        assert match is not None
        attrs, body = match.groups()
        # Each page in a box the size of the trim: its absolutely placed boxes stay on it.
        bodies.append(f'<div{attrs} style="position: relative; width: {grid.trim_width_mm}mm; '
                      f'height: {grid.trim_height_mm}mm; overflow: hidden; break-after: page">{body}</div>')
    document = head + "<body>" + "\n".join(bodies) + "</body></html>"
    rendered = weasyprint.HTML(string=document, base_url=str(LAYOUTS_DIR.resolve()) + "/",
                               url_fetcher=make_fetcher(edition.root)).render(**_press_colour(DEFAULT_PRESS))
    path = out / ("baseline.pdf" if balance else "baseline-fixed.pdf")
    path.write_bytes(rendered.write_pdf(pdf_variant=DEFAULT_PRESS.pdf_variant))
    if len(rendered.pages) != len(flatplan.pages):
        print(f"  (baseline ran to {len(rendered.pages)} pages for {len(flatplan.pages)})", file=sys.stderr)
    return path


# ------------------------------------------------------------------------------ helpers


def duplicate_images(pdf: Path) -> tuple[int, int]:
    """(image objects, how many of them repeat another's bytes) in a PDF, over every page and
    the forms it draws."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    digests: dict[int, str] = {}
    seen_forms: set[int] = set()

    def walk(resources: Any) -> None:
        resources = resources.get_object() if resources is not None else {}
        for ref in (resources.get("/XObject") or {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                digests[ref.idnum] = hashlib.sha256(obj._data).hexdigest()
            elif ref.idnum not in seen_forms:
                seen_forms.add(ref.idnum)
                walk(obj.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return len(digests), len(digests) - len(set(digests.values()))


@contextmanager
def timed(results: dict[str, float], memory: dict[str, int], name: str, peak: PeakMemory) -> Iterator[None]:
    peak.reset_phase()
    started = time.perf_counter()
    yield
    results[name] = time.perf_counter() - started
    memory[name] = peak.phase_peak
    print(f"  {name}: {results[name]:.2f} s, peak {peak.phase_peak / 2**20:.0f} MiB", file=sys.stderr, flush=True)


def edit_one_story(flatplan: Any) -> str:
    """Change one word in the body of the second story of the middle page (as a sub-editor's
    late fix would)."""
    layout = flatplan.pages[len(flatplan.pages) // 2]
    story = layout.stories[min(1, len(layout.stories) - 1)].story.source
    text = story.read_text(encoding="utf-8")
    head, sep, body = text.rpartition("+++")
    words = body.split(" ")
    index = next(i for i, w in enumerate(words) if w.isalpha() and len(w) >= 5)
    words[index] = words[index][::-1].lower()
    story.write_text(head + sep + " ".join(words), encoding="utf-8")
    return story.stem


def add_late_story(edition_dir: Path) -> str:
    stories = sorted((edition_dir / "stories").glob("*.md"))
    source = stories[0].read_text(encoding="utf-8")
    slug = re.search(r'^slug\s*=\s*"([^"]+)"', source, re.M)
    new_slug = "late-breaking-news"
    text = source.replace(slug.group(1), new_slug, 1) if slug else source
    text = re.sub(r'^headline\s*=\s*".*"$', 'headline = "Late news: harbour closed after storm"', text, count=1,
                  flags=re.M)
    (edition_dir / "stories" / f"{new_slug}.md").write_text(text, encoding="utf-8")
    return new_slug


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--stories", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-baseline", action="store_true", help="Leave out the one-document baseline.")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="gp-bench-"))
    # A fresh cache: the first build measures, converts and renders everything.
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
    os.environ.pop("GP_PRINT_CACHE_DIR", None)
    os.environ.pop("GP_PRINT_NO_CACHE", None)

    from gp_print.assemble import assemble_eedition
    from gp_print.build import build_edition, plan
    from gp_print.proof import write_proofs
    from gp_print.synth import make_edition

    peak = PeakMemory()
    seconds: dict[str, float] = {}
    memory: dict[str, int] = {}
    edition_dir = scratch / "edition"
    out = scratch / "out"
    make_edition(edition_dir, pages=args.pages, stories=args.stories, seed=args.seed)
    print(f"benchmark: {args.pages} pages, {args.stories} stories, seed {args.seed}, "
          f"{args.workers} worker(s), {os.cpu_count()} CPU(s), in {scratch}", file=sys.stderr)

    build: Callable[[], Any] = lambda: build_edition(edition_dir, out, workers=args.workers)  # noqa: E731
    with timed(seconds, memory, "cold build", peak):
        cold = build()
    # The desk's turn: `gp-print plan` writes flatplan.toml; from then on a build keeps every page
    # that no change touches (README, "The desk's flatplan file").
    with timed(seconds, memory, "desk: flatplan.toml written", peak):
        plan(edition_dir, write=True)
    with timed(seconds, memory, "build after the desk's plan", peak):
        build()
    with timed(seconds, memory, "no-change rebuild", peak):
        same = build()
    edited = edit_one_story(cold.flatplan)
    with timed(seconds, memory, "rebuild, one story edited", peak):
        after_edit = build()
    added = add_late_story(edition_dir)
    with timed(seconds, memory, "rebuild, one late story added", peak):
        after_add = build()

    from gp_print.render import cached_page

    flatplan = after_add.flatplan
    screen_pages = [cached_page(flatplan.edition, layout) for layout in flatplan.pages]
    assert all(p is not None for p in screen_pages), "every page should be in the page cache"
    (scratch / "assembly").mkdir()
    with timed(seconds, memory, "e-edition assembly", peak):
        eedition = assemble_eedition(flatplan, [p for p in screen_pages if p], scratch / "assembly")
    images, dupes = duplicate_images(eedition)
    with timed(seconds, memory, "proof rasterisation (100 dpi)", peak):
        write_proofs([(p.number, f"P{p.number}", p.press_pdf) for p in after_add.pages], scratch / "proofs", dpi=100)

    if not args.skip_baseline:
        (scratch / "baseline").mkdir()
        with timed(seconds, memory, "baseline: one document", peak):
            baseline_one_document(cold.flatplan, scratch / "baseline", balance=True)
        with timed(seconds, memory, "one document, planner's boxes", peak):
            baseline_one_document(cold.flatplan, scratch / "baseline", balance=False)
    peak.stop()

    base = seconds.get("baseline: one document")
    cold_s = seconds["cold build"]
    targets = {
        "cold build": "<= 0.5x baseline",
        "desk: flatplan.toml written": "",
        "build after the desk's plan": "",
        "no-change rebuild": "< 1 s + start-up",
        "rebuild, one story edited": "<= 0.1x cold",
        "rebuild, one late story added": "",
        "e-edition assembly": "< 2 s, no image twice",
        "proof rasterisation (100 dpi)": "",
        "baseline: one document": "",
        "one document, planner's boxes": "",
    }
    print()
    print(f"{'step':32} {'seconds':>8} {'x baseline':>10} {'x cold':>7}  {'peak MiB':>8}  target")
    for name, value in seconds.items():
        ratio = f"{value / base:.2f}" if base else "-"
        print(f"{name:32} {value:8.2f} {ratio:>10} {value / cold_s:7.2f}  {memory[name] / 2**20:8.0f}  {targets[name]}")
    print(f"{'peak RSS, whole process tree':32} {peak.peak / 2**20:8.0f} MiB{'':14}target < 1024 MiB")
    print(f"pages re-rendered: no change {len(same.rendered)}, story '{edited}' edited "
          f"{len(after_edit.rendered)} {list(after_edit.rendered)}, story '{added}' added {len(after_add.rendered)}")
    print(f"e-edition: {eedition.stat().st_size / 2**20:.1f} MiB, {images} images, {dupes} stored twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())

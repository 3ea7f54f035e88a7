"""Galley measurement: set story parts in their real type and width, and read the result back.

WeasyPrint gives no warning when text overflows a box, so the planner never guesses: every
paragraph is set once at the column measure and its lines are read from the layout tree.
Because a paragraph breaks into lines the same way wherever its column starts (greedy line
breaking), those line counts add up exactly, and a paragraph can be cut between any two of its
lines and set again as two pieces that break identically.  Headlines, captions and pull quotes
are measured at the width of the slot they may get.  Results are cached by content.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from gp_print.cache import open_store
from gp_print.fetch import configure_fonts, make_fetcher
from gp_print.layouts import MEASURE_STYLESHEETS, environment, stylesheet_digest
from gp_print.model import PT_PER_MM, Edition, Grid, Paragraph, Story, StoryKind
from gp_print.paths import LAYOUTS_DIR

log = logging.getLogger("gp_print.measure")
PX_PER_MM = 96 / 25.4


@dataclass(frozen=True)
class Probe:
    """A piece of story HTML to be set at a given width."""

    html: str
    width_mm: float

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.width_mm:.3f}\n{self.html}".encode()).hexdigest()


@dataclass(frozen=True)
class ProbeResult:
    height_mm: float
    lines: dict[str, tuple[str, ...]]
    overflow: bool
    line_counts: dict[str, int]


@dataclass(frozen=True)
class ParagraphMetrics:
    """How one paragraph sets at the column measure."""

    lines: tuple[str, ...]
    offsets: tuple[int, ...] | None  # where each line starts in the plain text; None: cannot split
    hyphenated: tuple[bool, ...]
    crosshead: bool

    @property
    def count(self) -> int:
        return len(self.lines)


def paragraph_classes(index: int, paragraphs: Sequence[Paragraph], *, dropcap: bool = False) -> str:
    """The CSS classes a paragraph carries wherever it is set."""
    para = paragraphs[index]
    if para.crosshead:
        return "crosshead"
    classes = []
    if index == 0:
        classes.append("first")
        if dropcap:
            classes.append("dropcap")
    elif paragraphs[index - 1].crosshead:
        classes.append("after-crosshead")
    if getattr(para, "signature", False):
        classes.append("signature")
    return " ".join(classes)


def runs_html(paragraph: Paragraph, start: int = 0, end: int | None = None, *, dropcap: bool = False) -> Markup:
    """The paragraph's text from character `start` to `end`, as escaped inline HTML; with
    `dropcap`, the opening letter (and any quote mark before it) is wrapped for the drop cap."""
    if dropcap and start == 0:
        text = paragraph.text
        cut = next((i + 1 for i, ch in enumerate(text) if ch.isalnum()), 0)
        if 0 < cut <= 3 and (end is None or cut <= end):
            head = str(Markup.escape(text[:cut]))
            return Markup(f'<span class="initial">{head}</span>') + runs_html(paragraph, cut, end)
    out: list[str] = []
    pos = 0
    for run in paragraph.runs:
        run_start, run_end = pos, pos + len(run.text)
        pos = run_end
        lo, hi = max(start, run_start), min(end if end is not None else run_end, run_end)
        if lo >= hi:
            continue
        piece = str(Markup.escape(run.text[lo - run_start: hi - run_start]))
        if run.italic:
            piece = f"<i>{piece}</i>"
        if run.bold:
            piece = f"<b>{piece}</b>"
        out.append(piece)
    return Markup("".join(out))


def line_offsets(text: str, lines: Sequence[str]) -> tuple[tuple[int, ...], tuple[bool, ...]] | None:
    """Find where each set line starts in the paragraph's plain text (None if they disagree)."""
    offsets: list[int] = []
    hyphenated: list[bool] = []
    cursor = 0
    for n, line in enumerate(lines):
        while cursor < len(text) and text[cursor] == " ":
            cursor += 1
        offsets.append(cursor)
        stripped = line.strip()
        if n == 0 and not text.startswith(stripped, 0):
            # A drop cap's initial is floated out of the first line's text.
            initial = next((i + 1 for i, ch in enumerate(text) if ch.isalnum()), 0)
            if text.startswith(stripped, initial):
                cursor = initial
        if text.startswith(stripped, cursor):
            cursor += len(stripped)
            hyphenated.append(False)
        elif stripped.endswith("-") and text.startswith(stripped[:-1], cursor):
            cursor += len(stripped) - 1
            hyphenated.append(True)
        else:
            return None
    if text[cursor:].strip():
        return None
    return tuple(offsets), tuple(hyphenated)


class Measurer:
    """Sets probes with WeasyPrint in batches and remembers every result by content.  A cold
    plan's big batches are shared with one helper process when there is a second CPU
    (`GP_PRINT_MEASURE_HELPER=0` turns it off); the results are the same either way."""

    def __init__(self, edition: Edition, *, use_disk_cache: bool = True) -> None:
        self.edition = edition
        self.grid: Grid = edition.grid
        self.env = environment()
        self.cache: dict[str, ProbeResult] = {}
        self.salt = stylesheet_digest()
        self.store = open_store() if use_disk_cache else None
        self.renders = 0
        self._paragraphs: dict[tuple[str, bool], tuple[ParagraphMetrics, ...]] = {}
        self._setter: _Setter | None = None
        self._helper: _Helper | None = None

    # -- batching ---------------------------------------------------------------------------

    def measure(self, probes: Iterable[Probe]) -> list[ProbeResult]:
        probes = list(probes)
        todo: dict[str, Probe] = {}
        for probe in probes:
            key = self.salt + probe.key
            if key not in self.cache and key not in todo:
                todo[key] = probe
        if todo and self.store is not None:
            for key, value in self.store.get_many(todo).items():
                self.cache[key] = _result_from_json(value)
                del todo[key]
        if todo:
            self._render(todo)
            if self.store is not None:
                self.store.put_many({k: _result_to_json(self.cache[k]) for k in todo})
        return [self.cache[self.salt + p.key] for p in probes]

    def _render(self, todo: dict[str, Probe]) -> None:
        keys = list(todo)
        probes = [todo[k] for k in keys]
        chars = sum(len(p.html) for p in probes)
        if self._helper is None and len(probes) >= SHARE_START_PROBES and chars >= SHARE_START_CHARS \
                and _helpers_wanted():
            # A big batch (the body galleys of a cold plan): from now on share batches with a
            # helper process, which starts while this one sets the first chunks.
            self._helper = _Helper((self.edition.root, self.grid.leading_pt, self.edition.lang))
            weakref.finalize(self, self._helper.close)
        if self._setter is None:
            self._setter = _Setter(self.edition.root, self.grid.leading_pt, self.edition.lang)
        if self._helper is not None and not self._helper.broken and len(probes) >= SHARE_MIN_PROBES:
            results = self._render_shared(probes, self._helper, min(max(chars // 8, 1500), 12_000))
        else:
            results = self._setter.set(probes)
            self.renders += 1
        for key, result in zip(keys, results, strict=True):
            self.cache[key] = result

    def _render_shared(self, probes: list[Probe], helper: _Helper, chunk_chars: int) -> list[ProbeResult]:
        """A batch cut into chunks, set here (from the front) and by the helper (from the back,
        once it is ready) at the same time.  A probe sets the same in any batch, so the results
        are those of one render."""
        setter = self._setter
        assert setter is not None
        chunks = _chunks(probes, chunk_chars)
        done: dict[int, list[ProbeResult]] = {}
        queue = list(range(len(chunks)))
        taken: set[int] = set()
        cond = threading.Condition()

        def feed() -> None:
            if not helper.wait_ready():
                return
            while True:
                with cond:
                    if not queue:
                        return
                    n = queue.pop()
                    taken.add(n)
                found = None
                try:
                    found = helper.set(chunks[n])
                finally:
                    with cond:
                        taken.discard(n)
                        if found is None:  # the helper failed: its chunk is set here
                            queue.append(n)
                        else:
                            done[n] = found
                        cond.notify_all()
                if found is None:
                    return

        threading.Thread(target=feed, name="gp-print-measure-feed", daemon=True).start()
        while True:
            with cond:
                while not queue and taken:
                    cond.wait()
                if not queue:
                    break
                n = queue.pop(0)
            found = setter.set(chunks[n])
            self.renders += 1
            with cond:
                done[n] = found
        return [result for n in range(len(chunks)) for result in done[n]]

    # -- story parts ------------------------------------------------------------------------

    def body_probe(self, story: Story, paragraphs: Sequence[Paragraph], *, dropcap: bool) -> Probe:
        """The story's body as one galley; with a drop cap only the opening paragraph differs,
        so only that one is set."""
        parts = []
        for i, para in enumerate(paragraphs[:1] if dropcap else paragraphs):
            classes = paragraph_classes(i, paragraphs, dropcap=dropcap)
            html = runs_html(para, dropcap="dropcap" in classes.split())
            parts.append(f'<p class="{classes}" data-m="{i}">{html}</p>')
        return Probe(f'<div class="col kind-{story.kind.value}">{"".join(parts)}</div>', self.grid.column_width_mm)

    def paragraphs(self, stories: Sequence[Story]) -> None:
        """Measure the body of every story (both with and without a drop cap) in one render."""
        wanted = []
        for story in stories:
            paras = body_paragraphs(story)
            for dropcap in (False, True):
                if (story.slug, dropcap) not in self._paragraphs:
                    wanted.append((story, paras, dropcap, self.body_probe(story, paras, dropcap=dropcap)))
        results = self.measure(p for *_, p in wanted)
        for (story, paras, dropcap, _), result in zip(wanted, results, strict=True):
            metrics = []
            for i, para in enumerate(paras[:1] if dropcap else paras):
                set_lines = result.lines.get(str(i), ())
                found = line_offsets(para.text, set_lines)
                if found is None:
                    log.info("paragraph %d of %s cannot be split (line texts differ)", i, story.slug)
                metrics.append(ParagraphMetrics(
                    lines=set_lines,
                    offsets=found[0] if found else None,
                    hyphenated=found[1] if found else tuple(False for _ in set_lines),
                    crosshead=para.crosshead,
                ))
            if dropcap:
                plain = self._paragraphs[(story.slug, False)]
                metrics += plain[1:]
            self._paragraphs[(story.slug, dropcap)] = tuple(metrics)

    def body(self, story: Story, *, dropcap: bool) -> tuple[ParagraphMetrics, ...]:
        if (story.slug, dropcap) not in self._paragraphs:
            self.paragraphs([story])
        return self._paragraphs[(story.slug, dropcap)]

    def head_probe(self, story: Story, width_mm: float, headline_pt: float, show_standfirst: bool,
                   continued_from: int | None, rank: str) -> Probe:
        macro = self.env.get_template("partials/story.html.j2").module
        html = macro.head(story, headline_pt, show_standfirst, continued_from)  # type: ignore[attr-defined]
        return Probe(f'<div class="rank-{rank} kind-{story.kind.value}">{html}</div>', width_mm)

    def block_probe(self, macro_name: str, width_mm: float, *args: Any) -> Probe:
        macro = getattr(self.env.get_template("partials/story.html.j2").module, macro_name)
        return Probe(f"<div>{macro(*args)}</div>", width_mm)

    def lines_for(self, height_mm: float, *, slack_mm: float = 0.0) -> int:
        """Whole grid lines a block of this height takes, so the text below stays on the grid."""
        leading = self.grid.leading_mm
        return max(1, int((height_mm + slack_mm) / leading + 0.999))


# The first batch at least this big (the body galleys of a cold plan) starts a helper process;
# from then on every batch of SHARE_MIN_PROBES or more is shared with it.
SHARE_START_PROBES = 48
SHARE_START_CHARS = 60_000
SHARE_MIN_PROBES = 6


class _Setter:
    """WeasyPrint set up once (the page stylesheets parsed, the fonts loaded, the fetcher
    made) to set batches of probes and read back their heights and lines."""

    def __init__(self, root: Path, leading_pt: float, lang: str) -> None:
        configure_fonts()
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.root, self.leading_pt, self.lang = root, leading_pt, lang
        self.template = environment().get_template("measure.html.j2")
        self.fetcher = make_fetcher(root)
        self.font_config = FontConfiguration()
        self.styles = [
            weasyprint.CSS(filename=str(LAYOUTS_DIR / name), url_fetcher=self.fetcher, font_config=self.font_config)
            for name in MEASURE_STYLESHEETS if (LAYOUTS_DIR / name).is_file()
        ]

    def set(self, probes: Sequence[Probe]) -> list[ProbeResult]:
        import weasyprint
        from weasyprint.formatting_structure import boxes

        html = self.template.render(probes=probes, leading_pt=self.leading_pt, lang=self.lang)
        document = weasyprint.HTML(
            string=html, base_url=str(LAYOUTS_DIR.resolve()) + "/", url_fetcher=self.fetcher,
        ).render(stylesheets=self.styles, font_config=self.font_config)
        heights: dict[int, float] = {}
        overflow: dict[int, bool] = {}
        lines: dict[int, dict[str, list[str]]] = {}
        for page in document.pages:
            for probe_box in _probe_boxes(page._page_box, boxes):
                index = int(probe_box.element.get("id").split("-")[1])
                heights[index] = heights.get(index, 0.0) + probe_box.margin_height()
                right = probe_box.content_box_x() + probe_box.width + 0.75
                found = lines.setdefault(index, {})
                for box in probe_box.descendants():
                    if isinstance(box, boxes.TextBox) and box.position_x + box.width > right:
                        overflow[index] = True
                    if isinstance(box, boxes.BlockBox) and box.element is not None:
                        pid = box.element.get("data-m")
                        floated = box.style["float"] != "none"
                        if pid and not floated and box.children and isinstance(box.children[0], boxes.LineBox):
                            bucket = found.setdefault(pid, [])
                            for line in box.children:
                                if isinstance(line, boxes.LineBox):
                                    bucket.append("".join(
                                        t.text for t in line.descendants() if isinstance(t, boxes.TextBox)))
        results = []
        for i in range(len(probes)):
            found_lines = {k: tuple(v) for k, v in lines.get(i, {}).items()}
            results.append(ProbeResult(
                # Rounded: the last bits of a height depend on where on the galley it was set.
                height_mm=round(heights.get(i, 0.0) / PX_PER_MM, 6),
                lines=found_lines,
                overflow=overflow.get(i, False),
                line_counts={k: len(v) for k, v in found_lines.items()},
            ))
        return results


def _chunks(probes: Sequence[Probe], chars: int) -> list[list[Probe]]:
    """The probes in order, cut into runs of about `chars` characters of HTML."""
    out: list[list[Probe]] = [[]]
    size = 0
    for probe in probes:
        if size >= chars:
            out.append([])
            size = 0
        out[-1].append(probe)
        size += len(probe.html)
    return out


def _helpers_wanted() -> bool:
    """Whether to share big batches with a helper process: when this process may use a
    second CPU, unless GP_PRINT_MEASURE_HELPER=0."""
    if os.environ.get("GP_PRINT_MEASURE_HELPER", "1") == "0":
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cpus > 1


class _Helper:
    """A second process that sets probes: a fresh interpreter (not a fork; it points
    fontconfig at fonts/ before it loads WeasyPrint), fed pickled batches on its stdin.  It
    ends when its stdin closes, so it never outlives this process.  Any failure only turns it
    off: the caller sets the batch itself."""

    def __init__(self, job: tuple[Path, float, str]) -> None:
        self.broken = False
        self.lock = threading.Lock()
        self.ready = False
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            src = str(Path(__file__).resolve().parents[1])
            code = f"import sys; sys.path.insert(0, {src!r}); from gp_print.measure import _serve; _serve()"
            self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert self.proc.stdin is not None
            # Set up for this edition while the caller goes on (the pipe holds the request).
            pickle.dump(job, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except Exception as exc:  # no helper: the caller sets everything itself
            log.info("measurement helper did not start: %r", exc)
            self._fail()

    def wait_ready(self) -> bool:
        """Wait until the helper has loaded WeasyPrint and the stylesheets; False if it failed."""
        with self.lock:
            if not self.ready and not self.broken:
                self.ready = self._call(None) == "ready"
                if not self.ready:
                    self._fail()
            return self.ready

    def set(self, probes: list[Probe]) -> list[ProbeResult] | None:
        with self.lock:
            if self.broken:
                return None
            answer = self._call(probes)
            if isinstance(answer, list) and len(answer) == len(probes):
                return answer
            log.info("measurement helper failed: %s", answer)
            self._fail()
            return None

    def _call(self, request: list[Probe] | None) -> object:
        """Send a batch (None: only read the answer already asked for) and read the answer."""
        try:
            assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
            if request is not None:
                pickle.dump(request, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.proc.stdin.flush()
            return pickle.load(self.proc.stdout)
        except Exception as exc:  # a dead or confused helper
            return repr(exc)

    def _fail(self) -> None:
        self.broken = True
        self._stop()

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """End the helper (its stdin closes; it exits when it has answered what it was asked).
        Not under the lock: a feeding thread may be waiting on the helper while it is."""
        self.broken = True
        self._stop()


def _serve() -> None:
    """The helper process: set up for the edition named in the first request, then set each
    pickled batch read from stdin and answer on stdout."""
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else written to stdout (by a C library, say) goes to stderr

    def answer(value: object) -> None:
        pickle.dump(value, channel_out, protocol=pickle.HIGHEST_PROTOCOL)
        channel_out.flush()

    try:
        root, leading_pt, lang = pickle.load(channel_in)
    except EOFError:
        return
    try:
        setter = _Setter(root, leading_pt, lang)
    except Exception as exc:
        answer(repr(exc))
        return
    answer("ready")
    while True:
        try:
            probes = pickle.load(channel_in)
        except EOFError:
            return
        try:
            result: object = setter.set(probes)
        except Exception as exc:  # reported to the parent, which sets the batch itself
            result = repr(exc)
        answer(result)


def body_paragraphs(story: Story) -> tuple[Paragraph, ...]:
    """The paragraphs set in the body: a letter ends with its writer's signature."""
    if story.kind is StoryKind.LETTER and story.byline:
        from gp_print.model import Inline

        signature = SignatureParagraph((Inline(story.byline),))
        return (*story.body, signature)
    return story.body


@dataclass(frozen=True)
class SignatureParagraph(Paragraph):
    signature: bool = True


def _probe_boxes(root: Any, boxes: Any) -> Iterable[Any]:
    for box in root.descendants():
        if isinstance(box, boxes.BlockBox) and box.element is not None:
            ident = box.element.get("id") or ""
            if ident.startswith("probe-") and box.element_tag == "div":
                yield box


def _result_to_json(result: ProbeResult) -> dict[str, object]:
    return {"h": result.height_mm, "l": {k: list(v) for k, v in result.lines.items()}, "o": result.overflow}


def _result_from_json(value: dict[str, Any]) -> ProbeResult:
    lines = {k: tuple(v) for k, v in value["l"].items()}
    return ProbeResult(height_mm=float(value["h"]), lines=lines, overflow=bool(value["o"]),
                       line_counts={k: len(v) for k, v in lines.items()})


def mm_to_pt(mm: float) -> float:
    return mm * PT_PER_MM

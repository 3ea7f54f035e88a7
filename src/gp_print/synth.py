"""Synthetic editions for tests and benchmarks: any size, the same files for the same seed.

Copy is stitched from the sentences of the bundled sample edition, so it sets like real news
text (real word lengths, quotes, numbers), and pictures are the sample's own photographs.
Nothing here reads the clock or the network.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gp_print.load import split_front_matter
from gp_print.paths import FONTS_DIR, HOME
from gp_print.writer import atomic_write_bytes, atomic_write_text

SAMPLE = HOME / "samples" / "gp-2019-12-30"
SECTIONS = (("news", "News"), ("world", "World"), ("opinion", "Opinion"), ("sport", "Sport"))
# Share of the inside pages each section gets, as a daily's flatplan would.
SECTION_SHARE = {"news": 0.45, "world": 0.15, "opinion": 0.12, "sport": 0.28}
AD_SIZES = ((3, 10), (2, 15), (4, 10), (7, 8), (3, 12), (2, 8))


@dataclass(frozen=True)
class SynthResult:
    root: Path
    pages: int
    stories: int
    ads: int


def _sentences(sample: Path) -> tuple[list[str], list[str]]:
    """Sentences and headlines from the sample edition's stories."""
    sentences: list[str] = []
    headlines: list[str] = []
    for path in sorted((sample / "stories").glob("*.md")):
        parts = split_front_matter(path.read_text(encoding="utf-8"))
        if parts is None:
            continue
        front, body, _ = parts
        match = re.search(r'^headline = "(.*)"$', front, re.M)
        if match:
            headlines.append(match.group(1))
        for para in body.split("\n\n"):
            para = para.strip()
            if not para or para.startswith("#"):
                continue
            sentences += [s.strip() for s in re.split(r"(?<=[.!?”])\s+(?=[A-Z“])", para) if len(s.split()) > 3]
    return sentences, headlines


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plan(pages: int) -> list[tuple[int, str, str]]:
    inside = pages - 1
    counts = {sid: max(1, round(inside * share)) for sid, share in SECTION_SHARE.items()}
    while sum(counts.values()) > inside:
        counts["news"] -= 1
    while sum(counts.values()) < inside:
        counts["news"] += 1
    plan = [(1, "news", "front")]
    number = 2
    for sid, _ in SECTIONS:
        for i in range(counts[sid]):
            last = number == pages
            template = "back" if last and sid == "sport" else ("opinion" if sid == "opinion" else "news")
            plan.append((number, sid, template))
            number += 1
            del i
    return plan


def _ad_image(path: Path, columns: int, height_cm: float, name: str, rng: random.Random) -> None:
    width_mm = columns * 35 + (columns - 1) * 3.5
    size = (round(width_mm / 25.4 * 150), round(height_cm * 10 / 25.4 * 150))
    tone = rng.randrange(170, 235)
    img = Image.new("RGB", size, (tone, tone, 255 - tone // 3))
    draw = ImageDraw.Draw(img)
    draw.rectangle((4, 4, size[0] - 5, size[1] - 5), outline=(0, 0, 0), width=6)
    font = ImageFont.truetype(str(FONTS_DIR / "pt-sans-narrow" / "PT_Sans-Narrow-Web-Bold.ttf"), max(24, size[1] // 6))
    draw.text((size[0] // 2, size[1] // 2), name, fill=(0, 0, 0), font=font, anchor="mm")
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp, format="PNG", dpi=(150, 150))
    atomic_write_bytes(path, tmp.read_bytes())
    tmp.unlink()


def make_edition(out: Path, *, pages: int = 48, stories: int = 120, seed: int = 7) -> SynthResult:
    """Write a synthetic edition folder of `pages` pages and `stories` stories into `out`."""
    if pages < 4 or pages % 2:
        raise ValueError("pages must be an even number of at least 4")
    rng = random.Random(seed)
    sentences, headlines = _sentences(SAMPLE)
    photos = sorted(p for p in (SAMPLE / "photos").glob("*.jpg"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "stories").mkdir(exist_ok=True)
    (out / "photos").mkdir(exist_ok=True)
    (out / "ads").mkdir(exist_ok=True)
    for photo in photos:
        shutil.copyfile(photo, out / "photos" / photo.name)

    plan = _plan(pages)
    lines = [
        "# Synthetic edition made by `gp-print sample`; regenerate rather than edit.",
        'title = "Guernsey Press"', "date = 2020-01-06", f"issue = {40000 + seed}", 'price = "95p"',
        'lang = "en-GB"', "",
    ]
    for sid, name in SECTIONS:
        lines += ["[[sections]]", f'id = "{sid}"', f'name = "{name}"', ""]
    for number, sid, template in plan:
        lines += ["[[pages]]", f"number = {number}", f'section = "{sid}"', f'template = "{template}"', ""]
    ad_count = 0
    for number, _sid, template in plan:
        if template == "front" or rng.random() > 0.5:
            continue
        columns, height = rng.choice(AD_SIZES)
        position = "bottom" if columns == 7 else rng.choice(("bottom-left", "bottom-right"))
        ad_count += 1
        name = f"ad-{ad_count:03d}.png"
        _ad_image(out / "ads" / name, columns, height, f"Advertiser {ad_count}", rng)
        lines += ["[[ads]]", f'advertiser = "Advertiser {ad_count}"', f'file = "ads/{name}"', f"page = {number}",
                  f"columns = {columns}", f"height_cm = {height}", f'position = "{position}"', ""]
    atomic_write_text(out / "edition.toml", "\n".join(lines))

    weights = [SECTION_SHARE[sid] for sid, _ in SECTIONS]
    for i in range(stories):
        sid = rng.choices([s for s, _ in SECTIONS], weights)[0]
        kind = "letter" if sid == "opinion" and rng.random() < 0.6 else ("brief" if rng.random() < 0.12 else "story")
        words_target = {"letter": rng.randint(120, 250), "brief": rng.randint(60, 140)}.get(kind, rng.randint(250, 700))
        body: list[str] = []
        words = 0
        while words < words_target:
            para = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 2)))
            body.append(para)
            words += len(para.split())
        slug = f"{sid}-{i:03d}"
        front = [
            f"slug = {_toml(slug)}", f"headline = {_toml(rng.choice(headlines))}", f'section = "{sid}"',
            f"priority = {rng.randint(1, 9)}", f'kind = "{kind}"',
        ]
        if kind == "story":
            front.append(f"standfirst = {_toml(rng.choice(sentences))}")
            front.append(f"byline = {_toml('By ' + rng.choice(('Jane Le Page', 'Tom Ogier', 'Sarah Mauger')))}")
        if kind == "letter":
            front.append('byline = "A Reader, St Peter Port"')
        if sid == "news" and i < 3:
            front.append("front = true")
        if kind == "story" and rng.random() < 0.45 and photos:
            photo = rng.choice(photos)
            front += ["", "[[photos]]", f'file = "photos/{photo.name}"',
                      f"caption = {_toml(rng.choice(sentences))}", 'credit = "Picture: library"']
        text = "+++\n" + "\n".join(front) + "\n+++\n" + "\n\n".join(body) + "\n"
        atomic_write_text(out / "stories" / f"{slug}.md", text)
    return SynthResult(out, pages, stories, ad_count)

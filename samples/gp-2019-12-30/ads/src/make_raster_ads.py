"""Make the three raster display ads for the 30 December 2019 sample edition.

The advertisers are invented for the sample. Each ad is drawn with Pillow at
200 pixels per inch of its booked size, using only the project's own fonts in
fonts/, and saved with its resolution set to 200 dpi:

    ads/vardes-garden-centre.png   7 columns x  8 cm  (266.0 x  80 mm)
    ads/island-coachways.jpg       2 columns x 15 cm  ( 73.5 x 150 mm)
    ads/footes-lane-sports.png     3 columns x 12 cm  (112.0 x 120 mm)

A booked width is columns x 35 mm + (columns - 1) x 3.5 mm; the height is the
booked number of centimetres. Run with the project's Python:

    .venv/bin/python samples/gp-2019-12-30/ads/src/make_raster_ads.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PPI = 200
HERE = Path(__file__).resolve().parent
ADS = HERE.parent
FONTS = HERE.parents[3] / "fonts"

FONT_FILES = {
    "serif": "pt-serif/PT_Serif-Web-Regular.ttf",
    "serif-italic": "pt-serif/PT_Serif-Web-Italic.ttf",
    "serif-bold": "pt-serif/PT_Serif-Web-Bold.ttf",
    "serif-bold-italic": "pt-serif/PT_Serif-Web-BoldItalic.ttf",
    "sans": "pt-sans/PT_Sans-Web-Regular.ttf",
    "sans-italic": "pt-sans/PT_Sans-Web-Italic.ttf",
    "sans-bold": "pt-sans/PT_Sans-Web-Bold.ttf",
    "narrow": "pt-sans-narrow/PT_Sans-Narrow-Web-Regular.ttf",
    "narrow-bold": "pt-sans-narrow/PT_Sans-Narrow-Web-Bold.ttf",
}


def mm(value: float) -> int:
    """Millimetres to whole pixels at PPI."""
    return round(value / 25.4 * PPI)


def pt(value: float) -> int:
    """Points to whole pixels at PPI."""
    return max(1, round(value / 72 * PPI))


def booked_size(columns: int, height_cm: float) -> tuple[int, int]:
    width_mm = columns * 35 + (columns - 1) * 3.5
    return mm(width_mm), mm(height_cm * 10)


Draw = ImageDraw.ImageDraw
Font = ImageFont.FreeTypeFont

_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size_pt: float) -> ImageFont.FreeTypeFont:
    key = (name, pt(size_pt))
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(str(FONTS / FONT_FILES[name]), key[1])
    return _font_cache[key]


def text_width(draw: Draw, text: str, fnt: Font, tracking: float = 0) -> float:
    if not tracking:
        return draw.textlength(text, font=fnt)
    return sum(draw.textlength(ch, font=fnt) for ch in text) + tracking * (len(text) - 1)


def text_at(
    draw: Draw,
    xy: tuple[float, float],
    text: str,
    fnt: Font,
    fill: str,
    anchor: str = "la",
    tracking: float = 0,
) -> None:
    """Draw text; with tracking, letter by letter (anchor l/m/r + baseline a/s)."""
    x, y = xy
    if not tracking:
        draw.text((x, y), text, font=fnt, fill=fill, anchor=anchor)
        return
    w = text_width(draw, text, fnt, tracking)
    if anchor[0] == "m":
        x -= w / 2
    elif anchor[0] == "r":
        x -= w
    for ch in text:
        draw.text((x, y), ch, font=fnt, fill=fill, anchor="l" + anchor[1])
        x += draw.textlength(ch, font=fnt) + tracking


def wrap(draw: Draw, text: str, fnt: Font, width: float) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=fnt) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def paragraph(
    draw: Draw,
    x: float,
    y: float,
    text: str,
    fnt: Font,
    fill: str,
    width: float,
    leading: float,
    align: str = "l",
) -> float:
    """Wrap text into width; return the y below the last line (top anchored)."""
    for line in wrap(draw, text, fnt, width):
        if align == "m":
            draw.text((x + width / 2, y), line, font=fnt, fill=fill, anchor="ma")
        else:
            draw.text((x, y), line, font=fnt, fill=fill, anchor="la")
        y += leading
    return y


def frame(
    draw: Draw, w: int, h: int, colour: str, outer_pt: float = 1.4, gap_mm: float = 1.3, inner_pt: float = 0.5
) -> int:
    """The usual display-ad border: a heavy outer rule and a hairline inside it."""
    o = pt(outer_pt)
    draw.rectangle([0, 0, w - 1, h - 1], outline=colour, width=o)
    g = o + mm(gap_mm)
    draw.rectangle([g, g, w - 1 - g, h - 1 - g], outline=colour, width=pt(inner_pt))
    return g + pt(inner_pt)


def leaf(draw: Draw, base: tuple[float, float], length: float, width: float, angle_deg: float, fill: str) -> None:
    """A simple lens-shaped leaf from base point, pointing at angle_deg."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    steps = 24
    for side in (1, -1):
        rng = range(steps + 1) if side == 1 else range(steps, -1, -1)
        for i in rng:
            t = i / steps
            px = t * length
            py = side * (width / 2) * math.sin(math.pi * t) ** 0.9
            pts.append((base[0] + px * ca - py * sa, base[1] + px * sa + py * ca))
    draw.polygon(pts, fill=fill)


def save(img: Image.Image, name: str, expect: tuple[int, int]) -> None:
    assert img.size == expect, (name, img.size, expect)
    path = ADS / name
    if name.endswith(".jpg"):
        img.convert("RGB").save(path, "JPEG", quality=92, dpi=(PPI, PPI), optimize=True)
    else:
        img.save(path, "PNG", dpi=(PPI, PPI), optimize=True)
    print(f"wrote ads/{name} {img.size[0]}x{img.size[1]} px at {PPI} ppi")


# --------------------------------------------------------------------------
# Les Vardes Garden Centre: 7 columns x 8 cm, PNG
# --------------------------------------------------------------------------
def garden_centre() -> None:
    size = booked_size(7, 8)
    w, h = size
    green, dark, cream, terracotta, ink = "#2f5d3a", "#1f3f28", "#f6f1e3", "#b5532b", "#1d1d1b"
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    inset = frame(d, w, h, dark)

    # Left panel: the name on green, with a sprig of leaves.
    panel_r = inset + mm(68)
    d.rectangle([inset, inset, panel_r, h - 1 - inset], fill=green)
    cx = (inset + panel_r) / 2
    stem_x, stem_top, stem_bot = cx, inset + mm(10), inset + mm(30)
    d.line([(stem_x, stem_bot), (stem_x, stem_top)], fill=cream, width=pt(1.6))
    for i, (dy, side) in enumerate([(0.15, 1), (0.35, -1), (0.55, 1), (0.75, -1)]):
        by = stem_bot - dy * (stem_bot - stem_top)
        ang = -35 if side == 1 else -145
        leaf(d, (stem_x, by), mm(9.5 - i * 1.2), mm(4.2 - i * 0.4), ang, cream)
    leaf(d, (stem_x, stem_top + mm(1)), mm(6), mm(3), -90, cream)
    text_at(d, (cx, inset + mm(45)), "Les Vardes", font("serif-bold-italic", 30), cream, "ms")
    text_at(d, (cx, inset + mm(54)), "GARDEN CENTRE", font("narrow-bold", 15), cream, "ms", tracking=pt(3))
    d.line([(cx - mm(22), inset + mm(58)), (cx + mm(22), inset + mm(58))], fill=cream, width=pt(0.6))
    text_at(d, (cx, inset + mm(64.5)), "Growing on the island since 1978", font("serif-italic", 9.5), cream, "ms")

    # Foot bar under the middle and right blocks: address and hours.
    bar_h = mm(10)
    bar_top = h - 1 - inset - bar_h
    d.rectangle([panel_r, bar_top, w - 1 - inset, h - 1 - inset], fill=dark)
    text_at(
        d,
        ((panel_r + w - inset) / 2, bar_top + bar_h / 2),
        "Les Vardes, St Peter Port  ·  Open 7 days, 9am–5pm, Sundays 10am–4pm  ·  01481 731904",
        font("sans-bold", 10.5),
        "white",
        "mm",
    )

    # Middle block: the offer.
    mid_l, mid_r = panel_r + mm(8), panel_r + mm(112)
    mid_c = (mid_l + mid_r) / 2
    text_at(d, (mid_c, inset + mm(14)), "WINTER CLEARANCE", font("narrow-bold", 22), green, "ms", tracking=pt(2.5))
    text_at(d, (mid_c, inset + mm(33)), "Up to half price", font("serif-bold", 38), terracotta, "ms")
    paragraph(
        d,
        mid_l,
        inset + mm(38),
        "on garden furniture, pots and planters, lights and all remaining Christmas stock",
        font("serif", 12),
        ink,
        mid_r - mid_l,
        pt(15.5),
        align="m",
    )
    text_at(
        d,
        (mid_c, inset + mm(57)),
        "While stocks last · Sale items cannot be reserved",
        font("sans-italic", 8.5),
        "#555555",
        "ms",
    )

    # Divider and right block: what's new.
    div_x = mid_r + mm(6)
    d.line([(div_x, inset + mm(6)), (div_x, bar_top - mm(5))], fill=green, width=pt(0.6))
    r_l = div_x + mm(7)
    text_at(d, (r_l, inset + mm(12.5)), "NOW IN STORE", font("narrow-bold", 14), green, "ls", tracking=pt(1.5))
    y = inset + mm(19)
    items = [
        "Bare-root fruit trees and roses",
        "Spring bulbs and seed potatoes",
        "Logs, kindling and bird food",
        "Gift vouchers for any amount",
    ]
    for item in items:
        leaf(d, (r_l, y + pt(7)), mm(3.6), mm(1.8), -30, green)
        d.text((r_l + mm(5), y), item, font=font("sans", 11), fill=ink, anchor="la")
        y += pt(16.5)
    text_at(d, (r_l, y + mm(5.5)), "Café open daily from 9am · Free parking", font("sans-bold", 10), terracotta, "ls")

    save(img, "vardes-garden-centre.png", size)


# --------------------------------------------------------------------------
# Island Coachways: 2 columns x 15 cm, JPEG
# --------------------------------------------------------------------------
def coach(d: Draw, x: float, y: float, w: float, h: float, body: str, trim: str, glass: str, wheel: str) -> None:
    """A side view of a touring coach, drawn with simple shapes."""
    r = h * 0.14
    d.rounded_rectangle([x, y, x + w, y + h * 0.82], radius=r, fill=body)
    # Windscreen at the front (right), passenger windows along the side.
    d.rounded_rectangle([x + w * 0.86, y + h * 0.10, x + w * 0.975, y + h * 0.48], radius=r * 0.4, fill=glass)
    n, wx0, wx1 = 6, x + w * 0.05, x + w * 0.82
    gap = w * 0.012
    ww = (wx1 - wx0 - gap * (n - 1)) / n
    for i in range(n):
        lx = wx0 + i * (ww + gap)
        d.rounded_rectangle([lx, y + h * 0.10, lx + ww, y + h * 0.42], radius=r * 0.25, fill=glass)
    # Door just behind the windscreen.
    d.rectangle([x + w * 0.78, y + h * 0.48, x + w * 0.83, y + h * 0.76], outline=glass, width=max(2, int(h * 0.02)))
    # Livery stripe.
    d.rectangle([x + w * 0.02, y + h * 0.53, x + w * 0.76, y + h * 0.60], fill=trim)
    # Wheels.
    for cx in (x + w * 0.2, x + w * 0.74):
        rad = h * 0.17
        cy = y + h * 0.82
        d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=wheel)
        d.ellipse([cx - rad * 0.45, cy - rad * 0.45, cx + rad * 0.45, cy + rad * 0.45], fill="#bfbfbf")


def coachways() -> None:
    size = booked_size(2, 15)
    w, h = size
    navy, gold, ink, pale = "#1b2f5b", "#e0a526", "#1d1d1b", "#eef2f8"
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    inset = frame(d, w, h, navy)
    inner_w = w - 2 * inset
    cx = w / 2

    # Masthead.
    top_h = mm(22)
    d.rectangle([inset, inset, w - 1 - inset, inset + top_h], fill=navy)
    text_at(d, (cx, inset + mm(10)), "ISLAND", font("narrow-bold", 22), "white", "ms", tracking=pt(4))
    text_at(d, (cx, inset + mm(17.5)), "COACHWAYS", font("narrow-bold", 17), gold, "ms", tracking=pt(2))
    d.rectangle([inset, inset + top_h, w - 1 - inset, inset + top_h + mm(1.4)], fill=gold)

    # The coach.
    cw = inner_w - mm(14)
    ch = cw * 0.36
    coach_top = inset + top_h + mm(6)
    coach(d, inset + mm(7), coach_top, cw, ch, navy, gold, "#9fc3e6", "#222222")

    y = coach_top + ch + mm(11)
    text_at(d, (cx, y), "Private hire", font("serif-bold-italic", 17), navy, "ms")
    y += mm(5.5)
    text_at(d, (cx, y), "for every occasion", font("serif-italic", 10.5), navy, "ms")
    y += mm(3)
    d.line([(cx - mm(10), y), (cx + mm(10), y)], fill=gold, width=pt(1))
    y += mm(2.2)
    for item in ["Weddings and parties", "Airport and harbour transfers", "School and club trips", "Island tours"]:
        d.text((cx, y), item, font=font("sans", 10), fill=ink, anchor="ma")
        y += pt(13.5)
    y += mm(0.8)
    text_at(d, (cx, y + pt(8)), "16 to 49-seat coaches", font("sans-italic", 9), "#444444", "ms")
    y += pt(8) + mm(3.5)

    # The offer box.
    box_t, box_b = y, y + mm(31)
    d.rectangle([inset + mm(3.5), box_t, w - 1 - inset - mm(3.5), box_b], fill=pale, outline=navy, width=pt(1))
    yy = box_t + mm(6)
    text_at(d, (cx, yy), "NEW YEAR’S DAY", font("narrow-bold", 14), navy, "ms", tracking=pt(1))
    yy += pt(15)
    text_at(d, (cx, yy), "ISLAND TOUR", font("narrow-bold", 14), navy, "ms", tracking=pt(1))
    yy += mm(2)
    yy = paragraph(
        d,
        inset + mm(6.5),
        yy,
        "Wednesday 1 January, 2pm from the Weighbridge. Two hours round the coast, with a stop for tea.",
        font("serif", 8.8),
        ink,
        inner_w - mm(13),
        pt(11.2),
        align="m",
    )
    text_at(d, (cx, yy + pt(10)), "Adults £12 · Children £6", font("sans-bold", 10), navy, "ms")
    assert yy + pt(10) < box_b - mm(1.5), "coachways: offer box overflows"

    # Foot: address and phone.
    foot_h = mm(15)
    ft = h - 1 - inset - foot_h
    assert box_b < ft - mm(2), "coachways: copy runs into the foot"
    d.rectangle([inset, ft, w - 1 - inset, h - 1 - inset], fill=navy)
    text_at(d, (cx, ft + mm(5.3)), "Les Banques, St Peter Port", font("sans", 9.5), "white", "ms")
    text_at(d, (cx, ft + mm(11.6)), "01481 720388", font("sans-bold", 14.5), gold, "ms", tracking=pt(0.6))

    save(img, "island-coachways.jpg", size)


# --------------------------------------------------------------------------
# Footes Lane Sports: 3 columns x 12 cm, PNG
# --------------------------------------------------------------------------
def sports_shop() -> None:
    size = booked_size(3, 12)
    w, h = size
    green, red, ink, track = "#17603a", "#c8102e", "#1d1d1b", "#b8553a"
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    inset = frame(d, w, h, ink)
    cx = w / 2
    inner_w = w - 2 * inset

    # Masthead.
    top_h = mm(17)
    d.rectangle([inset, inset, w - 1 - inset, inset + top_h], fill=green)
    text_at(d, (cx, inset + mm(10.2)), "FOOTES LANE SPORTS", font("narrow-bold", 22), "white", "ms", tracking=pt(2))
    text_at(
        d,
        (cx, inset + mm(14.6)),
        "Everything for island sport, under one roof",
        font("serif-italic", 8.5),
        "#d9ead9",
        "ms",
    )

    # A strip of running-track lanes.
    ty = inset + top_h
    d.rectangle([inset, ty, w - 1 - inset, ty + mm(6)], fill=track)
    for i in range(1, 4):
        ly = ty + i * mm(6) / 4
        d.line([(inset, ly), (w - 1 - inset, ly)], fill="white", width=pt(0.6))

    y = ty + mm(16)
    text_at(d, (cx, y), "JANUARY SALE", font("narrow-bold", 26), ink, "ms", tracking=pt(3))
    y += mm(15)
    text_at(d, (cx, y), "up to 40% off", font("serif-bold", 34), red, "ms")
    y += mm(7)
    text_at(d, (cx, y), "Starts Thursday 2 January at 9am", font("sans-bold", 11), ink, "ms")

    # Two columns of departments.
    y += mm(5)
    d.line([(inset + mm(8), y), (w - inset - mm(8), y)], fill="#bbbbbb", width=pt(0.5))
    y += mm(3.5)
    left = ["Running shoes", "Football and rugby boots", "Hockey sticks and balls"]
    right = ["Swimwear and goggles", "Cricket bats, knocked in", "Racket restringing"]
    col_w = (inner_w - mm(16)) / 2
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        row_y = y + i * pt(16)
        for j, item in enumerate((a, b)):
            x0 = inset + mm(8) + j * col_w
            d.ellipse([x0, row_y + pt(4.5), x0 + pt(5), row_y + pt(9.5)], fill=green)
            d.text((x0 + mm(3.2), row_y), item, font=font("sans", 10.5), fill=ink, anchor="la")
    y += 3 * pt(16) + mm(2)
    d.line([(inset + mm(8), y), (w - inset - mm(8), y)], fill="#bbbbbb", width=pt(0.5))
    y += mm(3.5)
    paragraph(
        d,
        inset + mm(8),
        y,
        "New year, new kit? Club and school kit orders for the 2020 season"
        " are being taken now. Ask in store for a quote.",
        font("serif", 10),
        ink,
        inner_w - mm(16),
        pt(13),
        align="m",
    )

    # Foot.
    foot_h = mm(13)
    ft = h - 1 - inset - foot_h
    d.rectangle([inset, ft, w - 1 - inset, h - 1 - inset], fill=ink)
    text_at(
        d, (cx, ft + mm(5.2)), "Footes Lane, St Peter Port  ·  Mon–Sat 9am–5.30pm", font("sans", 9.5), "white", "ms"
    )
    text_at(d, (cx, ft + mm(10.6)), "01481 713377", font("sans-bold", 13), "white", "ms", tracking=pt(0.6))

    save(img, "footes-lane-sports.png", size)


if __name__ == "__main__":
    garden_centre()
    coachways()
    sports_shop()

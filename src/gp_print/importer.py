"""Import an article from the website's plain-text form into a gp-print story file.

The website's plain-text export looks like this (one paragraph per line, blank lines between)::

    Guernsey Press                                  <- paper name
    Kim Jong Un calls for 'offensive measures'...   <- headline
    The North Korean leader's call came before...   <- standfirst
    Published                                       <- optional, may carry a date
    North Korean leader Kim Jong Un called for...   <- body paragraphs
    North Korea US                                  <- photo block: keyword line, then directly
    Kim Jong Un, in white at left, ... (KCNA/AP/PA) <-   a caption line ending in "(credit)"
    ...
    Sorry, we are not accepting comments on this article.   <- boilerplate, dropped

How the text is read (the heuristics, in one place):

* Line ends may be LF, CRLF or CR; a UTF-8 byte-order mark, trailing spaces, tabs, control
  characters and runs of blank lines are all ignored.
* The first non-empty line is the paper name, then the headline and the standfirst.  If a
  "Published" line (optionally with a date, e.g. "Published: 30 Dec 2019 10:15", or with a
  date on the next line) is among the first four non-empty lines it marks the end of that
  header: with only two lines before it they are taken as headline + standfirst when the
  second ends like a sentence, else as paper name + headline.  Without a "Published" line
  the header is simply the first three non-empty lines.
* Every other non-empty line is one body paragraph, except photo blocks: a short line (at
  most eight words, no final full stop) *immediately* followed by a line ending in ``(...)``.
  The credit is the text inside the last (balanced) parentheses, the caption the text before.
* The last paragraph is dropped when it is the website's comments boilerplate
  ("Sorry, we are not accepting comments ...").
* A single full stop at the end of the headline is dropped (story headlines have none).

Where photos go: the story is written to ``out_dir/<slug>.md``.  The *edition folder* is
``out_dir.parent`` when ``out_dir`` is called ``stories`` (the normal layout,
``<edition>/stories/<slug>.md``), else ``out_dir`` itself.  A picture found for a photo block
is copied to ``<edition folder>/photos/<keyword-slug>.<ext>`` and referenced as
``file = "photos/<keyword-slug>.<ext>"``, relative to the edition folder, as the story format
requires.  A picture not found is written as a commented-out ``[[photos]]`` block, so the
story still loads, and reported in `ImportResult.warnings`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from gp_print.errors import ArticleImportError, Problem
from gp_print.writer import atomic_write_bytes

__all__ = [
    "ImportResult",
    "ImportedArticle",
    "ImportedPhoto",
    "import_article",
    "parse_article",
    "render_story",
    "slugify",
]

log = logging.getLogger("gp_print")

SLUG_MAX = 60
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")
KEYWORD_MAX_WORDS = 8
_FORMAT_HINT = (
    "expected the paper name, the headline, the standfirst, 'Published', "
    "then the body paragraphs, as the website exports them"
)


# --------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class ImportedPhoto:
    """A photo block: the keyword line, caption and credit, and the picture if found."""

    keyword: str
    caption: str
    credit: str
    file: str | None  # relative to the edition folder ("photos/x.jpg"); None if missing


@dataclass(frozen=True)
class ImportedArticle:
    """An article as read from the website's plain text (body text not yet escaped)."""

    slug: str
    headline: str
    standfirst: str
    paragraphs: tuple[str, ...]
    photos: tuple[ImportedPhoto, ...]
    paper: str


@dataclass(frozen=True)
class ImportResult:
    """What `import_article` did: the article, where the story went, what to look at."""

    article: ImportedArticle
    story_path: Path
    warnings: tuple[str, ...]


def _error(
    source: str, field: str, message: str, fix: str, line: int | None = None
) -> ArticleImportError:
    return ArticleImportError(
        str(Problem(file=source, field=field, message=message, fix=fix, line=line))
    )


# --------------------------------------------------------------------------------------
# Slugs

_TRANSLIT = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
        "&": " and ",
        # apostrophes and quotes vanish rather than splitting a word ("Kim's" -> "kims")
        "'": None,
        "‘": None,
        "’": None,
        "‛": None,
        "ʼ": None,
        "“": None,
        "”": None,
        '"': None,
    }
)


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """Lower-case ASCII words joined by hyphens, at most `max_length`, cut between words.

    Accents are transliterated ("Sark’s café" -> "sarks-cafe"); returns "" when nothing
    ASCII is left (callers fall back to a hash).
    """
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    ascii_text = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[: max_length + 1]
    if cut.endswith("-"):
        return cut.rstrip("-")
    head, sep, _ = cut[:max_length].rpartition("-")
    return head if sep and head else slug[:max_length]


def _slug_or_hash(text: str, prefix: str) -> str:
    slug = slugify(text)
    if slug:
        return slug
    return f"{prefix}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


# --------------------------------------------------------------------------------------
# Parsing

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BOILERPLATE = (re.compile(r"^sorry,? we are not accepting comments\b", re.IGNORECASE),)
_MONTHS = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "january", "february", "march", "april", "june", "july", "august", "september",
    "october", "november", "december",
}  # fmt: skip
_DATE_WORDS = _MONTHS | {
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "am", "pm", "gmt", "bst", "utc", "at", "on", "ago", "hour", "hours", "minute",
    "minutes", "day", "days", "min", "mins", "hr", "hrs", "today", "yesterday",
}  # fmt: skip
_ORDINAL = re.compile(r"^\d{1,4}(st|nd|rd|th)?$")
_PUBLISHED = re.compile(r"^published\b[:\s]*(.*)$", re.IGNORECASE)
_UPDATED = re.compile(r"^(?:last )?updated\b[:\s]*(.*)$", re.IGNORECASE)


def _is_date(text: str) -> bool:
    """True for a line that is only a date and/or time ("30 Dec 2019 10:15 GMT")."""
    tokens = [t for t in re.split(r"[\s,:./\-]+", text.lower()) if t]
    return bool(tokens) and all(t in _DATE_WORDS or _ORDINAL.match(t) for t in tokens)


def _is_published(line: str) -> bool:
    """ "Published", alone or with only a date/time after it (not "Published accounts show")."""
    match = _PUBLISHED.match(line)
    return match is not None and (not match.group(1) or _is_date(match.group(1)))


def _is_date_line(line: str) -> bool:
    """A date ("30 December 2019") or "Updated ..." line that may follow "Published"."""
    match = _UPDATED.match(line)
    if match:
        return not match.group(1) or _is_date(match.group(1))
    return any(c.isdigit() for c in line) and _is_date(line)


def _is_keyword(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= KEYWORD_MAX_WORDS and not line.endswith((".", "!", "?", "…", ")", ":"))


def _split_caption(line: str) -> tuple[str, str] | None:
    """Split "Caption text (Credit/AP)" into ("Caption text", "Credit/AP"), else None."""
    if not line.endswith(")"):
        return None
    depth = 0
    for pos in range(len(line) - 1, -1, -1):
        char = line[pos]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                credit = line[pos + 1 : -1].strip()
                if not credit:
                    return None
                return line[:pos].strip(), credit
    return None


def _is_boilerplate(paragraph: str) -> bool:
    return any(p.match(paragraph) for p in _BOILERPLATE)


def _clean_lines(text: str) -> list[str]:
    text = text.removeprefix("\ufeff")
    lines = []
    for raw in text.splitlines():  # LF, CRLF, CR, U+2028, ...
        line = _CONTROL.sub("", raw.replace("\t", " ")).replace("\ufeff", "")
        lines.append(line.strip())
    return lines


def _ends_like_sentence(line: str) -> bool:
    return line.rstrip("\"'’”»)").endswith((".", "!", "?", "…"))


def parse_article(text: str, source: str = "<text>") -> ImportedArticle:
    """Read an article in the website's plain-text form; `source` names it in errors.

    Pure: no file is touched; every photo comes back with ``file=None``.
    """
    lines = _clean_lines(text)
    filled = [i for i, line in enumerate(lines) if line]
    if not filled:
        raise _error(source, "", "the file is empty", f"export the article again; {_FORMAT_HINT}")

    published_at = next((k for k, i in enumerate(filled[:4]) if _is_published(lines[i])), None)
    if published_at is not None:
        header = [lines[i] for i in filled[:published_at]]
        body_start = filled[published_at] + 1
        rest = [i for i in filled if i >= body_start]
        if rest and _is_date_line(lines[rest[0]]):
            body_start = rest[0] + 1
        if len(header) >= 3:
            paper, headline, standfirst = header[0], header[1], " ".join(header[2:])
        elif len(header) == 2 and _ends_like_sentence(header[1]):
            paper, headline, standfirst = "", header[0], header[1]
        elif len(header) == 2:
            paper, headline, standfirst = header[0], header[1], ""
        else:
            found = f"only {header[0]!r}" if header else "nothing"
            raise _error(
                source,
                "headline",
                f"missing: {found} before the 'Published' line",
                _FORMAT_HINT,
                line=filled[published_at] + 1,
            )
    else:
        if len(filled) < 2:
            raise _error(
                source,
                "headline",
                f"missing: the file has only one line ({lines[filled[0]]!r})",
                _FORMAT_HINT,
            )
        paper, headline = lines[filled[0]], lines[filled[1]]
        standfirst = lines[filled[2]] if len(filled) > 2 else ""
        body_start = filled[2] + 1 if len(filled) > 2 else len(lines)

    if headline.endswith(".") and not headline.endswith(".."):
        headline = headline[:-1].rstrip()
    if not headline:
        raise _error(source, "headline", "missing: the headline line is empty", _FORMAT_HINT)

    paragraphs: list[str] = []
    photos: list[ImportedPhoto] = []
    body = lines[body_start:]
    i = 0
    while i < len(body):
        line = body[i]
        if not line:
            i += 1
            continue
        split = _split_caption(body[i + 1]) if i + 1 < len(body) and _is_keyword(line) else None
        if split is not None:
            caption, credit = split
            photos.append(ImportedPhoto(keyword=line, caption=caption, credit=credit, file=None))
            i += 2
            continue
        paragraphs.append(line)
        i += 1
    while paragraphs and _is_boilerplate(paragraphs[-1]):
        paragraphs.pop()
    if not paragraphs:
        raise _error(
            source,
            "body",
            "no body paragraph found after the headline and standfirst",
            f"check the article text was exported in full; {_FORMAT_HINT}",
        )

    return ImportedArticle(
        slug=_slug_or_hash(headline, "article"),
        headline=headline,
        standfirst=standfirst,
        paragraphs=tuple(paragraphs),
        photos=tuple(photos),
        paper=paper,
    )


# --------------------------------------------------------------------------------------
# Rendering

_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """`value` as a TOML basic string, every character TOML forbids escaped."""
    out = ['"']
    for char in value:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_MD_INLINE = str.maketrans(
    {"\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "<": "\\<", "[": "\\["}
)
_MD_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_MD_LEADING = re.compile(r"^([#>+\-=~|])")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def escape_markdown(text: str) -> str:
    """Plain text as one Markdown paragraph that renders back to the same text.

    Escapes backslashes, backticks, emphasis marks, link brackets, ``<`` (so no raw HTML or
    autolink survives), entity references, and block markers at the start of the line
    (headings, quotes, list items, numbered lists, fences, rules).
    """
    text = " ".join(text.split())  # one line, no leading spaces (no code block)
    text = _MD_ENTITY.sub("\\\\&", text.translate(_MD_INLINE))
    text = _MD_LEADING.sub(r"\\\1", text)
    return _MD_ORDERED.sub(r"\1\\\2", text)


def _photo_lines(photo: ImportedPhoto) -> list[str]:
    if photo.file is not None:
        return [
            "",
            "[[photos]]",
            f"file = {toml_string(photo.file)}",
            f"caption = {toml_string(photo.caption)}",
            f"credit = {toml_string(photo.credit)}",
        ]
    expected = f"photos/{expected_photo_stem(photo.keyword)}.jpg"
    return [
        "",
        f"# Photo {toml_string(photo.keyword)}: picture not found when imported.",
        "# [[photos]]",
        f"# file = {toml_string(expected)}  # MISSING: supply this picture and remove the # signs",
        f"# caption = {toml_string(photo.caption)}",
        f"# credit = {toml_string(photo.credit)}",
    ]


def render_story(
    article: ImportedArticle,
    *,
    section: str,
    priority: int,
    byline: str | None,
    source: str | None = None,
) -> str:
    """The story file text: TOML front matter between ``+++`` lines, then Markdown.

    `source` (the original file name) is recorded as ``source = "..."`` when given.
    Photos with a file become ``[[photos]]`` tables; photos without one are written as a
    commented-out block naming the file to supply.
    """
    where = source or article.slug
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", section):
        raise _error(
            where,
            "section",
            f"{section!r} is not a section id",
            "give a section id from edition.toml, e.g. 'world'",
        )
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 9:
        raise _error(
            where,
            "priority",
            f"{priority!r} is out of range",
            "give a whole number from 1 to 9",
        )
    lines = [
        "+++",
        f"slug = {toml_string(article.slug)}",
        f"headline = {toml_string(article.headline)}",
    ]
    if article.standfirst:
        lines.append(f"standfirst = {toml_string(article.standfirst)}")
    lines += [f"section = {toml_string(section)}", f"priority = {priority}"]
    if byline is not None and byline.strip():
        lines.append(f"byline = {toml_string(byline.strip())}")
    if source is not None:
        lines.append(f"source = {toml_string(source)}")
    for photo in article.photos:
        lines += _photo_lines(photo)
    lines.append("+++")
    body = [escape_markdown(p) for p in article.paragraphs]
    return "\n".join(lines) + "\n" + "\n\n".join(p for p in body if p) + "\n"


# --------------------------------------------------------------------------------------
# Files


def expected_photo_stem(keyword: str) -> str:
    """The file stem a photo block's picture must have: the slugified keyword line."""
    return _slug_or_hash(keyword, "photo")


def edition_folder(out_dir: Path) -> Path:
    """The edition folder for stories written to `out_dir` (see the module docstring)."""
    resolved = out_dir.resolve()
    return resolved.parent if resolved.name == "stories" else resolved


def _image_kind(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    return None


def _find_picture(photos_dir: Path, stem: str) -> list[Path]:
    """Candidates named `stem` + .jpg/.jpeg/.png (any case; loose spelling accepted), best first."""
    if not photos_dir.is_dir():
        return []
    found = []
    for entry in photos_dir.iterdir():
        ext = entry.suffix.lower()
        if ext in PHOTO_EXTENSIONS and entry.is_file() and slugify(entry.stem) == stem:
            found.append(((entry.stem != stem, PHOTO_EXTENSIONS.index(ext), entry.name), entry))
    return [entry for _, entry in sorted(found)]


def _atomic_write(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (gp_print.writer), keeping the mode of a file it replaces."""
    mode = target.stat().st_mode & 0o777 if target.exists() else None
    atomic_write_bytes(target, data, mode=mode)


def _copy_picture(src: Path, dest: Path) -> None:
    if dest.exists() and os.path.samefile(src, dest):
        return
    _atomic_write(dest, src.read_bytes())


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(
            str(path), "", "file not found", "check the path of the article to import"
        ) from None
    except IsADirectoryError:
        raise _error(
            str(path), "", "is a folder, not a file", "give the article's .txt file"
        ) from None
    except OSError as exc:
        raise _error(
            str(path),
            "",
            f"cannot be read ({exc.strerror})",
            "check the file's permissions",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(
            str(path),
            "",
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "open it in a text editor and save it as UTF-8",
            line=line,
        ) from None


def _previous_source(story: Path) -> str | None:
    """The `source` recorded in an existing story file, if it can be read."""
    try:
        text = story.read_text(encoding="utf-8")
        _, front, _ = text.split("+++\n", 2)
        value = tomllib.loads(front).get("source")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None


def import_article(
    path: Path,
    out_dir: Path,
    *,
    section: str = "world",
    priority: int = 5,
    byline: str | None = None,
    photos_dir: Path | None = None,
) -> ImportResult:
    """Import the article at `path` and write it as ``out_dir/<slug>.md`` (atomically).

    Pictures are looked for in `photos_dir` (default: the article's own folder) as
    ``<slugified keyword>.jpg/.jpeg/.png`` and copied to ``<edition folder>/photos/``;
    see the module docstring for where the edition folder is.  A re-import overwrites.
    """
    path = Path(path)
    out_dir = Path(out_dir)
    article = parse_article(_read_text(path), source=str(path))
    search_dir = Path(photos_dir) if photos_dir is not None else path.parent
    if photos_dir is not None and not search_dir.is_dir():
        raise _error(
            str(search_dir),
            "photos_dir",
            "folder not found",
            "give the folder that holds the article's pictures",
        )
    edition = edition_folder(out_dir)
    warnings: list[str] = []

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        photos: list[ImportedPhoto] = []
        for photo in article.photos:
            stem = expected_photo_stem(photo.keyword)
            chosen = None
            for candidate in _find_picture(search_dir, stem):
                if _image_kind(candidate) is None:
                    warnings.append(
                        f"{path.name}: photo {photo.keyword!r}: {candidate} is not a JPEG "
                        "or PNG picture; ignored"
                    )
                    continue
                chosen = candidate
                break
            if chosen is None:
                warnings.append(
                    f"{path.name}: photo {photo.keyword!r}: no picture found — expected "
                    f"{search_dir / (stem + '.jpg')} (or .jpeg / .png); the story has a "
                    "commented-out [[photos]] entry: supply the picture and remove the # signs"
                )
                photos.append(photo)
                continue
            name = stem + chosen.suffix.lower()
            (edition / "photos").mkdir(parents=True, exist_ok=True)
            _copy_picture(chosen, edition / "photos" / name)
            photos.append(replace(photo, file=f"photos/{name}"))
        article = replace(article, photos=tuple(photos))

        story_path = out_dir / f"{article.slug}.md"
        previous = _previous_source(story_path) if story_path.exists() else None
        if previous is not None and previous != path.name:
            warnings.append(
                f"{path.name}: replaced {story_path}, which was imported from {previous!r}"
            )
        text = render_story(
            article, section=section, priority=priority, byline=byline, source=path.name
        )
        _atomic_write(story_path, text.encode("utf-8"))
    except OSError as exc:
        where = exc.filename or str(out_dir)
        raise _error(
            str(where),
            "",
            f"cannot write ({exc.strerror})",
            "check the output folder exists and is writable",
        ) from exc

    log.info(
        "imported %s -> %s (%d photos, %d warnings)",
        path,
        story_path,
        len(photos),
        len(warnings),
    )
    return ImportResult(article=article, story_path=story_path, warnings=tuple(_dedupe(warnings)))


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))

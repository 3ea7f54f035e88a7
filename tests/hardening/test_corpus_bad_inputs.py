"""The bad-input corpus, end to end: `gp-print validate` and `gp-print build` on every broken copy
of the minimal edition described in corpus/cases.toml.

For each case both commands must exit non-zero through the CLI's error path (no traceback),
print one line for one problem naming the file (and the line or field where there is one), and
the out/ folder holding the last good build must be untouched: same entries, bytes and mtimes.
Nothing from the file planted outside the edition may show up in any message.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import tomllib
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image
from tests.hardening.hardening_support import MINIMAL, fingerprint

from gp_print.cli import main

CORPUS = Path(__file__).parent / "corpus" / "cases.toml"
CASES: list[dict[str, Any]] = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["case"]
SECRET = "GP-SECRET-7f3a1c9e-do-not-print"


# ----------------------------------------------------------------------------- makers


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _bomb_header(path: Path, ctx: dict[str, Path]) -> None:
    """A PNG that claims 100000 × 100000 pixels (10 G) in a few dozen bytes; nothing to inflate."""
    path.write_bytes(_png(100_000, 100_000, zlib.compress(b"\x00" * 64)))


def _bomb_real(path: Path, ctx: dict[str, Path]) -> None:
    """A valid 8000 × 8000 greyscale PNG (64 M pixels) of zeros: ~60 KB on disk."""
    side = 8000
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [packer.compress(row) for _ in range(side)]
    parts.append(packer.flush())
    path.write_bytes(_png(side, side, b"".join(parts)))


def _truncated_jpeg(path: Path, ctx: dict[str, Path]) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_jpeg(path: Path, ctx: dict[str, Path]) -> None:
    """The JPEG's markers in place, but its Huffman tables overwritten with junk."""
    data = bytearray(path.read_bytes())
    start = data.index(b"\xff\xc4") + 5
    data[start:start + 40] = b"\xee" * 40
    path.write_bytes(bytes(data))


def _one_pixel(path: Path, ctx: dict[str, Path]) -> None:
    Image.new("RGB", (1, 1), "white").save(path, "JPEG")


def _gif(path: Path, ctx: dict[str, Path]) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), "olive").save(buffer, "GIF")
    path.write_bytes(buffer.getvalue())


def _latin1_story(path: Path, ctx: dict[str, Path]) -> None:
    path.write_bytes(path.read_bytes().replace(b"until 8pm", "until 8pm (été)".encode("latin-1")))


def _latin1_edition(path: Path, ctx: dict[str, Path]) -> None:
    path.write_bytes(path.read_bytes().replace(b"daily newspaper", "quotidien \xe9".encode("latin-1")))


def _with_body(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n+++\n") + 5] + body, encoding="utf-8")


def _fifty_thousand_words(path: Path, ctx: dict[str, Path]) -> None:
    sentence = "The dredger worked all night and the berths are clear. "
    words = len(sentence.split())
    paragraphs = [sentence * 50] * (50_000 // (words * 50))
    body = "\n\n".join(paragraphs) + "\n"
    assert sum(len(p.split()) for p in paragraphs) == 50_000
    _with_body(path, body)


def _long_headline(path: Path, ctx: dict[str, Path]) -> None:
    headline = ("Library opens later on Thursdays " * 10)[:299] + "x"
    assert len(headline) == 300
    text = path.read_text(encoding="utf-8")
    text = text.replace('"Library opens later on Thursdays from next week"', f'"{headline}"')
    path.write_text(text, encoding="utf-8")


def _big_story(path: Path, ctx: dict[str, Path]) -> None:
    _with_body(path, ("A short paragraph that repeats. " * 30 + "\n\n") * 110)
    assert path.stat().st_size > 100 * 1024


def _fifo(path: Path, ctx: dict[str, Path]) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(path)


def _photos_folder_outside(path: Path, ctx: dict[str, Path]) -> None:
    moved = ctx["outside"] / "photos"
    shutil.move(path, moved)
    path.symlink_to(moved, target_is_directory=True)


def _edition_toml_outside(path: Path, ctx: dict[str, Path]) -> None:
    moved = ctx["outside"] / "edition.toml"
    shutil.move(path, moved)
    path.symlink_to(moved)


def _stories_folder_outside(path: Path, ctx: dict[str, Path]) -> None:
    moved = ctx["outside"] / "stories"
    shutil.move(path, moved)
    path.symlink_to(moved, target_is_directory=True)


MAKERS: dict[str, Callable[[Path, dict[str, Path]], None]] = {
    "png-100000x100000-header": _bomb_header,
    "png-8000x8000-zeros": _bomb_real,
    "truncated-jpeg": _truncated_jpeg,
    "corrupt-jpeg": _corrupt_jpeg,
    "one-pixel-jpeg": _one_pixel,
    "gif": _gif,
    "latin1-story": _latin1_story,
    "latin1-edition-toml": _latin1_edition,
    "50000-words": _fifty_thousand_words,
    "300-character-headline": _long_headline,
    "100-kib-story": _big_story,
    "fifo": _fifo,
    "photos-folder-outside": _photos_folder_outside,
    "edition-toml-outside": _edition_toml_outside,
    "stories-folder-outside": _stories_folder_outside,
}


def apply_step(root: Path, step: dict[str, Any], ctx: dict[str, Path]) -> None:
    op = step["op"]
    path = root / step["file"]
    if op == "replace":
        text = path.read_text(encoding="utf-8")
        assert step["old"] in text, f"{step['old']!r} not in {step['file']} — the minimal edition changed"
        path.write_text(text.replace(step["old"], step["new"], 1), encoding="utf-8")
    elif op == "regex":
        text, n = re.subn(step["pattern"], step["repl"], path.read_text(encoding="utf-8"))
        assert n == step["count"], f"{step['pattern']!r} matched {n} times in {step['file']}"
        path.write_text(text, encoding="utf-8")
    elif op == "append":
        path.write_text(path.read_text(encoding="utf-8") + step["text"], encoding="utf-8")
    elif op == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step["text"], encoding="utf-8")
    elif op == "remove":
        path.unlink()
    elif op == "symlink":
        path.unlink(missing_ok=True)
        path.symlink_to(step["target"].replace("{outside}", str(ctx["outside"])))
    elif op == "make":
        MAKERS[step["what"]](path, ctx)
    else:  # pragma: no cover - a typo in cases.toml
        raise AssertionError(f"unknown op {op!r}")


# ----------------------------------------------------------------------------- the test


def _outside(tmp_path: Path) -> Path:
    """A folder beside the edition with a secret and a perfectly valid story, both off limits."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    story = (MINIMAL / "stories" / "news-library-hours.md").read_text(encoding="utf-8")
    story = story.replace("news-library-hours", "zz-elsewhere").replace("The Priaulx Library", SECRET)
    (outside / "story.md").write_text(story, encoding="utf-8")
    return outside


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _check(result: Result, case: dict[str, Any], edition: Path) -> None:
    name = case["name"]
    assert result.exit_code != 0, f"{name}: exit 0\n{result.output}"
    # A handled error ends in SystemExit; anything else is a crash CliRunner caught for us.
    assert isinstance(result.exception, SystemExit), f"{name}: crashed with {result.exception!r}"
    assert "Traceback" not in result.output
    assert result.stdout == "", f"{name}: unexpected stdout {result.stdout!r}"
    lines = result.stderr.rstrip("\n").split("\n")
    problems = case.get("problems", 1)
    if problems == 1:
        assert len(lines) == 1, f"{name}: one problem, but {len(lines)} lines:\n{result.stderr}"
        line = lines[0]
    else:
        assert lines[0] == f"Error: {problems} problems in the edition:", result.stderr
        assert len(lines) == problems + 1, result.stderr
        line = next((x for x in lines if case["expect"]["says"] in x), "")
    expect = case["expect"]
    where = f"{edition.name}/{expect['file']}"
    if "line" in expect:
        where += f":{expect['line']}"
    if expect.get("field"):
        where += f": {expect['field']}"
    assert where + ": " in line, f"{name}: expected the problem at {where!r}, got:\n{result.stderr}"
    assert expect["says"] in line, f"{name}: expected {expect['says']!r}, got:\n{result.stderr}"
    assert " — " in line, f"{name}: the message gives no fix:\n{line}"
    assert SECRET not in result.output


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input_is_refused_cleanly(case, minimal_edition, good_out, tmp_path):
    ctx = {"outside": _outside(tmp_path)}
    for step in case["steps"]:
        apply_step(minimal_edition.root, step, ctx)
    before = fingerprint(good_out)

    _check(_run("validate", minimal_edition.root), case, minimal_edition.root)
    _check(_run("build", minimal_edition.root, "-o", good_out), case, minimal_edition.root)

    assert fingerprint(good_out) == before, f"{case['name']}: the failed build touched the previous output"


def test_the_corpus_covers_the_issue_list():
    """Issue 7's list of bad inputs, each present in the corpus."""
    names = {c["name"] for c in CASES}
    required = {
        "malformed-edition-toml", "malformed-front-matter", "missing-required-field", "wrong-type",
        "unknown-section", "duplicate-slug", "story-not-utf8", "empty-body", "story-of-50000-words",
        "headline-of-300-characters", "photo-missing", "photo-truncated", "photo-corrupt",
        "photo-is-really-a-pdf", "photo-is-really-an-svg", "decompression-bomb-header",
        "decompression-bomb-real", "photo-1x1", "ad-deeper-than-the-page", "ad-wider-than-the-page",
        "two-ads-overlapping", "no-pages", "page-plan-with-a-gap",
        "story-symlink-out-of-the-edition", "photo-symlink-to-etc-passwd", "photo-path-traversal",
        "photo-symlink-out-of-the-edition",
    }
    assert required <= names, sorted(required - names)
    assert len(names) == len(CASES), "two cases share a name"

"""import_article: files in, a story file (and pictures) out."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gp_print.errors import ArticleImportError
from gp_print.importer import import_article

StoryReader = Callable[[str], tuple[dict[str, Any], str]]
SLUG = "kim-jong-un-calls-for-offensive-measures-ahead-of-deadline"
SEED_PARAGRAPHS = 9


def _jpeg(path: Path, colour: str = "red") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 3), colour).save(path, "JPEG")
    return path.read_bytes()


@pytest.fixture
def article_file(tmp_path: Path, seed_text: str) -> Path:
    path = tmp_path / "incoming" / "seed-article.txt"
    path.parent.mkdir()
    path.write_text(seed_text, encoding="utf-8")
    return path


@pytest.fixture
def stories(tmp_path: Path) -> Path:
    return tmp_path / "edition" / "stories"  # does not exist yet


def _uncomment_photos(front_text: str) -> str:
    """The front matter with the commented-out photo blocks switched on, as an editor would."""
    return re.sub(
        r"^# (\[\[photos\]\]|file = |caption = |credit = )",
        r"\1",
        front_text,
        flags=re.MULTILINE,
    )


def test_import_seed_without_pictures(
    article_file: Path, stories: Path, read_story: StoryReader
) -> None:
    result = import_article(article_file, stories)
    assert result.story_path == stories / f"{SLUG}.md"
    assert result.story_path.is_file()
    text = result.story_path.read_text(encoding="utf-8")
    front, body = read_story(text)
    assert front == {
        "slug": SLUG,
        "headline": "Kim Jong Un calls for \u2018offensive measures\u2019 ahead of deadline",
        "standfirst": (
            "The North Korean leader\u2019s call came before his end-of-year deadline for the US "
            "to make concessions in nuclear negotiations."
        ),
        "section": "world",
        "priority": 5,
        "source": "seed-article.txt",
    }
    paragraphs = body.strip("\n").split("\n\n")
    assert len(paragraphs) == SEED_PARAGRAPHS
    assert "accepting comments" not in body
    assert "Korea News Service" not in body
    assert "North Korea US\n" not in body
    assert "\u201coffensive measures\u201d" in body  # curly quotes kept
    # two missing pictures: commented-out blocks plus a warning each naming keyword and file
    assert text.count("# [[photos]]") == 2
    assert (
        '# file = "photos/north-korea-us.jpg"  '
        "# MISSING: supply this picture and remove the # signs" in text
    )
    assert '# file = "photos/south-korea-north-korea-us.jpg"  # MISSING' in text
    assert len(result.warnings) == 2
    assert "'North Korea US'" in result.warnings[0]
    assert "north-korea-us.jpg" in result.warnings[0]
    assert "'South Korea North Korea US'" in result.warnings[1]
    assert "south-korea-north-korea-us.jpg" in result.warnings[1]
    assert all(p.file is None for p in result.article.photos)
    assert not (stories.parent / "photos").exists()
    # removing the # signs gives the photo entries, as the comment says
    lines = text.split("\n")
    end = lines.index("+++", 1)
    front_text = "\n".join(lines[1:end])
    switched_on = tomllib.loads(_uncomment_photos(front_text))
    assert switched_on["photos"] == [
        {
            "file": "photos/north-korea-us.jpg",
            "caption": "Kim Jong Un, in white at left, speaks at the meeting on Sunday",
            "credit": "Korean Central News Agency/Korea News Service/AP/PA",
        },
        {
            "file": "photos/south-korea-north-korea-us.jpg",
            "caption": (
                "People watch a TV screen showing an image of North Korean leader Kim Jong Un "
                "during a news program at the Seoul Railway Station in Seoul, South Korea, "
                "on Sunday"
            ),
            "credit": "Ahn Young-joon/AP",
        },
    ]


def test_options_written(article_file: Path, stories: Path, read_story: StoryReader) -> None:
    result = import_article(
        article_file, stories, section="news", priority=2, byline='By "AP" \\ staff'
    )
    front, _ = read_story(result.story_path.read_text(encoding="utf-8"))
    assert (front["section"], front["priority"], front["byline"]) == (
        "news",
        2,
        'By "AP" \\ staff',
    )


def test_picture_found_is_copied_and_active(
    article_file: Path, stories: Path, tmp_path: Path, read_story: StoryReader
) -> None:
    pictures = tmp_path / "pictures"
    data = _jpeg(pictures / "north-korea-us.jpg")
    result = import_article(article_file, stories, photos_dir=pictures)
    copied = stories.parent / "photos" / "north-korea-us.jpg"
    assert copied.read_bytes() == data
    text = result.story_path.read_text(encoding="utf-8")
    front, _ = read_story(text)
    assert front["photos"] == [
        {
            "file": "photos/north-korea-us.jpg",
            "caption": "Kim Jong Un, in white at left, speaks at the meeting on Sunday",
            "credit": "Korean Central News Agency/Korea News Service/AP/PA",
        }
    ]
    # the path is relative to the edition folder and resolves there
    assert (stories.parent / front["photos"][0]["file"]).is_file()
    assert result.article.photos[0].file == "photos/north-korea-us.jpg"
    assert result.article.photos[1].file is None
    # only the missing one is commented out and warned about
    assert text.count("# [[photos]]") == 1
    assert len(result.warnings) == 1
    assert "South Korea North Korea US" in result.warnings[0]


def test_pictures_default_to_the_article_folder(
    article_file: Path, stories: Path, read_story: StoryReader
) -> None:
    _jpeg(article_file.parent / "north-korea-us.jpeg")
    Image.new("RGB", (2, 2), "blue").save(
        article_file.parent / "South Korea North Korea US.PNG", "PNG"
    )
    result = import_article(article_file, stories)
    assert result.warnings == ()
    front, _ = read_story(result.story_path.read_text(encoding="utf-8"))
    assert [p["file"] for p in front["photos"]] == [
        "photos/north-korea-us.jpeg",
        "photos/south-korea-north-korea-us.png",
    ]
    assert (stories.parent / "photos" / "south-korea-north-korea-us.png").is_file()


def test_out_dir_not_called_stories_is_the_edition(article_file: Path, tmp_path: Path) -> None:
    _jpeg(article_file.parent / "north-korea-us.jpg")
    out = tmp_path / "flat"
    result = import_article(article_file, out)
    assert result.story_path == out / f"{SLUG}.md"
    assert (out / "photos" / "north-korea-us.jpg").is_file()


def test_file_that_is_not_a_picture_is_ignored(article_file: Path, stories: Path) -> None:
    (article_file.parent / "north-korea-us.jpg").write_text("not a picture", encoding="utf-8")
    result = import_article(article_file, stories)
    assert not (stories.parent / "photos").exists()
    assert any("not a JPEG or PNG" in w for w in result.warnings)
    assert "# [[photos]]" in result.story_path.read_text(encoding="utf-8")


def test_missing_photos_dir_is_an_error(article_file: Path, stories: Path, tmp_path: Path) -> None:
    with pytest.raises(ArticleImportError, match="nowhere"):
        import_article(article_file, stories, photos_dir=tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["crlf", "cr", "bom"])
def test_line_ends_and_bom_give_the_same_story(
    article_file: Path, stories: Path, tmp_path: Path, seed_text: str, name: str
) -> None:
    expected = import_article(
        article_file, tmp_path / "reference" / "stories"
    ).story_path.read_bytes()
    variant = {
        "crlf": seed_text.replace("\n", "\r\n").encode("utf-8"),
        "cr": seed_text.replace("\n", "\r").encode("utf-8"),
        "bom": b"\xef\xbb\xbf" + seed_text.encode("utf-8"),
    }[name]
    article_file.write_bytes(variant)
    assert import_article(article_file, stories).story_path.read_bytes() == expected


def test_not_utf8_is_an_error_naming_the_file(tmp_path: Path, seed_text: str) -> None:
    path = tmp_path / "windows-export.txt"
    path.write_bytes(seed_text.encode("cp1252"))
    with pytest.raises(ArticleImportError) as info:
        import_article(path, tmp_path / "stories")
    message = info.value.message
    assert "windows-export.txt" in message
    assert "UTF-8" in message
    assert "save it as UTF-8" in message
    assert ":3:" in message  # the first curly quote is in the headline, line 3
    assert not (tmp_path / "stories").exists()


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf\r\n  \r\n"])
def test_empty_file_is_an_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(data)
    with pytest.raises(ArticleImportError, match=r"empty\.txt.*empty"):
        import_article(path, tmp_path / "stories")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleImportError, match=r"absent\.txt.*not found"):
        import_article(tmp_path / "absent.txt", tmp_path / "stories")


def test_reimport_overwrites_atomically(
    article_file: Path, stories: Path, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = import_article(article_file, stories)
    original = first.story_path.read_bytes()
    article_file.write_text(
        seed_text.replace("Kim Jong Un called", "Kim Jong Un asked"), encoding="utf-8"
    )
    second = import_article(article_file, stories, priority=1)
    assert second.story_path == first.story_path
    assert b"Kim Jong Un asked" in second.story_path.read_bytes()
    assert sorted(p.name for p in stories.iterdir()) == [f"{SLUG}.md"]  # no temp files left
    assert second.warnings == first.warnings  # same source: no "replaced" warning

    # a failure at the moment of replacing leaves the old file whole and no temp file behind
    updated = second.story_path.read_bytes()

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ArticleImportError, match="No space left"):
        import_article(article_file, stories, priority=9)
    assert second.story_path.read_bytes() == updated != original
    assert sorted(p.name for p in stories.iterdir()) == [f"{SLUG}.md"]


def test_replacing_another_articles_story_warns(
    article_file: Path, stories: Path, seed_text: str
) -> None:
    import_article(article_file, stories)
    other = article_file.with_name("other.txt")
    other.write_text(seed_text, encoding="utf-8")
    result = import_article(other, stories)
    assert any("seed-article.txt" in w and "replaced" in w for w in result.warnings)


def test_folder_instead_of_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleImportError, match="folder"):
        import_article(tmp_path, tmp_path / "stories")


def test_out_dir_that_is_a_file_is_an_error(article_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "stories"
    blocker.write_text("in the way", encoding="utf-8")
    with pytest.raises(ArticleImportError, match="cannot write"):
        import_article(article_file, blocker)

"""Fixtures for the importer tests: the real seed article and a story-file reader."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:  # until pyproject.toml sets pythonpath / installs the package
    sys.path.insert(0, str(SRC))

SEED = Path(__file__).parents[2].parent / "shared" / "seed-article.txt"


@pytest.fixture
def seed_text() -> str:
    """The real published article, as the website exported it."""
    if not SEED.is_file():
        pytest.skip(
            f"seed article {SEED} is not present (it lives outside the repo, in /work/shared)"
        )
    return SEED.read_text(encoding="utf-8")


StoryReader = Callable[[str], tuple[dict[str, Any], str]]


def split_story(text: str) -> tuple[dict[str, Any], str]:
    """(front matter parsed with tomllib, Markdown body) of a story file's text."""
    lines = text.split("\n")
    assert lines[0] == "+++", "a story file starts with a +++ line"
    end = lines.index("+++", 1)
    front = tomllib.loads("\n".join(lines[1:end]))
    return front, "\n".join(lines[end + 1 :])


@pytest.fixture
def read_story() -> StoryReader:
    return split_story

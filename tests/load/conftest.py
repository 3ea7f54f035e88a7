"""Fixtures for the load-stage tests.

`minimal_edition` (a copy of tests/editions/minimal/ to break) and `minimal_root` live in
tests/conftest.py, shared with tests/hardening/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "gp-2019-12-30"
SEED_ARTICLE = REPO.parent / "shared" / "seed-article.txt"


@pytest.fixture(scope="session")
def sample_root() -> Path:
    """The sample edition, The Guernsey Press of 30 December 2019."""
    return SAMPLE


@pytest.fixture(scope="session")
def seed_article() -> Path:
    """The real published article in the website's plain-text form (outside the repo)."""
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article {SEED_ARTICLE} is not present (it lives outside the repo, in /work/shared)")
    return SEED_ARTICLE

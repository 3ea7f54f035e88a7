"""Shared fixtures: the sample edition is built once per test session (it takes ~20 s)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gp_print.build import build_edition
from gp_print.model import BuildResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "gp-2019-12-30"


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("sample-out")
    return build_edition(SAMPLE, out)


@pytest.fixture()
def sample_copy(tmp_path: Path) -> Path:
    target = tmp_path / "edition"
    shutil.copytree(SAMPLE, target)
    return target

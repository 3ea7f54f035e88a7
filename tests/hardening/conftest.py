"""Fixtures for the hardening tests: one good build of the minimal edition per session, made by
the real `gp-print` command, and the hypothesis settings profile for the fuzz tests.

Fuzz budget: the `gp-fuzz` profile (the default) keeps every fuzz test to a few hundred
examples so the whole fuzz set runs in well under a minute in CI; `GP_FUZZ_PROFILE=gp-fuzz-long`
runs ten times as many, for a soak on a workstation.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from tests.hardening.hardening_support import MINIMAL, run_gp_print

settings.register_profile(
    "gp-fuzz",
    max_examples=500,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # CI runs the same examples every time; a failure is reproducible
    print_blob=True,
)
settings.register_profile("gp-fuzz-long", settings.get_profile("gp-fuzz"), max_examples=5000, derandomize=False)
FUZZ_PROFILE = os.environ.get("GP_FUZZ_PROFILE", "gp-fuzz")


@pytest.fixture(scope="session")
def good_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An out/ folder holding a good build of the minimal edition, made once by `gp-print build`.
    Tests that must not touch it compare its fingerprint before and after."""
    work = tmp_path_factory.mktemp("good-out")
    edition = work / "minimal"
    shutil.copytree(MINIMAL, edition)
    out = work / "out"
    proc = run_gp_print("build", edition, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert {"GP-20200102-P01.pdf", "GP-20200102-P02.pdf", "GP-20200102-eedition.pdf"} <= {
        p.name for p in out.iterdir()}
    return out

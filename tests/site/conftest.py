"""Fixtures of the readers' site tests: the sample build (tests/conftest.py, built once per
session) published into a site, then a second edition — the same build with the next day's
date in its edition.json — published into the same site.  `SitePublished` records every file
of the first edition (bytes' hash and mtime) between the two, so tests can prove the second
publish left it alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.site.site_support import FIRST, SitePublished, fingerprint, next_day_copy

from gp_print.model import BuildResult
from gp_print.site import publish_edition


@pytest.fixture(scope="session")
def site_published(sample_build: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> SitePublished:
    work = tmp_path_factory.mktemp("site")
    site = work / "site"
    out_dir = sample_build.eedition.parent
    first = publish_edition(out_dir, site)
    before = fingerprint(site / FIRST)
    root_before = {name: value for name, value in fingerprint(site).items() if "/" not in name}
    second = publish_edition(next_day_copy(out_dir, work / "out-next"), site)
    return SitePublished(site, out_dir, first, second, before, root_before)


@pytest.fixture(scope="session")
def site_dir(site_published: SitePublished) -> Path:
    return site_published.site

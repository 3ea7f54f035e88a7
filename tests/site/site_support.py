"""Helpers of the readers' site tests (tests/site): fingerprints of folders, a second edition
made from a build, where screenshots go, and whether a browser is there to drive."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from gp_print.site import EDITION_DATA, PublishResult

FIRST = "2019-12-30"
SECOND = "2019-12-31"
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "site"
CHROMIUM = Path("/usr/bin/chromium")


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under `folder`: sha256 and mtime (ns)."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def next_day_copy(out_dir: Path, dest: Path) -> Path:
    """A copy of a build folder that claims to be the next day's edition."""
    shutil.copytree(out_dir, dest, ignore=shutil.ignore_patterns(".*"))
    data = json.loads((dest / EDITION_DATA).read_text(encoding="utf-8"))
    data["edition"].update(date=SECOND, date_long="Tuesday 31 December 2019", issue=data["edition"]["issue"] + 1)
    (dest / EDITION_DATA).write_text(json.dumps(data), encoding="utf-8")
    return dest


def missing_tool(message: str) -> None:
    """A tool the test needs is not installed: fail on CI (make system-deps installs it), skip
    on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} — CI is set, so this is a failure: run `make system-deps`", pytrace=False)
    pytest.skip(f"{message} (run `make system-deps`; with CI set this fails)")


@dataclass(frozen=True)
class SitePublished:
    site: Path
    out_dir: Path
    first: PublishResult
    second: PublishResult
    first_files_before: dict[str, tuple[str, int]]
    root_files_before: dict[str, tuple[str, int]]

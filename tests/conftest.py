"""Shared fixtures: the sample edition is built once per test session (it takes ~20 s); the
minimal scenario edition is copied for tests that break it (tests/load, tests/hardening).

`tests/editions/minimal/` is never edited: `minimal_edition` copies it into `tmp_path` and hands
back an `EditionCopy`, whose helpers break the copy and check what the loader reports.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from gp_print.build import build_edition
from gp_print.errors import InputError, Problem
from gp_print.load import load_edition
from gp_print.model import BuildResult, Edition

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "gp-2019-12-30"
MINIMAL = ROOT / "tests" / "editions" / "minimal"


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("sample-out")
    return build_edition(SAMPLE, out)


@pytest.fixture()
def sample_copy(tmp_path: Path) -> Path:
    target = tmp_path / "edition"
    shutil.copytree(SAMPLE, target)
    return target


@dataclass(frozen=True)
class EditionCopy:
    """A throw-away copy of an edition folder, with helpers to break it."""

    root: Path

    def path(self, rel: str) -> Path:
        return self.root / rel

    def replace(self, rel: str, old: str, new: str) -> None:
        """Replace the first `old` in the text file `rel`; fail loudly if it is not there."""
        path = self.path(rel)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel} — the scenario edition changed under the test"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def append(self, rel: str, text: str) -> None:
        path = self.path(rel)
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return path

    def remove(self, rel: str) -> None:
        self.path(rel).unlink()

    def load(self) -> Edition:
        return load_edition(self.root)

    def input_error(self) -> InputError:
        with pytest.raises(InputError) as info:
            load_edition(self.root)
        return info.value

    def shown(self, rel: str) -> str:
        """How a problem names the file `rel`: relative to the folder holding the edition."""
        return f"{self.root.name}/{rel}"

    def expect_problem(self, rel: str, field: str, *, says: str, fix: str, line: int | None = None,
                       error: InputError | None = None) -> Problem:
        """Assert that loading reports a problem in file `rel` at `field` that says `says` and
        whose fix contains `fix`, and that the printed message carries all of it."""
        exc = error or self.input_error()
        text = str(exc)
        shown = self.shown(rel)
        candidates = [p for p in exc.problems if p.file == shown and p.field == field]
        assert candidates, f"no problem reported for {shown} field {field!r}; got:\n{text}"
        matching = [p for p in candidates if says.lower() in p.message.lower() and fix.lower() in p.fix.lower()]
        assert matching, f"{shown} {field!r}: expected {says!r} with fix {fix!r}; got:\n{text}"
        problem = matching[0]
        assert problem.fix, f"{problem} gives no fix"
        if line is not None:
            assert problem.line == line, f"{problem}: expected line {line}"
            shown += f":{line}"
        # The message a person reads names the file, the field and the fix.
        assert (f"{shown}: {field}" if field else shown) in text
        assert problem.message in text
        assert problem.fix in text
        return problem


def copy_edition(source: Path, dest: Path) -> EditionCopy:
    shutil.copytree(source, dest)
    return EditionCopy(dest)


@pytest.fixture
def minimal_edition(tmp_path: Path) -> EditionCopy:
    """A fresh copy of tests/editions/minimal/ in tmp_path/minimal, free to break."""
    return copy_edition(MINIMAL, tmp_path / "minimal")


@pytest.fixture(scope="session")
def minimal_root() -> Path:
    """The pristine minimal edition, for tests that only read it."""
    return MINIMAL

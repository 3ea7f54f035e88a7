"""One exception tree for everything gp-print reports to a person.

The rule for raise / warn / log (see README, "Errors and warnings"):

* **raise** a `GPPrintError` subclass when the edition cannot be built as asked: bad input,
  a missing file, text that cannot be placed at all.  The message names the file, the field
  and the fix.  Every `GPPrintError` is a `click.ClickException`, so the CLI prints it on one
  line and exits non-zero without a traceback.
* **warn** (`gp_print.report.warn`) when the build can go on but a person should look:
  a photo below print resolution, a hole on a page, an unplaced story.  `--strict` turns
  every warning into a failure for the nightly run.
* **log** (`logging.getLogger("gp_print")`) for progress and diagnostics nobody must act on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what is wrong, how to fix it."""

    file: str
    field: str
    message: str
    fix: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" — {self.fix}"
        return text


class GPPrintError(click.ClickException):
    """Base of every error a person is meant to read."""

    exit_code = 1


class InputError(GPPrintError):
    """The edition folder or a file in it is wrong; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            lines = [f"{len(self.problems)} problems in the edition:"]
            lines += [f"  {p}" for p in self.problems]
            text = "\n".join(lines)
        super().__init__(text)


class ArticleImportError(GPPrintError):
    """An article in the website's plain-text form could not be imported."""


class LayoutError(GPPrintError):
    """The planner or renderer could not set the pages as planned (e.g. overset)."""


class FetchRefused(GPPrintError):
    """The renderer was asked for a resource outside the edition, layouts/ or fonts/."""


class StrictModeError(GPPrintError):
    """--strict was given and the build produced warnings."""


class BuildLocked(GPPrintError):
    """Another build of the same output folder is running."""


class ClusterError(GPPrintError):
    """Pages could not be rendered on the Dask cluster asked for (`--scheduler`): the extra is
    not installed, the scheduler cannot be reached, or a worker is not set up like this machine."""

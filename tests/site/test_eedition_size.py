"""The e-edition PDF readers download (issue 5, item 2): at most 40 % of the press PDFs
together, and no larger than 1.15 × what Ghostscript's /ebook preset makes of the same file.
The numbers measured are written to tests/_artifacts/site/eedition-size.json."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from tests.site.site_support import ARTIFACTS, missing_tool

from gp_print.model import BuildResult

PRESS_SHARE = 0.40
EBOOK_FACTOR = 1.15


@pytest.fixture(scope="module")
def sizes(sample_build: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    gs = shutil.which("gs")
    if gs is None:
        missing_tool("Ghostscript (gs) is not installed")
    ebook = tmp_path_factory.mktemp("gs") / "ebook.pdf"
    proc = subprocess.run([gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                           "-dPDFSETTINGS=/ebook", "-o", str(ebook), str(sample_build.eedition)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(PdfReader(ebook).pages) == len(sample_build.pages)
    press = sum(p.press_pdf.stat().st_size for p in sample_build.pages)
    eedition = sample_build.eedition.stat().st_size
    measured = {"pages": len(sample_build.pages), "press_bytes": press, "eedition_bytes": eedition,
                "gs_ebook_bytes": ebook.stat().st_size, "eedition_over_press": round(eedition / press, 4),
                "eedition_over_gs_ebook": round(eedition / ebook.stat().st_size, 4)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "eedition-size.json").write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    return measured


def test_eedition_is_at_most_40_percent_of_the_press_pdfs(sizes: dict[str, float]):
    assert sizes["pages"] >= 12
    assert sizes["eedition_bytes"] <= PRESS_SHARE * sizes["press_bytes"], (
        f"e-edition {sizes['eedition_bytes']:,} bytes is {sizes['eedition_over_press']:.1%} of the press PDFs "
        f"({sizes['press_bytes']:,} bytes); at most {PRESS_SHARE:.0%}")


def test_eedition_is_no_larger_than_ghostscript_ebook(sizes: dict[str, float]):
    assert sizes["eedition_bytes"] <= EBOOK_FACTOR * sizes["gs_ebook_bytes"], (
        f"e-edition {sizes['eedition_bytes']:,} bytes is {sizes['eedition_over_gs_ebook']:.2f} × Ghostscript "
        f"/ebook ({sizes['gs_ebook_bytes']:,} bytes); at most {EBOOK_FACTOR}")

"""The press page's writer short-cuts change no byte of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gp_print import pdfx
from gp_print.build import plan
from gp_print.colour import DEFAULT_PRESS, press_rendition
from gp_print.render import _layout, placed_pictures, press_finisher


def test_profile_deflated_once_gives_the_same_press_bytes(minimal_root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    flatplan = plan(minimal_root)
    edition, layout = flatplan.edition, flatplan.pages[0]
    images = {source: None if source.suffix.lower() == ".pdf" else press_rendition(source, box, fit)
              for source, (box, fit) in placed_pictures(edition, layout).items()}

    def write() -> bytes:  # a document of its own each time: WeasyPrint's first write differs from a second
        document = _layout(edition, layout, press=True, images=images, settings=DEFAULT_PRESS)
        return document.write_pdf(pdf_variant=DEFAULT_PRESS.pdf_variant,
                                  finisher=press_finisher("x.pdf", edition.grid.bleed_mm))

    calls: list[int] = []
    real = pdfx._deflated
    monkeypatch.setattr(pdfx, "_deflated", lambda data: calls.append(len(data)) or real(data))
    quick = write()
    assert calls and min(calls) > 100_000, "the press profile was not handed over deflated"
    monkeypatch.setattr(pdfx, "_precompress_profiles", lambda pdf: None)
    assert write() == quick

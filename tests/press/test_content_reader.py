"""Preflight reads content streams with its own quick reader (`preflight._fast_operations`);
it must see every operator pypdf sees, with the same numbers and names, and hand pypdf the
streams it cannot read."""

from __future__ import annotations

from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream, DecodedStreamObject, NameObject

from gp_print import preflight
from gp_print.model import BuildResult

NUMBERS = {b"cm", b"k", b"K", b"g", b"G", b"rg", b"RG", b"sc", b"SC", b"w", b"Tf", b"re", b"m", b"l", b"c", b"Td"}
NAMES = {b"cs", b"CS", b"Do", b"gs", b"sh", b"Tf"}


def pypdf_operations(data: bytes) -> list[tuple[list[Any], bytes]]:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return ContentStream(stream, None).operations  # type: ignore[no-any-return]


def assert_same(data: bytes) -> None:
    fast = preflight._fast_operations(data)
    assert fast is not None, "the quick reader gave up on a stream it should read"
    slow = pypdf_operations(data)
    assert [op for _, op in fast] == [op for _, op in slow]
    for (mine, op), (theirs, _) in zip(fast, slow, strict=True):
        assert len(mine) == len(theirs), op
        if op in NAMES:
            assert [str(v) for v in mine if isinstance(v, NameObject)] == \
                [str(v) for v in theirs if isinstance(v, NameObject)], op
        if op in NUMBERS:
            assert [float(v) for v in mine if isinstance(v, int | float)] == \
                [float(v) for v in theirs if isinstance(v, int | float)], op
        if op in (b"scn", b"SCN"):
            assert isinstance(mine[-1], NameObject) == isinstance(theirs[-1], NameObject)
            if isinstance(theirs[-1], NameObject):
                assert str(mine[-1]) == str(theirs[-1])


def test_every_sample_press_page_reads_as_pypdf_reads_it(sample_build: BuildResult) -> None:
    streams = 0
    for page in sample_build.pages:
        reader = PdfReader(page.press_pdf)
        pdf_page = reader.pages[0]
        assert_same(pdf_page.get_contents().get_data())
        streams += 1
        for ref in (pdf_page["/Resources"].get_object().get("/XObject") or {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Form":
                assert_same(obj.get_data())
                streams += 1
    assert streams >= len(sample_build.pages)


@pytest.mark.parametrize("data", [
    # strings: nested and escaped parentheses, a backslash before the closing one, hex
    rb"BT /F1 9 Tf 0 0 0 1 k (a\)b(c)d) Tj [(x\\) -20 <00410042> 5 (y(z))] TJ ET",
    rb"0.1 0.2 .3 -1.5 k 1 0 0 1 -2.5 +3 cm /P#20a scn /CS0 cs 0.5 sc",
    # a comment, a dictionary (marked content), nested arrays, true/false/null operands
    b"% a comment (with a parenthesis\n/Span <</ActualText (x) /MCID 3 /K [1 [2 3]]>> BDC EMC\n"
    b"[3 2] 0 d true false null 1 0 0 RG 2 w",
    rb"q 0 g 10 10 100 50 re f Q /GS1 gs /Sh1 sh /Im1 Do",
    rb"",
])
def test_tricky_streams_read_as_pypdf_reads_them(data: bytes) -> None:
    assert_same(data)


@pytest.mark.parametrize("data", [
    b"q BI /W 2 /H 2 /CS /RGB /BPC 8 ID \x00\xff)(\x01\x02EI\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08 EI Q",
    rb"(an unclosed string Tj",
    rb"[1 2 3 TJ",
    rb"1 2 ] re",
])
def test_streams_the_quick_reader_cannot_read_go_to_pypdf(data: bytes) -> None:
    assert preflight._fast_operations(data) is None


def test_an_inline_image_is_still_checked() -> None:
    """The fallback is real: an RGB inline image in a form is found through pypdf."""
    content = b"q 100 0 0 100 0 0 cm BI /W 20 /H 20 /CS /RGB /BPC 8 ID " + bytes(20 * 20 * 3) + b" EI Q"
    stream = DecodedStreamObject()
    stream.set_data(content)
    walker = preflight._Walker(None)  # type: ignore[arg-type]
    walker._run(preflight._operations(stream, None), {}, preflight._IDENTITY, "page")  # type: ignore[arg-type]
    assert walker.rgb, "the inline image's RGB colour space went unseen"

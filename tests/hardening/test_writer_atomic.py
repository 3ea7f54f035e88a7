"""gp_print.writer: outputs appear whole or not at all; build's clean-up of stale staging folders."""

from __future__ import annotations

import os

import pytest

from gp_print.build import STAGING_PREFIX, remove_stale_staging
from gp_print.writer import atomic_write_bytes, atomic_write_text, move_into_place


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "sub" / "page.pdf"
    atomic_write_bytes(target, b"%PDF-old")
    atomic_write_text(target, "%PDF-new")
    assert target.read_bytes() == b"%PDF-new"
    assert _leftovers(target.parent) == []


def test_new_files_follow_the_umask_and_a_given_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "a", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    atomic_write_bytes(tmp_path / "b", b"x", mode=0o600)
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "page.pdf"
    target.write_bytes(b"old complete file")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old complete file"
    assert _leftovers(tmp_path) == []


def test_move_into_place(tmp_path):
    staged = tmp_path / ".staging-1" / "page.pdf"
    atomic_write_bytes(staged, b"new")
    (tmp_path / "page.pdf").write_bytes(b"old")
    move_into_place(staged, tmp_path / "page.pdf")
    assert (tmp_path / "page.pdf").read_bytes() == b"new" and not staged.exists()


def test_remove_stale_staging_removes_only_staging_folders(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{STAGING_PREFIX}abc").mkdir()
    (out / f"{STAGING_PREFIX}abc" / "GP-P01.pdf").write_bytes(b"%PDF-half")
    keep = tmp_path / "elsewhere"
    keep.mkdir()
    (keep / "precious.txt").write_text("keep me")
    (out / f"{STAGING_PREFIX}link").symlink_to(keep, target_is_directory=True)  # never followed
    (out / f"{STAGING_PREFIX}file").write_text("not a folder")
    (out / "GP-P01.pdf").write_bytes(b"%PDF-good")
    remove_stale_staging(out)
    assert {p.name for p in out.iterdir()} == {"GP-P01.pdf", f"{STAGING_PREFIX}file", f"{STAGING_PREFIX}link"}
    assert (keep / "precious.txt").read_text() == "keep me"

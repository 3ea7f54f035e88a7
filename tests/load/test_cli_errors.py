"""The CLI on good and broken editions: one readable message, no traceback, old output untouched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gp_print.cli import main

LIBRARY = "stories/news-library-hours.md"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_clean_failure(result: Result) -> None:
    """Non-zero exit through click's error path: a message, not a crash."""
    assert result.exit_code != 0, result.output
    # CliRunner catches a crash into result.exception; a handled error is only a SystemExit.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `folder`: sha256 and modification time (folders: '<dir>')."""
    out: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_dir():
            out[rel] = ("<dir>", 0)
        else:
            out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return out


# ----------------------------------------------------------------------------- validate


def test_validate_good_edition(minimal_edition):
    result = run("validate", minimal_edition.root)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "2 pages, 3 stories, 1 ads" in result.output


def test_validate_sample_edition(sample_root):
    result = run("validate", sample_root)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_validate_broken_edition(minimal_edition):
    minimal_edition.replace("stories/sport-new-year-swim.md", 'section = "sport"', 'section = "sports"')
    result = run("validate", minimal_edition.root)
    assert_clean_failure(result)
    assert "minimal/stories/sport-new-year-swim.md: section: unknown section 'sports'" in result.output
    assert "use one of news, sport" in result.output


def test_validate_lists_every_problem(minimal_edition):
    minimal_edition.remove("photos/harbour-dawn.jpg")
    minimal_edition.replace(LIBRARY, "priority = 3", 'priority = "high"')
    result = run("validate", minimal_edition.root)
    assert_clean_failure(result)
    assert "2 problems in the edition:" in result.output
    assert "news-harbour-dredging.md: photos[0].file" in result.output
    assert "news-library-hours.md: priority" in result.output


def test_validate_missing_folder(tmp_path):
    result = run("validate", tmp_path / "no-such-edition")
    assert_clean_failure(result)
    assert "edition folder not found" in result.output


def test_validate_broken_edition_in_a_real_process(minimal_edition):
    """What a sub-editor sees: stderr carries the message, and no traceback, with exit status 1."""
    gp_print = Path(sys.executable).with_name("gp-print")
    if not gp_print.is_file():
        pytest.skip(f"no gp-print script beside {sys.executable}")
    minimal_edition.replace("edition.toml", 'price = "95p"', 'price = "95p')
    proc = subprocess.run([str(gp_print), "validate", str(minimal_edition.root)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "minimal/edition.toml:7: malformed TOML" in proc.stderr
    assert proc.stdout == ""


# ----------------------------------------------------------------------------- build


@pytest.fixture(scope="module")
def good_build(tmp_path_factory: pytest.TempPathFactory, minimal_root: Path) -> Path:
    """The press PDFs and e-edition of the minimal edition, built once for the module (a real render)."""
    work = tmp_path_factory.mktemp("good-build")
    edition = work / "minimal"
    shutil.copytree(minimal_root, edition)
    out = work / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)  # build sets it; do not leak it into other tests
        result = run("build", edition, "-o", out)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return out


def test_build_of_the_minimal_edition(good_build):
    files = sorted(p.name for p in good_build.iterdir() if not p.name.startswith("."))
    assert files == ["GP-20200102-P01.pdf", "GP-20200102-P02.pdf", "GP-20200102-eedition.pdf",
                     "edition.json", "plates.json"]
    for name in files:
        if name.endswith(".pdf"):
            assert (good_build / name).read_bytes().startswith(b"%PDF-")
    assert not list(good_build.glob(".staging-*")), "the staging folder was left behind"


def _missing_photo(edition):
    edition.remove("photos/harbour-dawn.jpg")


def _unknown_section(edition):
    edition.replace("stories/sport-new-year-swim.md", 'section = "sport"', 'section = "sports"')


def _malformed_toml(edition):
    edition.replace("edition.toml", 'price = "95p"', 'price = "95p')


def _non_utf8_story(edition):
    path = edition.path(LIBRARY)
    path.write_bytes(path.read_bytes().replace(b"until 8pm", "until 8pm (été)".encode("latin-1")))


@pytest.mark.parametrize(
    ("breakage", "names"),
    [
        (_missing_photo, "minimal/stories/news-harbour-dredging.md: photos[0].file"),
        (_unknown_section, "minimal/stories/sport-new-year-swim.md: section"),
        (_malformed_toml, "minimal/edition.toml:7"),
        (_non_utf8_story, "minimal/stories/news-library-hours.md:9"),
    ],
    ids=["missing-photo", "unknown-section", "malformed-edition-toml", "non-utf8-story"],
)
def test_failed_build_leaves_the_previous_output_untouched(good_build, minimal_edition, tmp_path, breakage, names):
    out = tmp_path / "out"
    shutil.copytree(good_build, out)  # an out folder holding the last good build's files
    before = snapshot(out)
    assert any(name.endswith(".pdf") for name in before)
    breakage(minimal_edition)
    result = run("build", minimal_edition.root, "-o", out)
    assert_clean_failure(result)
    assert names in result.output
    assert snapshot(out) == before


def test_build_into_a_fresh_folder_writes_nothing_on_error(minimal_edition, tmp_path):
    _unknown_section(minimal_edition)
    out = tmp_path / "fresh-out"
    result = run("build", minimal_edition.root, "-o", out)
    assert_clean_failure(result)
    assert not out.exists() or not any(out.iterdir())


# ----------------------------------------------------------------------------- import


def test_import_seed_article(seed_article, tmp_path):
    stories = tmp_path / "stories"
    result = run("import", seed_article, "-o", stories)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    written = list(stories.glob("*.md"))
    assert len(written) == 1
    assert f"wrote {written[0]}" in result.output
    assert written[0].read_text(encoding="utf-8").startswith("+++\n")


def test_imported_story_passes_validation(seed_article, minimal_edition):
    result = run("import", seed_article, "-o", minimal_edition.path("stories"), "--section", "news")
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    edition = minimal_edition.load()
    assert len(edition.stories) == 4
    imported = [s for s in edition.stories if s.source.name.startswith("kim-jong-un")]
    assert imported and imported[0].section == "news" and imported[0].words > 100


def test_import_of_a_missing_file_is_a_clean_error(tmp_path):
    result = run("import", tmp_path / "nope.txt", "-o", tmp_path / "stories")
    assert_clean_failure(result)
    assert "nope.txt" in result.output

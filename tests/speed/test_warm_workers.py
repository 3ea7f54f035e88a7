"""A rebuild on the night (issue 6): the workers start before the plan is made when something
changed, not when the desk's file says nothing did; while they render, the build reads the
screen pages it already has and each new one as it arrives, so assembling the e-edition
parses none of them again."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MINIMAL

from gp_print import assemble, build


def test_workers_start_early_only_for_a_change_and_the_build_reads_ahead(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GP_PRINT_NO_CACHE", raising=False)
    root, out = tmp_path / "minimal", tmp_path / "out"
    shutil.copytree(MINIMAL, root)
    events: list[str] = []

    def spy(module: Any, name: str, label: str) -> None:
        real = getattr(module, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            events.append(label(*args, **kwargs) if callable(label) else label)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, recorded)

    spy(build, "start_workers", lambda *a, warm=False, **k: f"start warm={warm}")
    spy(build, "plan_cached", "plan")
    spy(build, "read_screen_page", lambda page: f"read ahead {page.number}")
    spy(assemble, "read_screen_page", lambda page: f"assembly reads {page.number}")

    cold = build.build_edition(root, out, workers=2)
    assert events[:2] == ["start warm=True", "plan"], events  # started before the plan
    pages = [p.number for p in cold.flatplan.pages]
    assert len(pages) >= 2

    build.plan(root, write=True)  # the desk's turn: the build after it renders nothing
    events.clear()
    same = build.build_edition(root, out, workers=2)
    assert same.rendered == ()
    assert not [e for e in events if e.startswith("start")], events

    # A sub-editor cuts a word from the story at the top of the first page.
    story = cold.flatplan.pages[0].stories[0].story.source
    copy = root / "stories" / story.name
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace(" the ", " ", 1), encoding="utf-8")
    events.clear()
    edited = build.build_edition(root, out, workers=2)
    assert events[:2] == ["start warm=True", "plan"], events
    assert edited.rendered and set(edited.rendered) < set(pages), edited.rendered
    kept = sorted(set(pages) - set(edited.rendered))
    ahead = [int(e.split()[-1]) for e in events if e.startswith("read ahead")]
    # The kept pages first, then each new one as it arrives (in whatever order).
    assert ahead[:len(kept)] == kept and sorted(ahead[len(kept):]) == sorted(edited.rendered), ahead
    assert not [e for e in events if e.startswith("assembly reads")], "assembly parsed a page again"


def _spawned_workers() -> list[int]:
    """This process's spawned children still alive (worker processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat[stat.rfind(")") + 2:].split()[1])
        if parent == os.getpid() and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


def test_workers_started_for_nothing_go_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    """The plan is not cached but every page is: workers were started early for nothing, and
    the staging folder with the edition they were to read is gone before they get to it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GP_PRINT_NO_CACHE", raising=False)
    out = tmp_path / "out"
    build.build_edition(MINIMAL, out, workers=2)
    shutil.rmtree(tmp_path / "cache" / "gp-print" / "plans")
    started: list[bool] = []
    real = build.start_workers
    monkeypatch.setattr(build, "start_workers", lambda *a, **k: started.append(k.get("warm", False)) or real(*a, **k))
    again = build.build_edition(MINIMAL, out, workers=2)
    assert started == [True] and again.rendered == ()
    deadline = time.monotonic() + 30
    while _spawned_workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _spawned_workers(), "workers started for nothing did not end"
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in initializer" not in err, err


def test_pages_rendered_while_planning_are_exactly_the_pages_built(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages final before the plan is are rendered at once; a page rendered ahead whose key the
    final plan does not have (here a decoy: the page with its last story missing) is never used."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GP_PRINT_NO_CACHE", "1")  # no cache: every page is rendered
    build.build_edition(MINIMAL, tmp_path / "one", workers=1)  # no workers, nothing ahead
    sent: list[str] = []
    real = build.plan_cached

    def spying(edition: Any, **kwargs: Any) -> Any:
        on_page = kwargs.pop("on_page", None)
        assert on_page is not None, "a cold build with workers should render pages ahead"

        def ahead(layout: Any) -> None:
            sent.append(f"page {layout.number}")
            on_page(layout)
            if layout.stories:
                sent.append(f"decoy {layout.number}")
                on_page(replace(layout, stories=layout.stories[:-1]))

        return real(edition, on_page=ahead, **kwargs)

    monkeypatch.setattr(build, "plan_cached", spying)
    two = build.build_edition(MINIMAL, tmp_path / "two", workers=2)
    assert any(s.startswith("page") for s in sent) and any(s.startswith("decoy") for s in sent), sent
    assert "page 1" not in sent, "the front page changes after its sections are planned (teasers)"
    first = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir() if p.suffix in (".pdf", ".json")}
    second = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir() if p.suffix in (".pdf", ".json")}
    assert sorted(first) == sorted(second) and len(two.pages) >= 2
    for name in first:
        assert first[name] == second[name], f"{name} differs from the build without pages rendered ahead"
    assert not list((tmp_path / "two").glob(".staging-*")), "a page rendered ahead outlived the build"

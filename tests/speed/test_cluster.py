"""Pages rendered on a Dask cluster (issue 6, `gp-print build --scheduler`): a LocalCluster on
loopback with two worker processes writes exactly the bytes of a local build, the pages are
really rendered in the workers, and what goes wrong there or on the way reads as it would in a
local build."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import MINIMAL

import gp_print.render
from gp_print.build import build_edition, plan_cached, render_pages
from gp_print.colour import PressSettings
from gp_print.errors import ClusterError
from gp_print.load import load_edition
from gp_print.paths import FONTS_DIR
from gp_print.preflight import PreflightError

try:
    import distributed
except ImportError:  # the `cluster` extra: `make test` installs it, so on CI it must be there
    if os.environ.get("CI"):
        raise
    pytest.skip("Dask distributed is not installed: pip install -e '.[cluster]' (with CI set this fails)",
                allow_module_level=True)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".pdf", ".json")}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A scheduler and two single-threaded worker processes on 127.0.0.1."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder for the build (the workers are told to use it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GP_PRINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("GP_PRINT_NO_CACHE", raising=False)
    return tmp_path / "cache" / "gp-print"


def test_cluster_writes_the_same_bytes_as_a_local_build(tmp_path: Path, scheduler: str, cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    local = build_edition(MINIMAL, tmp_path / "local", workers=1)
    every = tuple(p.number for p in local.flatplan.pages)
    assert local.rendered == every
    # Empty the page and preflight caches (the converted pictures' folder stays where it is:
    # page bytes name pictures by their path), then render every page on the cluster.
    shutil.rmtree(cache / "pages")
    shutil.rmtree(cache / "preflight")
    with monkeypatch.context() as patch:
        patch.setattr(gp_print.render, "render_page", _refuse)
        with distributed.Client(scheduler, set_as_default=False) as client, \
                distributed.get_task_stream(client) as stream:
            remote = build_edition(MINIMAL, tmp_path / "cluster", scheduler=scheduler)
            # Every worker that ran a page has fontconfig pointed at gp-print's own fonts.
            fontconfig = client.run(os.getenv, "FONTCONFIG_FILE")
    assert remote.rendered == every, "the cluster build did not render the pages"
    ran = [task for task in stream.data if task["key"].startswith("gp-print-page-")]
    assert sorted(int(task["key"].split("-")[3]) for task in ran) == sorted(every)
    workers = {task["worker"] for task in ran}
    assert workers and workers <= set(fontconfig)
    for worker in workers:
        conf = Path(fontconfig[worker])
        assert conf.is_file() and f"<dir>{FONTS_DIR.resolve()}</dir>" in conf.read_text(), worker

    first, second = _outputs(tmp_path / "local"), _outputs(tmp_path / "cluster")
    assert sorted(first) == sorted(second)
    assert sum(name.endswith("-eedition.pdf") for name in first) == 1 and "plates.json" in first
    assert len([name for name in first if re.search(r"-P\d+\.pdf$", name)]) == len(every)
    for name in first:
        assert first[name] == second[name], f"{name} differs between the local and the cluster build"

    # The pages the cluster rendered are in the page cache: a rebuild renders nothing.
    with monkeypatch.context() as patch:
        patch.setattr(gp_print.render, "render_page", _refuse)
        again = build_edition(MINIMAL, tmp_path / "cluster", scheduler=scheduler)
    assert again.rendered == ()
    assert _outputs(tmp_path / "cluster") == second


def _refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("a page was rendered in the build's own process, not on the cluster")


def test_a_preflight_failure_reads_as_in_a_local_build(tmp_path: Path, scheduler: str, cache: Path) -> None:
    press = PressSettings(ink_limit=90)  # black type alone is 100 %
    with pytest.raises(PreflightError) as local:
        build_edition(MINIMAL, tmp_path / "out", workers=1, press=press)
    shutil.rmtree(cache / "pages")
    shutil.rmtree(cache / "preflight")
    with pytest.raises(PreflightError) as remote:
        build_edition(MINIMAL, tmp_path / "out", scheduler=scheduler, press=press)
    assert "would be rejected by the printing plant" in remote.value.message
    assert remote.value.message == local.value.message
    assert not list((tmp_path / "out").glob("*.pdf")), "a failed build must leave the output folder as it was"


def test_a_worker_error_arrives_as_a_gp_print_error(tmp_path: Path, scheduler: str, cache: Path) -> None:
    """A task that fails on a worker stops the build with that error, not a Dask one."""
    edition = load_edition(MINIMAL)
    flatplan = plan_cached(edition)
    gone = dataclasses.replace(edition, root=tmp_path / "not-mounted")
    with pytest.raises(ClusterError, match=r"worker tcp://127\.0\.0\.1:\d+ cannot see the edition folder .*"
                                           r"not-mounted — put editions on a shared folder"):
        render_pages(gone, flatplan.pages, tmp_path / "staging", press=PressSettings(), workers=1,
                     scheduler=scheduler)


def test_an_unreachable_scheduler_is_a_clean_error(tmp_path: Path, cache: Path) -> None:
    import dask

    address = "tcp://127.0.0.1:9"  # discard: nothing listens there
    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(ClusterError) as info:
        build_edition(MINIMAL, tmp_path / "out", scheduler=address)
    assert time.monotonic() - started < 15
    assert f"cannot reach the Dask scheduler at {address}" in info.value.message
    assert "dask scheduler" in info.value.message
    assert not list((tmp_path / "out").glob("*.pdf"))


def test_without_the_extra_the_error_says_how_to_install_it(tmp_path: Path, cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ClusterError, match=re.escape("pip install 'gp-print[cluster]'")) as info:
        build_edition(MINIMAL, tmp_path / "out", scheduler="tcp://127.0.0.1:8786")
    assert "tcp://127.0.0.1:8786" in info.value.message

"""Crash safety: a build killed at any instant never loses or corrupts the previous outputs, the
next build succeeds and cleans up after it, and two builds of one folder never run at once.

The kill test runs `gp-print build` in a subprocess on the minimal edition, into an out/ folder
that holds the outputs of a *different* earlier build (section names changed, so every file's
bytes differ), and SIGKILLs it after a random delay in [0, one build's time] from a fixed-seed
RNG.  After every kill each output file must be either the old file, untouched, or the complete
new one — byte for byte what a reference build writes (builds are deterministic) — never a
partial file.  After the kills, the next build must succeed, produce the reference bytes and
remove every stale `.staging-*` folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.hardening.hardening_support import MINIMAL, child_env, gp_print_command, run_gp_print

KILLS = 10
SEED = 20200102
PDFS = ("GP-20200102-P01.pdf", "GP-20200102-P02.pdf", "GP-20200102-eedition.pdf")
LOCKED = "another gp-print build is writing this folder"


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every output file under `folder` (relative name → bytes), hidden entries left out."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def _complete(path: Path) -> None:
    """The file parses as what it claims to be."""
    if path.suffix == ".pdf":
        assert len(PdfReader(path).pages) >= 1
    elif path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The minimal edition and its reference build; an 'old' variant and its build; build time."""
    work = tmp_path_factory.mktemp("crash")
    new = work / "minimal"
    shutil.copytree(MINIMAL, new)
    old = work / "old" / "minimal"
    shutil.copytree(MINIMAL, old)
    toml = old / "edition.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('name = "News"', 'name = "Island News"')
                    .replace('name = "Sport"', 'name = "Island Sport"'), encoding="utf-8")
    started = time.monotonic()
    proc = run_gp_print("build", new, "-o", work / "ref")
    build_seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    proc = run_gp_print("build", old, "-o", work / "old-out")
    assert proc.returncode == 0, proc.stderr
    reference, previous = _outputs(work / "ref"), _outputs(work / "old-out")
    assert sorted(reference) == sorted(previous)
    assert set(PDFS) <= set(reference)
    assert all(reference[n] != previous[n] for n in PDFS), "the two builds must differ in every PDF"
    return {"new": new, "reference": reference, "previous": previous, "seconds": build_seconds}


def _restore_previous(out: Path, previous: dict[str, bytes]) -> dict[str, int]:
    """Put the old build's files back (fresh inodes); return their inodes."""
    for name, data in previous.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"restore-{target.name}")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return {name: (out / name).stat().st_ino for name in previous}


def test_sigkill_at_random_points_never_loses_the_previous_outputs(editions, tmp_path):
    rng = random.Random(SEED)
    reference: dict[str, bytes] = editions["reference"]  # type: ignore[assignment]
    previous: dict[str, bytes] = editions["previous"]  # type: ignore[assignment]
    budget: float = editions["seconds"]  # type: ignore[assignment]
    out = tmp_path / "out"
    out.mkdir()
    outcomes: Counter[str] = Counter()
    stale_seen = 0
    log = []
    for i in range(KILLS):
        inodes = _restore_previous(out, previous)
        delay = rng.uniform(0, budget)
        proc = subprocess.Popen([*gp_print_command(), "build", str(editions["new"]), "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env())
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        # The build may end between poll() and the signal: then it finished, and must have succeeded.
        finished = finished or proc.returncode == 0
        if finished:
            assert proc.returncode == 0, err.decode()
        else:
            assert proc.returncode == -signal.SIGKILL

        files = _outputs(out)
        assert sorted(files) == sorted(reference), f"kill {i}: outputs are {sorted(files)}"
        replaced = 0
        for name, data in files.items():
            if (out / name).stat().st_ino == inodes[name]:
                assert data == previous[name], f"kill {i} at {delay:.2f} s: {name} was changed in place"
            else:
                assert data == reference[name], f"kill {i} at {delay:.2f} s: {name} is not the complete new file"
                replaced += 1
            _complete(out / name)
        hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
        assert all(n == ".gp-print.lock" or n.startswith(".staging-") for n in hidden), hidden
        stale_seen += sum(n.startswith(".staging-") for n in hidden)
        outcome = ("finished before the kill" if finished else
                   "killed, all old files intact" if replaced == 0 else
                   "killed, all files replaced by new ones" if replaced == len(reference) else
                   "killed while moving files in: old and new, each complete")
        outcomes[outcome] += 1
        log.append(f"kill {i}: {delay:.2f} s of {budget:.2f} s — {outcome}")
    print("\n".join(log), f"\n{dict(outcomes)}; stale staging folders left by kills: {stale_seen}")

    # A staging folder from a build killed long ago, with a partial page in it.
    planted = out / ".staging-killed-long-ago"
    planted.mkdir()
    (planted / PDFS[0]).write_bytes(reference[PDFS[0]][:1000])
    proc = run_gp_print("build", editions["new"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert _outputs(out) == reference
    assert not list(out.glob(".staging-*")), "the next build must remove stale staging folders"


def test_a_second_build_of_the_same_folder_fails_at_once(editions, tmp_path):
    """A build holding the lock (here: this test, with flock) makes another fail fast and cleanly."""
    out = tmp_path / "out"
    out.mkdir()
    _restore_previous(out, editions["previous"])  # type: ignore[arg-type]
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    with open(out / ".gp-print.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        proc = run_gp_print("build", editions["new"], "-o", out)
        elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert LOCKED in proc.stderr and str(out) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # It gave up before laying out anything: well inside the time of a whole build.
    assert elapsed < max(editions["seconds"], 2.0), f"{elapsed:.1f} s"  # type: ignore[operator]
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert after.keys() - {".gp-print.lock"} == before.keys() - {".gp-print.lock"}
    assert {k: v for k, v in after.items() if k != ".gp-print.lock"} == \
        {k: v for k, v in before.items() if k != ".gp-print.lock"}


def _lock_held(lock: Path) -> bool:
    """Whether some process holds a flock on `lock` (read from /proc/locks, without taking it)."""
    if not lock.exists():
        return False
    inode = lock.stat().st_ino
    return any(line.split()[5].endswith(f":{inode}") for line in Path("/proc/locks").read_text().splitlines()
               if "FLOCK" in line and len(line.split()) > 5)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs /proc/locks to see the first build's lock")
def test_two_builds_at_once_one_waits_for_nothing_and_fails_cleanly(editions, tmp_path):
    out = tmp_path / "out"
    # The first build renders everything (no caches), so it holds the lock long enough for the
    # second to find it held; a fully cached build is over in a blink.
    first = subprocess.Popen([*gp_print_command(), "build", str(editions["new"]), "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**child_env(), "GP_PRINT_NO_CACHE": "1"})
    try:
        deadline = time.monotonic() + 60
        while not _lock_held(out / ".gp-print.lock"):
            assert first.poll() is None, f"the first build ended before it was seen holding the lock: {first.stderr}"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = run_gp_print("build", editions["new"], "-o", out)
    finally:
        _, stderr = first.communicate(timeout=300)
    assert second.returncode == 1 and LOCKED in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0, stderr
    assert _outputs(out) == editions["reference"]


DIE_AFTER_MOVES = """
import os, sys
from pathlib import Path
import gp_print.build as build
real_move, moved = build.move_into_place, []
def dying_move(src, target):
    if len(moved) == {moves}:
        os._exit(137)  # no clean-up, no finally: as abrupt as SIGKILL
    real_move(src, target)
    moved.append(target.name)
    print(target.name, flush=True)
build.move_into_place = dying_move
build.build_edition(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("moves_before_death", [2])
def test_a_build_dying_between_renames_leaves_only_complete_files(editions, tmp_path, moves_before_death):
    """The moment a random kill rarely hits: some outputs moved in, others not yet.  Every file is
    still the complete old or the complete new one, and the next build puts all of them right."""
    out = tmp_path / "out"
    out.mkdir()
    previous: dict[str, bytes] = editions["previous"]  # type: ignore[assignment]
    reference: dict[str, bytes] = editions["reference"]  # type: ignore[assignment]
    inodes = _restore_previous(out, previous)
    proc = subprocess.run([sys.executable, "-c", DIE_AFTER_MOVES.format(moves=moves_before_death),
                           str(editions["new"]), str(out)], capture_output=True, text=True, timeout=300,
                          check=False, env=child_env())
    assert proc.returncode == 137, proc.stderr
    moved = proc.stdout.split()
    assert len(moved) == moves_before_death
    files = _outputs(out)
    assert sorted(files) == sorted(reference)
    for name, data in files.items():
        if name in moved:
            assert data == reference[name], f"{name} was moved in but is not the complete new file"
        else:
            assert data == previous[name] and (out / name).stat().st_ino == inodes[name], name
        _complete(out / name)
    assert list(out.glob(".staging-*")), "the dead build's staging folder is left behind…"

    proc = run_gp_print("build", editions["new"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert _outputs(out) == reference
    assert not list(out.glob(".staging-*")), "…and the next build removes it"


def _descendants(root: int) -> set[int]:
    """Every live process below `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rfind(")") + 2:].split()[1])
    found, grew = set(), True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if pid not in found and (parent == root or parent in found):
                found.add(pid)
                grew = True
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


def test_a_killed_build_leaves_no_worker_running(tmp_path):
    """The page workers are forked from a fork server, not from the build: killed with SIGKILL
    mid-render, the build must still take its fork server and every worker with it."""
    env = {**child_env(), "XDG_CACHE_HOME": str(tmp_path / "cache"), "GP_PRINT_NO_CACHE": "1"}
    proc = subprocess.Popen([*gp_print_command(), "build", str(MINIMAL), "-o", str(tmp_path / "out"),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            tree = _descendants(proc.pid)
            workers = {pid for pid in tree if b"forkserver" in _cmdline(pid)}
            if len(workers) >= 3:  # the fork server and two workers
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(workers) >= 3, "the build ended before its workers were seen"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
            time.sleep(0.1)
        assert not [pid for pid in tree if _alive(pid)], "processes of the killed build are still running"
    finally:
        if proc.poll() is None:
            proc.kill()

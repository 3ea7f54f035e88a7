"""Helpers shared by the hardening tests (tests/hardening/): running the real CLI, and taking a
fingerprint of an output folder to prove a failed or killed build left it alone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "editions" / "minimal"


def gp_print_command() -> list[str]:
    """The installed `gp-print` script beside this Python, else the same entry point via -c."""
    script = Path(sys.executable).with_name("gp-print")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from gp_print.cli import main; main()"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)  # a build sets it from the edition date
    return env


def run_gp_print(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gp_print_command(), *(str(a) for a in args)], capture_output=True, text=True,
                          timeout=timeout, check=False, env=child_env())


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir", "link"
    sha256: str
    mtime_ns: int
    inode: int


def fingerprint(folder: Path) -> dict[str, Entry]:
    """Every entry under `folder` (hidden ones too): kind, content hash, mtime, inode."""
    out: dict[str, Entry] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        info = path.lstat()
        if path.is_symlink():
            out[rel] = Entry("link", os.readlink(path), info.st_mtime_ns, info.st_ino)
        elif path.is_dir():
            out[rel] = Entry("dir", "", 0, info.st_ino)
        else:
            out[rel] = Entry("file", hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns, info.st_ino)
    return out


class Timeout(Exception):
    """An example ran past its wall-clock budget: treated as a hang."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (rather than hang the suite) if the block runs longer than `seconds` (main thread, POSIX)."""

    def _expired(signum: int, frame: object) -> None:
        raise Timeout(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

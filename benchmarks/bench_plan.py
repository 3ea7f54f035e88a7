"""Benchmark: planning a synthetic edition, measurements cold and cached (issue 3's figures).

    .venv/bin/python benchmarks/bench_plan.py [--pages 48 --stories 120 --seed 7]

Each plan runs in a fresh process (imports and start-up included) with its own empty cache
folder, first with the measurement helper process (two CPUs), then without it (one CPU).  Prints
seconds, seconds per page and the targets (≤ 0.25 s per page cold; < 2 s with measurements
cached).  Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAN = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from gp_print.fetch import configure_fonts
configure_fonts()
from gp_print.load import load_edition
from gp_print.measure import Measurer
from gp_print.plan import plan_edition
edition = load_edition(Path(sys.argv[1]))
t = time.perf_counter()
plan_edition(edition, Measurer(edition))
print(time.perf_counter() - t)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--stories", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from gp_print.synth import make_edition

    scratch = Path(tempfile.mkdtemp(prefix="gp-bench-plan-"))
    edition = scratch / "edition"
    make_edition(edition, pages=args.pages, stories=args.stories, seed=args.seed)
    print(f"{'plan, ' + str(args.pages) + ' pages':34} {'plan s':>7} {'process s':>9} {'s/page':>7}  target")
    for label, helper in (("two CPUs", "1"), ("one CPU (no helper process)", "0")):
        env = {**os.environ, "XDG_CACHE_HOME": str(scratch / f"cache-{helper}"), "GP_PRINT_MEASURE_HELPER": helper}
        env.pop("GP_PRINT_CACHE_DIR", None)
        env.pop("GP_PRINT_NO_CACHE", None)
        for run, target in (("cold", "<= 0.25 s/page"), ("measurements cached", "< 2 s in all")):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", PLAN, str(edition)], env=env, capture_output=True,
                                  text=True, check=False)
            wall = time.perf_counter() - started
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            plan_s = float(done.stdout.split()[-1])
            print(f"{label + ', ' + run:34} {plan_s:7.2f} {wall:9.2f} {wall / args.pages:7.3f}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

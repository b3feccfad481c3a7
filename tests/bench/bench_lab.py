"""Benchmark: bring-up of the default lab and of a 100-host lab, and `make demo` end to end.

Prints wall times and the total memory of the lab's processes (sum of PSS over every process in
the lab's namespaces, plus the tmpfs holding the hosts' overlays). Goals (issue 2): default lab up
in under 60 s, 100 hosts in under 3 minutes and under 6 GB, `make demo` under 2 minutes.

    .venv/bin/python tests/bench/bench_lab.py [--skip-fleet] [--skip-demo]

Tears down any running lab first and leaves none behind.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from lab import runtime  # noqa: E402


def _labctl(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "lab.labctl", *args], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def lab_memory_mb() -> tuple[float, int]:
    """(MB of PSS of every lab process plus the lab tmpfs, number of processes)."""
    pids = set()
    for ns in runtime.lab_namespaces():
        pids.update(runtime.netns_pids(ns))
    total_kb = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    st = os.statvfs(runtime.RUN_DIR)
    tmpfs_kb = (st.f_blocks - st.f_bfree) * st.f_frsize // 1024
    return (total_kb + tmpfs_kb) / 1024, len(pids)


def bench_topology(name: str, path: str, goal_s: float, goal_mb: float | None) -> None:
    _labctl("down")
    wall = _labctl("up", "--topology", path)
    mem, procs = lab_memory_mb()
    hosts = len([ns for ns in runtime.lab_namespaces() if ns != runtime.SWITCH_NS])
    print(f"{name}: {hosts} hosts up in {wall:.1f} s (goal < {goal_s:.0f} s, ratio {wall / goal_s:.2f}); "
          f"{procs} processes, {mem:.0f} MB" + (f" (goal < {goal_mb:.0f} MB, ratio {mem / goal_mb:.2f})" if goal_mb else ""))
    _labctl("down")


def bench_demo() -> None:
    _labctl("down")
    started = time.monotonic()
    subprocess.run(["make", "demo"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    print(f"make demo: {wall:.1f} s end to end with packages installed (goal < 120 s, ratio {wall / 120:.2f})")
    _labctl("down")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_lab: needs root (the lab does)", file=sys.stderr)
        return 2
    bench_topology("default lab", os.path.join(REPO, "lab/topologies/default.yml"), 60, None)
    if not args.skip_fleet:
        bench_topology("100-host lab", os.path.join(REPO, "lab/topologies/fleet100.yml"), 180, 6144)
    if not args.skip_demo:
        bench_demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-host clock: lab/clock/selftest.sh on its own scratch namespaces (no full lab needed).

A host whose clock is a day behind shows it in `date`; `chronyc makestep` from inside the host
brings it to within 1 s of the lab NTP server; the machine's real clock does not move.
A second run with a sub-second skew shows the step is exact, not just "within a day".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SELFTEST = REPO / "lab" / "clock" / "selftest.sh"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(
        not all(shutil.which(c) for c in ("chronyd", "chronyc", "ip", "setpriv", "cc")),
        reason="needs chrony, iproute2, util-linux and a C compiler (scripts/setup.sh)",
    ),
]


def run_selftest(skew: str) -> dict[str, str]:
    env = dict(os.environ, CLOCK_SELFTEST_SKEW=skew)
    proc = subprocess.run(["bash", str(SELFTEST)], capture_output=True, text=True, timeout=180, env=env)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT ") and "=" in line:
            key, _, value = line.removeprefix("RESULT ").partition("=")
            results[key] = value
    assert proc.returncode == 0, f"selftest.sh exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert results.get("selftest") == "ok", proc.stdout + proc.stderr
    return results


@pytest.fixture(scope="module")
def day_behind() -> dict[str, str]:
    return run_selftest("-86400")


def test_skewed_host_date_differs_by_the_offset(day_behind):
    assert day_behind["offset_file_before"] == "-86400"
    assert abs(float(day_behind["initial_skew"]) + 86400) < 2


def test_host_processes_lack_cap_sys_time(day_behind):
    assert day_behind["cap_sys_time_dropped"] == "ok"
    assert day_behind["chronyd_comm"] == "chronyd"
    assert int(day_behind["chronyd_capeff"], 16) & (1 << 25) == 0


def test_step_from_inside_the_host_matches_the_ntp_server(day_behind):
    assert day_behind["source_selected"] == "1"
    assert day_behind["chronyd_logged_step"] == "1"
    assert abs(float(day_behind["final_host_minus_ntp"])) < 1
    # The step became a new offset in the host's offset file (about 0: the server runs at +0).
    assert abs(float(day_behind["offset_file_after"])) < 1


def test_real_clock_did_not_move(day_behind):
    # The real clock advanced exactly as CLOCK_BOOTTIME did (/proc/uptime has 10 ms steps).
    assert abs(float(day_behind["real_clock_drift"])) < 0.5
    assert abs(float(day_behind["real_elapsed"])) < float(day_behind["boot_elapsed"]) + 1


def test_sub_second_skew_is_corrected_exactly():
    # Kernel packet timestamps are real time; the shim refuses them, or chronyd would trust
    # them for a host less than 1 s off and never see this skew.
    res = run_selftest("+0.5")
    assert abs(float(res["initial_skew"]) - 0.5) < 0.2
    assert abs(float(res["final_host_minus_ntp"])) < 0.05
    assert abs(float(res["real_clock_drift"])) < 0.5


def test_python_sleep_works_under_the_preload(day_behind):
    # Python's time.sleep is an absolute CLOCK_MONOTONIC clock_nanosleep: the shim must not shift it.
    assert day_behind.get("python_sleep", "ok") == "ok"

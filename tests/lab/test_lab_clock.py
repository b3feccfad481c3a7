"""Per-host clocks: a skewed host really lives a day behind, its NTP client steps it back from
inside the host, and the machine's real clock never moves."""

from __future__ import annotations

import time

from lab import scenario as scenarios


def _epoch(lab, host: str) -> float:
    return float(lab.sh(host, "date +%s.%N"))


def test_skewed_host_is_stepped_back_by_its_ntp_client(healthy_after):
    lab = healthy_after
    real0, mono0 = time.time(), time.monotonic()
    lab.apply(scenarios.load("clock_skew", lab.topo))
    skew = _epoch(lab, "cl1") - time.time()
    assert abs(skew + 86400) < 5, f"cl1 is {skew:.0f} s off, expected about -86400"
    assert abs(_epoch(lab, "cl3") - time.time()) < 5, "an unskewed host is off too"

    # The operator's fix, from inside the host: start the NTP client, wait for it, step the clock.
    lab.sh("cl1", "/etc/init.d/chrony start >/dev/null")
    out = lab.sh("cl1", "chronyc waitsync 60 0 0 0.5 >/dev/null && chronyc makestep", timeout=90)
    assert "200 OK" in out, out
    offset = _epoch(lab, "cl1") - _epoch(lab, "infra")
    assert abs(offset) < 1.0, f"cl1 is {offset:.3f} s off the lab NTP server after the step"
    # The machine's clock moved exactly as much as time passed.
    drift = (time.time() - real0) - (time.monotonic() - mono0)
    assert abs(drift) < 0.5, f"the real clock moved by {drift:.3f} s"

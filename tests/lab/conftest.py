"""Fixtures for tests against the running lab (real daemons, real SSH).

`make test` brings the lab up before these tests and down after them; run alone, the `lab`
fixture brings it up itself and takes it down at the end of the session.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess

import pytest

from lab import labctl, runtime


class LabHandle:
    """The running lab as tests see it: run commands in hosts, apply scenarios, read logs."""

    def __init__(self):
        self._lab, self._stamp = None, None

    @property
    def lab(self):
        """The running lab, read again whenever its state changed (a test may rebuild the lab)."""
        stamp = os.stat(runtime.STATE_FILE).st_mtime_ns if os.path.exists(runtime.STATE_FILE) else None
        if self._lab is None or stamp != self._stamp:
            self._lab, self._stamp = labctl._running_lab(), stamp
        return self._lab

    @property
    def topo(self):
        return self.lab.topo

    def sh(self, host: str, script: str, check: bool = True, timeout: float = 60) -> str:
        return self.lab.sh(host, script, check=check, timeout=timeout).stdout

    def log(self, host: str) -> str:
        daemon = self.topo.hosts[host].daemon
        path = "/var/log/charon.log" if daemon == "strongswan" else "/var/log/pluto.log"
        return self.sh(host, f"cat {path}", check=False)

    def apply(self, scen: dict | None) -> dict:
        self.lab.apply(scen)
        return self.states()

    def states(self) -> dict:
        clients = [h.name for h in self.topo.by_role("client")]
        return dict(zip(clients, self.lab.parallel(self.lab.client_state, clients)))

    def child_bytes(self, host: str) -> tuple[int, int]:
        """(bytes in, bytes out) of the host's CHILD_SAs, summed, as its daemon counts them."""
        out = self.sh(host, "swanctl --list-sas --raw", check=False)
        ins = sum(int(v) for v in re.findall(r"bytes-in=(\d+)", out))
        outs = sum(int(v) for v in re.findall(r"bytes-out=(\d+)", out))
        return ins, outs


LOCK_FILE = os.path.join(runtime.REPO, "lab", ".cache", "lab.lock")


@pytest.fixture(scope="session", autouse=True)
def lab_lock():
    """One test session drives the lab at a time: scenarios are lab-wide."""
    os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def lab(lab_lock):
    started_here = False
    if not runtime.load_state():
        proc = subprocess.run([labctl.sys.executable, "-m", "lab.labctl", "up"], cwd=runtime.REPO,
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        started_here = True
    handle = LabHandle()
    yield handle
    if started_here:
        subprocess.run([labctl.sys.executable, "-m", "lab.labctl", "down"], cwd=runtime.REPO, check=False)


@pytest.fixture
def healthy_after(lab):
    """Puts the lab back to the healthy fleet after the test, whatever the test did."""
    yield lab
    lab.apply(None)


def pytest_collection_modifyitems(config, items):
    """The teardown tests rebuild the lab: they run after every other lab test."""
    items.sort(key=lambda item: "test_lab_teardown.py" in str(item.path))

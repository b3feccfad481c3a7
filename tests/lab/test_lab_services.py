"""Lab hosts are driven like real servers: Ansible's service module restarts their daemons
through the hosts' init scripts."""

from __future__ import annotations

import subprocess
import time

from lab import runtime, scenario as scenarios


def _ansible(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([f"{runtime.REPO}/.venv/bin/ansible", *args], cwd=runtime.REPO,
                          capture_output=True, text=True, timeout=300, check=False)


def test_service_module_restarts_charon_on_a_lab_host(healthy_after):
    lab = healthy_after
    before = lab.sh("gw1", "cat /run/charon.pid").strip()
    proc = _ansible("gw1", "-m", "ansible.builtin.service", "-a", "name=strongswan state=restarted")
    assert proc.returncode == 0 and "CHANGED" in proc.stdout, proc.stdout + proc.stderr
    after = lab.sh("gw1", "cat /run/charon.pid").strip()
    assert after != before
    assert "rw-cert" in lab.sh("gw1", "swanctl --list-conns"), "connections not loaded after restart"
    proc = _ansible("gw1", "-m", "ansible.builtin.service", "-a", "name=strongswan state=reloaded")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lab.sh("gw1", "cat /run/charon.pid").strip() == after, "reload restarted the daemon"


def test_daemon_started_by_the_service_module_keeps_the_host_clock(healthy_after):
    """service(8) starts init scripts with an empty environment; the host's clock must survive it."""
    lab = healthy_after
    lab.apply(scenarios.load("clock_skew", lab.topo))
    proc = _ansible("cl1", "-m", "ansible.builtin.service", "-a", "name=strongswan state=restarted")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host_day = lab.sh("cl1", "date +'%b %e'").strip()
    real_day = time.strftime("%b %e", time.gmtime())
    assert host_day != real_day
    starts = [line for line in lab.log("cl1").splitlines() if "Starting IKE charon daemon" in line]
    assert starts and starts[-1].startswith(host_day), starts[-1:]

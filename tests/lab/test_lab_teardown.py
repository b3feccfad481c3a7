"""Bring-up converges, teardown leaves nothing, even of a half-built lab. Runs after the other lab
tests (file order) and leaves the lab up again for whatever follows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from lab import runtime


def _labctl(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "lab.labctl", *args], cwd=runtime.REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_up_on_a_running_lab_converges(lab):
    before = runtime.load_state()["hosts"]["gw1"]["init_pid"]
    out = _labctl("up").stdout
    assert "up in" in out
    assert runtime.load_state()["hosts"]["gw1"]["init_pid"] == before, "a running host was rebuilt"


def test_down_leaves_nothing_even_when_half_built(lab):
    state = runtime.load_state()
    # Half-built: one host's init gone, and no state file to say what was there.
    os.kill(state["hosts"]["cl3"]["init_pid"], signal.SIGKILL)
    os.unlink(runtime.STATE_FILE)
    out = _labctl("down").stdout
    assert "deleted" in out
    assert runtime.leftovers() == []
    assert not os.path.exists(os.path.join(runtime.REPO, "inventories", "lab", "hosts.yml"))
    assert not [ns for ns in runtime.lab_namespaces()]
    _labctl("up")
    assert runtime.leftovers() != []


def test_bad_topology_leaves_nothing_behind(tmp_path, lab):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\ngateways:\n  - {name: gw1, daemon: openswan}\n")
    _labctl("down")
    proc = _labctl("up", "--topology", str(bad), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"lab: error: {bad}: gateways[0].daemon: 'openswan' is not allowed; allowed: strongswan, libreswan"
    assert runtime.leftovers() == []
    _labctl("up")

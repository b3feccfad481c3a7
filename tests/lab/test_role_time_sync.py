"""vpnops.ikev2.time_sync on the lab: clock_skew (cl1 a day behind, chronyd stopped) fixed.

The community.crypto sequence (check mode, real run, idempotent check, idempotent real run), then
rollbacks where verification fails because the only approved server does not answer: the file is
restored byte for byte and chronyd is put back as it was (stopped on cl1, running with its old
configuration on a healthy host in enforce mode). The scenario is applied once for the module.
"""

from __future__ import annotations

import time

import pytest

from lab import scenario as scenarios

from _role_runner import RoleRunner

HOST = "cl1"
CONF = "/etc/chrony/chrony.conf"
PLAYBOOK = """\
- name: vpnops.ikev2.time_sync under test
  hosts: "{{ target }}"
  gather_facts: false
  roles:
    - role: vpnops.ikev2.time_sync
"""
# The lab's approved server, written as the lab writes it.
LAB_VARS = {"time_sync_servers": ["infra.lab"], "time_sync_server_options": "iburst minpoll 4 maxpoll 6"}


def _sha(lab, host=HOST):
    return lab.sh(host, f"sha256sum {CONF}").split()[0]


def _epoch(lab, host):
    return float(lab.sh(host, "date +%s.%N"))


def _skew_to_infra(lab, host=HOST):
    # Read infra, the host, infra again; compare the host with the midpoint.
    a = _epoch(lab, "infra")
    h = _epoch(lab, host)
    b = _epoch(lab, "infra")
    return h - (a + b) / 2


def _chronyd_running(lab, host=HOST):
    return "is running" in lab.sh(host, "/etc/init.d/chrony status", check=False)


@pytest.fixture(scope="module")
def skew(lab, tmp_path_factory):
    lab.apply(scenarios.load("clock_skew", lab.topo))
    lab.sh(HOST, f"rm -f {CONF}.*~")
    state = {"lab": lab, "run": RoleRunner(tmp_path_factory.mktemp("time_sync"), "time_sync", PLAYBOOK, HOST, LAB_VARS), "sha": _sha(lab),
             "original": lab.sh(HOST, f"cat {CONF}")}
    assert _skew_to_infra(lab) < -86000
    assert not _chronyd_running(lab)
    yield state
    lab.apply(None)


def test_check_mode_reports_the_change_and_touches_nothing(skew):
    lab, run = skew["lab"], skew["run"]
    res = run(check=True)
    assert res["rc"] == 0, res["out"]
    assert res["changed"] >= 1
    assert _sha(lab) == skew["sha"], "check mode changed chrony.conf"
    assert not _chronyd_running(lab), "check mode started chronyd"
    assert _skew_to_infra(lab) < -86000, "check mode moved the clock"
    assert run.records() == []


def test_real_run_brings_the_clock_within_a_second_of_infra(skew):
    lab, run = skew["lab"], skew["run"]
    res = run()
    assert res["rc"] == 0, res["out"]
    assert res["changed"] >= 1
    assert "Step the clock" in res["out"] and _chronyd_running(lab)
    assert abs(_skew_to_infra(lab)) < 1.0
    tracking = lab.sh(HOST, "chronyc -n tracking")
    assert "Leap status     : Normal" in tracking, tracking
    (record,) = run.records()
    assert record["role"] == "vpnops.ikev2.time_sync" and record["host"] == HOST
    assert record["verification"]["passed"] is True
    assert record["finding"]["clock_off"] is True and record["finding"]["ntp_down"] is True


def test_idempotent_check_mode(skew):
    res = skew["run"](check=True)
    assert res["rc"] == 0, res["out"]
    assert res["changed"] == 0, res["out"]


def test_idempotent_real_run(skew):
    sha = _sha(skew["lab"])
    res = skew["run"]()
    assert res["rc"] == 0, res["out"]
    assert res["changed"] == 0, res["out"]
    assert _sha(skew["lab"]) == sha
    assert len(skew["run"].records()) == 1


def test_failed_verification_restores_the_file_and_leaves_chronyd_stopped_as_it_was(skew):
    lab, run = skew["lab"], skew["run"]
    # Back to the finding: chronyd stopped (the clock is right now; a stopped client is the finding).
    lab.sh(HOST, "/etc/init.d/chrony stop >/dev/null")
    res = run(time_sync_servers=["ntp.invalid"], time_sync_sync_timeout=6)
    assert res["rc"] != 0 and res["failed"] == 1, res["out"]
    assert "time_sync rolled back" in res["out"] and "Wait until chronyd has selected a source" in res["out"]
    assert _sha(lab) == skew["sha"], "chrony.conf was not restored byte for byte"
    assert not _chronyd_running(lab), "chronyd was stopped before the change and should be again"
    record = run.records()[-1]
    assert record["verification"]["passed"] is False and record["verification"]["rolled_back"] is True
    backup = record["backup"]["path"]
    assert backup and backup.startswith(CONF + "."), record["backup"]
    assert lab.sh(HOST, f"sha256sum {backup}").split()[0] == skew["sha"], "the recorded backup is not the original file"


def test_failed_verification_on_a_running_client_restarts_it_with_the_old_configuration(skew):
    lab, run = skew["lab"], skew["run"]
    host = "cl3"
    sha = _sha(lab, host)
    pid_before = lab.sh(host, "cat /run/chrony/chronyd.pid").strip()
    res = run(host=host, time_sync_servers=["ntp.invalid"], time_sync_sync_timeout=6,
              time_sync_require_finding=False)
    assert res["rc"] != 0 and res["failed"] == 1, res["out"]
    assert _sha(lab, host) == sha, "chrony.conf was not restored byte for byte"
    assert _chronyd_running(lab, host)
    assert lab.sh(host, "cat /run/chrony/chronyd.pid").strip() != pid_before, "chronyd was not restarted"
    deadline = time.monotonic() + 20
    sources = ""
    while time.monotonic() < deadline:
        sources = lab.sh(host, "chronyc -n sources", check=False)
        if "198.19.0.11" in sources:
            break
        time.sleep(1)
    assert "198.19.0.11" in sources, f"chronyd does not use the old server again:\n{sources}"
    assert "ntp.invalid" not in lab.sh(host, f"cat {CONF}")

"""The action plugin around one module execution: clock offset from the carrying command's
interval, and certificates parsed on the controller when the host shipped them."""

from __future__ import annotations

import json
import time
from unittest import mock

from ansible.playbook.task import Task

from ansible_collections.vpnops.ikev2.plugins.action.ike_facts import ActionModule

from _gather_helpers import FIXTURES


def make_action(module_result, host_skew=0.0, host_work=0.2, there=0.05, back=0.05, host_end=False):
    task = Task()
    task.action = "vpnops.ikev2.ike_facts"
    task.args = {}
    conn = mock.MagicMock()
    conn._shell.tmpdir = None
    action = ActionModule(task, conn, mock.MagicMock(check_mode=False), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    calls = []

    def low_level(*args, **kwargs):
        start = time.time()
        time.sleep(there)                         # transport there (SSH session, shell, interpreter fork)
        host_start = time.time() + host_skew
        time.sleep(host_work)                     # the module works
        res = dict(module_result)
        res["ike_facts_timing"] = {"host_start": host_start, "elapsed": host_work}
        if host_end:
            res["ike_facts_timing"]["host_end"] = time.time() + host_skew
        time.sleep(back)                          # transport back
        calls.append((start, time.time()))
        return {"rc": 0, "stdout": json.dumps(res), "stderr": ""}

    def execute_module(module_args=None, task_vars=None, **kwargs):
        time.sleep(0.3)                           # controller-side module build: not in the interval
        out = action._low_level_execute_command("python3")
        return json.loads(out["stdout"])

    action._low_level_execute_command = low_level
    action._execute_module = execute_module
    return action, calls


def test_offset_from_the_carrying_command_not_the_module_build():
    facts = {"ikev2": {"time": {"status": "ok"}, "certs": {"status": "ok"}}}
    action, _calls = make_action({"ansible_facts": facts, "changed": False}, host_skew=-86400.0)
    res = action.run(task_vars={})
    t = res["ansible_facts"]["ikev2"]["time"]
    assert abs(t["offset_s"] + 86400.0) < 0.05, t
    assert 0.08 <= t["rtt_s"] < 0.3, t
    lo, hi = t["offset_bounds_s"]
    assert lo <= -86400.0 + 0.01 and hi >= -86400.0 - 0.01
    assert "ike_facts_timing" not in res and res["changed"] is False


def test_uneven_legs_host_end_pairs_with_the_end_of_the_round_trip():
    """The forward leg (SSH session set-up, shell, fork) is long, the return leg short: the even
    split puts the host ahead by half the difference, the end pairing does not."""
    facts = {"ikev2": {"time": {"status": "ok"}, "certs": {"status": "ok"}}}
    action, _calls = make_action({"ansible_facts": facts, "changed": False}, host_skew=-3600.0, host_work=0.05,
                                 there=0.4, back=0.01, host_end=True)
    t = action.run(task_vars={})["ansible_facts"]["ikev2"]["time"]
    assert -3600.0 - 0.03 < t["offset_s"] <= -3600.0 + 0.005, t
    assert t["measured_by"].endswith("host clock at the result")
    lo, hi = t["offset_bounds_s"]
    assert lo <= t["offset_s"] <= hi and lo <= -3600.0 <= hi
    # an older module copy without host_end: the even split, biased by (there - back) / 2
    action, _calls = make_action({"ansible_facts": facts, "changed": False}, host_skew=-3600.0, host_work=0.05,
                                 there=0.4, back=0.01)
    t = action.run(task_vars={})["ansible_facts"]["ikev2"]["time"]
    assert 0.15 < t["offset_s"] + 3600.0 < 0.25 and t["measured_by"].endswith("split evenly"), t


def test_unreadable_clock_readings_fail_clearly():
    import pytest
    from ansible.errors import AnsibleActionFail
    facts = {"ikev2": {"time": {"status": "ok"}, "certs": {"status": "ok"}}}
    action, _calls = make_action({"ansible_facts": facts, "changed": False})
    low = action._low_level_execute_command

    def garbled(*a, **k):
        out = low(*a, **k)
        res = json.loads(out["stdout"])
        res["ike_facts_timing"]["host_end"] = "soon"
        return dict(out, stdout=json.dumps(res))

    action._low_level_execute_command = garbled
    with pytest.raises(AnsibleActionFail, match="unreadable clock readings"):
        action.run(task_vars={})


def test_deferred_certificates_are_parsed_on_the_controller():
    import base64
    raw = [{"der_b64": base64.b64encode(der).decode(), "path": "/etc/swanctl/x509ca/" + name, "store": "swanctl/x509ca",
            "has_private_key": None}
           for name in ("int.crt", "root.crt") for der in _ders(name)]
    raw += [{"der_b64": base64.b64encode(_ders("gw.crt")[0]).decode(), "path": None, "store": "loaded",
             "has_private_key": True}]
    facts = {"ikev2": {"time": {"status": "skipped"}, "certs": {"status": "deferred", "raw": raw, "raw_crls": []}}}
    action, _calls = make_action({"ansible_facts": facts, "changed": False})
    res = action.run(task_vars={})
    certs = res["ansible_facts"]["ikev2"]["certs"]
    assert certs["status"] == "ok" and certs["parsed_on"] == "controller" and "raw" not in certs
    assert [c["complete"] for c in certs["chains"]] == [True]
    assert {c["subject"].split("CN=")[1]: c["has_private_key"] for c in certs["certs"]}["gw.scratch"] is True
    assert res["ansible_facts"]["ikev2"]["time"] == {"status": "skipped"}


def _ders(name):
    from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import certinfo
    return certinfo.certs_from_blob((FIXTURES / "pki" / name).read_bytes())


def test_module_failure_is_passed_through():
    action, _calls = make_action({"failed": True, "msg": "ike_facts on gw1: unknown gather_subset 'x'"})
    res = action.run(task_vars={})
    assert res["failed"] and "unknown gather_subset" in res["msg"]

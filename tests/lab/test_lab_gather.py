"""vpnops.ikev2.ike_facts against the running lab: the facts reflect each scenario's faults.

For every scenario in tests/scenarios/*.yml the scenario is applied (`python -m lab.labctl scenario`),
then one ad-hoc `vpnops.ikev2.ike_facts` run gathers every host, and each injected fault must
show in the facts of its host (the skewed client's offset is about the injected value, the
gateway without the intermediate names it missing in a chain, a dropped port's verdict is
drop, ...). The healthy lab's facts show every tunnel up. The run's -vvv output shows exactly
one SSH command per host: the whole default gather is one module execution.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories" / "lab" / "hosts.yml"
SCENARIOS = REPO / "tests" / "scenarios"
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
ANSIBLE = str(Path(PY).parent / "ansible")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not INVENTORY.exists(), reason="no lab (inventories/lab/hosts.yml is made by make lab-up)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="applying scenarios needs root"),
]

IKE_HOSTS = ("gateways", "clients")


def inventory():
    inv = yaml.safe_load(INVENTORY.read_text())
    groups = inv["all"]["children"]
    hosts = {}
    for group, body in groups.items():
        for name, hv in (body.get("hosts") or {}).items():
            hosts[name] = dict(hv, group=group)
    return hosts


def apply_scenario(name):
    proc = subprocess.run([PY, "-m", "lab.labctl", "scenario", name], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def gather(pattern="all", args=None):
    """One ad-hoc run; returns ({host: facts}, {host: number of SSH commands})."""
    margs = {"include_ruleset": False}
    margs.update(args or {})
    proc = subprocess.run([ANSIBLE, pattern, "-m", "vpnops.ikev2.ike_facts", "-a", json.dumps(margs), "-o", "-vvv"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    facts, execs = {}, {}
    addr = {hv["ansible_host"]: name for name, hv in inventory().items()}
    for line in proc.stdout.splitlines():
        m = re.match(r"^<([\d.]+)> SSH: EXEC ", line)
        if m:
            host = addr.get(m.group(1), m.group(1))
            execs[host] = execs.get(host, 0) + 1
            continue
        m = re.match(r"^(\S+) \| (SUCCESS|CHANGED|FAILED!|UNREACHABLE!) => (\{.*\})\s*$", line)
        if m:
            res = json.loads(m.group(3))
            assert m.group(2) == "SUCCESS", (m.group(1), res.get("msg"))
            facts[m.group(1)] = res["ansible_facts"]["ikev2"]
    assert facts, proc.stdout[-3000:] + proc.stderr[-3000:]
    return facts, execs


def clients_with_child_sa(facts):
    """Hosts with an installed CHILD_SA: an IKE SA alone is not a tunnel (an ESP proposal or traffic
    selector mismatch fails only the CHILD_SA and leaves the IKE SA up)."""
    return {h for h, f in facts.items() if any(ch.get("state") == "INSTALLED" for sa in f["sas"].get("ike", [])
                                               for ch in sa.get("children", []))}


def established_clients(facts):
    return {h for h, f in facts.items() if any(sa.get("state") in ("ESTABLISHED", "STATE_V2_ESTABLISHED_IKE_SA")
                                               for sa in f["sas"].get("ike", []))}


# -------------------------------------------------------------------------- per-fault checks

def check_clock_offset(f, fault):
    off = f["time"]["offset_s"]
    assert off is not None and abs(off - float(fault["seconds"])) < 5.0, off


def check_firewall_drop(f, fault):
    assert f["firewall"]["verdicts"][fault["port"]] in ("drop", "reject"), f["firewall"]["why"]


def check_remove_ca(f, fault):
    if fault.get("ca") != "intermediate":
        return
    assert not any("Intermediate" in c["subject"] for c in f["certs"]["certs"] if "swanctl" in " ".join(c.get("stores", [])))
    missing = [c["missing"] for c in f["certs"]["chains"] if not c["complete"]]
    assert any(m and "Intermediate" in m for m in missing), f["certs"]["chains"]


def check_charon_limit(f, fault):
    assert f["resources"]["limits"][fault["setting"]] == int(fault["value"])


def check_ike_proposals(f, fault):
    props = [p for c in f["conns"]["conns"] for p in (c.get("ike_proposals") or [])]
    assert fault["value"] in props, props


def check_libreswan_ike(f, fault):
    props = [p for c in f["conns"]["conns"] for p in (c.get("ike_proposals") or [])]
    assert props and any("MODP2048" in p for p in props), props


def check_cert(f, fault):
    if fault.get("value") != "expired":
        return
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(c["not_after"] < now and c["has_private_key"] for c in f["certs"]["certs"]), f["certs"]["certs"]


def check_no_cert(f, fault):
    assert not any(c["has_private_key"] and not c["is_ca"] for c in f["certs"]["certs"])


def check_psk(f, fault):
    assert fault["value"] not in json.dumps(f)


def check_esp_proposals(f, fault):
    props = [p for c in f["conns"]["conns"] for ch in c.get("children", []) for p in (ch.get("esp_proposals") or [])]
    assert fault["value"] in props, props


def check_remote_ts(f, fault):
    ts = [t for c in f["conns"]["conns"] for ch in c.get("children", []) for t in (ch.get("remote_ts") or [])]
    assert fault["value"] in ts, ts


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def scenario_names():
    return sorted(p.stem for p in SCENARIOS.glob("*.yml")) if SCENARIOS.is_dir() else []


@pytest.fixture(scope="module")
def lab_hosts():
    return inventory()


@pytest.fixture(scope="module", autouse=True)
def back_to_healthy():
    yield
    if INVENTORY.exists():
        apply_scenario("healthy")


def test_healthy_lab_every_tunnel_up_and_one_module_call_per_host(lab_hosts):
    apply_scenario("healthy")
    facts, execs = gather()
    assert set(facts) == set(lab_hosts)
    for host, n in execs.items():
        assert n == 1, "%s: %d SSH commands for one gather" % (host, n)
    clients = {h for h, hv in lab_hosts.items() if hv["group"] == "clients"}
    assert established_clients({h: facts[h] for h in clients}) == clients
    for host, hv in lab_hosts.items():
        f = facts[host]
        if hv["group"] in IKE_HOSTS:
            assert f["status"] == "ok", (host, f.get("reason"))
            assert f["daemon"]["running"] and f["daemon"]["name"] == hv.get("lab_daemon")
            assert f["firewall"]["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "accept"}, host
            assert f["logs"]["status"] == "ok" and f["logs"]["events"], host
            assert abs(f["time"]["offset_s"]) < 5 and f["time"]["ntp"]["synchronized"], host
            assert all(c["complete"] for c in f["certs"]["chains"]), (host, f["certs"]["chains"])
        else:
            assert f["status"] == "no_daemon", host


@pytest.mark.parametrize("name", [n for n in scenario_names() if n not in ("healthy", "demo")])
def test_scenario_faults_show_in_the_facts(name, lab_hosts):
    scen = yaml.safe_load((SCENARIOS / (name + ".yml")).read_text())
    apply_scenario(name)
    facts, _execs = gather()
    checked = 0
    for fault in scen.get("faults", []):
        check = CHECKS.get(fault["fault"])
        if check is None:
            continue
        check(facts[fault["host"]], fault)
        checked += 1
    down = set(scen.get("tunnels_down", []))
    if down:
        assert not (clients_with_child_sa({h: facts[h] for h in down})), down
    for host, f in facts.items():
        blob = json.dumps(f)
        assert "PRIVATE KEY" not in blob, host
    if not checked:
        pytest.skip("no fault of %s has a facts check (faults: %s)" % (name, [f["fault"] for f in scen["faults"]]))

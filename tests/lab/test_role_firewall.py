"""vpnops.ikev2.firewall on the lab: udp4500_blocked fixed on gw2 without ever cutting SSH.

The community.crypto sequence (check mode, real run, idempotent check, idempotent real run), then
the two failure paths: a change that would cut new SSH connections is reverted by the host itself,
and a change whose verification fails is rolled back by the role. The scenario is applied once for
the module; between the failure cases gw2's faulty ruleset is put back as it was.
"""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest

from lab import labctl
from lab import scenario as scenarios

from _role_runner import RoleRunner

GW = "gw2"
CONF = "/etc/nftables.conf"
PLAYBOOK = """\
- name: vpnops.ikev2.firewall under test
  hosts: "{{ target }}"
  gather_facts: false
  roles:
    - role: vpnops.ikev2.firewall
"""


def _sha(lab, host=GW):
    return lab.sh(host, f"sha256sum {CONF}").split()[0]


def _live(lab, host=GW):
    return lab.sh(host, "nft list chain inet filter input")


def _fresh_ssh_works(lab, host=GW):
    """A brand-new ssh connection (no ControlMaster) from the controller runs `true`."""
    proc = subprocess.run(
        ["ssh", "-o", "ControlPath=none", "-o", "ControlMaster=no", "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=5", "-o", f"UserKnownHostsFile={labctl.KNOWN_HOSTS}",
         "-o", "StrictHostKeyChecking=yes", "-i", labctl.SSH_KEY, f"root@{lab.topo.hosts[host].mgmt_addr}", "true"],
        capture_output=True, text=True, timeout=30, check=False)
    return proc.returncode == 0


@pytest.fixture(scope="module")
def fault(lab, tmp_path_factory):
    lab.apply(scenarios.load("udp4500_blocked", lab.topo))
    # What earlier runs of the role left on the host (state dir, backups) does not survive a lab reset.
    lab.sh(GW, f"rm -rf /var/lib/vpnops-ikev2/firewall {CONF}.*~")
    original = lab.sh(GW, f"cat {CONF}")
    state = {"lab": lab, "run": RoleRunner(tmp_path_factory.mktemp("firewall"), "firewall", PLAYBOOK, GW), "original": original,
             "sha": _sha(lab), "live": _live(lab)}
    assert "udp dport 4500 drop" in original
    yield state
    lab.apply(None)


def _put_fault_back(state):
    lab = state["lab"]
    lab.sh(GW, f"cat > {CONF} <<'VPNOPS_EOF'\n{state['original']}VPNOPS_EOF\nnft -f {CONF}")
    assert _sha(lab) == state["sha"]


def _peers(lab):
    return [{"host": c.name, "child": f"{GW}-net", "remote_id": c.fqdn} for c in lab.topo.clients_of(GW)]


def test_check_mode_reports_the_change_and_touches_nothing(fault):
    lab, run = fault["lab"], fault["run"]
    res = run(check=True)
    assert res["rc"] == 0, res["out"]
    assert res["changed"] >= 1
    assert '+\t\tudp dport 4500 accept comment "vpnops.ikev2.firewall udp4500"' in res["out"]
    assert _sha(lab) == fault["sha"], "check mode changed the file"
    assert _live(lab) == fault["live"], "check mode changed the loaded ruleset"
    assert all(not lab.states()[c.name]["up"] for c in lab.topo.clients_of(GW))
    assert run.records() == []


def test_real_run_opens_udp4500_and_the_clients_carry_traffic(fault):
    lab, run = fault["lab"], fault["run"]
    res = run(firewall_revert_timeout=60, firewall_verify_peers=_peers(lab))
    assert res["rc"] == 0, res["out"]
    assert res["changed"] >= 1
    text = lab.sh(GW, f"cat {CONF}")
    hook = text.index("hook input")
    assert hook < text.index('udp dport 4500 accept comment "vpnops.ikev2.firewall udp4500"') < text.index("udp dport 4500 drop")
    states = lab.states()
    gw = lab.topo.hosts[GW]
    for client in lab.topo.clients_of(GW):
        assert states[client.name]["up"], f"{client.name} did not come back:\n{states[client.name]['sas']}"
        before = lab.child_bytes(client.name)
        out = lab.sh(client.name, f"ping -c 3 -i 0.2 -W 2 {gw.protected_addr}", check=False)
        assert " 0% packet loss" in out, out
        assert lab.child_bytes(client.name)[1] > before[1]
    (record,) = run.records()
    assert record["role"] == "vpnops.ikev2.firewall" and record["host"] == GW
    assert record["verification"]["passed"] is True
    assert record["finding"]["dropped"] == ["udp4500"]
    backup = record["backup"]["path"]
    assert backup.startswith(CONF + ".")
    assert lab.sh(GW, f"sha256sum {backup}").split()[0] == fault["sha"], "the backup is not the original file"
    assert not re.search(r"^revert-pending-.*~$", lab.sh(GW, "ls /var/lib/vpnops-ikev2/firewall"), re.M), \
        "the revert job was left armed"


def test_idempotent_check_mode(fault):
    res = fault["run"](check=True)
    assert res["rc"] == 0, res["out"]
    assert res["changed"] == 0, res["out"]


def test_idempotent_real_run(fault):
    sha = _sha(fault["lab"])
    res = fault["run"]()
    assert res["rc"] == 0, res["out"]
    assert res["changed"] == 0, res["out"]
    assert _sha(fault["lab"]) == sha
    assert len(fault["run"].records()) == 1, "a run that changed nothing wrote an audit record"


def test_a_change_that_cuts_new_ssh_connections_is_reverted_by_the_host(fault):
    lab, run = fault["lab"], fault["run"]
    _put_fault_back(fault)
    res = run(__firewall_test_drop_ssh=True, firewall_revert_timeout=10, firewall_reachability_timeout=3,
              firewall_reachability_retries=1)
    assert res["rc"] != 0 and res["failed"] == 1, res["out"]
    assert "firewall change rolled back (host revert job" in res["out"]
    assert "no answer from" in res["out"]
    assert _sha(lab) == fault["sha"], "the ruleset file was not restored byte for byte"
    assert _live(lab) == fault["live"], "the restored ruleset is not the one loaded"
    assert _fresh_ssh_works(lab), "a fresh SSH login fails after the revert"
    assert re.search(r"^revert-pending-.*~\.reverted$", lab.sh(GW, "ls /var/lib/vpnops-ikev2/firewall"), re.M)
    record = run.records()[-1]
    assert record["verification"]["passed"] is False
    assert record["verification"]["reverted_by"] == "host revert job"


def test_a_change_whose_verification_fails_is_rolled_back(fault):
    lab, run = fault["lab"], fault["run"]
    _put_fault_back(fault)
    peers = [{"host": lab.topo.clients_of(GW)[0].name, "child": "no-such-child"}]
    res = run(firewall_verify_peers=peers, firewall_verify_timeout=5)
    assert res["rc"] != 0 and res["failed"] == 1, res["out"]
    assert "firewall change rolled back (role rescue" in res["out"]
    assert "CHILD_SA config 'no-such-child' not found" in res["out"]
    assert _sha(lab) == fault["sha"], "the ruleset file was not restored byte for byte"
    assert _live(lab) == fault["live"], "nftables does not run the old ruleset"
    assert "vpnops.ikev2.firewall" not in _live(lab)
    record = run.records()[-1]
    assert record["verification"]["passed"] is False and record["verification"]["rolled_back"] is True
    assert hashlib.sha256(fault["original"].encode()).hexdigest() == fault["sha"]


def test_two_firewalls_filtering_input_is_refused_until_one_is_named(fault):
    lab, run = fault["lab"], fault["run"]
    _put_fault_back(fault)
    # iptables (nft backend) with an INPUT rule beside /etc/nftables.conf's input chain.
    lab.sh(GW, "iptables -A INPUT -p tcp --dport 9 -j ACCEPT")
    try:
        res = run()
        assert res["rc"] != 0, res["out"]
        assert "cannot tell which firewall to change: nftables and iptables" in res["out"]
        assert _sha(lab) == fault["sha"]
        res = run(firewall_provider="nftables", firewall_revert_timeout=60)
        assert res["rc"] == 0 and res["changed"] >= 1, res["out"]
    finally:
        lab.sh(GW, "iptables -D INPUT -p tcp --dport 9 -j ACCEPT", check=False)


@pytest.fixture(scope="module")
def esp_fault(fault):
    """esp_blocked (gw1 does not admit ESP), after the udp4500 cases."""
    lab = fault["lab"]
    lab.apply(scenarios.load("esp_blocked", lab.topo))
    lab.sh("gw1", f"rm -rf /var/lib/vpnops-ikev2/firewall {CONF}.*~")
    return {"lab": lab, "sha": _sha(lab, "gw1")}


def test_esp_blocked_is_opened_and_the_clients_stay_up(esp_fault, fault):
    lab, run = esp_fault["lab"], fault["run"]
    clients = lab.topo.clients_of("gw1")
    res = run(target="gw1", check=True)
    assert res["rc"] == 0 and res["changed"] >= 1, res["out"]
    assert _sha(lab, "gw1") == esp_fault["sha"]
    peers = [{"host": c.name, "child": "gw1-net", "remote_id": c.fqdn} for c in clients]
    res = run(target="gw1", firewall_revert_timeout=60, firewall_verify_peers=peers)
    assert res["rc"] == 0 and res["changed"] >= 1, res["out"]
    assert 'meta l4proto esp accept comment "vpnops.ikev2.firewall esp"' in _live(lab, "gw1")
    states = lab.states()
    assert all(states[c.name]["up"] for c in clients)
    assert run.records()[-1]["finding"]["dropped"] == ["esp"]
    res = run(target="gw1")
    assert res["rc"] == 0 and res["changed"] == 0, res["out"]

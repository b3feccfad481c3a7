"""Topology and scenario files: every scenario validates, and every mistake gets a one-line
error naming the file, the field and what is allowed (no lab needed)."""

from __future__ import annotations

import os

import pytest

from lab import scenario as scenarios, topology
from lab.errors import LabError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULT = os.path.join(REPO, "lab", "topologies", "default.yml")


@pytest.fixture(scope="module")
def topo():
    return topology.load(DEFAULT)


def test_default_topology_has_the_promised_fleet(topo):
    gws = topo.by_role("gateway")
    assert [g.daemon for g in gws].count("strongswan") == 2 and [g.daemon for g in gws].count("libreswan") == 1
    clients = topo.by_role("client")
    assert len(clients) >= 5
    assert sum(1 for c in clients if topo.hosts[c.gateway].daemon == "strongswan") >= 4
    assert any(c.behind for c in clients) and any(c.auth == "psk" for c in clients)
    assert topo.by_role("infra") and topo.by_role("nat")
    addrs = [h.mgmt_addr for h in topo.hosts.values()]
    assert len(set(addrs)) == len(addrs)


def test_fleet_topology_scales_to_100_hosts():
    topo = topology.load(os.path.join(REPO, "lab", "topologies", "fleet100.yml"))
    assert len(topo.hosts) >= 100
    data = [h.data_addr for h in topo.hosts.values() if h.role != "client" or not h.behind]
    assert len(set(data)) == len(data)


@pytest.mark.parametrize("name", scenarios.names())
def test_every_scenario_file_validates(topo, name):
    scen = scenarios.load(name, topo)
    assert scen["description"]
    if name.startswith("healthy"):
        assert scen["expected"] == [], "a healthy fleet has no finding"
    else:
        assert scen["faults"] and scen["expected"]


def test_compound_scenarios_name_two_faults_on_different_hosts(topo):
    compound = [scenarios.load(n, topo) for n in scenarios.names() if n.startswith("compound_")]
    assert len(compound) >= 3
    for scen in compound:
        assert len({e["host"] for e in scen["expected"]}) >= 2


@pytest.mark.parametrize("text, message", [
    ("gateways: []\n", "gateways: empty; at least one gateway is needed"),
    ("gateways:\n  - {name: gw1, daemon: openswan}\n",
     "gateways[0].daemon: 'openswan' is not allowed; allowed: strongswan, libreswan"),
    ("gateways:\n  - {name: gw1}\nclients:\n  - {name: cl1, gateway: gw9}\n",
     "clients[0].gateway: 'gw9' is not a gateway of this topology; gateways: gw1"),
    ("gateways:\n  - {name: gw1}\nclients:\n  - {name: cl1, gateway: gw1, auth: eap}\n",
     "clients[0].auth: 'eap' is not allowed; allowed: cert, psk"),
    ("gateways:\n  - {name: GW1}\n", "gateways[0].name: 'GW1' is not a host name"),
    ("gateways:\n  - {name: gw1, colour: red}\n", "gateways[0].colour: unknown field; allowed: name, daemon"),
    ("gateways: [\n", "not valid YAML"),
    ("generate: {gateways: -1}\n", "generate.gateways: got -1; expected a whole number >= 0"),
])
def test_topology_mistakes_name_file_field_and_allowed(tmp_path, text, message):
    path = tmp_path / "topo.yml"
    path.write_text(text)
    with pytest.raises(LabError) as err:
        topology.load(str(path))
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("faults: []\n", "expected: expected a list of {category, host}"),
    ("faults: [{fault: melt, host: gw1}]\nexpected: []\n", "faults[0].fault: 'melt' is not a fault; faults: clock_offset"),
    ("faults: [{fault: clock_offset, host: gw9, seconds: 1}]\nexpected: []\n", "faults[0].host: 'gw9' is not a host"),
    ("faults: [{fault: clock_offset, host: cl1, seconds: soon}]\nexpected: []\n",
     "faults[0].seconds: got 'soon'; expected int"),
    ("faults: [{fault: firewall_drop, host: gw1, port: udp53}]\nexpected: []\n",
     "faults[0].port: 'udp53' is not allowed; allowed: udp500, udp4500, esp"),
    ("faults: [{fault: psk, host: gw1, value: x}]\nexpected: []\n", "faults[0].host: 'gw1' is a gateway; this applies to: client"),
    ("faults: []\nexpected: [{category: clock_drift, host: cl1}]\n", "expected[0].category: 'clock_drift' is not a category"),
    ("faults: []\nexpected: []\ncolour: red\n", "colour: unknown field"),
])
def test_scenario_mistakes_name_file_field_and_allowed(tmp_path, topo, text, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(LabError) as err:
        scenarios.load(str(path), topo)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_docstring_examples_run():
    import doctest
    result = doctest.testmod(topology)
    assert result.attempted and not result.failed

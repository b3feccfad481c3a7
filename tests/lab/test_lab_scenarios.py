"""Every scenario on the running lab: the faulty pair fails the way the real daemon fails, every
other pair stays up. Scenarios are applied one after the other on one lab."""

from __future__ import annotations

import re
import time

import pytest

from lab import scenario as scenarios


def _strongswan_client(lab, client: str) -> bool:
    return lab.topo.hosts[lab.topo.hosts[client].gateway].daemon == "strongswan"


@pytest.mark.parametrize("name", scenarios.names())
def test_scenario_breaks_exactly_its_tunnels(lab, name):
    scen = scenarios.load(name, lab.topo)
    states = lab.apply(scen)
    for client, state in states.items():
        if client in scen["tunnels_either"] or not _strongswan_client(lab, client):
            continue
        if client in scen["tunnels_down"]:
            assert not state["up"], f"{name}: {client}'s tunnel is up, the fault did not take"
        else:
            assert state["up"], f"{name}: {client}'s tunnel should be up:\n{state['log'][-3000:]}"
    if scen["tunnels_either"]:
        assert not all(states[c]["up"] for c in scen["tunnels_either"]), f"{name}: no tunnel was refused"
    for sig in scen["signatures"]:
        # pluto writes its log through stdio: give a line a moment to reach the file.
        deadline = time.monotonic() + 5
        while not re.search(sig["log"], lab.log(sig["host"])) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert re.search(sig["log"], lab.log(sig["host"])), f"{name}: {sig['host']} never logged /{sig['log']}/"


def test_healthy_reset_brings_every_tunnel_back(lab):
    states = lab.apply(None)
    down = [c for c, s in states.items() if not s["up"] and _strongswan_client(lab, c)]
    assert not down, f"still down after reset: {down}"

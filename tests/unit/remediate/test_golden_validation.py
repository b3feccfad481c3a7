"""The golden configuration (ikev2_golden) is checked on the controller before playbooks/enforce.yml
touches any host: every problem is an error naming the key (plugin_utils/approval.validate_golden)."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import approval
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.approval import ApprovalError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GROUPS = ["all", "ungrouped", "gateways", "clients", "infra_servers", "nat_routers"]
GOLDEN = {
    "ike_proposals": ["aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp256"],
    "esp_proposals": ["aes256gcm16", "aes256-sha256"],
    "ca_subjects": ["C=CH, O=vpnops lab, CN=vpnops lab Root CA"],
    "firewall_openings": {"gateways": ["udp500", "udp4500", "esp"], "clients": []},
    "ntp_servers": ["infra.lab", "198.19.0.11", "2001:db8::123", "ntp1.example.org."],
    "ntp_server_options": "iburst minpoll 4 maxpoll 6",
    "connections": {"gw-cl1": {"dpd_delay": "30s"}},
}


def golden(**changes):
    g = copy.deepcopy(GOLDEN)
    for key, value in changes.items():
        if value is None:
            g.pop(key, None)
        else:
            g[key] = value
    return g


def error(g, groups=GROUPS, deny=()):
    with pytest.raises(ApprovalError) as exc:
        approval.validate_golden(g, deny, groups=groups)
    return str(exc.value)


def test_a_complete_golden_configuration_passes():
    g = golden()
    assert approval.validate_golden(g, ["3des", "md5"], groups=GROUPS) == g


def test_the_lab_golden_configuration_passes():
    """The inventory's own ikev2_golden and deny list (what enforce.yml validates on the lab)."""
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "golden.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert approval.validate_golden(data["ikev2_golden"], data["ikev2_golden_deny"], groups=GROUPS)
    assert set(data["ikev2_golden"]) >= {"ike_proposals", "esp_proposals", "ca_subjects", "firewall_openings",
                                         "ntp_servers"}


def test_unknown_key_is_named_with_a_suggestion():
    msg = error(golden(ntp_server=["infra.lab"]))
    assert msg.startswith("ikev2_golden: unknown key 'ntp_server' (did you mean 'ntp_servers'?)")
    assert "the keys are: ca_subjects, connections, esp_proposals, firewall_openings" in msg


def test_unknown_key_without_a_close_match():
    msg = error(golden(lifetime="8h"))
    assert "unknown key 'lifetime';" in msg and "did you mean" not in msg


def test_unknown_firewall_opening():
    msg = error(golden(firewall_openings=["udp500", "udp4501"]))
    assert "firewall_openings: unknown opening 'udp4501'; the openings are: udp500, udp4500, esp" in msg


def test_unknown_firewall_opening_in_a_group():
    msg = error(golden(firewall_openings={"gateways": ["udp500", "ah"]}))
    assert "firewall_openings.gateways: unknown opening 'ah'" in msg


def test_firewall_group_not_in_the_inventory():
    msg = error(golden(firewall_openings={"gatways": ["udp500"]}))
    assert "firewall_openings names the group 'gatways', which is not in the inventory (did you mean 'gateways'?)" in msg


def test_firewall_groups_unchecked_without_an_inventory():
    approval.validate_golden(golden(firewall_openings={"anything": ["esp"]}), groups=None)


@pytest.mark.parametrize("value", ["udp500", 500, {"gateways": "esp"}])
def test_firewall_openings_shape(value):
    assert "firewall_openings" in error(golden(firewall_openings=value))
    assert "must be a list of openings" in error(golden(firewall_openings=value))


@pytest.mark.parametrize("server, why", [
    ("infra.lab iburst", "has a space (server options go in ikev2_golden.ntp_server_options)"),
    ("", "is empty or not text"),
    (123, "is empty or not text"),
    ("198.19.0.300", "is not a valid IPv4 address"),
    ("ntp://infra.lab", "is neither a host name nor a valid IPv6 address"),
    ("infra.lab:123", "is neither a host name nor a valid IPv6 address"),
    ("-infra.lab", "is not a valid host name"),
    ("infra..lab", "is not a valid host name"),
    ("infra_lab", "is not a valid host name"),
])
def test_malformed_ntp_server(server, why):
    msg = error(golden(ntp_servers=["infra.lab", server]))
    assert "ntp_servers: %r %s" % (server, why) in msg


@pytest.mark.parametrize("value", [[], "infra.lab", None])
def test_ntp_servers_shape(value):
    if value is None:
        g = golden(ntp_servers=None)
        assert "ntp_server_options is set but ntp_servers is not" in error(g)
    else:
        assert "ntp_servers must be a non-empty list" in error(golden(ntp_servers=value))


@pytest.mark.parametrize("options", ["iburst\nserver evil.example", "iburst # comment", 4])
def test_malformed_ntp_server_options(options):
    assert "ntp_server_options must be one line of server options" in error(golden(ntp_server_options=options))


def test_ca_subjects():
    assert "ca_subjects: 'vpnops lab Root CA' is not a distinguished name" in error(
        golden(ca_subjects=["vpnops lab Root CA"]))
    assert "ca_subjects must be a list" in error(golden(ca_subjects="CN=Root"))


def test_connections_content_is_left_to_its_role():
    approval.validate_golden(golden(connections=[{"name": "x"}]), groups=GROUPS)
    assert "connections must be a mapping or a list" in error(golden(connections="gw-cl1"))


def test_every_problem_is_reported_at_once():
    msg = error(golden(ntp_server=["x"], firewall_openings=["udp50"], esp_proposals=["aes256-sha257"]))
    for part in ("unknown key 'ntp_server'", "unknown opening 'udp50'", "unknown algorithm 'sha257'"):
        assert part in msg


def test_denied_algorithm_still_names_the_deny_list():
    assert "esp_proposals '3des-sha256': '3des' is on the deny list (ikev2_golden_deny)" in error(
        golden(esp_proposals=["3des-sha256"]), deny=["3des"])


def test_not_a_mapping():
    with pytest.raises(ApprovalError, match="must be a mapping"):
        approval.validate_golden(["ike_proposals"])


def test_golden_openings_per_group():
    g = golden(firewall_openings={"gateways": ["udp500", "esp"], "nat_routers": ["udp4500", "esp"], "clients": []})
    assert approval.golden_openings(g, ["gateways", "nat_routers"]) == (["udp500", "esp", "udp4500"],
                                                                          ["gateways", "nat_routers"])
    assert approval.golden_openings(g, ["clients"]) == ([], ["clients"])
    assert approval.golden_openings(g, ["infra_servers"]) == ([], [])
    assert approval.golden_openings(golden(firewall_openings=["esp"]), ["clients"]) == (["esp"], [])


def test_proposals_go_together():
    assert "ike_proposals and esp_proposals go together (vpnops.ikev2.proposals sets both); esp_proposals is missing" in error(
        golden(esp_proposals=None))
    assert "ike_proposals is missing" in error(golden(ike_proposals=None))
    approval.validate_golden(golden(ike_proposals=None, esp_proposals=None), groups=GROUPS)

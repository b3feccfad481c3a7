"""Firewall verdicts per address family (nftables ip/ip6/inet, ip6tables-save) and firewalld
(zones, services, ports, protocols, rich rules), on real captured rulesets and firewalld's own
files and output (tests/fixtures/gather/firewalld/NOTE.md, tests/fixtures/gather/firewall_v6/NOTE.md)."""

from __future__ import annotations

import json

import pytest

from _gather_helpers import FIXTURES, fixture_text

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import firewall

V6 = FIXTURES / "firewall_v6"
FWD = "firewalld/"
ALL_ACCEPT = {"udp500": "accept", "udp4500": "accept", "esp": "accept"}


def _have(name):
    return (V6 / name).exists() and (V6 / name).stat().st_size > 0


# ------------------------------------------------------------------ nftables per family

def test_lab_ruleset_admits_esp_over_ipv4_only():
    # the lab's own /etc/nftables.conf (table inet filter, policy drop): "ip protocol esp accept"
    # matches IPv4 only, so IPv6 ESP meets the policy
    doc = fixture_text("lab/gw1-nft.json")
    v4, _w4, _u4 = firewall.evaluate_nft(doc, "ipv4")
    v6, w6, _u6 = firewall.evaluate_nft(doc, "ipv6")
    assert v4 == ALL_ACCEPT
    assert v6 == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert "policy drop" in w6["esp"]
    # the default stays IPv4
    assert firewall.evaluate_nft(doc)[0] == v4


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="ipv4 or ipv6"):
        firewall.NftRuleset({"nftables": []}, "ipx")


def test_ip6_table_is_not_met_by_ipv4_and_ip_table_not_by_ipv6():
    doc = {"nftables": [
        {"chain": {"family": "ip6", "table": "f6", "name": "in", "hook": "input", "type": "filter", "prio": 0,
                   "policy": "drop"}},
        {"chain": {"family": "ip", "table": "f4", "name": "in", "hook": "input", "type": "filter", "prio": 0,
                   "policy": "accept"}},
        {"rule": {"family": "ip6", "table": "f6", "chain": "in", "handle": 4, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "nexthdr"}}, "right": "esp"}},
            {"accept": None}]}},
    ]}
    assert firewall.evaluate_nft(doc, "ipv4")[0] == ALL_ACCEPT
    v6, why, _u = firewall.evaluate_nft(doc, "ipv6")
    assert v6 == {"udp500": "drop", "udp4500": "drop", "esp": "accept"}
    assert "ip6 f6/in rule 4" in why["esp"]


@pytest.mark.skipif(not _have("ip6tables-nft.json"), reason="lab capture not present")
def test_lab_capture_ip6tables_rules_seen_by_nft():
    doc = (V6 / "ip6tables-nft.json").read_text()
    assert firewall.evaluate_nft(doc, "ipv4")[0] == ALL_ACCEPT
    v6, why, _u = firewall.evaluate_nft(doc, "ipv6")
    # inet filter admits UDP 500/4500 for both families; IPv6 ESP is dropped by inet filter's
    # policy already (only "ip protocol esp" is admitted); ip6tables' ip6 filter table drops it too
    assert v6 == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert why["esp"] == "inet filter/input policy drop"
    assert why["udp500"] == "ip6 filter/INPUT rule 2: accept"       # both tables passed


def test_lab_capture_healthy_matches_the_committed_lab_ruleset():
    a = json.loads((V6 / "healthy-nft.json").read_text())
    b = json.loads(fixture_text("lab/gw1-nft.json"))
    strip = lambda d: [{k: {kk: vv for kk, vv in v.items() if kk != "handle"} for k, v in i.items()}  # noqa: E731
                       for i in d["nftables"] if "metainfo" not in i]
    assert strip(a) == strip(b)


@pytest.mark.skipif(not _have("inet-v6-nft.json"), reason="lab capture not present")
def test_lab_capture_inet_rules_for_ipv6():
    doc = (V6 / "inet-v6-nft.json").read_text()
    v4 = firewall.evaluate_nft(doc, "ipv4")[0]
    v6, why, _u = firewall.evaluate_nft(doc, "ipv6")
    assert v4 == ALL_ACCEPT
    # the IPv6 reject of UDP 4500 comes after "udp dport 4500 accept": shadowed
    assert v6 == ALL_ACCEPT
    assert why["esp"] == "inet filter/input rule 13: accept"
    assert why["udp4500"] == "inet filter/input rule 10: accept"


@pytest.mark.skipif(not _have("ip6tables-save.rules"), reason="lab capture not present")
def test_lab_capture_ip6tables_save():
    v, why, _u = firewall.evaluate_iptables((V6 / "ip6tables-save.rules").read_text(), "ipv6")
    assert v == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert why["esp"].startswith("ip6tables filter/INPUT rule 3")


def test_ip6tables_any_address_matches():
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -s ::/0 -p udp -m udp --dport 500 -j ACCEPT\nCOMMIT\n"
    v, _w, unc = firewall.evaluate_iptables(text, "ipv6")
    assert v == {"udp500": "accept", "udp4500": "drop", "esp": "drop"} and not unc


# ------------------------------------------------------------------ firewalld

def test_shipped_zones_parse_with_their_targets():
    zones = firewall.parse_firewalld_zones(fixture_text(FWD + "list-all-zones-shipped.txt"))
    assert {"block", "dmz", "drop", "public", "trusted", "internal", "work"} <= set(zones)
    assert zones["drop"]["target"] == "DROP" and zones["block"]["target"] == "%%REJECT%%"
    assert zones["trusted"]["target"] == "ACCEPT"
    assert zones["public"]["services"] == ["dhcpv6-client", "ssh"]
    assert fixture_text(FWD + "get-default-zone.txt").strip() == "public"


def test_shipped_default_zone_rejects_ike():
    zones = firewall.parse_firewalld_zones(fixture_text(FWD + "list-all-zones-shipped.txt"))
    res, _per, used, default = firewall.evaluate_firewalld(zones, "public")
    assert used == ["public"] and default == "public"
    for fam in firewall.FAMILIES:
        v, why, _u = res[fam]
        assert v == {"udp500": "reject", "udp4500": "reject", "esp": "reject"}
        assert why["esp"] == "firewalld zone public target default"


@pytest.mark.parametrize("target,verdict", [("drop", "drop"), ("block", "reject"), ("trusted", "accept")])
def test_shipped_zone_files_targets(target, verdict):
    zone = firewall.parse_firewalld_zone_xml(fixture_text(FWD + "zone-shipped-%s.xml" % target))
    assert firewall.evaluate_firewalld_zone(zone, target, "esp", "ipv4")[0] == verdict


def test_service_xml_ipsec_has_esp_as_a_protocol():
    svc = firewall.parse_firewalld_service_xml(fixture_text(FWD + "service-ipsec.xml"))
    assert svc == {"ports": ["500/udp", "4500/udp", "4500/tcp"], "protocols": ["ah", "esp"]}
    assert svc == firewall.FIREWALLD_SERVICES["ipsec"]


def test_ipv4_open_ipv6_drops_esp():
    zones = firewall.parse_firewalld_zones(fixture_text(FWD + "list-all-zones-v6-esp-drop.txt"))
    services = {"ipsec": firewall.parse_firewalld_service_xml(fixture_text(FWD + "service-ipsec.xml"))}
    res, per_zone, used, _d = firewall.evaluate_firewalld(zones, "public", services)
    assert used == ["public"]
    assert res["ipv4"][0] == ALL_ACCEPT
    assert res["ipv4"][1]["esp"] == "firewalld zone public service ipsec"
    assert res["ipv6"][0] == {"udp500": "accept", "udp4500": "reject", "esp": "drop"}
    assert res["ipv6"][1]["esp"] == 'firewalld zone public rich rule: rule family="ipv6" protocol value="esp" drop'
    assert per_zone["public"]["ipv6"]["esp"] == "drop"


def test_zone_file_and_list_all_agree():
    from_list = firewall.parse_firewalld_list_all(fixture_text(FWD + "list-all-v6-esp-drop.txt"))
    from_xml = firewall.parse_firewalld_zone_xml(fixture_text(FWD + "zone-public-v6-esp-drop.xml"))
    assert from_list["zone"] == "public"
    assert sorted(from_list["services"]) == sorted(from_xml["services"])
    assert from_list["rich_rules"] == from_xml["rich_rules"]
    for fam in firewall.FAMILIES:
        for pkt in firewall.PACKETS:
            assert firewall.evaluate_firewalld_zone(from_list, "public", pkt, fam)[0] == \
                firewall.evaluate_firewalld_zone(from_xml, "public", pkt, fam)[0]


def test_interface_zones_that_disagree_give_unknown_and_source_zones_are_uncertain():
    zones = firewall.parse_firewalld_zones(fixture_text(FWD + "list-all-zones-iface-zones.txt"))
    assert zones["dmz"]["active"] and zones["dmz"]["interfaces"] == ["eth0"]
    res, per_zone, used, _d = firewall.evaluate_firewalld(zones, "public")
    assert used == ["dmz", "internal"]
    v, why, unc = res["ipv4"]
    assert v == {"udp500": "unknown", "udp4500": "unknown", "esp": "unknown"}
    assert "disagree" in why["esp"] and "internal protocol esp" in why["esp"]
    assert per_zone["internal"]["ipv6"] == ALL_ACCEPT
    assert per_zone["dmz"]["ipv4"]["udp500"] == "reject"
    assert any("work is bound to sources 192.0.2.0/24" in u for u in unc["udp500"])


def test_rich_rule_priorities_and_zone_target():
    zones = firewall.parse_firewalld_zones(fixture_text(FWD + "list-all-zones-priority.txt"))
    res, _per, _used, _d = firewall.evaluate_firewalld(zones, "public")
    # priority -10 drops IPv4 ESP before the ipsec service admits it
    assert res["ipv4"][0] == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert "priority=\"-10\"" in res["ipv4"][1]["esp"]
    assert res["ipv6"][0] == ALL_ACCEPT
    zone = firewall.parse_firewalld_zone_xml(fixture_text(FWD + "zone-public-priority.xml"))
    zone["services"] = []        # without the service: the priority 5 rule, then the target DROP
    assert firewall.evaluate_firewalld_zone(zone, "public", "udp500", "ipv6")[:2] == (
        "accept", 'firewalld zone public rich rule: rule family="ipv6" priority="5" port port="500-501" protocol="udp" accept')
    assert firewall.evaluate_firewalld_zone(zone, "public", "udp4500", "ipv6")[0] == "drop"
    assert firewall.evaluate_firewalld_zone(zone, "public", "esp", "ipv6")[0] == "drop"


@pytest.mark.parametrize("text,expect", [
    ('rule family="ipv4" source address="192.0.2.0/24" port port="500" protocol="udp" accept',
     {"family": "ipv4", "port": "500/udp", "action": "accept", "source": {"kind": "address", "value": "192.0.2.0/24",
                                                                         "invert": False}}),
    ('rule protocol value="esp" reject type="icmp-host-prohibited"', {"protocol": "esp", "action": "reject"}),
    ('rule family="ipv6" source NOT address="2001:db8::/32" service name="ipsec" drop',
     {"service": "ipsec", "action": "drop", "source": {"kind": "address", "value": "2001:db8::/32", "invert": True}}),
    ('rule family="ipv4" masquerade', {"action": None, "other": ["masquerade"]}),
])
def test_parse_rich_rule(text, expect):
    r = firewall.parse_rich_rule(text)
    for k, v in expect.items():
        assert r[k] == v


@pytest.mark.parametrize("bad", ["family=ipv4 accept", 'rule priority="x" accept', ""])
def test_bad_rich_rule_is_a_clear_error_and_uncertain_in_a_zone(bad):
    with pytest.raises(ValueError):
        firewall.parse_rich_rule(bad)
    zone = {"target": "DROP", "services": ["ipsec"], "rich_rules": [bad]}
    v, _why, unc = firewall.evaluate_firewalld_zone(zone, "z", "esp", "ipv4")
    assert v == "accept" and unc


def test_unknown_service_without_definition_is_uncertain_not_accept():
    zone = {"target": "default", "services": ["my-vpn"], "rich_rules": []}
    v, _why, unc = firewall.evaluate_firewalld_zone(zone, "z", "udp500", "ipv4")
    assert v == "reject" and "my-vpn" in unc[0]
    svc = {"my-vpn": {"ports": ["500/udp"], "protocols": []}}
    assert firewall.evaluate_firewalld_zone(zone, "z", "udp500", "ipv4", svc)[0] == "accept"


def test_not_firewalld_xml_is_a_clear_error():
    with pytest.raises(ValueError, match="not firewalld XML"):
        firewall.parse_firewalld_service_xml("<service><port")

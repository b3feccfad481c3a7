"""The firewall section of the gather: per-family verdicts, firewalld's zones, layers that must all
admit a packet, and the top-level keys the classifier reads (rules/facts.yml) kept for IPv4 / the
tunnels' family. Commands answer from real captured output (see the fixtures' NOTE.md files)."""

from __future__ import annotations

from _gather_helpers import FIXTURES, fixture_text

import test_gather_facts as base

FWD = "firewalld/"
ALL_ACCEPT = {"udp500": "accept", "udp4500": "accept", "esp": "accept"}


def _fw(host, **params):
    return base.run(host, gather_subset=["firewall"], **params)["firewall"]


def test_lab_ruleset_reported_per_family_top_level_is_ipv4():
    host, _k = base.gateway_host(commands={("nft",): (0, fixture_text("lab/gw1-nft.json"))})
    fw = _fw(host)
    assert fw["status"] == "ok" and fw["provider"] == "nftables"
    assert fw["family"] == "ipv4"
    assert fw["verdicts"] == ALL_ACCEPT == fw["families"]["ipv4"]["verdicts"]
    assert fw["families"]["ipv6"]["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert "policy drop" in fw["families"]["ipv6"]["why"]["esp"]


def test_top_level_follows_the_tunnels_family_when_every_sa_is_ipv6():
    host, _k = base.gateway_host(commands={("nft",): (0, fixture_text("lab/gw1-nft.json"))})
    sas = fixture_text("swanctl/gw-list-sas.pretty").replace("192.0.2.2", "2001:db8::2")
    host.cmd_map[("swanctl", "--list-sas")] = (0, sas)
    facts = base.run(host, gather_subset=["sas", "firewall"])
    fw = facts["firewall"]
    assert {sa["remote_host"] for sa in facts["sas"]["ike"]} == {"2001:db8::2"}
    assert fw["family"] == "ipv6" and fw["verdicts"]["esp"] == "drop"


def _firewalld_host(zones_file, nft=None, default="public"):
    cmds = {("firewall-cmd", "--state"): (0, "running\n"),
            ("firewall-cmd", "--list-all-zones"): (0, fixture_text(FWD + zones_file)),
            ("firewall-cmd", "--get-default-zone"): (0, default + "\n")}
    if nft is not None:
        cmds[("nft",)] = nft
    host, _k = base.gateway_host(commands=cmds)
    host.files["/usr/lib/firewalld/services/ipsec.xml"] = fixture_text(FWD + "service-ipsec.xml")
    return host


def test_firewalld_zones_evaluated_per_family():
    # firewalld's own nft table is left to firewalld's zones; the ruleset's other tables still count
    host = _firewalld_host("list-all-zones-v6-esp-drop.txt", nft=(0, '{"nftables": []}'))
    fw = _fw(host)
    assert fw["provider"] == "firewalld"
    assert fw["verdicts"] == ALL_ACCEPT
    assert fw["families"]["ipv6"]["verdicts"] == {"udp500": "accept", "udp4500": "reject", "esp": "drop"}
    assert fw["firewalld"]["default_zone"] == "public" and fw["firewalld"]["zones_used"] == ["public"]
    assert fw["firewalld"]["services"]["ipsec"]["protocols"] == ["ah", "esp"]
    assert fw["why"]["esp"] == "firewalld zone public service ipsec"


def test_firewalld_and_another_nft_table_both_filter():
    # zones admit everything over IPv4, but the lab's inet table (not firewalld's) drops IPv6 ESP
    host = _firewalld_host("list-all-zones-v6-esp-drop.txt", nft=(0, fixture_text("lab/gw1-nft.json")))
    fw = _fw(host)
    assert fw["families"]["ipv4"]["verdicts"] == ALL_ACCEPT
    v6 = fw["families"]["ipv6"]
    assert v6["verdicts"] == {"udp500": "accept", "udp4500": "reject", "esp": "drop"}
    assert v6["why"]["esp"].startswith("firewalld zone public rich rule")


def test_firewalld_without_nft_or_iptables():
    host = _firewalld_host("list-all-zones-shipped.txt", nft=None)
    host.tools_missing |= {"nft", "iptables-save"}
    fw = _fw(host)
    assert fw["status"] == "ok" and fw["provider"] == "firewalld"
    assert fw["verdicts"] == {"udp500": "reject", "udp4500": "reject", "esp": "reject"}


def test_iptables_and_ip6tables_save_without_nft():
    host, _k = base.gateway_host(commands={
        ("iptables-save",): (0, fixture_text("iptables/empty.rules")),
        ("ip6tables-save",): (0, "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp -m udp --dport 500 -j ACCEPT\n"
                                 "-A INPUT -p udp -m udp --dport 4500 -j ACCEPT\nCOMMIT\n")})
    host.tools_missing.add("nft")
    fw = _fw(host)
    assert fw["provider"] == "iptables"
    assert fw["verdicts"] == ALL_ACCEPT
    assert fw["families"]["ipv6"]["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert fw["families"]["ipv6"]["why"]["esp"] == "ip6tables filter/INPUT policy DROP"
    assert "ruleset6" in fw


def test_no_firewall_tools_is_missing_not_a_failure():
    host, _k = base.gateway_host(commands={})
    host.tools_missing |= {"nft", "iptables-save", "firewall-cmd"}
    fw = _fw(host)
    assert fw["status"] == "missing" and fw["verdicts"]["esp"] == "unknown"
    assert fw["families"]["ipv6"]["verdicts"]["esp"] == "unknown"

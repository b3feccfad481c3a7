"""Parsers of tool output, on real output captured from the real tools (tests/fixtures/gather)."""

from __future__ import annotations

import doctest
import json

import pytest

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import (
    certinfo, firewall, libreswan, logwindow, strongswan, swan_conf, system, timefacts, vici_pretty)
from ansible_collections.vpnops.ikev2.plugins.action import ike_facts as action_ike_facts

from _gather_helpers import FIXTURES as FIX
from _gather_helpers import fixture_text


@pytest.mark.parametrize("mod", [certinfo, firewall, libreswan, logwindow, strongswan, swan_conf, system, timefacts,
                                 vici_pretty, action_ike_facts])
def test_docstring_examples(mod):
    res = doctest.testmod(mod)
    assert res.failed == 0


# ---------------------------------------------------------------- swanctl --pretty

def test_vici_pretty_every_captured_file_parses():
    for h in ("gw", "cl"):
        for cmd in ("list-sas", "list-conns", "list-certs", "stats", "list-pools", "version"):
            name = "swanctl/%s-%s.pretty" % (h, cmd)
            try:
                text = fixture_text(name)
            except FileNotFoundError:
                continue
            assert vici_pretty.parse_pretty(text), name


def test_vici_pretty_rejects_garbage():
    with pytest.raises(vici_pretty.ViciParseError):
        vici_pretty.parse_pretty("list-sa event {\n  what is this\n}")


def test_list_conns_gateway():
    conns = strongswan.conns_from_pretty(fixture_text("swanctl/gw-list-conns.pretty"))
    by = {c["name"]: c for c in conns}
    assert set(by) == {"rw-cert", "rw-psk"}
    rw = by["rw-cert"]
    assert rw["local_addrs"] == ["192.0.2.1"] and rw["remote_addrs"] == ["%any"]
    assert rw["version"] == "IKEv1/2" and rw["dpd_delay"] == 30 and rw["rekey_time"] == 14400
    assert rw["local"] == [{"auth": "pubkey", "id": "gw.scratch", "certs": ["C=XX, O=vpnops scratch, CN=gw.scratch"],
                            "cacerts": []}]
    assert rw["remote"][0]["cacerts"] == ["C=XX, O=vpnops scratch, CN=Scratch Root CA"]
    assert rw["children"][0]["name"] == "net"
    assert rw["children"][0]["local_ts"] == ["10.1.0.0/24"] and rw["children"][0]["remote_ts"] == ["dynamic"]
    assert by["rw-psk"]["local"][0]["auth"] == "psk"


def test_conns_merge_adds_proposals_from_swanctl_conf():
    loaded = strongswan.conns_from_pretty(fixture_text("swanctl/gw-list-conns.pretty"))
    written = strongswan.conns_from_conf(swan_conf.parse_settings(fixture_text("swanctl_conf/gw-swanctl.conf")))
    merged = {c["name"]: c for c in strongswan.merge_conns(loaded, written)}
    rw = merged["rw-cert"]
    assert rw["loaded"] and rw["written"]
    assert rw["ike_proposals"] == ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"]
    assert rw["pools"] == ["rw-pool"] and rw["encap"] is True and rw["fragmentation"] == "yes"
    assert rw["children"][0]["esp_proposals"] == ["aes256gcm16-ecp384", "aes128gcm16"]
    assert rw["children"][0]["start_action"] == "none"
    assert merged["rw-psk"]["ike_proposals"] == ["aes128-sha256-ecp256"]


def test_conns_written_but_not_loaded_are_listed():
    written = strongswan.conns_from_conf(swan_conf.parse_settings(fixture_text("swanctl_conf/cl-swanctl.conf")))
    merged = strongswan.merge_conns([], written)
    assert {c["name"] for c in merged} == {"home", "never-up"}
    assert all(c["loaded"] is False and c["written"] for c in merged)
    home = [c for c in merged if c["name"] == "home"][0]
    assert home["vips"] == ["0.0.0.0"] and home["remote_addrs"] == ["192.0.2.1"]


def test_list_sas_client_and_conns_without_sa():
    sas = strongswan.sas_from_pretty(fixture_text("swanctl/cl-list-sas.pretty"))
    assert len(sas) == 1
    sa = sas[0]
    assert (sa["name"], sa["state"], sa["remote_host"], sa["remote_port"]) == ("home", "ESTABLISHED", "192.0.2.1", 4500)
    assert sa["encr_alg"] == "AES_GCM_16" and sa["encr_keysize"] == 256 and sa["dh_group"] == "ECP_384"
    assert sa["prf_alg"] == "PRF_HMAC_SHA2_384" and sa["nat_remote"] is True and sa["initiator"] is True
    assert sa["local_vips"] == ["10.101.0.1"]
    ch = sa["children"][0]
    assert ch["state"] == "INSTALLED" and ch["protocol"] == "ESP" and ch["encap"] is True
    assert (ch["packets_out"], ch["bytes_out"], ch["packets_in"]) == (5, 640, 5)
    assert ch["spi_in"] == "dc8fb697" and ch["remote_ts"] == ["10.1.0.0/24"]
    conns = strongswan.conns_from_pretty(fixture_text("swanctl/cl-list-conns.pretty"))
    assert strongswan.conns_without_sa(conns, sas) == ["never-up"]


def test_list_sas_gateway_side_of_the_same_sa():
    gw = strongswan.sas_from_pretty(fixture_text("swanctl/gw-list-sas.pretty"))[0]
    cl = strongswan.sas_from_pretty(fixture_text("swanctl/cl-list-sas.pretty"))[0]
    assert gw["initiator_spi"] == cl["initiator_spi"] and gw["responder_spi"] == cl["responder_spi"]
    assert gw["remote_vips"] == ["10.101.0.1"] and gw["initiator"] is False
    assert gw["children"][0]["spi_in"] == cl["children"][0]["spi_out"]


def test_stats():
    st = strongswan.stats_from_pretty(fixture_text("swanctl/gw-stats.pretty"))
    assert st["ike_sas"] == 1 and st["half_open"] == 0 and st["workers"] == 16
    assert st["queued_jobs"] == 0 and st["uptime_s"] == 39 and "kernel-libipsec" in st["plugins"]


def test_list_certs_has_private_key_flag_and_der():
    certs = strongswan.certs_from_pretty(fixture_text("swanctl/gw-list-certs.pretty"))
    facts = [certinfo.cert_facts(c["der"]) for c in certs]
    flags = {f["subject"].split("CN=")[1]: c["has_privkey"] for f, c in zip(facts, certs)}
    assert flags == {"cl.scratch": False, "gw.scratch": True, "Scratch Intermediate CA": False,
                     "Scratch Root CA": False}
    raw_text = fixture_text("swanctl/gw-list-certs.raw")
    assert "has_privkey=yes" in raw_text


def test_version():
    assert strongswan.version_from_pretty(fixture_text("swanctl/gw-version.pretty")) == ("5.9.8", "charon")


# ---------------------------------------------------------------- strongswan.conf

def test_strongswan_conf_limits_and_filelog():
    st = swan_conf.parse_settings(fixture_text("strongswan_conf/gw-strongswan.conf"))
    lim = strongswan.limits_from_settings(st)
    assert lim["ikesa_limit"] == 500 and lim["init_limit_half_open"] == 100
    assert lim["retransmit_tries"] == 3 and lim["retransmit_timeout"] == 1.0
    assert strongswan.log_paths_from_settings(st) == ["/tmp/gather-scratch/gw/charon.log"]


def test_debian_logging_conf_is_all_comments():
    st = swan_conf.parse_settings(fixture_text("strongswan_conf/debian-charon-logging.conf"))
    assert strongswan.log_paths_from_settings(st) == []
    assert st["charon"]["filelog"] == {}


# ---------------------------------------------------------------- chrony

def test_chrony_tracking_client_synchronised():
    tr = timefacts.parse_chrony_tracking(fixture_text("chrony/cl-tracking.csv"))
    assert tr["reference"] == "192.0.2.1" and tr["stratum"] == 9 and tr["synchronized"] is True
    assert abs(tr["offset_s"]) < 0.001 and tr["leap_status"] == "Normal"
    human = fixture_text("chrony/cl-tracking.txt")
    assert "192.0.2.1" in human


def test_chrony_tracking_local_reference():
    tr = timefacts.parse_chrony_tracking(fixture_text("chrony/gw-tracking.csv"))
    assert tr["local_reference"] is True and tr["reference"] == "LOCAL" and tr["stratum"] == 8


def test_chrony_sources_states():
    src = timefacts.parse_chrony_sources(fixture_text("chrony/cl-sources.csv"))
    by = {s["name"]: s for s in src}
    assert by["192.0.2.1"]["state"] == "selected" and by["192.0.2.1"]["reach"] == 255
    assert by["192.0.2.77"]["state"] == "unreachable" and by["192.0.2.77"]["reach"] == 0
    assert by["192.0.2.77"]["last_rx_s"] is None


def test_chrony_no_daemon_output_is_rejected():
    with pytest.raises(ValueError):
        timefacts.parse_chrony_tracking(fixture_text("chrony/nodaemon-tracking.out"))


def test_chrony_conf_servers():
    servers, dirs = timefacts.parse_chrony_conf_servers(fixture_text("chrony/cl-chrony.conf"))
    assert [(s["type"], s["host"]) for s in servers] == [
        ("server", "192.0.2.1"), ("server", "192.0.2.77"), ("pool", "pool.scratch.invalid")]
    servers, dirs = timefacts.parse_chrony_conf_servers(fixture_text("chrony/debian-chrony.conf"))
    assert servers[0]["type"] == "pool" and "/etc/chrony/sources.d" in dirs


# ---------------------------------------------------------------- network, resources

def test_ss_listening_sockets():
    socks = system.parse_ss(fixture_text("ss/gw-uapn.txt"))
    ike = {(s["addr"], s["port"]) for s in socks if s["port"] in (500, 4500)}
    assert ike == {("0.0.0.0", 500), ("0.0.0.0", 4500), ("::", 500), ("::", 4500)}
    assert all(s["process"] == "charon" for s in socks)


def test_ip_addr_mtu():
    ifs = {i["name"]: i for i in system.parse_ip_addr(fixture_text("ip/gw-addr.json"))}
    assert ifs["sg-gw"]["mtu"] == 1400 and "192.0.2.1/24" in ifs["sg-gw"]["addrs"]
    assert "10.1.0.1/24" in ifs["lo"]["addrs"] and "ipsec0" in ifs
    links = system.parse_ip_link(fixture_text("ip/gw-link.json"))
    assert links["sg-gw"]["mtu"] == 1400 and links["sg-gw"]["kind"] in (None, "veth")


def test_proc():
    la = system.parse_loadavg(fixture_text("proc/loadavg"))
    assert set(la) == {"1m", "5m", "15m", "running", "threads"}
    mem = system.parse_meminfo(fixture_text("proc/meminfo"))
    assert mem["total_kb"] > 0 and "available_kb" in mem


# ---------------------------------------------------------------- NSS certutil

def test_certutil_list_and_keys():
    listed = libreswan.parse_certutil_list(fixture_text("certutil/list.txt"))
    assert listed == [{"nickname": "Scratch Root CA", "trust": "CT,C,C"}, {"nickname": "gw.scratch", "trust": "P,,"}]
    assert libreswan.parse_certutil_keys(fixture_text("certutil/keys.txt")) == []
    ders = certinfo.certs_from_blob((FIX / "certutil/gw.scratch.pem").read_bytes())
    assert certinfo.cert_facts(ders[0])["subject"].endswith("CN=gw.scratch")


def test_certutil_keys_line_format():
    text = ('certutil: Checking token "NSS Certificate DB" in slot "NSS User Private Key and Certificate Services"\n'
            '< 0> rsa      0a1b2c3d4e5f60718293a4b5c6d7e8f901234567   NSS Certificate DB:gw3.lab\n')
    assert libreswan.parse_certutil_keys(text) == ["gw3.lab"]


# ---------------------------------------------------------------- certificates

def _pki():
    out = []
    for name in ("gw.crt", "int.crt", "root.crt", "cl.crt"):
        for der in certinfo.certs_from_blob((FIX / "pki" / name).read_bytes()):
            out.append(certinfo.cert_facts(der, "pki/" + name))
    return out




def test_cert_facts_fields():
    by = {c["subject"].split("CN=")[1]: c for c in _pki()}
    gw = by["gw.scratch"]
    assert gw["issuer"] == "C=XX, O=vpnops scratch, CN=Scratch Intermediate CA"
    assert gw["sans"] == ["gw.scratch", "192.0.2.1"] and gw["eku"] == ["serverAuth", "ikeIntermediate"]
    assert (gw["key_type"], gw["key_size"], gw["is_ca"]) == ("ECDSA", 256, False)
    assert gw["not_before"].endswith("Z") and gw["not_after"] > gw["not_before"]
    cl = by["cl.scratch"]
    assert (cl["key_type"], cl["key_size"], cl["eku"]) == ("RSA", 2048, ["clientAuth"])
    inter = by["Scratch Intermediate CA"]
    assert inter["is_ca"] and inter["path_len"] == 0 and inter["crl_dps"] == ["http://crl.scratch.invalid/int.crl"]
    assert "key_cert_sign" in inter["key_usage"] and "crl_sign" in inter["key_usage"]
    assert by["Scratch Root CA"]["self_signed"] is True


def test_chain_complete_and_missing_intermediate_named():
    certs = _pki()
    chains = {c["leaf"].split("CN=")[1]: c for c in certinfo.build_chains(certs)}
    assert chains["gw.scratch"]["complete"] and chains["gw.scratch"]["root"].endswith("CN=Scratch Root CA")
    assert len(chains["gw.scratch"]["path"]) == 3
    without = [c for c in certs if "Intermediate" not in c["subject"]]
    broken = {c["leaf"].split("CN=")[1]: c for c in certinfo.build_chains(without)}
    assert broken["gw.scratch"]["complete"] is False
    assert broken["gw.scratch"]["missing"] == "C=XX, O=vpnops scratch, CN=Scratch Intermediate CA"
    no_root = [c for c in certs if "Root" not in c["subject"]]
    chain = {c["leaf"].split("CN=")[1]: c for c in certinfo.build_chains(no_root)}["cl.scratch"]
    assert chain["complete"] is False and chain["missing"] == "C=XX, O=vpnops scratch, CN=Scratch Root CA"
    assert chain["path"][1].endswith("CN=Scratch Intermediate CA")


def test_private_key_match_returns_only_a_hash(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    h = certinfo.private_key_spki(pem)
    assert h == certinfo.spki_sha256(key.public_key()) and len(h) == 64
    enc = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"pw"))
    assert certinfo.private_key_spki(enc) is None
    assert certinfo.private_key_spki(b"garbage\xff") is None


# ---------------------------------------------------------------- firewall

NFT_EXPECTED = {
    "drop4500": {"udp500": "accept", "udp4500": "drop", "esp": "accept"},
    "healthy": {"udp500": "accept", "udp4500": "accept", "esp": "accept"},
    "esp-goto": {"udp500": "accept", "udp4500": "reject", "esp": "drop"},
    "empty": {"udp500": "accept", "udp4500": "accept", "esp": "accept"},
    "prerouting-ingress": {"udp500": "accept", "udp4500": "drop", "esp": "drop"},
}


@pytest.mark.parametrize("name", sorted(NFT_EXPECTED))
def test_nft_verdicts(name):
    verdicts, why, uncertain = firewall.evaluate_nft(fixture_text("nft/%s.json" % name))
    assert verdicts == NFT_EXPECTED[name]
    assert uncertain == {}
    assert set(why) == {"udp500", "udp4500", "esp"}


def test_nft_why_names_the_rule():
    _v, why, _u = firewall.evaluate_nft(fixture_text("nft/drop4500.json"))
    assert why["udp4500"].startswith("inet filter/input rule")
    _v, why, _u = firewall.evaluate_nft(fixture_text("nft/esp-goto.json"))
    assert "deny_esp" in why["esp"]


def test_nft_ingress_and_prerouting_chains_decide_before_input():
    _v, why, _u = firewall.evaluate_nft(fixture_text("nft/prerouting-ingress.json"))
    assert why["udp4500"].startswith("inet raw/pre")
    assert why["esp"].startswith("netdev edge/ing") and "ingress chain" in why["esp"]


def test_nft_established_only_ruleset_drops_new_ike():
    doc = json.loads(fixture_text("nft/drop4500.json"))
    # keep only the ct state rule and the policy: a new IKE packet is not established
    doc["nftables"] = [o for o in doc["nftables"] if "rule" not in o or o["rule"]["chain"] != "input"
                       or any("ct" in json.dumps(e) for e in o["rule"]["expr"][:1])]
    v, why, _u = firewall.evaluate_nft(doc)
    assert v == {"udp500": "drop", "udp4500": "drop", "esp": "drop"}
    assert "policy drop" in why["udp500"]


def test_nft_address_match_is_uncertain_not_decisive():
    doc = {"nftables": [
        {"chain": {"family": "inet", "table": "t", "name": "in", "hook": "input", "type": "filter", "prio": 0,
                   "policy": "drop"}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 2, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
            {"accept": None}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 3, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 50}}, {"accept": None}]}},
    ]}
    v, _why, unc = firewall.evaluate_nft(doc)
    assert v == {"udp500": "drop", "udp4500": "drop", "esp": "accept"}
    assert "saddr" in unc["udp500"][0]


IPT_EXPECTED = {
    "reject4500": {"udp500": "accept", "udp4500": "reject", "esp": "accept"},
    "espdrop": {"udp500": "accept", "udp4500": "accept", "esp": "drop"},
    "empty": {"udp500": "accept", "udp4500": "accept", "esp": "accept"},
}


@pytest.mark.parametrize("name", sorted(IPT_EXPECTED))
def test_iptables_verdicts(name):
    v, why, unc = firewall.evaluate_iptables(fixture_text("iptables/%s.rules" % name))
    assert v == IPT_EXPECTED[name]
    assert unc == {}


def test_iptables_user_chain_named():
    _v, why, _u = firewall.evaluate_iptables(fixture_text("iptables/reject4500.rules"))
    assert why["udp4500"].startswith("filter/IKE rule 2")


def test_firewalld_list_all():
    text = ("public (active)\n  target: default\n  icmp-block-inversion: no\n  interfaces: eth0\n"
            "  sources: \n  services: dhcpv6-client ssh\n  ports: 500/udp\n  protocols: \n")
    info = firewall.parse_firewalld_list_all(text)
    assert info["zone"] == "public" and info["ports"] == ["500/udp"]
    assert firewall.firewalld_verdicts(info) == {"udp500": "accept", "udp4500": "reject", "esp": "reject"}


# ---------------------------------------------------------------- the lab's daemons (tests/fixtures/gather/lab)

def test_lab_libreswan_whack_status():
    conns, states, summary = libreswan.parse_whack_status(fixture_text("lab/gw3-whack-status.txt"))
    assert [c["name"] for c in conns] == ["rw-cert"]
    c = conns[0]
    assert c["local_addrs"] == ["198.19.0.15"] and c["remote_addrs"] == ["%any"] and c["instances"] == 1
    assert c["local"] == [{"id": "@gw3.lab", "auth": "ecdsa"}] and c["remote"][0]["id"] == "%fromcert"
    assert c["ike_proposals"] == ["AES_GCM_16_256-HMAC_SHA2_384-DH20"]
    assert c["children"][0]["esp_proposals"] == ["AES_GCM_16_256-NONE"]
    assert c["children"][0]["local_ts"] == ["10.3.0.0/24"]
    assert (c["dpd_delay"], c["rekey_time"], c["version"], c["encap"]) == (30, 14400, "IKEv2", True)
    assert states == [{"serial": 1, "name": "rw-cert", "instance": "1", "remote_host": "198.19.0.21", "remote_port": 4500,
                       "state": "STATE_V2_ESTABLISHED_IKE_SA", "description": "established IKE SA", "kind": "ike",
                       "established": True}]
    assert summary == {"ike_sas": 1, "half_open": 0, "open": 0, "authenticated": 1, "anonymous": 0}
    ike = libreswan.sas_from_states(states)
    assert ike[0]["name"] == "rw-cert" and ike[0]["remote_port"] == 4500 and ike[0]["children"] == []


def test_lab_libreswan_nss_keys_by_subject():
    listed = libreswan.parse_certutil_list(fixture_text("lab/gw3-certutil-list.txt"))
    assert [e["nickname"] for e in listed] == ["lab-intermediate", "lab-root", "gw3"]
    assert listed[2]["trust"] == "u,u,u"
    keys = libreswan.parse_certutil_keys(fixture_text("lab/gw3-certutil-keys.txt"))
    assert keys == ["CN=gw3.lab,OU=gateways,O=vpnops lab,C=CH"]
    assert libreswan.dn_key(keys[0]) == libreswan.dn_key("C=CH, O=vpnops lab, OU=gateways, CN=gw3.lab")


def test_lab_libreswan_globalstatus():
    stats, limits, _kv = libreswan.parse_globalstatus(fixture_text("lab/gw3-globalstatus.txt"))
    assert stats["ike_sas"] == 1 and stats["half_open"] == 0
    assert limits == {"ddos_threshold": 25000, "max_halfopen": 50000}


def test_lab_strongswan_gateway_sas_and_conns():
    sas = strongswan.sas_from_pretty(fixture_text("lab/gw1-list-sas.pretty"))
    conns = strongswan.conns_from_pretty(fixture_text("lab/gw1-list-conns.pretty"))
    assert {c["name"] for c in conns} >= {"rw-cert"}
    assert all(sa["state"] in ("ESTABLISHED", "CONNECTING", "REKEYING", "DELETING") for sa in sas)
    assert strongswan.conns_without_sa(conns, sas) == [c["name"] for c in conns if c["name"] not in {s["name"] for s in sas}]
    psk = [c for c in conns if any(r["auth"] == "psk" for r in c["local"])]
    assert psk, "the lab's PSK client connection"


def test_lab_chrony_and_nft():
    lines = fixture_text("lab/gw1-chrony.csv").splitlines()
    tr = timefacts.parse_chrony_tracking(lines[0])
    assert tr["reference"] == "198.19.0.11" and tr["synchronized"] is True
    src = timefacts.parse_chrony_sources("\n".join(lines[1:]))
    assert src[0]["state"] == "selected"
    for host in ("gw1", "gw2"):
        v, _why, _unc = firewall.evaluate_nft(fixture_text("lab/%s-nft.json" % host))
        assert v == {"udp500": "accept", "udp4500": "accept", "esp": "accept"}, host

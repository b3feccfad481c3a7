"""Engine: every rule fires on its message, correlation of both ends, causes above symptoms,
attribution to the right host, several faults, unknown when thin, quiet on healthy noise."""

from __future__ import annotations

import datetime

import pytest

from _triage_helpers import GATHER_LOGS, classify_lines

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.prefilter import Prefilter

NOW = datetime.datetime(2026, 11, 26, 23, 10, 0, tzinfo=datetime.timezone.utc)
P = "Nov 26 23:00:15 09[IKE] <c|2> "
C = "Nov 26 23:00:15 09[CFG] <c|2> "

# One real message per rule (strongSwan, libreswan and Windows wording) -> (rule, category).
SAMPLES = [
    (C + "received proposals unacceptable", "IKE-PROP-001", "proposal_mismatch"),
    (C + "no acceptable proposal found", "IKE-PROP-001", "proposal_mismatch"),
    (P + "received NO_PROPOSAL_CHOSEN notify error", "IKE-PROP-002", "proposal_mismatch"),
    ('"west" #2: IKE_AUTH response rejected Child SA with NO_PROPOSAL_CHOSEN', "IKE-PROP-002", "proposal_mismatch"),
    ('"t" #2: policy dictates Transport Mode, but peer requested Tunnel Mode', "IKE-PROP-003", "proposal_mismatch"),
    (P + "tried 1 shared key for 'gw' - 'cl', but MAC mismatched", "IKE-PSK-001", "psk_mismatch"),
    (P + "no shared key found for 'gw' - 'cl'", "IKE-PSK-002", "psk_mismatch"),
    ('"w" #1: authentication failed: no PSK found for \'@west\'', "IKE-PSK-002", "psk_mismatch"),
    (C + "subject certificate invalid (valid from Nov 20 10:00:00 2024 to Nov 20 10:00:00 2025)",
     "IKE-CERT-001", "cert_expired"),
    ('"e" #1: NSS: ERROR: IPsec certificate CN=w invalid: SEC_ERROR_EXPIRED_CERTIFICATE: Peer\'s Certificate has expired.',
     "IKE-CERT-002", "cert_expired"),
    (C + 'no issuer certificate found for "C=CH, CN=moon"', "IKE-CHAIN-001", "cert_chain_incomplete"),
    (C + "path length of 2 violates constraint of 1", "IKE-CHAIN-002", "cert_chain_incomplete"),
    ('"e" #1: NSS: ERROR: IPsec certificate CN=w invalid: SEC_ERROR_UNKNOWN_ISSUER: Peer\'s Certificate issuer is not recognized.',
     "IKE-CHAIN-003", "cert_chain_incomplete"),
    (P + "no trusted RSA public key found for 'vpn.example.com'", "IKE-CHAIN-004", "cert_chain_incomplete"),
    ("Nov 26 23:00:15 09[TLS] <c|2> no TLS public key found for server 'C=CH, CN=moon'", "IKE-CHAIN-005",
     "cert_chain_incomplete"),
    (C + "constraint check failed: identity 'vpn.example.com' required", "IKE-ID-001", "cert_identity_mismatch"),
    ('"san" #1: X509: authentication failed; peer certificate subjectAltName extension does not match FQDN \'x\'',
     "IKE-ID-002", "cert_identity_mismatch"),
    (C + "IDir 'moon' does not match to 'sun.strongswan.org'", "IKE-ID-003", "cert_identity_mismatch"),
    (C + "no matching peer config found", "IKE-ID-004", "no_matching_connection"),
    (C + "constraint requires cert policy 1.3.6.1.4.1.36906.1.1.1", "IKE-USAGE-001", "cert_usage"),
    (C + "certificate was revoked on Nov 20 10:00:00 UTC 2026, reason: key compromise", "IKE-REVOKE-001",
     "cert_revoked"),
    (C + "constraint check failed: RULE_CRL_VALIDATION is FAILED, but requires at least GOOD", "IKE-REVOKE-002",
     "cert_revoked"),
    (P + "no private key found for 'gw.example.com'", "IKE-KEY-001", "cert_missing"),
    ('"m": failed to add connection: left certificate \'west\' not found in the NSS database', "IKE-KEY-001",
     "cert_missing"),
    (P + "EAP method EAP_MSCHAPV2 failed for peer bob", "IKE-EAP-001", "eap_failure"),
    (P + "received EAP_FAILURE, EAP authentication failed", "IKE-EAP-002", "eap_failure"),
    (P + "traffic selectors 10.1.0.0/24 === 10.2.0.0/24 unacceptable", "IKE-TS-001", "ts_mismatch"),
    (P + "received TS_UNACCEPTABLE notify, no CHILD_SA built", "IKE-TS-002", "ts_mismatch"),
    (P + "no IKE config found for 192.0.2.1...198.51.100.7, sending NO_PROPOSAL_CHOSEN", "IKE-CONN-001",
     "no_matching_connection"),
    ("packet from 192.1.2.45:500: initial Main Mode message received on 192.1.2.23:500 but no connection has been "
     "authorized", "IKE-CONN-002", "no_matching_connection"),
    ("Nov 26 23:00:15 09[NET] ignoring IKE_SA setup from 198.51.100.7, half open IKE_SA count of 5 exceeds limit of 5",
     "IKE-RES-001", "resource_limit"),
    ('"r"[1] 192.1.3.209 #4: leasing IPv4 address failed: address pool exhausted', "IKE-RES-002", "resource_limit"),
    ('"w" #2: CHILD SA failed: TEMPORARY_FAILURE', "IKE-RES-003", "resource_limit"),
    ("IMPAIR: \"x509\" #1: retransmit so timing out SA (may retry)", "IKE-NET-004", "fragmentation"),
    (P + "establishing IKE_SA failed, peer not responding", "IKE-NET-005", "peer_unreachable"),
    ('ERROR: "tcp": TCP: socket XX: connecting to 192.1.2.23:4500: Connection refused (errno 111)', "IKE-NET-002",
     "udp4500_blocked"),
    ("CoId={A}: The user X dialed a connection named V which has failed. The error code returned on failure is 809.",
     "WIN-NET-809", "udp4500_blocked"),
    ("CoId={A}: The user X dialed a connection named V which has failed. The error code returned on failure is 13801.",
     "WIN-AUTH-13801", "cert_chain_incomplete"),
    ("CoId={A}: The user X dialed a connection named V which has failed. The error code returned on failure is 13868.",
     "WIN-PROP-13868", "proposal_mismatch"),
    ("CoId={A}: The user X dialed a connection named V which has failed. The error code returned on failure is 13806.",
     "WIN-CERT-13806", "cert_missing"),
    ("Remote Access error 691 - Access was denied because the username and/or password was invalid on the domain.",
     "WIN-EAP-691", "eap_failure"),
    ('"c" #1: sending notification NO_PROPOSAL_CHOSEN to 192.0.2.7:500', "IKE-PROP-001", "proposal_mismatch"),
    ("Nov 26 23:00:15 09[CFG] loading private key from '/etc/swanctl/private/gw.pem' failed", "IKE-KEY-001",
     "cert_missing"),
    ('"c" #1: we require IKEv2 peer to have ID \'@gw\', but peer declares \'@other\'', "IKE-ID-002",
     "cert_identity_mismatch"),
    (P + "unable to resolve vpn.example.invalid, initiate aborted", "IKE-NET-005", "peer_unreachable"),
    ('"c" #1: max number of retransmissions (2) reached STATE_MAIN_I1.  No response (or no acceptable response) '
     'to our first IKE message', "IKE-NET-005", "peer_unreachable"),
    (P + "received INVALID_ID_INFORMATION error notify", "IKE-ID-004", "no_matching_connection"),
    ("Can't connect to Office VPN. IKE authentication credentials are unacceptable.", "WIN-AUTH-13801",
     "cert_chain_incomplete"),
    ("The network connection between your computer and the VPN server could not be established because the "
     "remote server is not responding.", "WIN-NET-809", "udp4500_blocked"),
    ("Policy match error", "WIN-PROP-13868", "proposal_mismatch"),
    (P + "traffic selectors 10.1.0.0/24 === 10.2.0.0/24 inacceptable", "IKE-TS-001", "ts_mismatch"),
    ('"c" #1: STATE_PARENT_I1: received unauthenticated v2N_NO_PROPOSAL_CHOSEN - ignored', "IKE-PROP-002",
     "proposal_mismatch"),
    ("packet from 192.1.2.45:500: initial parent SA message received on 192.1.2.23:500 but no suitable connection "
     "found with IKEv2 policy", "IKE-CONN-002", "no_matching_connection"),
    (C + "constraint check failed: peer not authenticated by CA 'C=CH, CN=Other CA'", "IKE-CHAIN-006",
     "cert_chain_incomplete"),
    (P + "received AUTHENTICATION_FAILED notify error", "IKE-SYM-001", "unknown"),
    (P + "failed to establish CHILD_SA, keeping IKE_SA", "IKE-SYM-003", "unknown"),
]


@pytest.mark.parametrize("line,rule,category", SAMPLES, ids=[s[1] + ":" + s[0][-30:] for s in SAMPLES])
def test_each_rule_fires_on_its_message(line, rule, category):
    rep = classify_lines({"h": [line]}, now=NOW)
    assert rep["findings"], line
    top = rep["findings"][0]
    assert (top["rule"], top["category"]) == (rule, category)


def test_rules_are_silent_on_lines_they_do_not_own():
    assert classify_lines({"h": [C + "no matching proposal found, trying alternative config",
                                 C + "certificate status is not available",
                                 P + "sending DPD request", P + "retransmit 1 of request with message ID 5",
                                 P + "received INVALID_KE_PAYLOAD notify error"]}, now=NOW)["findings"] == []


def _lines(text):
    return [x for x in text.strip().splitlines()]


CLIENT_DAY_BEHIND = _lines("""
Nov 25 23:00:15 12[IKE] <home|2> initiating IKE_SA home[2] to 192.0.2.1
Nov 25 23:00:15 09[IKE] <home|2> remote host is behind NAT
Nov 25 23:00:15 09[IKE] <home|2> authentication of 'cl.scratch' (myself) with RSA_EMSA_PKCS1_SHA2_256 successful
Nov 25 23:00:15 10[IKE] <home|2> received end entity cert "C=XX, O=vpnops scratch, CN=gw.scratch"
Nov 25 23:00:15 10[CFG] <home|2> subject certificate invalid (valid from Nov 26 22:59:57 2026 to Nov 25 22:59:57 2029)
Nov 25 23:00:15 10[CFG] <home|2> no trusted ECDSA public key found for 'gw.scratch'
Nov 25 23:00:15 10[ENC] <home|2> generating INFORMATIONAL request 2 [ N(AUTH_FAILED) ]
""")

GATEWAY_OK_CLOCK = _lines("""
Nov 26 23:00:15 16[IKE] <2> 198.51.100.7 is initiating an IKE_SA
Nov 26 23:00:15 09[CFG] <2> looking for peer configs matching 192.0.2.1[gw.scratch]...198.51.100.7[cl.scratch]
Nov 26 23:00:15 09[IKE] <rw-cert|2> authentication of 'cl.scratch' with RSA_EMSA_PKCS1_SHA2_256 successful
Nov 26 23:00:15 09[IKE] <rw-cert|2> IKE_SA rw-cert[2] established between 192.0.2.1[gw.scratch]...198.51.100.7[cl.scratch]
Nov 26 23:00:15 11[ENC] <rw-cert|2> parsed INFORMATIONAL request 2 [ N(AUTH_FAILED) ]
Nov 26 23:00:15 11[IKE] <rw-cert|2> received AUTHENTICATION_FAILED notify error
""")


def test_client_clock_behind_explains_gateway_auth_failed_from_logs_alone():
    rep = classify_lines({"gw1": GATEWAY_OK_CLOCK, "cl1": CLIENT_DAY_BEHIND}, now=NOW)
    f = rep["findings"]
    assert f[0]["category"] == "clock_skew" and f[0]["hosts"] == ["cl1"], f
    assert len(f) == 1, "the gateway's AUTHENTICATION_FAILED is a symptom of the client's clock"
    hosts_in_evidence = set(e["host"] for e in f[0]["evidence"])
    assert hosts_in_evidence == {"cl1", "gw1"}
    assert "Nov 26 22:59:57 2026" in f[0]["summary"]


def test_clock_skew_from_facts_ranks_first_and_names_the_offset():
    hosts = {
        "gw1": engine.HostInput("gw1", parse_lines(GATEWAY_OK_CLOCK, year=2026),
                                facts={"time": {"status": "ok", "offset_s": 0.2}}),
        "cl1": engine.HostInput("cl1", parse_lines(CLIENT_DAY_BEHIND, year=2026),
                                facts={"time": {"status": "ok", "offset_s": -86400.4}}),
    }
    rep = engine.classify(hosts, now=NOW)
    top = rep["findings"][0]
    assert (top["category"], top["hosts"]) == ("clock_skew", ["cl1"])
    assert "1.0 days" in top["summary"]
    assert len(rep["findings"]) == 1


def test_expired_client_certificate_is_attributed_to_the_client():
    gw = GATEWAY_OK_CLOCK[:3] + [
        "Nov 26 23:00:15 09[CFG] <rw-cert|2> subject certificate invalid (valid from Nov 20 10:00:00 2024 to "
        "Nov 20 10:00:00 2025)",
        "Nov 26 23:00:15 09[ENC] <rw-cert|2> generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]"]
    cl = [x.replace("Nov 25", "Nov 26") for x in CLIENT_DAY_BEHIND[:3]] + [
        "Nov 26 23:00:15 13[IKE] <home|2> received AUTHENTICATION_FAILED notify error"]
    rep = classify_lines({"gw1": gw, "cl1": cl, "cl2": _lines(HEALTHY_CLIENT)}, now=NOW)
    f = rep["findings"]
    assert (f[0]["category"], f[0]["hosts"]) == ("cert_expired", ["cl1"]), f
    assert len(f) == 1


PSK_GW = _lines("""
Nov 26 23:00:15 16[IKE] <3> 198.51.100.7 is initiating an IKE_SA
Nov 26 23:00:15 09[CFG] <3> looking for peer configs matching 192.0.2.1[gw.scratch]...198.51.100.7[cl.scratch]
Nov 26 23:00:15 09[IKE] <rw-psk|3> tried 1 shared key for 'gw.scratch' - 'cl.scratch', but MAC mismatched
Nov 26 23:00:15 09[ENC] <rw-psk|3> generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]
""")
PSK_CL = _lines("""
Nov 26 23:00:15 12[IKE] <home|3> initiating IKE_SA home[3] to 192.0.2.1
Nov 26 23:00:15 09[IKE] <home|3> local host is behind NAT, sending keep alives
Nov 26 23:00:15 09[IKE] <home|3> authentication of 'cl.scratch' (myself) with pre-shared key
Nov 26 23:00:15 13[ENC] <home|3> parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]
Nov 26 23:00:15 13[IKE] <home|3> received AUTHENTICATION_FAILED notify error
""")
HEALTHY_CLIENT = """
Nov 26 23:00:15 12[IKE] <home|2> initiating IKE_SA home[2] to 192.0.2.9
Nov 26 23:00:15 09[IKE] <home|2> authentication of 'cl2.scratch' (myself) with RSA_EMSA_PKCS1_SHA2_256 successful
Nov 26 23:00:15 10[IKE] <home|2> IKE_SA home[2] established between 192.168.7.2[cl2.scratch]...192.0.2.9[gw9.scratch]
Nov 26 23:00:15 10[IKE] <home|2> CHILD_SA home{2} established with SPIs dc8fb697_i 4365bb7d_o and TS 10.101.0.2/32 === 10.9.0.0/24
"""


def test_psk_mismatch_correlated_through_nat_by_identity():
    """The gateway sees the client's NAT address, the client knows only its private one: the two
    ends are joined by identity, the third host stays out of it."""
    rep = classify_lines({"gw1": PSK_GW, "cl1": PSK_CL, "cl2": _lines(HEALTHY_CLIENT)}, now=NOW)
    f = rep["findings"]
    assert len(f) == 1, f
    assert f[0]["category"] == "psk_mismatch" and f[0]["rule"] == "IKE-PSK-001"
    assert f[0]["hosts"] == ["cl1"]  # the client behind NAT, named by its identity
    assert {e["host"] for e in f[0]["evidence"]} == {"gw1", "cl1"}
    assert "'gw.scratch' - 'cl.scratch'" in f[0]["summary"]


def test_two_independent_faults_are_both_reported():
    ts_gw = _lines("""
Nov 26 23:00:20 16[IKE] <4> 203.0.113.3 is initiating an IKE_SA
Nov 26 23:00:20 09[IKE] <net|4> IKE_SA net[4] established between 192.0.2.2[gw2]...203.0.113.3[cl3]
Nov 26 23:00:20 09[IKE] <net|4> traffic selectors 10.2.0.0/24 === 10.99.0.0/24 unacceptable
""")
    rep = classify_lines({"gw1": PSK_GW, "cl1": PSK_CL, "gw2": ts_gw}, now=NOW)
    cats = [(f["category"], tuple(sorted(f["hosts"]))) for f in rep["findings"]]
    assert ("psk_mismatch", ("cl1",)) in cats
    assert ("ts_mismatch", ("203.0.113.3", "gw2")) in cats or ("ts_mismatch", ("gw2",)) in [
        (c, tuple(h for h in hs if h == "gw2")) for c, hs in cats]
    assert len(cats) == 2
    assert [f["rank"] for f in rep["findings"]] == [1, 2]


def test_unknown_when_evidence_is_thin():
    rep = classify_lines({"cl1": [P + "authentication of 'cl' (myself) with RSA_EMSA_PKCS1_SHA2_256 successful",
                                  P + "received AUTHENTICATION_FAILED notify error"]}, now=NOW)
    assert [f["category"] for f in rep["findings"]] == ["unknown"]
    assert rep["findings"][0]["confidence"] < 0.5


def test_healthy_noise_yields_no_finding():
    """Real lines from the captured scratch run (rekeys, DPD, proposal fallback, no CRL configured,
    retransmits answered) plus a road warrior that went away from the gateway."""
    keep = ("established", "DPD", "proposal", "certificate status", "nothing to initiate", "is initiating",
            "looking for peer configs matching", "authentication of", "assigning", "rekey", "CHILD_SA")
    lines = []
    for path in sorted(GATHER_LOGS.glob("gw-*.log")):
        for x in path.read_text().splitlines():
            if "rw-cert|2>" in x or "<2>" in x:
                if any(k in x for k in keep):
                    lines.append(x)
    assert len(lines) > 15
    went_away = [
        "Nov 26 23:05:03 14[IKE] <rw-cert|2> sending DPD request",
        "Nov 26 23:05:07 14[IKE] <rw-cert|2> retransmit 1 of request with message ID 3",
        "Nov 26 23:05:14 14[IKE] <rw-cert|2> retransmit 2 of request with message ID 3",
        "Nov 26 23:05:40 14[IKE] <rw-cert|2> giving up after 5 retransmits",
    ]
    rep = classify_lines({"gw": lines + went_away}, now=NOW)
    assert rep["findings"] == [], rep["findings"]
    # the same DPD failure on an initiator (site-to-site) is a fault
    init = [x.replace("rw-cert|2", "s2s|7") for x in went_away]
    rep = classify_lines({"site": ["Nov 26 23:00:00 12[IKE] <s2s|7> initiating IKE_SA s2s[7] to 192.0.2.50"] + init},
                         now=NOW)
    assert [(f["category"], f["hosts"]) for f in rep["findings"]] == [("peer_unreachable", ["192.0.2.50"])]


UDP4500_CLIENT = _lines("""
Nov 26 23:00:24 14[IKE] <home|5> initiating IKE_SA home[5] to 192.0.2.2
Nov 26 23:00:24 15[IKE] <home|5> local host is behind NAT, sending keep alives
Nov 26 23:00:25 16[IKE] <home|5> retransmit 1 of request with message ID 1
Nov 26 23:00:27 10[IKE] <home|5> retransmit 2 of request with message ID 1
Nov 26 23:00:32 15[IKE] <home|5> giving up after 2 retransmits
Nov 26 23:00:32 15[IKE] <home|5> establishing IKE_SA failed, peer not responding
""")


def test_udp4500_blocked_attributed_to_the_gateway_from_its_facts():
    hosts = {
        "cl3": engine.HostInput("cl3", parse_lines(UDP4500_CLIENT, year=2026)),
        "gw2": engine.HostInput("gw2", [], facts={
            "hostname": "gw2", "network": {"status": "ok", "addresses": ["192.0.2.2/24"]},
            "firewall": {"status": "ok", "provider": "nftables", "verdicts": {"udp500": "accept", "udp4500": "drop",
                                                                              "esp": "accept"},
                         "why": {"udp4500": "inet filter input: udp dport 4500 drop"}}}),
    }
    rep = engine.classify(hosts, now=NOW)
    f = rep["findings"]
    assert (f[0]["category"], f[0]["hosts"]) == ("udp4500_blocked", ["gw2"]), f
    assert len(f) == 1
    assert "udp dport 4500 drop" in f[0]["summary"]
    # from the client's log alone: still udp4500_blocked, blamed on the peer address
    rep = classify_lines({"cl3": UDP4500_CLIENT}, now=NOW)
    assert (rep["findings"][0]["category"], rep["findings"][0]["hosts"]) == ("udp4500_blocked", ["192.0.2.2"])


def test_time_window_uses_measured_offsets():
    """A cause and a symptom two hours apart (after clock correction) are separate incidents."""
    gw = [x.replace("23:00:15", "21:00:15") for x in PSK_GW]
    hosts = {"gw1": engine.HostInput("gw1", parse_lines(gw, year=2026), facts={"time": {"offset_s": 0.0}}),
             "cl1": engine.HostInput("cl1", parse_lines(PSK_CL, year=2026), facts={"time": {"offset_s": 0.0}})}
    cats = [f["category"] for f in engine.classify(hosts, now=NOW)["findings"]]
    assert cats[0] == "psk_mismatch" and len(cats) == 2
    # the same two hours explained by a measured clock offset on the gateway: one incident
    hosts["gw1"].facts = {"time": {"offset_s": -7200.0}}
    rep = engine.classify(hosts, now=NOW)
    assert [f["category"] for f in rep["findings"]][:1] == ["clock_skew"]
    assert "psk_mismatch" in [f["category"] for f in rep["findings"]]
    assert len([f for f in rep["findings"] if f["category"] == "unknown"]) == 0


def test_fact_rules_esp_resources_daemon_chain_and_own_cert():
    facts = {
        "hostname": "gw1",
        "daemon": {"name": "strongswan", "running": True},
        "firewall": {"status": "ok", "provider": "nftables", "verdicts": {"udp500": "accept", "udp4500": "accept",
                                                                          "esp": "drop"}, "why": {"esp": "r1"}},
        "resources": {"status": "ok", "stats": {"ike_sas": 1, "half_open": 0}, "limits": {"ikesa_limit": 1}},
        "certs": {"status": "ok", "certs": [{"subject": "CN=gw1", "path": "/etc/swanctl/x509/gw1.pem",
                                             "not_before": "2024-01-01T00:00:00Z", "not_after": "2025-01-01T00:00:00Z",
                                             "has_private_key": True}],
                  "chains": [{"leaf": "CN=gw1", "complete": False, "missing": ["CN=Intermediate"]}]},
    }
    rep = engine.classify({"gw1": engine.HostInput("gw1", facts=facts)}, now=NOW)
    cats = sorted(f["category"] for f in rep["findings"])
    assert cats == ["cert_chain_incomplete", "cert_expired", "esp_blocked", "resource_limit"], rep["findings"]
    facts["daemon"]["running"] = False
    rep = engine.classify({"gw1": engine.HostInput("gw1", facts=facts)}, now=NOW)
    assert rep["findings"][0]["category"] == "peer_unreachable" and "not running" in rep["findings"][0]["summary"]
    # sections that could not be gathered decide nothing
    facts["firewall"]["status"] = "error"
    rep = engine.classify({"gw1": engine.HostInput("gw1", facts=facts)}, now=NOW)
    assert "esp_blocked" not in [f["category"] for f in rep["findings"]]


def test_two_ended_proposal_check_from_conns_facts():
    a = {"hostname": "gw1", "network": {"addresses": ["192.0.2.1"]},
         "conns": {"status": "ok", "conns": [{"name": "rw", "remote_addrs": ["%any"],
                                              "ike_proposals": ["aes256gcm16-prfsha384-ecp384"]}]}}
    b = {"hostname": "cl1", "conns": {"status": "ok", "conns": [{"name": "home", "remote_addrs": ["192.0.2.1"],
                                                                  "ike_proposals": ["aes128-sha256-modp2048"]}]}}
    rep = engine.classify({"gw1": engine.HostInput("gw1", facts=a), "cl1": engine.HostInput("cl1", facts=b)}, now=NOW)
    assert [(f["category"], f["rule"]) for f in rep["findings"]] == [("proposal_mismatch", "PAIR-PROP-001")]
    b["conns"]["conns"][0]["ike_proposals"] = ["aes256gcm16-prfsha384-ecp384,aes128-sha256-modp2048"]
    rep = engine.classify({"gw1": engine.HostInput("gw1", facts=a), "cl1": engine.HostInput("cl1", facts=b)}, now=NOW)
    assert rep["findings"] == []


def test_report_contract_shape():
    rep = classify_lines({"gw1": PSK_GW, "cl1": PSK_CL}, now=NOW)
    assert set(rep) == {"schema", "findings", "hosts"} and rep["schema"] == 1
    for f in rep["findings"]:
        assert set(f) == {"rank", "category", "rule", "confidence", "hosts", "phase", "summary", "evidence",
                          "remediation"}
        assert 0.0 <= f["confidence"] <= 1.0
        assert f["phase"] in ("IKE_SA_INIT", "IKE_AUTH", "CHILD_SA", "INFORMATIONAL", "transport")
        assert set(f["remediation"]) == {"role", "auto_remediable", "vars"}
        for e in f["evidence"]:
            assert set(e) == {"host", "source", "line"}
    assert rep["hosts"] == {"gw1": {"status": "ok", "reason": None}, "cl1": {"status": "ok", "reason": None}}


def test_prefilter_backends_agree_on_captured_logs():
    rs = engine.default_ruleset()
    hs = Prefilter(rs.signatures(), backend="hyperscan")
    rx = Prefilter(rs.signatures(), backend="re")
    for path in sorted(GATHER_LOGS.glob("*.log")):
        data = path.read_bytes()
        a, b = hs.scan(data), rx.scan(data)
        assert a == b
        assert 0 < len(a) < data.count(b"\n") / 5
    assert hs.backend == "hyperscan" and rx.backend == "re"


def test_fallback_without_hyperscan(monkeypatch):
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import prefilter as pf
    monkeypatch.setattr(pf, "HAVE_HYPERSCAN", False)
    p = pf.Prefilter(["MAC mismatched", "giving up"])
    assert p.backend == "re"
    hits = p.scan(b"a\nx giving up y\nb MAC mismatched\n")
    assert sorted(hits) == [2, 16]


def test_yearless_logs_read_in_the_certificates_years():
    """A box without RTC booting at "Jan  1" and a certificate from last year: its clock is behind;
    the same year-less line in December after the certificate ended: expired."""
    rep = classify_lines({"h": ["Jan  1 00:00:40 13[CFG] <c|1> subject certificate invalid (valid from Nov 10 10:00:00 "
                                "2024 to Nov 10 10:00:00 2027)"]}, now=NOW)
    assert rep["findings"][0]["category"] == "clock_skew" and "no year" in rep["findings"][0]["summary"]
    rep = classify_lines({"h": ["Dec 15 10:00:00 13[CFG] <c|1> subject certificate invalid (valid from Jan 01 00:00:00 "
                                "2024 to Jan 01 00:00:00 2025)"]}, now=NOW)
    assert rep["findings"][0]["category"] == "cert_expired"


def test_explanation_quotes_the_failing_sas_own_proposals():
    lines = [
        "Nov 26 23:00:01 10[CFG] <5> received proposals: IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
        "Nov 26 23:00:01 10[CFG] <5> configured proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
        "Nov 26 23:00:02 11[CFG] <6> received proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
        "Nov 26 23:00:02 11[CFG] <6> configured proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
        "Nov 26 23:00:02 11[CFG] <6> selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
        "Nov 26 23:00:01 10[IKE] <5> received proposals unacceptable",
    ]
    f = classify_lines({"gw": lines}, now=NOW)["findings"][0]
    assert f["category"] == "proposal_mismatch"
    assert "3DES_CBC" in f["summary"] and "AES_GCM_16_256" not in f["summary"]
    assert any("3DES_CBC" in e["line"] for e in f["evidence"])


def test_same_failure_with_many_peers_blames_the_common_end():
    lines = []
    for i in range(1, 5):
        lines += ["Nov 26 23:00:1%d 16[IKE] <%d> 198.51.100.%d is initiating an IKE_SA" % (i, i, i),
                  "Nov 26 23:00:1%d 09[IKE] <rw|%d> tried 1 shared key for 'gw' - 'c%d', but MAC mismatched" % (i, i, i)]
    f = classify_lines({"gw1": lines}, now=NOW)["findings"]
    assert [(x["category"], x["hosts"]) for x in f] == [("psk_mismatch", ["gw1"])]
    assert "4 peers" in f[0]["summary"]


@pytest.mark.parametrize("a,b,ok", [
    ("aes256gcm16-prfsha384-ecp384", "aes_gcm_16_256-hmac_sha2_384-dh20", True),   # charon vs pluto: same suite
    ("aes256-sha256-modp2048", "aes_cbc_256-sha2_256;dh14", True),
    ("aes128-sha256-modp2048", "aes256gcm16-prfsha384-ecp384", False),
    ("aes256-sha1-modp1024", "aes256-sha1-modp2048", False),
    ("chacha20poly1305-prfsha256-curve25519", "chacha20_poly1305-sha2_256-dh31", True),
])
def test_proposal_comparison_across_daemons(a, b, ok):
    assert engine._compatible(a, b) is ok


def test_pair_check_quiet_when_an_sa_is_up():
    a = {"hostname": "gw3", "network": {"addresses": ["198.19.0.15"]},
         "conns": {"status": "ok", "conns": [{"name": "rw", "ike_proposals": ["aes128-sha256-modp2048"]}]}}
    b = {"hostname": "cl6", "conns": {"status": "ok", "conns": [{"name": "gw3", "remote_addrs": ["198.19.0.15"],
                                                                  "ike_proposals": ["aes256gcm16-prfsha384-ecp384"]}]},
         "sas": {"status": "ok", "ike": [{"name": "gw3", "state": "ESTABLISHED", "remote_host": "198.19.0.15"}]}}
    rep = engine.classify({"gw3": engine.HostInput("gw3", facts=a), "cl6": engine.HostInput("cl6", facts=b)}, now=NOW)
    assert rep["findings"] == []


def test_incomplete_chain_of_a_peer_certificate_in_the_store_is_not_a_fault():
    facts = {"certs": {"status": "ok",
                       "certs": [{"subject": "CN=gw1", "fingerprint_sha256": "aa", "has_private_key": True},
                                 {"subject": "CN=stray", "fingerprint_sha256": "bb", "has_private_key": False}],
                       "chains": [{"leaf": "CN=stray", "fingerprint_sha256": "bb", "complete": False, "missing": "CN=X"},
                                  {"leaf": "CN=gw1", "fingerprint_sha256": "aa", "complete": True}]}}
    assert engine.classify({"gw1": engine.HostInput("gw1", facts=facts)}, now=NOW)["findings"] == []
    facts["certs"]["chains"][1]["complete"] = False
    facts["certs"]["chains"][1]["missing"] = "CN=Intermediate"
    f = engine.classify({"gw1": engine.HostInput("gw1", facts=facts)}, now=NOW)["findings"]
    assert [(x["category"], x["hosts"]) for x in f] == [("cert_chain_incomplete", ["gw1"])]
    assert "CN=Intermediate" in f[0]["summary"]
    assert f[0]["remediation"] == {"role": "ca_chain", "auto_remediable": True,
                                   "vars": {"ca_chain_missing": ["CN=Intermediate"]}}


def test_host_without_an_ike_daemon_is_not_a_fault():
    facts = {"status": "no_daemon", "daemon": {"name": "none", "running": False}}
    assert engine.classify({"ntp": engine.HostInput("ntp", facts=facts)}, now=NOW)["findings"] == []


def test_ends_joined_by_ike_spis_from_sa_facts():
    """Two ends with no address or identity in common (NAT both ways, no IDs in the facts), three
    hosts in the run: the IKE SPIs of the SA they share link them."""
    sa = {"name": "x", "state": "ESTABLISHED", "initiator_spi": "a1b2c3d4e5f60708", "responder_spi": "1122334455667788"}
    a = engine.HostInput("gwa", parse_lines([P + "traffic selectors 10.1.0.0/24 === 10.9.0.0/24 unacceptable"], year=2026),
                         facts={"sas": {"status": "ok", "ike": [sa]}})
    b = engine.HostInput("clb", parse_lines([P + "received TS_UNACCEPTABLE notify, no CHILD_SA built"], year=2026),
                         facts={"sas": {"status": "ok", "ike": [dict(sa, name="y")]}})
    c = engine.HostInput("clc", parse_lines([P + "received TS_UNACCEPTABLE notify, no CHILD_SA built"], year=2026))
    rep = engine.classify({"gwa": a, "clb": b, "clc": c}, now=NOW)
    ts = [f for f in rep["findings"] if f["rule"] == "IKE-TS-001"][0]
    assert "clb" in ts["hosts"] and "IKE-TS-002 (clb)" in ts["summary"] and "clc" not in ts["hosts"]
    assert any(f["rule"] == "IKE-TS-002" and f["hosts"][0] == "clc" for f in rep["findings"])


def test_context_is_scoped_to_the_failing_sa():
    """A busy client: DPD and NAT on its working SA must not hide another SA that never got an
    answer, nor turn it into a NAT-T problem."""
    lines = [
        "Nov 26 23:00:00 12[IKE] <home|1> initiating IKE_SA home[1] to 192.0.2.1",
        "Nov 26 23:00:00 09[IKE] <home|1> local host is behind NAT, sending keep alives",
        "Nov 26 23:00:01 09[IKE] <home|1> IKE_SA home[1] established between 192.168.7.2[cl]...192.0.2.1[gw]",
        "Nov 26 23:00:31 14[IKE] <home|1> sending DPD request",
        "Nov 26 23:01:00 12[IKE] <lab|2> initiating IKE_SA lab[2] to 203.0.113.77",
        "Nov 26 23:01:01 16[IKE] <lab|2> retransmit 1 of request with message ID 0",
        "Nov 26 23:01:05 16[IKE] <lab|2> giving up after 5 retransmits",
        "Nov 26 23:01:05 16[IKE] <lab|2> establishing IKE_SA failed, peer not responding",
    ]
    f = classify_lines({"cl": lines}, now=NOW)["findings"]
    assert [(x["category"], x["rule"], x["hosts"]) for x in f] == [("peer_unreachable", "IKE-NET-005", ["203.0.113.77"])]


def test_installed_but_unconfigured_daemon_is_not_an_ike_endpoint():
    """strongSwan installed on an NTP server or a NAT router, not running, no connection: its closed
    IKE ports and stopped daemon are no fault. The same host with a connection written is one."""
    facts = {"status": "no_daemon", "reason": "strongswan is installed but its daemon is not running",
             "daemon": {"name": "strongswan", "running": False},
             "conns": {"status": "ok", "conns": []},
             "firewall": {"status": "ok", "provider": "nftables",
                          "verdicts": {"udp500": "drop", "udp4500": "drop", "esp": "drop"}, "why": {}}}
    assert engine.classify({"infra": engine.HostInput("infra", facts=facts)}, now=NOW)["findings"] == []
    facts["conns"]["conns"] = [{"name": "rw", "loaded": False, "written": True, "remote_addrs": ["%any"]}]
    cats = [f["category"] for f in engine.classify({"gw9": engine.HostInput("gw9", facts=facts)}, now=NOW)["findings"]]
    assert "udp4500_blocked" in cats or "peer_unreachable" in cats, cats

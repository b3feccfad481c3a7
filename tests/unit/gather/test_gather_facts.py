"""The whole gather on a fake host that answers with the captured output: shape, statuses,
failure isolation, no secrets, controller-side certificate parsing."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
import yaml

from ansible_collections.vpnops.ikev2.plugins.action.ike_facts import clock_offset, parse_deferred_certs
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import certinfo, gather
from ansible_collections.vpnops.ikev2.plugins.modules import ike_facts as module

from _gather_helpers import FIXTURES, FakeHost, fixture_text

PSK = "S3cretPSK-do-not-leak-8c1f"
EAP_B64 = "RUFQLXNlY3JldC1kby1ub3QtbGVhaw=="
EAP_PLAIN = base64.b64decode(EAP_B64).decode()
SECRETS_FILE = '# ipsec.secrets\n: RSA gw.key\ngw.lab cl.lab : PSK "Old-PSK-never-shown-77"\nalice : EAP "eap-pw-99"\n'


def _key_and_cert():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "selfsigned.test")])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Scratch Intermediate CA")]))
        .public_key(key.public_key()).serial_number(7).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    kpem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    return kpem, cert.public_bytes(serialization.Encoding.PEM)


def gateway_host(**over):
    kpem, cpem = _key_and_cert()
    commands = {
        ("swanctl", "--version"): (0, fixture_text("swanctl/gw-version.pretty")),
        ("swanctl", "--list-certs"): (0, fixture_text("swanctl/gw-list-certs.pretty")),
        ("swanctl", "--list-conns"): (0, fixture_text("swanctl/gw-list-conns.pretty")),
        ("swanctl", "--list-sas"): (0, fixture_text("swanctl/gw-list-sas.pretty")),
        ("swanctl", "--stats"): (0, fixture_text("swanctl/gw-stats.pretty")),
        ("nft",): (0, fixture_text("nft/drop4500.json")),
        ("iptables-save",): (0, fixture_text("iptables/empty.rules")),
        ("ss",): (0, fixture_text("ss/gw-uapn.txt")),
        ("ip", "-j", "addr"): (0, fixture_text("ip/gw-addr.json")),
        ("chronyc", "-c", "-n", "tracking"): (0, fixture_text("chrony/cl-tracking.csv")),
        ("chronyc", "-c", "-n", "sources"): (0, fixture_text("chrony/cl-sources.csv")),
        ("firewall-cmd",): None, ("journalctl",): None, ("timedatectl",): None, ("ntpq",): None,
        ("certutil",): None,
    }
    commands.update(over.pop("commands", {}))
    files = {
        "/proc/1/comm": "systemd\n", "/proc/812/comm": "charon\n",
        "/proc/loadavg": fixture_text("proc/loadavg"), "/proc/meminfo": fixture_text("proc/meminfo"),
        "/etc/strongswan.conf": fixture_text("strongswan_conf/gw-strongswan.conf"),
        "/etc/swanctl/swanctl.conf": fixture_text("swanctl_conf/gw-swanctl.conf"),
        "/etc/swanctl/x509/gw.crt": (FIXTURES / "pki/gw.crt").read_bytes(),
        "/etc/swanctl/x509/self.crt": cpem,
        "/etc/swanctl/x509ca/int.crt": (FIXTURES / "pki/int.crt").read_bytes(),
        "/etc/swanctl/x509ca/root.crt": (FIXTURES / "pki/root.crt").read_bytes(),
        "/etc/swanctl/x509ca/broken.crt": b"-----BEGIN CERTIFICATE-----\n\xff\xfegarbage\n-----END CERTIFICATE-----\n",
        "/etc/swanctl/private/self.key": kpem,
        "/etc/ipsec.secrets": SECRETS_FILE,
        "/etc/timezone": "Etc/UTC\n",
        "/etc/chrony/chrony.conf": fixture_text("chrony/cl-chrony.conf"),
    }
    files.update(over.pop("files", {}))
    host = FakeHost(commands, files, root_ok=(str(FIXTURES),), **over)
    return host, kpem


def run(host, **params):
    p = {"gather_subset": ["all"], "since": "100000d", "max_lines": 20000, "journal": True,
         "log_files": [str(FIXTURES / "charon_log/gw-charon.log")], "paths": {}}
    p.update(params)
    return gather.gather(p, host)


SHAPE = {
    "logs": {"status", "events", "files", "since", "until"},
    "time": {"status", "host_utc", "offset_s", "rtt_s", "timezone", "ntp"},
    "certs": {"status", "certs", "chains", "crls"},
    "conns": {"status", "conns", "files"},
    "sas": {"status", "ike", "conns_without_sa"},
    "firewall": {"status", "provider", "ruleset", "verdicts", "why"},
    "network": {"status", "addresses", "listening", "interfaces", "nat_detected"},
    "resources": {"status", "load", "mem", "stats", "limits"},
}


def test_gateway_facts_have_the_shared_shape():
    host, _k = gateway_host()
    f = run(host)
    assert f["schema"] == 1 and f["daemon"] == {"name": "strongswan", "running": True, "pid": 812, "version": "5.9.8"}
    for sect, keys in SHAPE.items():
        assert keys <= set(f[sect]), (sect, keys - set(f[sect]))
    assert json.loads(json.dumps(f)) == f     # JSON-serialisable as is


def test_gateway_facts_content():
    host, _k = gateway_host()
    f = run(host)
    assert f["firewall"]["provider"] == "nftables"
    assert f["firewall"]["verdicts"] == {"udp500": "accept", "udp4500": "drop", "esp": "accept"}
    assert [sa["name"] for sa in f["sas"]["ike"]] == ["rw-cert"] and f["sas"]["conns_without_sa"] == ["rw-psk"]
    assert f["network"]["nat_detected"] is True
    assert {(s["addr"], s["port"]) for s in f["network"]["listening"]} >= {("0.0.0.0", 500), ("0.0.0.0", 4500)}
    assert f["resources"]["stats"]["ike_sas"] == 1 and f["resources"]["limits"]["ikesa_limit"] == 500
    assert f["time"]["ntp"]["client"] == "chrony" and f["time"]["ntp"]["synchronized"] is True
    assert f["time"]["timezone"]["name"] == "Etc/UTC"
    conns = {c["name"]: c for c in f["conns"]["conns"]}
    assert conns["rw-cert"]["ike_proposals"][0] == "aes256gcm16-prfsha384-ecp384"
    assert f["logs"]["files"][0]["path"].endswith("gw-charon.log") and f["logs"]["files"][0]["status"] == "ok"
    assert len(f["logs"]["events"]) > 1000


def test_certificates_and_private_key_flags():
    host, _k = gateway_host()
    f = run(host)
    certs = {c["subject"].split("CN=")[1]: c for c in f["certs"]["certs"]}
    # gw.scratch: loaded by the daemon with its key (swanctl's has_privkey) and found in x509/
    assert certs["gw.scratch"]["has_private_key"] is True
    assert set(certs["gw.scratch"]["stores"]) == {"loaded", "swanctl/x509"}
    # selfsigned.test: not loaded, its key file's public half matches
    assert certs["selfsigned.test"]["has_private_key"] is True
    # cl.scratch: the peer's certificate, no key here
    assert certs["cl.scratch"]["has_private_key"] is False
    chains = {c["leaf"].split("CN=")[1]: c for c in f["certs"]["chains"]}
    assert chains["gw.scratch"]["complete"] is True
    assert chains["selfsigned.test"]["complete"] is False
    assert f["certs"]["status"] == "partial" and "broken.crt" in f["certs"]["reason"]


def test_no_secret_or_key_anywhere_in_the_facts():
    host, kpem = gateway_host()
    f = run(host)
    blob = json.dumps(f)
    for secret in (PSK, EAP_B64, EAP_PLAIN, "Old-PSK-never-shown-77", "eap-pw-99"):
        assert secret not in blob, secret
    body = b"".join(kpem.splitlines()[1:-1]).decode()
    assert body[:40] not in blob and "PRIVATE KEY" not in blob
    files = f["conns"]["files"]
    assert "secret = <redacted>" in files["/etc/swanctl/swanctl.conf"]["content"]
    assert files["/etc/ipsec.secrets"]["content"].splitlines()[2] == "gw.lab cl.lab : PSK <redacted>"


def test_no_secret_when_certs_are_shipped_to_the_controller(monkeypatch):
    monkeypatch.setattr(certinfo, "HAS_CRYPTOGRAPHY", False)
    host, kpem = gateway_host()
    f = run(host)
    assert f["certs"]["status"] == "deferred" and f["certs"]["raw"]
    blob = json.dumps(f)
    assert PSK not in blob and "PRIVATE KEY" not in blob
    assert b"".join(kpem.splitlines()[1:-1]).decode()[:40] not in blob
    monkeypatch.setattr(certinfo, "HAS_CRYPTOGRAPHY", True)
    sect = parse_deferred_certs(f["certs"])
    assert "raw" not in sect and sect["parsed_on"] == "controller"
    certs = {c["subject"].split("CN=")[1]: c for c in sect["certs"]}
    assert certs["gw.scratch"]["has_private_key"] is True     # from the daemon's flag
    assert {c["leaf"].split("CN=")[1]: c["complete"] for c in sect["chains"]}["gw.scratch"] is True


def test_missing_tools_and_unreadable_files_are_recorded_not_fatal():
    host, _k = gateway_host(commands={("nft",): None, ("iptables-save",): None, ("ss",): None, ("ip", "-j", "addr"): None,
                                      ("chronyc", "-c", "-n", "tracking"): (1, "", "506 Cannot talk to daemon")},
                            files={"/etc/swanctl/swanctl.conf": None, "/proc/meminfo": None})
    f = run(host)
    assert f["firewall"]["status"] == "missing" and "nft" in f["firewall"]["reason"]
    assert f["firewall"]["verdicts"] == {"udp500": "unknown", "udp4500": "unknown", "esp": "unknown"}
    assert f["network"]["status"] == "error"
    assert f["time"]["status"] == "ok" and f["time"]["ntp"]["running"] is False
    assert f["time"]["ntp"]["synchronized"] is False and "Cannot talk to daemon" in f["time"]["ntp"]["reason"]
    assert f["resources"]["status"] == "partial" and "meminfo" in f["resources"]["reason"]
    assert "/etc/swanctl/swanctl.conf" not in f["conns"]["files"]
    assert f["status"] == "partial" and "firewall" in f["reason"]


def test_chronyc_failing_otherwise_is_a_time_error():
    host, _k = gateway_host(commands={("chronyc", "-c", "-n", "tracking"): (1, "", "501 Not authorised")})
    f = run(host, gather_subset=["time"])
    assert f["time"]["status"] == "error" and "Not authorised" in f["time"]["reason"]


def test_a_crashing_section_is_isolated(monkeypatch):
    def boom(self):
        raise RuntimeError("surprise")
    monkeypatch.setattr(gather.Gatherer, "firewall", boom)
    host, _k = gateway_host()
    f = run(host)
    assert f["firewall"]["status"] == "error" and "surprise" in f["firewall"]["reason"]
    assert f["sas"]["status"] == "ok"


def test_host_without_ike_daemon():
    host = FakeHost({("nft",): (0, fixture_text("nft/empty.json")), ("ss",): (0, ""), ("ip", "-j", "addr"): (0, "[]")},
                    {"/proc/1/comm": "init\n", "/proc/loadavg": fixture_text("proc/loadavg")})
    f = run(host, log_files=[])
    assert f["status"] == "no_daemon" and "no IKE daemon" in f["reason"]
    assert f["daemon"]["name"] == "none"
    assert f["sas"]["status"] == "skipped" and f["logs"]["status"] == "missing"
    assert f["firewall"]["status"] == "ok"


def test_daemon_installed_but_not_running():
    host, _k = gateway_host(files={"/proc/812/comm": "bash\n"})
    f = run(host, gather_subset=["sas"])
    assert f["status"] == "no_daemon" and "not running" in f["reason"]
    assert f["logs"]["status"] == "skipped"


def test_gather_subset_like_setup():
    assert gather.resolve_subset(["all"]) == list(gather.SUBSETS)
    assert gather.resolve_subset(["all", "!logs"]) == [s for s in gather.SUBSETS if s != "logs"]
    assert gather.resolve_subset(["!logs"]) == [s for s in gather.SUBSETS if s != "logs"]
    assert gather.resolve_subset(["certs", "time"]) == ["time", "certs"]
    with pytest.raises(gather.GatherError, match="unknown gather_subset"):
        gather.resolve_subset(["bogus"])


def test_since_forms():
    now = 1795734000.0
    assert gather.parse_since("1h", now) == now - 3600
    assert gather.parse_since("90m", now) == now - 5400
    assert gather.parse_since("2d", now) == now - 172800
    assert gather.parse_since("30", now) == now - 30
    assert gather.parse_since("2026-11-26T22:00:00Z", now) == 1795730400.0
    assert gather.parse_since("2026-11-26T23:00:00+01:00", now) == 1795730400.0
    with pytest.raises(gather.GatherError):
        gather.parse_since("yesterday", now)


def test_clock_offset_round_trip_correction():
    # controller 1000.0 -> 1002.0, host worked 1.0 s starting at controller 1000.5 + 86400
    off, rtt = clock_offset(1000.0, 1002.0, 1000.5 + 86400, 1.0)
    assert off == 86400.0 and rtt == 1.0
    off, rtt = clock_offset(1000.0, 1000.2, 1000.05 - 3600, 0.1)
    assert abs(off + 3600) < 1e-6 and abs(rtt - 0.1) < 1e-6


def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert set(doc["options"]) == set(spec)
    for name, opt in spec.items():
        d = doc["options"][name]
        assert d["type"] == opt["type"], name
        assert d.get("default") == opt.get("default"), name
        if "choices" in opt:
            assert d["choices"] == opt["choices"], name
    assert set(doc["options"]["paths"]["suboptions"]) == set(spec["paths"]["options"])
    for name, sub in spec["paths"]["options"].items():
        assert doc["options"]["paths"]["suboptions"][name]["default"] == sub["default"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


def test_included_secrets_files_are_redacted_too(tmp_path):
    inc = tmp_path / "extra.secrets"
    inc.write_text('@road : EAP "included-eap-secret-42"\n')
    host, _k = gateway_host(files={
        "/etc/ipsec.secrets": SECRETS_FILE + "include %s\n" % (tmp_path / "*.secrets"),
        str(inc): inc.read_text(),
        "/etc/strongswan.conf": fixture_text("strongswan_conf/gw-strongswan.conf").replace(
            "charon {", "charon {\n    plugins {\n        attr-sql {\n            database = mysql://vpn:Db-Pw-31337@db/ipsec\n"
                        "        }\n    }", 1)})
    f = run(host, gather_subset=["conns"])
    blob = json.dumps(f)
    assert "included-eap-secret-42" not in blob and "Db-Pw-31337" not in blob
    assert f["conns"]["files"][str(inc)]["content"] == "@road : EAP <redacted>\n"
    assert "mysql://vpn:<redacted>@db/ipsec" in f["conns"]["files"]["/etc/strongswan.conf"]["content"]


def test_legacy_iptables_rules_also_filter():
    host, _k = gateway_host(commands={("nft",): (0, fixture_text("nft/healthy.json")),
                                      ("iptables-legacy-save",): (0, fixture_text("iptables/espdrop.rules"))})
    f = run(host, gather_subset=["firewall"])
    fw = f["firewall"]
    assert fw["provider"] == "nftables"
    assert fw["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert fw["why"]["esp"].startswith("iptables-legacy filter/INPUT rule 3")


def test_empty_legacy_iptables_changes_nothing():
    host, _k = gateway_host(commands={("nft",): (0, fixture_text("nft/drop4500.json")),
                                      ("iptables-legacy-save",): (0, fixture_text("iptables/empty.rules"))})
    f = run(host, gather_subset=["firewall"])
    assert f["firewall"]["verdicts"] == {"udp500": "accept", "udp4500": "drop", "esp": "accept"}
    assert "legacy_iptables" not in f["firewall"]

"""Shared helpers of the triage unit tests (imported as ``_triage_helpers``: several test folders
have a conftest.py, so importing from ``conftest`` depends on collection order)."""

from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = str(REPO / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

FIXTURES = REPO / "tests" / "fixtures"
PEER_SUITES = FIXTURES / "peer-suites" / "cases.jsonl"
GATHER_LOGS = FIXTURES / "gather" / "charon_log"

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines  # noqa: E402
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine  # noqa: E402
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import cli  # noqa: E402

# peer-suites category -> project category (tests/fixtures/peer-suites/NOTE.md)
CATEGORY_MAP = {
    "proposal_mismatch": "proposal_mismatch", "auth_psk_mismatch": "psk_mismatch",
    "cert_expired_or_not_yet_valid": "cert_expired", "cert_chain_incomplete": "cert_chain_incomplete",
    "cert_identity_mismatch": "cert_identity_mismatch", "cert_eku_or_keyusage": "cert_usage",
    "cert_revoked_or_crl": "cert_revoked", "no_certificate": "cert_missing", "ts_mismatch": "ts_mismatch",
    "nat_or_udp4500_blocked": "udp4500_blocked", "no_connection_found": "no_matching_connection",
    "eap_auth_failure": "eap_failure", "temporary_failure_or_resource": "resource_limit",
    "mtu_fragmentation": "fragmentation", "dpd_or_peer_unreachable": "peer_unreachable", "other": None,
}


def peer_cases():
    with open(PEER_SUITES, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def classify_lines(logs, now=None):
    """logs: {host: [lines]} -> report."""
    hosts = {h: engine.HostInput(h, parse_lines(lines, year=2026)) for h, lines in logs.items()}
    return engine.classify(hosts, now=now)


def classify_case(case):
    logs = {}
    for key in ("log", "log_gateway", "log_client"):
        if key in case:
            logs[case["hosts"][key]] = case[key].split("\n")
    return classify_lines(logs)

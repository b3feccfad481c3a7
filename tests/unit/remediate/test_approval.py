"""Approval policy, report validation and the remediation plan (plugin_utils/approval.py)."""

from __future__ import annotations

import copy
import doctest
import json

import pytest

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import approval
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.approval import ApprovalError


def finding(rank, category, rule, hosts, role, auto=True, **extra):
    f = {"rank": rank, "category": category, "rule": rule, "confidence": 0.8, "hosts": hosts, "phase": "IKE_AUTH",
         "summary": "%s on %s" % (category, hosts[0]), "evidence": [],
         "remediation": {"role": role, "auto_remediable": auto}}
    f.update(extra)
    return f


REPORT = {"schema": 1, "hosts": {"gw1": {"status": "ok", "reason": None}}, "findings": [
    finding(1, "cert_chain_incomplete", "IKE-CHAIN-001", ["gw1"], "ca_chain"),
    finding(2, "cert_chain_incomplete", "HOST-CHAIN-001", ["cl1"], "ca_chain",
            summary="cl1 cannot complete the chain of CN=cl1.lab: missing C=CH, CN=Intermediate CA."),
    finding(3, "udp4500_blocked", "HOST-FW-4500", ["infra"], "firewall"),
    finding(4, "proposal_mismatch", "PAIR-PROP-001", ["cl6", "gw3"], "proposals"),
    finding(5, "cert_expired", "HOST-CERT-001", ["cl3"], "ca_chain", auto=False),
    finding(6, "peer_unreachable", "HOST-DAEMON-001", ["nat1"], None, auto=False),
    finding(7, "cert_chain_incomplete", "HOST-CHAIN-001", ["cl1"], "ca_chain"),
    finding(8, "clock_skew", "HOST-TIME-001", ["outside"], "time_sync"),
]}
HOSTS = ["gw1", "gw3", "cl1", "cl3", "cl6", "infra", "nat1"]
ROLES = {"ca_chain", "firewall"}


def policies(cats):
    return dict((h, list(cats)) for h in HOSTS)


def test_doctests():
    assert doctest.testmod(approval).failed == 0


def test_finding_ids_are_rule_at_host_with_repeats_numbered():
    assert approval.finding_ids(REPORT["findings"]) == [
        "IKE-CHAIN-001@gw1", "HOST-CHAIN-001@cl1", "HOST-FW-4500@infra", "PAIR-PROP-001@cl6",
        "HOST-CERT-001@cl3", "HOST-DAEMON-001@nat1", "HOST-CHAIN-001@cl1#2", "HOST-TIME-001@outside"]
    assert approval.finding_ids([dict(REPORT["findings"][0], id="F-17")]) == ["F-17"]


# ---------------------------------------------------------------- the approval policy

def test_policy_unknown_category_is_a_clear_error():
    pol = policies(["cert_chain_incomplete"])
    pol["gw1"] = ["cert_chain_incomplete", "clock_skewed"]
    pol["cl1"] = ["clock_skewed"]
    with pytest.raises(ApprovalError) as exc:
        approval.validate_policy(pol)
    msg = str(exc.value)
    assert "unknown category 'clock_skewed' (on cl1, gw1)" in msg
    assert "clock_skew" in msg and "cert_chain_incomplete" in msg  # lists the valid ones


def test_policy_must_be_a_list():
    with pytest.raises(ApprovalError, match="ikev2_auto_remediate on gw1 must be a list of categories"):
        approval.validate_policy({"gw1": "clock_skew"})
    with pytest.raises(ApprovalError, match="unknown category"):
        approval.validate_policy({"gw1": [{"clock_skew": True}]})


def test_policy_unset_means_nothing_approved():
    assert approval.validate_policy({"gw1": None, "cl1": ["clock_skew", "clock_skew"]}) == {
        "gw1": [], "cl1": ["clock_skew"]}


# ---------------------------------------------------------------- the report

def test_missing_report(tmp_path):
    with pytest.raises(ApprovalError, match=r"nope/report.json: no such report; run playbooks/diagnose.yml"):
        approval.load_report(str(tmp_path / "nope" / "report.json"))
    with pytest.raises(ApprovalError, match=r"report.json: no such report"):
        approval.load_report(str(tmp_path))  # a directory without report.json


@pytest.mark.parametrize("content, message", [
    (b"", "the report is empty"),
    (b"   \n", "the report is empty"),
    (b"{not json", "the report is not valid JSON"),
    (b"\xff\xfe", "the report is not valid JSON"),
    (b"[]", "expected a JSON object"),
    (b'{"schema": 2, "findings": []}', "schema is 2"),
    (b'{"schema": 1, "findings": {}}', '"findings" must be a list'),
    (b'{"schema": 1, "findings": [{"category": "dns", "rule": "X", "hosts": ["a"]}]}',
     "findings\\[0\\]: category 'dns' is not one of the fixed categories"),
    (b'{"schema": 1, "findings": [{"category": "unknown", "rule": "X", "hosts": []}]}',
     '"hosts" must be a non-empty list'),
    (b'{"schema": 1, "findings": [{"category": "unknown", "rule": "X", "hosts": ["a"]}]}',
     '"remediation" must be an object'),
    (b'{"schema": 1, "findings": [{"category": "unknown", "rule": "X", "hosts": ["a"], '
     b'"remediation": {"role": "r", "auto_remediable": "yes"}}]}', "auto_remediable must be true or false"),
])
def test_malformed_report(tmp_path, content, message):
    path = tmp_path / "report.json"
    path.write_bytes(content)
    with pytest.raises(ApprovalError, match=message) as exc:
        approval.load_report(str(tmp_path))
    assert str(path) in str(exc.value)


def test_good_report_from_file_and_directory(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(REPORT))
    assert approval.load_report(str(tmp_path)) == REPORT
    assert approval.load_report(str(tmp_path / "report.json")) == REPORT


# ---------------------------------------------------------------- approvals and the plan

def test_unknown_finding_id_is_a_clear_error():
    with pytest.raises(ApprovalError) as exc:
        approval.make_plan(REPORT, policies([]), ["HOST-CHAIN-001@gw9"], roles=ROLES, inventory=HOSTS)
    msg = str(exc.value)
    assert "ikev2_approve names finding id not in the report: HOST-CHAIN-001@gw9" in msg
    assert "IKE-CHAIN-001@gw1" in msg  # lists the ids it has


@pytest.mark.parametrize("value, expected", [
    (None, []), ("", []), ("A@x, B@y", ["A@x", "B@y"]), (["A@x", "A@x"], ["A@x"])])
def test_approvals_forms(value, expected):
    assert approval.validate_approvals(value) == expected


def test_approvals_must_be_ids():
    with pytest.raises(ApprovalError, match="ikev2_approve must be a list of finding ids"):
        approval.validate_approvals([1, 2])


def items_by_id(plan):
    return dict((i["id"], i) for i in plan["items"])


def test_policy_applies_only_its_categories_and_only_auto_remediable():
    plan = approval.make_plan(REPORT, policies(["cert_chain_incomplete", "cert_expired"]), [],
                              roles=ROLES, inventory=HOSTS)
    items = items_by_id(plan)
    assert [i for i in items if items[i]["apply"]] == ["IKE-CHAIN-001@gw1", "HOST-CHAIN-001@cl1",
                                                       "HOST-CHAIN-001@cl1#2"]
    assert items["IKE-CHAIN-001@gw1"]["role"] == "vpnops.ikev2.ca_chain"
    assert items["IKE-CHAIN-001@gw1"]["approved_by"] == "policy (ikev2_auto_remediate on gw1)"
    assert "not auto-remediable" in items["HOST-CERT-001@cl3"]["reason"]          # in policy, but manual
    assert "not in the approval policy of infra" in items["HOST-FW-4500@infra"]["reason"]
    assert '"ikev2_approve": ["HOST-FW-4500@infra"]' in items["HOST-FW-4500@infra"]["reason"]
    assert "not in this collection yet" in items["PAIR-PROP-001@cl6"]["reason"]
    assert "no fix role" in items["HOST-DAEMON-001@nat1"]["reason"]
    assert plan["apply_hosts"] == ["gw1", "cl1"]  # rank order: the canary is the top finding's host
    assert plan["plan_hosts"] == ["infra", "cl3"]


def test_command_line_approval_by_id():
    plan = approval.make_plan(REPORT, policies([]), ["HOST-FW-4500@infra"], roles=ROLES, inventory=HOSTS)
    items = items_by_id(plan)
    assert [i for i in items if items[i]["apply"]] == ["HOST-FW-4500@infra"]
    assert items["HOST-FW-4500@infra"]["approved_by"] == "command line (ikev2_approve)"
    assert plan["apply_hosts"] == ["infra"]


def test_approval_by_id_never_overrides_auto_remediable():
    plan = approval.make_plan(REPORT, policies([]), ["HOST-CERT-001@cl3"], roles=ROLES, inventory=HOSTS)
    assert not items_by_id(plan)["HOST-CERT-001@cl3"]["apply"]


def test_host_outside_the_inventory_or_limit_is_only_planned():
    plan = approval.make_plan(REPORT, policies(["clock_skew"]), [], roles=ROLES | {"time_sync"}, inventory=HOSTS)
    item = items_by_id(plan)["HOST-TIME-001@outside"]
    assert not item["apply"] and "not a host of the inventory" in item["reason"]


def test_policy_is_per_host():
    pol = policies([])
    pol["cl1"] = ["cert_chain_incomplete"]
    plan = approval.make_plan(REPORT, pol, [], roles=ROLES, inventory=HOSTS)
    assert plan["apply_hosts"] == ["cl1"]


def test_every_finding_is_in_the_plan_with_a_change():
    plan = approval.make_plan(REPORT, policies([]), [], roles=ROLES, inventory=HOSTS)
    assert list(dict.fromkeys(i["id"] for i in plan["items"])) == plan["ids"]
    assert not any(i["apply"] for i in plan["items"])
    items = items_by_id(plan)
    assert "missing C=CH, CN=Intermediate CA" in items["HOST-CHAIN-001@cl1"]["summary"]
    assert "(C=CH, CN=Intermediate CA)" in items["HOST-CHAIN-001@cl1"]["change"]
    assert "/etc/swanctl/x509ca/" in items["IKE-CHAIN-001@gw1"]["change"]
    assert items["HOST-FW-4500@infra"]["change"].startswith("vpnops.ikev2.firewall on infra: open")
    assert "no automatic fix" in items["HOST-DAEMON-001@nat1"]["change"]
    assert items["HOST-CHAIN-001@cl1"]["finding"]["id"] == "HOST-CHAIN-001@cl1"


def test_remediation_vars_are_passed_on():
    report = copy.deepcopy(REPORT)
    report["findings"][2]["remediation"]["vars"] = {"firewall_allow": ["udp4500"]}
    plan = approval.make_plan(report, policies(["udp4500_blocked"]), [], roles=ROLES, inventory=HOSTS)
    item = items_by_id(plan)["HOST-FW-4500@infra"]
    assert item["apply"] and item["vars"] == {"firewall_allow": ["udp4500"]}
    assert "udp4500" in item["change"]


def test_compare_before_and_after():
    after = {"schema": 1, "hosts": {}, "findings": [REPORT["findings"][2],
                                                    finding(2, "clock_skew", "HOST-TIME-001", ["cl2"], "time_sync")]}
    cmp = approval.compare(REPORT, after)
    assert ("udp4500_blocked", "infra") in [(r["category"], r["host"]) for r in cmp["remaining"]]
    assert [(r["category"], r["host"]) for r in cmp["new"]] == [("clock_skew", "cl2")]
    assert ("cert_chain_incomplete", "gw1") in [(r["category"], r["host"]) for r in cmp["fixed"]]


def test_installed_roles_reads_the_collection(tmp_path):
    (tmp_path / "a" / "tasks").mkdir(parents=True)
    (tmp_path / "a" / "tasks" / "main.yml").write_text("---\n")
    (tmp_path / "b").mkdir()
    assert approval.installed_roles(str(tmp_path)) == {"a"}
    assert approval.installed_roles(str(tmp_path / "missing")) == set()


def test_proposals_fix_both_ends():
    roles = ROLES | {"proposals"}
    plan = approval.make_plan(REPORT, policies(["proposal_mismatch"]), [], roles=roles, inventory=HOSTS)
    items = [i for i in plan["items"] if i["id"] == "PAIR-PROP-001@cl6"]
    assert [(i["host"], i["apply"]) for i in items] == [("cl6", True), ("gw3", True)]
    assert plan["apply_hosts"] == ["cl6", "gw3"]


def test_golden_unknown_algorithm_is_a_clear_error():
    with pytest.raises(ApprovalError) as exc:
        approval.validate_golden({"ike_proposals": ["aes256gcm16-prfsha384-ecp384", "aes257-sha256-ecp256"],
                                  "esp_proposals": ["aes256gcm16"]})
    assert "ike_proposals 'aes257-sha256-ecp256': unknown algorithm 'aes257'" in str(exc.value)


def test_golden_denied_algorithm_is_a_clear_error():
    with pytest.raises(ApprovalError, match="esp_proposals '3des-md5': '3des' is on the deny list"):
        approval.validate_golden({"esp_proposals": ["3des-md5"]}, deny=["3des", "md5"])


def test_golden_shape():
    with pytest.raises(ApprovalError, match="must be a non-empty list"):
        approval.validate_golden({"ike_proposals": "aes256-sha256-ecp256"})
    assert approval.validate_golden({"ike_proposals": ["aes256-sha256-modp2048", "chacha20poly1305-prfsha256-x25519"],
                                     "esp_proposals": ["aes128gcm16-esn", "aes256-sha256-noesn"]})

"""The rule set: the shipped files validate; bad files are reported by file, rule id and field."""

from __future__ import annotations

import copy
import os
import re

import pytest
import yaml

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import rules as rules_mod
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import CATEGORIES, RuleError, load_rules

FIXED_CATEGORIES = {
    "proposal_mismatch", "psk_mismatch", "cert_expired", "clock_skew", "cert_chain_incomplete",
    "cert_identity_mismatch", "cert_usage", "cert_revoked", "cert_missing", "eap_failure", "ts_mismatch",
    "udp4500_blocked", "esp_blocked", "no_matching_connection", "resource_limit", "fragmentation",
    "peer_unreachable", "invalid_spi", "unknown",
}


def test_categories_are_exactly_the_fixed_list():
    assert set(CATEGORIES) == FIXED_CATEGORIES and len(CATEGORIES) == 19
    schema = rules_mod._schema()
    assert set(schema["$defs"]["category"]["enum"]) == FIXED_CATEGORIES


def test_shipped_rule_set_loads_and_covers_every_category():
    rs = load_rules()
    ids = [r.id for r in rs.rules]
    assert len(ids) == len(set(ids))
    for r in rs.rules:
        assert re.match(r"^[A-Z]+-[A-Z0-9]+-[0-9A-Z]{3,5}$", r.id)
        assert r["category"] in FIXED_CATEGORIES
    covered = set(r["category"] for r in rs.rules)
    for r in rs.rules:
        covered.update(x.get("category", r["category"]) for x in r.refine)
    assert covered >= FIXED_CATEGORIES - {"unknown"}


def _write(tmp_path, doc, name="bad.yml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(p)


def _good_doc():
    with open(os.path.join(rules_mod.RULES_DIR, "logs.yml")) as f:
        doc = yaml.safe_load(f)
    doc["rules"] = [copy.deepcopy(doc["rules"][0])]
    return doc


def _ctx():
    return os.path.join(rules_mod.RULES_DIR, "context.yml")


def test_good_single_file_loads(tmp_path):
    rs = load_rules([_ctx(), _write(tmp_path, _good_doc())])
    assert [r.id for r in rs.rules] == ["IKE-PROP-001"]


@pytest.mark.parametrize("mutate,field,needle", [
    (lambda r: r.__setitem__("category", "bogus"), "category", "bogus"),
    (lambda r: r.pop("category"), "category", "required"),
    (lambda r: r.__setitem__("priority", 500), "priority", "500"),
    (lambda r: r.__setitem__("phase", "IKE_MAIN"), "phase", "IKE_MAIN"),
    (lambda r: r.__setitem__("id", "prop1"), "id", "prop1"),
    (lambda r: r["remediation"].pop("auto_remediable"), "remediation", "auto_remediable"),
    (lambda r: r.__setitem__("colour", "red"), "colour", "colour"),
    (lambda r: r["match"].__setitem__("signatures", []), "match.signatures", "non-empty"),
])
def test_schema_errors_name_file_rule_and_field(tmp_path, mutate, field, needle):
    doc = _good_doc()
    mutate(doc["rules"][0])
    path = _write(tmp_path, doc)
    with pytest.raises(RuleError) as exc:
        load_rules([_ctx(), path])
    msg = str(exc.value)
    assert msg.startswith("bad.yml: rule IKE-PROP-001: field %s" % field) or (
        field == "id" and msg.startswith("bad.yml: rule prop1: field id")), msg
    assert needle in msg


def test_bad_regex_is_reported(tmp_path):
    doc = _good_doc()
    doc["rules"][0]["match"]["pattern"] = "received (proposals"
    with pytest.raises(RuleError, match=r"^bad\.yml: rule IKE-PROP-001: field pattern: invalid regular expression"):
        load_rules([_ctx(), _write(tmp_path, doc)])


def test_unknown_context_reference_is_reported(tmp_path):
    doc = _good_doc()
    doc["rules"][0]["evidence"]["context"] = ["no_such_context"]
    with pytest.raises(RuleError, match=r"rule IKE-PROP-001: field evidence.context: unknown context id 'no_such_context'"):
        load_rules([_ctx(), _write(tmp_path, doc)])


def test_unknown_explains_reference_is_reported(tmp_path):
    doc = _good_doc()
    doc["rules"][0]["explains"] = ["IKE-NOPE-999"]
    with pytest.raises(RuleError, match=r"field explains: 'IKE-NOPE-999' is neither"):
        load_rules([_ctx(), _write(tmp_path, doc)])


def test_duplicate_rule_id_is_reported(tmp_path):
    doc = _good_doc()
    doc["rules"].append(copy.deepcopy(doc["rules"][0]))
    with pytest.raises(RuleError, match=r"rule IKE-PROP-001: field id: duplicate id"):
        load_rules([_ctx(), _write(tmp_path, doc)])


def test_invalid_yaml_and_non_mapping(tmp_path):
    p = tmp_path / "broken.yml"
    p.write_text("rules: [\n  - id: X\n    title: a: b\n")
    with pytest.raises(RuleError, match=r"^broken\.yml: rule \(none\): field \(file\): not valid YAML"):
        load_rules([str(p)])
    p.write_text("- just a list\n")
    with pytest.raises(RuleError, match=r"^broken\.yml: .*mapping with schema: 1"):
        load_rules([str(p)])


def test_adding_a_message_is_a_data_change(tmp_path):
    """A new rule in a new file classifies a line no shipped rule knows."""
    from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.prefilter import Prefilter

    line = "Nov 26 23:00:09 13[IKE] <x|1> quantum flux capacitor rejected the peer"
    shipped = engine.classify({"h": engine.HostInput("h", parse_lines([line], year=2026))})
    assert shipped["findings"] == []
    doc = _good_doc()
    r = doc["rules"][0]
    r.update({"id": "IKE-FLUX-001", "category": "resource_limit",
              "match": {"signatures": ["quantum flux capacitor"], "pattern": "flux capacitor rejected"}})
    path = _write(tmp_path, doc, "flux.yml")
    rs = load_rules([_ctx(), path])
    rep = engine.classify({"h": engine.HostInput("h", parse_lines([line], year=2026))}, ruleset=rs,
                          prefilter=Prefilter(rs.signatures()))
    assert [(f["category"], f["rule"]) for f in rep["findings"]] == [("resource_limit", "IKE-FLUX-001")]

"""Fault scenarios: one declarative file each under tests/scenarios/, applied to a running lab.

    description: the client's clock is a day behind
    faults:
      - {fault: clock_offset, host: cl1, seconds: -86400}
    expected:                      # what the classifier must find ({category, host})
      - {category: clock_skew, host: cl1}
    tunnels_down: [cl1]            # clients whose tunnel this scenario breaks
    tunnels_either: []             # clients whose tunnel may come up or not (a race the fault sets up)
    signatures:                    # lines the real daemons log for this fault
      - {host: cl1, log: "subject certificate invalid"}
    after: [{host: cl3, run: "swanctl --terminate --ike gw2"}]   # commands once tunnels settled
    linger: 20                     # seconds to let the fleet run on (rekeys, DPD) afterwards

Each fault is a change to the healthy host settings of lab/render.py; FAULTS says which fields a
fault takes and what it changes.
"""

from __future__ import annotations

import os
import re

import yaml

from lab.errors import LabError
from lab.pki import VARIANTS
from lab.topology import Topology

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "scenarios")

CATEGORIES = (
    "proposal_mismatch", "psk_mismatch", "cert_expired", "clock_skew", "cert_chain_incomplete",
    "cert_identity_mismatch", "cert_usage", "cert_revoked", "cert_missing", "eap_failure", "ts_mismatch",
    "udp4500_blocked", "esp_blocked", "no_matching_connection", "resource_limit", "fragmentation",
    "peer_unreachable", "invalid_spi", "unknown",
)


def _set_clock(s, f):
    # A clock only stays wrong where nothing keeps it right: the host's NTP client is stopped.
    s["clock_offset"] = f["seconds"]
    s["services"]["chronyd"] = False


def _set_key(key):
    def apply(s, f):
        s[key] = f["value"]
    return apply


def _firewall(s, f):
    s["firewall"][f["port"]] = False


def _remove_ca(s, f):
    s["ca_files"] = [c for c in s["ca_files"] if c != f["ca"]]


def _charon_limit(s, f):
    s["charon"][f["setting"]] = f["value"]


def _stop(s, f):
    s["services"]["ike"] = False


def _link_down(s, f):
    s["link_up"] = False


def _no_cert(s, f):
    s["has_cert"] = False


def _rekey(s, f):
    s["ike_rekey"] = f"{f['ike']}s"
    s["child_rekey"] = f"{f['child']}s"


def _dpd(s, f):
    s["dpd_delay"] = f"{f['value']}s"


# fault -> (required fields with their types or allowed values, roles it applies to, change)
FAULTS = {
    "clock_offset": ({"seconds": int}, ("gateway", "client"), _set_clock),
    "ike_proposals": ({"value": str}, ("gateway", "client"), _set_key("ike_proposals")),
    "esp_proposals": ({"value": str}, ("gateway", "client"), _set_key("esp_proposals")),
    "libreswan_ike": ({"value": str}, ("gateway",), _set_key("lsw_ike")),
    "libreswan_esp": ({"value": str}, ("gateway",), _set_key("lsw_esp")),
    "psk": ({"value": str}, ("client",), _set_key("psk")),
    "cert": ({"value": VARIANTS}, ("gateway", "client"), _set_key("cert_variant")),
    "remove_ca": ({"ca": ("root", "intermediate")}, ("gateway", "client"), _remove_ca),
    "no_cert": ({}, ("client",), _no_cert),
    "remote_ts": ({"value": str}, ("client",), _set_key("remote_ts")),
    "local_ts": ({"value": str}, ("gateway",), _set_key("local_ts")),
    "firewall_drop": ({"port": ("udp500", "udp4500", "esp")}, ("gateway", "client"), _firewall),
    "local_addrs": ({"value": str}, ("gateway",), _set_key("local_addrs")),
    "charon_limit": ({"setting": ("ikesa_limit", "init_limit_half_open", "init_limit_job_load"), "value": int},
                     ("gateway",), _charon_limit),
    "rekey": ({"ike": int, "child": int}, ("client",), _rekey),
    "dpd": ({"value": int}, ("client",), _dpd),
    "stop_daemon": ({}, ("gateway", "client"), _stop),
    "link_down": ({}, ("gateway", "client"), _link_down),
}


def path_of(name: str) -> str:
    if os.sep in name or name.endswith(".yml"):
        return name
    return os.path.join(SCENARIO_DIR, name + ".yml")


def names() -> list[str]:
    return sorted(f[:-4] for f in os.listdir(SCENARIO_DIR) if f.endswith(".yml"))


def load(name: str, topo: Topology) -> dict:
    path = path_of(name)
    if not os.path.exists(path):
        raise LabError(f"{path}: no such scenario; scenarios: {', '.join(names())}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"{path}: cannot read scenario: {exc}") from None
    return validate(data, path, topo)


def validate(data, path: str, topo: Topology) -> dict:
    def fail(where, msg):
        return LabError(f"{path}: {where}: {msg}")

    if not isinstance(data, dict):
        raise fail("top level", "expected a mapping with description, faults, expected")
    allowed = ("description", "faults", "expected", "tunnels_down", "tunnels_either", "signatures", "settle",
               "after", "linger")
    for key in data:
        if key not in allowed:
            raise fail(key, f"unknown field; allowed: {', '.join(allowed)}")

    def check_host(where, host, roles=None):
        if host not in topo.hosts:
            raise fail(where, f"{host!r} is not a host of topology {topo.name}; hosts: {', '.join(topo.hosts)}")
        if roles and topo.hosts[host].role not in roles:
            raise fail(where, f"{host!r} is a {topo.hosts[host].role}; this applies to: {', '.join(roles)}")

    faults = data.get("faults") or []
    if not isinstance(faults, list):
        raise fail("faults", "expected a list")
    for i, fault in enumerate(faults):
        where = f"faults[{i}]"
        if not isinstance(fault, dict):
            raise fail(where, "expected a mapping with fault and host")
        kind = fault.get("fault")
        if kind not in FAULTS:
            raise fail(f"{where}.fault", f"{kind!r} is not a fault; faults: {', '.join(FAULTS)}")
        fields, roles, _ = FAULTS[kind]
        check_host(f"{where}.host", fault.get("host"), roles)
        for key in fault:
            if key not in ("fault", "host") and key not in fields:
                raise fail(f"{where}.{key}", f"unknown field for {kind}; allowed: {', '.join(fields) or 'none'}")
        for key, kind_or_values in fields.items():
            value = fault.get(key)
            if isinstance(kind_or_values, tuple):
                if value not in kind_or_values:
                    raise fail(f"{where}.{key}", f"{value!r} is not allowed; allowed: {', '.join(kind_or_values)}")
            elif not isinstance(value, kind_or_values) or isinstance(value, bool):
                raise fail(f"{where}.{key}", f"got {value!r}; expected {kind_or_values.__name__}")
    expected = data.get("expected")
    if not isinstance(expected, list):
        raise fail("expected", "expected a list of {category, host} (empty for a healthy fleet)")
    for i, item in enumerate(expected):
        if not isinstance(item, dict) or set(item) != {"category", "host"}:
            raise fail(f"expected[{i}]", "expected a mapping with exactly category and host")
        if item["category"] not in CATEGORIES:
            raise fail(f"expected[{i}].category", f"{item['category']!r} is not a category; categories: {', '.join(CATEGORIES)}")
        check_host(f"expected[{i}].host", item["host"])
    for key in ("tunnels_down", "tunnels_either"):
        for i, host in enumerate(data.get(key) or []):
            check_host(f"{key}[{i}]", host, ("client",))
    for i, sig in enumerate(data.get("signatures") or []):
        if not isinstance(sig, dict) or set(sig) != {"host", "log"}:
            raise fail(f"signatures[{i}]", "expected a mapping with exactly host and log (a regex)")
        check_host(f"signatures[{i}].host", sig["host"])
        try:
            re.compile(sig["log"])
        except re.error as exc:
            raise fail(f"signatures[{i}].log", f"not a valid regex: {exc}") from None
    after = data.get("after") or []
    if not isinstance(after, list):
        raise fail("after", "expected a list of {host, run}")
    for i, step in enumerate(after):
        if not isinstance(step, dict) or set(step) != {"host", "run"} or not isinstance(step["run"], str):
            raise fail(f"after[{i}]", "expected a mapping with exactly host and run (a shell command)")
        check_host(f"after[{i}].host", step["host"])
    linger = data.get("linger", 0)
    if not isinstance(linger, (int, float)) or isinstance(linger, bool) or not 0 <= linger <= 120:
        raise fail("linger", f"got {linger!r}; expected seconds between 0 and 120")
    data["after"], data["linger"] = after, linger
    data.setdefault("description", "")
    data["faults"] = faults
    data.setdefault("tunnels_down", [])
    data.setdefault("tunnels_either", [])
    data.setdefault("signatures", [])
    data["name"] = os.path.basename(path)[:-4]
    return data


def apply_faults(settings: dict[str, dict], scenario: dict) -> None:
    for fault in scenario["faults"]:
        FAULTS[fault["fault"]][2](settings[fault["host"]], fault)

"""charon limits in strongswan.conf files (plugins/plugin_utils/charon_settings.py), on the real files of a
lab gateway (tests/fixtures/strongswan_conf/, see its NOTE.md)."""

from __future__ import annotations

import doctest
import pathlib

import pytest

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import charon_settings as cs

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "strongswan_conf"


@pytest.fixture
def files():
    return {"/etc/strongswan.conf": (FIXTURES / "strongswan.conf").read_text(),
            "/etc/strongswan.d/charon.conf": (FIXTURES / "charon.conf").read_text(),
            "/etc/strongswan.d/charon-lab.conf": (FIXTURES / "charon-lab.conf").read_text()}


def test_the_scenario_limit_is_found_and_commented_defaults_are_not(files):
    plan = cs.plan_limits(files, {"ikesa_limit": 0, "init_limit_half_open": 2000, "init_limit_job_load": None})
    assert plan["errors"] == []
    assert [(r["path"], r["name"], r["value"], r["target"], r["line"]) for r in plan["raise"]] == [
        ("/etc/strongswan.d/charon-lab.conf", "ikesa_limit", "1", 0, 4)]
    assert plan["current"] == {"ikesa_limit": ["1"]}


def test_raising_changes_one_line_and_is_idempotent(files):
    text = files["/etc/strongswan.d/charon-lab.conf"]
    new = cs.set_setting(text, "charon.ikesa_limit", 0)
    assert [(a, b) for a, b in zip(text.splitlines(), new.splitlines()) if a != b] == [("\tikesa_limit = 1", "\tikesa_limit = 0")]
    assert len(new) == len(text)
    files["/etc/strongswan.d/charon-lab.conf"] = new
    assert cs.plan_limits(files, {"ikesa_limit": 0})["raise"] == []


def test_limits_are_never_lowered():
    text = "charon {\n\tikesa_limit = 0\n\tinit_limit_half_open = 5000\n\tinit_limit_job_load = 10\n}\n"
    plan = cs.plan_limits({"f": text}, {"ikesa_limit": 100, "init_limit_half_open": 2000, "init_limit_job_load": 0})
    assert [(r["name"], r["target"]) for r in plan["raise"]] == [("init_limit_job_load", 0)]


def test_only_the_charon_section_counts():
    text = ("charon {\n  plugins {\n    x {\n      ikesa_limit = 1\n    }\n  }\n}\n"
            "charon-nm {\n  ikesa_limit = 1\n}\n# charon { ikesa_limit = 1 }\ncharon {\n  ikesa_limit = 3 # low\n}\n")
    plan = cs.plan_limits({"f": text}, {"ikesa_limit": 0})
    assert [(r["line"], r["value"]) for r in plan["raise"]] == [(12, "3")]
    assert cs.set_setting(text, "charon.ikesa_limit", 0).splitlines()[12] == "  ikesa_limit = 0 # low"
    assert cs.set_setting(text, "charon.ikesa_limit", 0).splitlines()[3] == "      ikesa_limit = 1"


def test_bad_values_are_clear_errors():
    plan = cs.plan_limits({"/etc/strongswan.d/x.conf": "charon {\n ikesa_limit = lots\n}\n"},
                          {"ikesa_limit": 0, "init_limit_half_open": -1, "init_limit_job_load": "many"})
    assert plan["raise"] == []
    assert "init_limit_half_open: the target -1 is not a whole number >= 0" in plan["errors"][0]
    assert "init_limit_job_load: the target 'many'" in plan["errors"][1]
    assert "/etc/strongswan.d/x.conf line 2: charon.ikesa_limit = 'lots' is not a whole number" in plan["errors"][2]


def test_docstring_examples():
    failures, _ = doctest.testmod(cs)
    assert failures == 0

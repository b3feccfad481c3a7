"""vpnops.ikev2.conn_settings logic (plugins/module_utils/conf/) on the lab's real rendered configuration files.

Fixtures: tests/fixtures/conf/ (see NOTE.md there for how they were captured).
"""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf import conn_settings as cs
from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.conf_text import ConfError
from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.libreswan_proposals import (
    TranslationError, to_libreswan)

REPO = pathlib.Path(__file__).resolve().parents[3]
FIX = REPO / "tests" / "fixtures" / "conf"
GOLDEN = {"rekey_time": "4h", "child_rekey_time": "1h", "dpd_delay": "30s", "fragmentation": "yes"}


def text(name):
    return (FIX / name).read_text()


def changed_lines(before, after):
    """Lines removed and added between two texts (no context)."""
    out = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
           if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return out


def run(name, settings=None, ts=None, conns=None, missing="fail"):
    doc = cs.parse(text(name), name)
    result = cs.plan(doc, settings or {}, ts or {}, conns, missing)
    return result, doc.text()


# --------------------------------------------------------------------------- the healthy lab is golden

@pytest.mark.parametrize("name", ["gw1.swanctl.conf", "gw2.swanctl.conf", "cl1.swanctl.conf", "cl3.swanctl.conf",
                                  "gw3.rw.conf"])
def test_healthy_lab_files_have_no_drift_from_the_lab_golden_settings(name):
    ts = {"rw-cert": {"local_ts": ["10.%s.0.0/24" % name[2]]}} if name.startswith("gw") else \
        {"gw1": {"remote_ts": ["10.1.0.0/24"]}, "gw2": {"remote_ts": ["10.2.0.0/24"]}}
    result, after = run(name, GOLDEN, ts, missing="ignore")
    assert result["drift"] == []
    assert after == text(name)


def test_lab_golden_file_matches_the_rendered_lab():
    """inventories/lab golden connections: values the healthy lab has (enforce finds no drift there)."""
    import yaml
    golden = yaml.safe_load((REPO / "inventories/lab/group_vars/all/golden.yml").read_text())["ikev2_golden"]["connections"]
    settings = dict((k, v) for k, v in golden.items() if k != "traffic_selectors")
    assert settings
    for name in ["gw1.swanctl.conf", "gw2.swanctl.conf", "cl1.swanctl.conf", "cl3.swanctl.conf", "gw3.rw.conf"]:
        assert run(name, settings)[0]["drift"] == [], name
    host_ts = {}
    for host in ("gw1", "gw2", "gw3", "clients"):
        path = REPO / "inventories/lab" / ("group_vars/clients.yml" if host == "clients" else "host_vars/%s.yml" % host)
        host_ts[host] = yaml.safe_load(path.read_text())["ikev2_golden_traffic_selectors"]
    for name, key in [("gw1.swanctl.conf", "gw1"), ("gw2.swanctl.conf", "gw2"), ("gw3.rw.conf", "gw3"),
                      ("cl1.swanctl.conf", "clients"), ("cl3.swanctl.conf", "clients")]:
        result = run(name, {}, host_ts[key], missing="ignore")[0]
        assert result["drift"] == [] and result["connections"], (name, result)


# --------------------------------------------------------------------------- swanctl edits

def test_ts_mismatch_fix_changes_only_the_remote_ts_line():
    broken = text("cl3.swanctl.conf").replace("remote_ts = 10.2.0.0/24", "remote_ts = 10.99.0.0/24")
    doc = cs.parse(broken, "/etc/swanctl/swanctl.conf")
    result = cs.plan(doc, {}, {"gw2": {"remote_ts": ["10.2.0.0/24"]}})
    assert [(d["where"], d["key"], d["have"], d["want"]) for d in result["drift"]] == \
        [("gw2/gw2-net", "remote_ts", "10.99.0.0/24", "10.2.0.0/24")]
    assert doc.text() == text("cl3.swanctl.conf")


def test_missing_settings_are_inserted_after_the_last_setting_of_their_section():
    result, after = run("cl1.swanctl.conf", {"child_life_time": "2h", "life_time": "5h", "fragmentation": "force"})
    assert changed_lines(text("cl1.swanctl.conf"), after) == [
        "-\t\tfragmentation = yes", "+\t\tfragmentation = force",
        "+\t\tover_time = 1h",
        "+\t\t\t\tlife_time = 2h"]
    # over_time goes after rekey_time (the last connection-level setting), before local { }.
    assert "\t\trekey_time = 4h\n\t\tover_time = 1h\n\t\tlocal {" in after
    keys = sorted(d["key"] for d in result["drift"])
    assert keys == ["child_life_time", "fragmentation", "life_time"]
    life = [d for d in result["drift"] if d["key"] == "life_time"][0]
    assert life["have"] == "264m (default)"       # 4h + 10%


def test_equal_durations_and_defaults_are_not_drift():
    result, after = run("gw2.swanctl.conf", {"rekey_time": "240m", "child_rekey_time": "3600", "ike_proposals":
                                             ["aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp256"]})
    assert result["drift"] == [] and after == text("gw2.swanctl.conf")
    # remote_ts is unset on the gateway: strongSwan's default is dynamic.
    result, _ = run("gw2.swanctl.conf", {"remote_ts": ["dynamic"]})
    assert result["drift"] == []


def test_proposals_order_matters_and_all_children_are_set():
    result, after = run("gw1.swanctl.conf", {"esp_proposals": ["aes256-sha256", "aes256gcm16"]})
    assert [d["where"] for d in result["drift"]] == ["rw-cert/net", "rw-psk-cl2/net"]
    assert after.count("esp_proposals = aes256-sha256,aes256gcm16") == 2


def test_named_connection_only():
    result, after = run("gw1.swanctl.conf", {"dpd_delay": "10s"}, conns=["rw-psk-cl2"])
    assert result["connections"] == ["rw-psk-cl2"]
    assert after.count("dpd_delay = 10s") == 1 and after.count("dpd_delay = 30s") == 1


def test_a_connection_that_does_not_exist_is_a_clear_error():
    with pytest.raises(cs.SettingsError) as e:
        run("cl3.swanctl.conf", {"dpd_delay": "10s"}, conns=["gw9"])
    assert str(e.value) == "swanctl.conf cl3.swanctl.conf has no connection 'gw9' (it has: gw2)"
    with pytest.raises(cs.SettingsError, match="no connection 'rw-nope'"):
        run("gw2.swanctl.conf", {}, {"rw-nope": {"local_ts": ["10.2.0.0/24"]}})
    result, _ = run("gw2.swanctl.conf", {}, {"rw-nope": {"local_ts": ["10.2.0.0/24"]}}, missing="ignore")
    assert result["missing"] == ["rw-nope"] and result["drift"] == []


def test_comments_includes_and_quoted_values_survive_and_trailing_comments_are_kept():
    src = text("cl3.swanctl.conf")
    src = "# managed by hand\ninclude conf.d/*.conf\n" + src.replace(
        "\t\tdpd_delay = 30s\n", "\t\tdpd_delay = 30s   # liveness\n\t\t# a comment { with braces }\n").replace(
        "\t\tversion = 2\n", "\t\tversion = 2\n\t\tinclude extra/*.conf\n\t\tmediated_by = \"a # b\"\n")
    doc = cs.parse(src, "swanctl.conf")
    assert doc.conns()[0].get("mediated_by") == "a # b"
    result = cs.plan(doc, {"dpd_delay": "10s"}, {"gw2": {"remote_ts": ["10.2.0.0/24", "10.20.0.0/24"]}})
    after = doc.text()
    assert changed_lines(src, after) == [
        "-\t\tdpd_delay = 30s   # liveness", "+\t\tdpd_delay = 10s  # liveness",
        "-\t\t\t\tremote_ts = 10.2.0.0/24", "+\t\t\t\tremote_ts = 10.2.0.0/24,10.20.0.0/24"]
    assert len(result["drift"]) == 2


def test_multi_line_quoted_value_and_one_line_sections():
    src = ('connections {\n  a {\n    remote_addrs = "192.0.2.1,\n      192.0.2.2"\n    local { auth = psk }\n'
           '    children {\n      c { remote_ts = 10.0.0.0/8 }\n      d {\n        remote_ts = 10.1.0.0/16\n      }\n'
           '    }\n  }\n}\n')
    doc = cs.parse(src)
    assert doc.conns()[0].get("remote_addrs") == "192.0.2.1,\n      192.0.2.2"
    cs.plan(doc, {"dpd_delay": "5s", "remote_ts": ["10.1.0.0/16"]})
    after = doc.text()
    # The one-line CHILD c is not seen (left alone); d already matches; dpd_delay goes after the quoted value.
    assert changed_lines(src, after) == ["+    dpd_delay = 5s"]
    assert '192.0.2.2"\n    dpd_delay = 5s\n' in after


def test_unreadable_structure_is_an_error_naming_file_and_line():
    with pytest.raises(ConfError, match=r"swanctl.conf line 3: section connections.a is never closed|line 2"):
        cs.parse("connections {\n  a {\n", "swanctl.conf")
    with pytest.raises(ConfError, match=r"x.conf line 2: cannot read 'a { b = c'"):
        cs.parse("connections {\na { b = c\n}\n", "x.conf")
    with pytest.raises(ConfError, match=r'line 1: a "}" closes no section'):
        cs.parse("}\n", "x.conf", "strongswan")


def test_bad_requested_values_are_clear_errors():
    with pytest.raises(cs.SettingsError, match="unknown setting rekey; the settings are"):
        run("cl1.swanctl.conf", {"rekey": "1h"})
    with pytest.raises(cs.SettingsError, match="dpd_delay must be a duration such as 30s"):
        run("cl1.swanctl.conf", {"dpd_delay": "soon"})
    with pytest.raises(cs.SettingsError, match="fragmentation must be one of"):
        run("cl1.swanctl.conf", {"fragmentation": "maybe"})
    with pytest.raises(cs.SettingsError, match="life_time 1h must be longer than rekey_time 4h"):
        run("cl1.swanctl.conf", {"life_time": "1h"})
    with pytest.raises(cs.SettingsError, match="traffic_selectors.gw2 must be a mapping"):
        run("cl3.swanctl.conf", {}, {"gw2": ["10.2.0.0/24"]})


def test_secrets_never_reach_the_diff(tmp_path):
    path = tmp_path / "swanctl.conf"
    path.write_text(text("gw1.swanctl.conf").replace("lab-psk-redacted", "S3cret-do-not-leak"))
    result = cs.edit_file(str(path), {"dpd_delay": "10s"}, check_mode=True)
    assert result["changed"]
    assert "S3cret" not in json.dumps(result)
    assert "S3cret" in path.read_text()        # check mode wrote nothing


# --------------------------------------------------------------------------- libreswan

def test_libreswan_conn_mapping_and_translation():
    result, after = run("gw3.rw.conf", {"ike_proposals": ["aes256gcm16-prfsha384-ecp384"], "esp_proposals":
                                        ["aes256gcm16"], "rekey_time": "4h", "child_rekey_time": "60m",
                                        "dpd_delay": "30", "life_time": "5h"},
                        {"rw-cert": {"local_ts": ["10.3.0.0/24"]}})
    assert result["drift"] == [] and after == text("gw3.rw.conf")
    assert result["unsupported"] == ["life_time"]
    result, after = run("gw3.rw.conf", {"ike_proposals": ["aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp256"],
                                        "dpd_delay": "10s"}, {"rw-cert": {"local_ts": ["10.33.0.0/24"],
                                                                          "remote_ts": ["10.103.0.0/24"]}})
    assert changed_lines(text("gw3.rw.conf"), after) == [
        "-\tleftsubnet=10.3.0.0/24", "+\tleftsubnet=10.33.0.0/24",
        "-\tike=aes_gcm256-sha2_384;dh20", "+\tike=aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19",
        "-\tdpddelay=30", "+\tdpddelay=10s",
        "+\trightsubnet=10.103.0.0/24"]


def test_libreswan_main_file_with_include_and_config_setup_is_read():
    doc = cs.parse(text("gw3.ipsec.conf"), "/etc/ipsec.conf")
    assert type(doc).__name__ == "IpsecDoc" and doc.conns() == []
    with pytest.raises(cs.SettingsError, match=r"ipsec.conf /etc/ipsec.conf has no connection 'rw-cert' \(it has: none\)"):
        cs.plan(doc, {"dpd_delay": "10s"}, {}, ["rw-cert"])


def test_libreswan_errors():
    with pytest.raises(cs.SettingsError, match="several local_ts"):
        run("gw3.rw.conf", {}, {"rw-cert": {"local_ts": ["10.3.0.0/24", "10.4.0.0/24"]}})
    with pytest.raises(cs.SettingsError, match="ike_proposals for libreswan: .*one hash for integrity and PRF"):
        run("gw3.rw.conf", {"ike_proposals": ["aes256-sha256-prfsha384-ecp384"]})
    with pytest.raises(ConfError, match="line 2: cannot read 'what is this'"):
        cs.parse("conn a\n\twhat is this\n")


def test_proposal_translation_table():
    assert to_libreswan("aes256gcm16-prfsha384-ecp384", "ike") == "aes_gcm256-sha2_384;dh20"   # the lab's gw3
    assert to_libreswan("aes256gcm16", "esp") == "aes_gcm256"
    assert to_libreswan("aes128-sha1-modp2048,chacha20poly1305-prfsha256-x25519", "ike") == \
        "aes128-sha1;dh14,chacha20_poly1305-sha2_256;dh31"
    assert to_libreswan("aes256gcm12-ecp384,aes128-sha256", "esp") == "aes_gcm_b256;dh20,aes128-sha2_256"
    with pytest.raises(TranslationError, match="no encryption algorithm"):
        to_libreswan("sha256", "esp")


def test_golden_proposals_libreswan_cannot_express_fail_before_any_edit():
    # what the algparse-checked translation refuses (the former proposal_names.py wrote these)
    with pytest.raises(cs.SettingsError, match="ike_proposals for libreswan: .*AEAD IKE proposal needs a PRF"):
        run("gw3.rw.conf", {"ike_proposals": ["aes256gcm16-ecp384"]})
    with pytest.raises(cs.SettingsError, match="esp_proposals for libreswan: .*esn= option"):
        run("gw3.rw.conf", {"esp_proposals": ["aes256gcm16-esn"]})


# --------------------------------------------------------------------------- the file

def test_edit_file_writes_atomically_keeping_mode_and_owner_and_backs_up(tmp_path):
    path = tmp_path / "swanctl.conf"
    original = text("cl3.swanctl.conf").replace("10.2.0.0/24", "10.99.0.0/24").encode()
    path.write_bytes(original)
    os.chmod(path, 0o640)
    os.chown(path, 0, 4)
    result = cs.edit_file(str(path), {}, {"gw2": {"remote_ts": ["10.2.0.0/24"]}}, backup_dir=str(tmp_path / "bk"),
                          now=0)
    assert result["changed"] and result["backup_file"] == str(tmp_path / "bk" / "swanctl.conf.19700101T000000Z")
    assert pathlib.Path(result["backup_file"]).read_bytes() == original
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == 4
    assert stat.S_IMODE((tmp_path / "bk").stat().st_mode) == 0o700
    assert path.read_text() == text("cl3.swanctl.conf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bk", "swanctl.conf"]     # no temporary file left
    again = cs.edit_file(str(path), {}, {"gw2": {"remote_ts": ["10.2.0.0/24"]}}, backup_dir=str(tmp_path / "bk"))
    assert not again["changed"] and again["backup_file"] is None and again["drift"] == []


def test_edit_file_errors(tmp_path):
    with pytest.raises(cs.SettingsError, match="cannot read .*/nope.conf: No such file"):
        cs.edit_file(str(tmp_path / "nope.conf"), {})
    (tmp_path / "bin.conf").write_bytes(b"\xff\xfe")
    with pytest.raises(cs.SettingsError, match="is not UTF-8"):
        cs.edit_file(str(tmp_path / "bin.conf"), {})


def test_module_runs_in_check_mode_with_diff_and_fails_cleanly(tmp_path):
    """The module itself (ansible's module runner on localhost): check mode, diff, a clear error, no traceback."""
    path = tmp_path / "swanctl.conf"
    path.write_text(text("cl3.swanctl.conf"))
    ansible = REPO / ".venv" / "bin" / "ansible"
    base = [str(ansible), "localhost", "-c", "local", "-m", "vpnops.ikev2.conn_settings"]
    args = json.dumps({"path": str(path), "traffic_selectors": {"gw2": {"remote_ts": ["10.9.0.0/24"]}}})
    proc = subprocess.run(base + ["-a", args, "--check", "--diff"], cwd=REPO, capture_output=True, text=True,
                          check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-\t\t\t\tremote_ts = 10.2.0.0/24" in proc.stdout and "+\t\t\t\tremote_ts = 10.9.0.0/24" in proc.stdout
    assert "CHANGED" in proc.stdout and path.read_text() == text("cl3.swanctl.conf")
    args = json.dumps({"path": str(path), "connections": ["gw9"], "settings": {"dpd_delay": "1s"}})
    proc = subprocess.run(base + ["-a", args], cwd=REPO, capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode != 0
    assert "has no connection 'gw9' (it has: gw2)" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))

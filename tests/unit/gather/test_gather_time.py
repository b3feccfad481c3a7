"""The time section: which NTP client, whether it runs (``ntp.running`` is always there, True,
False or None, with ``ntp.running_reason``), what it says; and the module's end-of-result clock
reading. chrony output is the real capture in tests/fixtures/gather/chrony/ (see its NOTE.md)."""

from __future__ import annotations

import json

import pytest
from _gather_helpers import FakeHost, fixture_text

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import gather, timefacts

CHRONY_OK = {("chronyc", "-c", "-n", "tracking"): (0, fixture_text("chrony/cl-tracking.csv")),
             ("chronyc", "-c", "-n", "sources"): (0, fixture_text("chrony/cl-sources.csv"))}
NO_DAEMON = (1, "", fixture_text("chrony/nodaemon-tracking.out").split("\nrc=")[0])
BASE_FILES = {"/proc/1/comm": "labinit\n", "/proc/40/comm": "sshd\n", "/etc/timezone": "Etc/UTC\n"}


def host_with(commands=None, files=None, procs=None, tools_missing=("timedatectl", "ntpq")):
    cmds = {("timedatectl",): None, ("ntpq",): None}
    cmds.update(commands or {})
    fs = dict(BASE_FILES)
    for pid, comm in (procs or {}).items():
        fs["/proc/%d/comm" % pid] = comm + "\n"
    fs.update(files or {})
    return FakeHost(cmds, fs, tools_missing=[t for t in tools_missing if (t,) not in (commands or {})])


def time_section(host):
    return gather.gather({"gather_subset": ["time"], "paths": {}}, host)["time"]


def test_chrony_answering_is_running():
    t = time_section(host_with(CHRONY_OK, procs={812: "chronyd"}))
    ntp = t["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("chrony", True, True)
    assert ntp["running_reason"] == "chronyc tracking answered" and t["status"] == "ok"


def test_chrony_installed_not_running_is_false():
    t = time_section(host_with({("chronyc",): NO_DAEMON}))
    ntp = t["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("chrony", False, False)
    assert "no chronyd process" in ntp["running_reason"] and t["status"] == "ok"


def test_chronyd_running_but_unreachable_command_socket_is_running():
    t = time_section(host_with({("chronyc",): NO_DAEMON}, procs={77: "chronyd"}))
    assert t["ntp"]["running"] is True and "process 77" in t["ntp"]["running_reason"]


def test_chronyc_error_without_proc_is_unknown():
    host = host_with({("chronyc", "-c", "-n", "tracking"): (1, "", "501 Not authorised")})
    host.listdir = lambda path: [] if path == "/proc" else FakeHost.listdir(host, path)
    t = time_section(host)
    assert t["status"] == "error" and t["ntp"]["running"] is None and "Not authorised" in t["ntp"]["running_reason"]


def test_no_client_at_all_is_false_with_reason():
    t = time_section(host_with(tools_missing=("chronyc", "timedatectl", "ntpq")))
    ntp = t["ntp"]
    assert t["status"] == "missing" and ntp["client"] == "none"
    assert ntp["running"] is False and "no NTP client is installed" in ntp["running_reason"]


@pytest.mark.parametrize("case", ["chrony-ok", "chrony-down", "timesyncd", "ntpd-down", "none"])
def test_running_and_its_reason_are_always_present(case):
    hosts = {
        "chrony-ok": host_with(CHRONY_OK),
        "chrony-down": host_with({("chronyc",): NO_DAEMON}),
        "timesyncd": host_with(tools_missing=("chronyc", "timedatectl", "ntpq"),
                               files={"/lib/systemd/systemd-timesyncd": b"\x7fELF"}),
        "ntpd-down": host_with({("ntpq",): (1, "***Socket error; probably ntpd is not running\n")},
                               tools_missing=("chronyc", "timedatectl")),
        "none": host_with(tools_missing=("chronyc", "timedatectl", "ntpq")),
    }
    ntp = time_section(hosts[case])["ntp"]
    assert "running" in ntp and ntp["running"] in (True, False, None)
    assert isinstance(ntp["running_reason"], str) and ntp["running_reason"]


def test_a_running_daemon_decides_the_client():
    """chronyc installed but chronyd stopped, timesyncd running: the host's client is timesyncd."""
    host = host_with({("chronyc",): NO_DAEMON}, procs={300: "systemd-timesyncd"},
                     files={"/run/systemd/timesync/synchronized": b"",
                            "/run/systemd/timesyncd.conf.d/lab.conf": "[Time]\nNTP=198.19.0.11\n"},
                     tools_missing=("timedatectl", "ntpq"))
    ntp = time_section(host)["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("timesyncd", True, True)
    assert ntp["servers"] == [{"type": "server", "host": "198.19.0.11", "options": []}]
    assert ntp["synchronized_from"] == "/run/systemd/timesync/synchronized"


def test_timesyncd_installed_not_running():
    host = host_with(tools_missing=("chronyc", "timedatectl", "ntpq"), files={"/lib/systemd/systemd-timesyncd": b"\x7fELF"})
    ntp = time_section(host)["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("timesyncd", False, False)
    assert "no systemd-timesyncd process" in ntp["running_reason"]


def test_timesyncd_conf_drop_ins_override():
    host = host_with(files={"/etc/systemd/timesyncd.conf": "[Time]\n#NTP=\nNTP=a.example b.example\nFallbackNTP=c.example\n",
                            "/etc/systemd/timesyncd.conf.d/x.conf": "[Time]\nNTP=d.example\n"})
    assert timefacts.timesyncd_conf(host) == {"servers": ["d.example"], "fallback": ["c.example"]}


def test_ntpd_not_answering_and_no_process():
    host = host_with({("ntpq",): (1, "***Socket error; probably ntpd is not running\n")}, tools_missing=("chronyc", "timedatectl"))
    t = time_section(host)
    ntp = t["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("ntpd", False, False)
    assert "no ntpd process" in ntp["running_reason"] and t["status"] == "ok"


# ---------------------------------------------------------------- the module's last clock reading

class FakeModule:
    def __init__(self):
        self.written = []

    def _record_module_result(self, o):
        self.written.append(json.dumps(o))


def test_stamp_result_end_sets_host_end_when_the_result_is_serialized():
    m = FakeModule()
    assert timefacts.stamp_result_end(m, fast_exit=False) is True   # no os._exit in pytest itself
    timing = {"host_start": 1.0, "elapsed": 0.5}
    result = {"ike_facts_timing": timing, "ansible_facts": {}}
    m._record_module_result(result)
    written = json.loads(m.written[0])
    assert written["ike_facts_timing"]["host_end"] > 1.0
    # a result without timing (a failure) goes through untouched
    m._record_module_result({"failed": True, "msg": "x"})
    assert json.loads(m.written[1]) == {"failed": True, "msg": "x"}


def test_stamp_result_end_without_the_hook():
    assert timefacts.stamp_result_end(object()) is False


FAST_EXIT_SCRIPT = r"""
import atexit, json, os, sys, tempfile
sys.path.insert(0, %(collections)r)
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import timefacts

class Module:
    def _record_module_result(self, o):
        print(json.dumps(o))
    def exit_json(self, **kw):
        self._record_module_result(kw)
        sys.exit(0)
    def fail_json(self, **kw):
        kw['failed'] = True
        self._record_module_result(kw)
        sys.exit(1)

m = Module()
timefacts.stamp_result_end(m)
later = tempfile.mkdtemp()
atexit.register(os.rmdir, later)          # registered after the hook (like the module tmpdir): still runs
print('later=' + later)
getattr(m, sys.argv[1])(ike_facts_timing={'host_start': 1.0}, msg='x' * 100000)
"""


@pytest.mark.parametrize("how,status", [("exit_json", 0), ("fail_json", 1)])
def test_fast_exit_keeps_status_output_and_later_cleanups(tmp_path, how, status):
    import os
    import subprocess
    import sys

    from _gather_helpers import COLLECTIONS
    script = tmp_path / "mod.py"
    script.write_text(FAST_EXIT_SCRIPT % {"collections": COLLECTIONS})
    proc = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=60)
    assert proc.returncode == status, proc.stderr
    later = proc.stdout.splitlines()[0].split("=", 1)[1]
    result = json.loads(proc.stdout.splitlines()[1])      # the whole result made it out before the exit
    assert len(result["msg"]) == 100000 and result["ike_facts_timing"]["host_end"] > 1.0
    assert not os.path.exists(later)


# ---------------------------------------------------------------- real ntpsec / timesyncd output
# tests/fixtures/timeclients/ (captured inside a lab host by its capture.sh, see its NOTE.md)

def timeclients_text(name):
    from _gather_helpers import REPO
    text = (REPO / "tests" / "fixtures" / "timeclients" / name).read_text()
    return text.split("\nexit ")[0] + "\n"    # the capture appends ntpq's exit status


def test_real_ntpq_without_ntpd_exits_0_and_is_not_an_answer():
    out = timeclients_text("ntpsec-ntpq-pn-not-running.txt")
    assert "Socket error" in out
    host = host_with({("ntpq",): (0, out)}, tools_missing=("chronyc", "timedatectl"))
    t = time_section(host)
    ntp = t["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"], ntp["sources"]) == ("ntpd", False, False, [])
    assert "Socket error" in ntp["running_reason"] and t["status"] == "ok"
    # ntpd's process there but not answering: running, and the failure is a gather error
    host = host_with({("ntpq",): (0, out)}, procs={99: "ntpd"}, tools_missing=("chronyc", "timedatectl"))
    t = time_section(host)
    assert t["ntp"]["running"] is True and t["status"] == "error" and "Socket error" in t["reason"]


def test_real_timesyncd_without_timedated():
    """timesyncd synchronised against the lab's NTP server on a host without systemd/D-Bus: timedatectl
    refuses (real output), so the drop-in, the process and the flag file it created tell the state."""
    refusal = timeclients_text("timedatectl-show.txt")
    assert "Failed to connect to bus" in refusal
    host = host_with({("timedatectl",): (1, "", refusal)}, procs={84879: "systemd-timesyncd"},
                     files={"/run/systemd/timesync/synchronized": b"",     # timesyncd-state.txt
                            "/run/systemd/timesyncd.conf.d/lab-capture.conf": timeclients_text("timesyncd-lab-capture.conf")},
                     tools_missing=("chronyc", "ntpq"))
    t = time_section(host)
    ntp = t["ntp"]
    assert (ntp["client"], ntp["running"], ntp["synchronized"]) == ("timesyncd", True, True), ntp
    assert ntp["servers"] == [{"type": "server", "host": "198.19.0.11", "options": []}]
    assert ntp["synchronized_from"] == "/run/systemd/timesync/synchronized" and t["status"] == "ok"
    assert "Initial clock synchronization" in timeclients_text("timesyncd.log")

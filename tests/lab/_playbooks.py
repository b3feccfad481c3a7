"""Runs the project's playbooks on the lab and reads their results (shared by the lab tests).

Imported as ``_playbooks`` (tests/lab is on sys.path under pytest's prepend import mode).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from lab import runtime

ANSIBLE_PLAYBOOK = os.path.join(runtime.REPO, ".venv", "bin", "ansible-playbook")
HOSTS = "gateways:clients"


def playbook(name, *args, timeout=900):
    """(rc, output) of ``playbooks/NAME``; the output ends with a flat copy for greps across folds."""
    proc = subprocess.run([ANSIBLE_PLAYBOOK, os.path.join("playbooks", name)] + list(args), cwd=runtime.REPO,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    out = proc.stdout + proc.stderr
    # The YAML callback folds long messages: one space between words makes them greppable.
    return proc.returncode, out + "\n--- flat ---\n" + " ".join(out.split())


def diagnose(report_dir, since=None):
    """diagnose.yml over the lab's gateways and clients; the report.json it wrote."""
    extra = ["-e", "ikev2_diagnose_since=%d" % since] if since else []
    rc, out = playbook("diagnose.yml", "-e", "ikev2_diagnose_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir,
                       *extra)
    assert rc == 0, out[-4000:]
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
        return json.load(handle)


def remediate(report_dir, audit_log, *extra):
    return playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir,
                    "-e", "ikev2_audit_log=%s" % audit_log, *extra)


def recap(out):
    """host -> {ok, changed, failed, ...} from the last PLAY RECAP."""
    out = out.split("\n--- flat ---\n")[0]
    out = out[out.rindex("PLAY RECAP"):]
    return dict((m.group(1), dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))))
                for m in re.finditer(r"^(\S+)\s+:\s+(.*)$", out, re.M))


def audit_records(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def carries_traffic(lab, client):
    """Pings the client's gateway's protected address: both byte counters of its CHILD_SA grow."""
    gw = lab.topo.hosts[lab.topo.hosts[client].gateway]
    before = lab.child_bytes(client)
    out = lab.sh(client, "ping -c 3 -i 0.2 -W 2 %s" % gw.protected_addr, check=False)
    after = lab.child_bytes(client)
    return " 0% packet loss" in out and after[0] > before[0] and after[1] > before[1]

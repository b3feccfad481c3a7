"""Runs a fix role's test playbook on the lab and reads its audit records (shared by the role tests).

Imported as ``_role_runner`` (tests/lab is on sys.path under pytest's prepend import mode).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from lab import runtime


class RoleRunner:
    """`runner(check=..., host=..., **extra_vars)` runs the playbook against one host and returns
    rc, output and the host's changed/failed counts from the play recap."""

    def __init__(self, tmp, name: str, playbook: str, host: str, base_vars: dict | None = None):
        self.playbook = tmp / f"{name}.yml"
        self.playbook.write_text(playbook)
        self.audit = tmp / "audit.jsonl"
        self.host = host
        self.base_vars = base_vars or {}

    def __call__(self, check=False, host=None, **extra):
        host = host or self.host
        extra_vars = {"target": host, "ikev2_audit_log": str(self.audit), **self.base_vars, **extra}
        cmd = [f"{runtime.REPO}/.venv/bin/ansible-playbook", str(self.playbook), "-e", json.dumps(extra_vars)]
        if check:
            cmd += ["--check", "--diff"]
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        proc = subprocess.run(cmd, cwd=runtime.REPO, capture_output=True, text=True, timeout=300, env=env, check=False)
        out = proc.stdout + proc.stderr
        host = extra_vars["target"]       # a test may name the target in its extra vars
        m = re.search(rf"^{host}\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
        assert m, out
        return {"rc": proc.returncode, "out": out, "changed": int(m.group(2)), "failed": int(m.group(4))}

    def records(self):
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]

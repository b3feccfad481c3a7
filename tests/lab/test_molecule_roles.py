"""Every molecule scenario under molecule/ runs on the lab: `molecule test -s NAME` from the
repository root (destroy, syntax, create, converge, idempotence, verify, destroy).

Data-driven: a new role's scenario is picked up by adding molecule/<name>/molecule.yml. The cases:
ca_chain (cert_chain_incomplete on gw1), firewall (udp4500_blocked on gw2), time_sync (clock_skew on
cl1), connections (a DPD delay drifted off the golden value on cl1, put there by its prepare step).
The `lab` fixture holds the lab lock for the session; the scenarios' create/prepare/destroy playbooks
inject faults (lab scenarios through lab.labctl, or a hand edit) and reset the lab to healthy, and
leave the lab itself up.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest

from lab import runtime

REPO = pathlib.Path(runtime.REPO)
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", SCENARIOS)
def test_molecule_scenario(lab, name):
    env = dict(os.environ, PATH=f"{REPO}/.venv/bin:{os.environ.get('PATH', '')}", NO_COLOR="1",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    try:
        proc = subprocess.run([f"{REPO}/.venv/bin/molecule", "test", "-s", name], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
    finally:
        lab.apply(None)  # whatever the scenario did, the lab goes back to healthy
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out[-20000:]
    for step in ("converge", "idempotence", "verify"):
        # "[name > step] Executed: Successful" without a terminal, "name ➜ step: ..." with one
        assert re.search(rf"{name} (?:➜|>) {step}\]?:? Executed: Successful", out), \
            f"{step} did not run:\n{out[-5000:]}"

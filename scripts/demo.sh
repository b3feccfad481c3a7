#!/usr/bin/env bash
# The project's main job on the running lab, as `make demo` runs it after `make lab-up`:
# diagnose the lab (report in reports/latest/), then print the ranked findings, where the report
# is, and the command that remediates what the approval policy allows.
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT_DIR=${IKEV2_REPORT_DIR:-reports/latest}
if [ -f playbooks/diagnose.yml ]; then
  # The lab's infra (NTP, CRL) and NAT router run no IKE daemon: diagnose the IKE hosts only.
  .venv/bin/ansible-playbook playbooks/diagnose.yml \
    -e "ikev2_diagnose_hosts=gateways:clients" -e "ikev2_report_dir=$REPORT_DIR"
  echo
  echo "== Diagnosis of the lab, root causes first =="
  PYTHONPATH=collections .venv/bin/python - "$REPORT_DIR/report.json" <<'PY'
import json
import sys

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report import summary_lines

with open(sys.argv[1], encoding="utf-8") as f:
    print("\n".join(summary_lines(json.load(f))))
PY
  echo
  echo "Report: $PWD/$REPORT_DIR/report.html (also report.md, report.json)"
  echo "To remediate what the approval policy allows (ikev2_auto_remediate), run:"
  echo
  echo "  .venv/bin/ansible-playbook playbooks/remediate.yml -e ikev2_report_dir=$REPORT_DIR"
else
  .venv/bin/ansible-playbook playbooks/sa_state.yml
fi

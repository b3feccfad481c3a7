#!/usr/bin/env bash
# The project's main job on the running lab, as `make demo` runs it after `make lab-up`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f playbooks/diagnose.yml ]; then
  .venv/bin/ansible-playbook playbooks/diagnose.yml
else
  .venv/bin/ansible-playbook playbooks/sa_state.yml
fi

#!/usr/bin/env bash
# Runs `ansible-test sanity` on the collection, locally (no Docker) and fully offline except PyPI.
#
# ansible-test creates one virtualenv per sanity test and bootstraps pip in each with a
# get-pip script it downloads from ci-files.testing.ansible.com, which we cannot reach. It uses
# ~/.ansible/test/cache/get_pip_<version>.py when that file exists, so we install a stand-in
# there: it bootstraps pip with ensurepip and then lets pip (from PyPI) install the pinned pip.
#
# Usage: scripts/sanity.sh [extra ansible-test sanity arguments, e.g. --test pep8]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PYTHON_VERSION=${SANITY_PYTHON:-3.11}
COLLECTION=$ROOT/collections/ansible_collections/vpnops/ikev2

# The pip version ansible-test pins for its virtualenvs, read from the installed ansible-test.
pip_version=$("$VENV/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])
PY
)
cache_dir=${HOME}/.ansible/test/cache
stand_in=$cache_dir/get_pip_${pip_version//./_}.py
marker='# vpnops.ikev2 get-pip stand-in v2'
if ! grep -qxF "$marker" "$stand_in" 2>/dev/null; then
  mkdir -p "$cache_dir"
  cat > "$stand_in.tmp" <<PY
$marker
"""Offline stand-in for get-pip.py $pip_version (installed by scripts/sanity.sh).

ansible-test runs it as "get-pip.py [pip options] pip==X --no-setuptools --no-wheel" in a
fresh virtualenv that has no pip. Bootstrap pip from the interpreter's bundled wheel, then
install the requested packages with it (from PyPI).
"""
import subprocess
import sys

DROP = {"--no-setuptools", "--no-wheel"}

subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
               stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in DROP]
sys.exit(subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + args).returncode)
PY
  mv "$stand_in.tmp" "$stand_in"
  echo "sanity: installed the get-pip stand-in at $stand_in"
fi

# The ignore file must stay empty: refuse to run with one present.
shopt -s nullglob
ignores=("$COLLECTION"/tests/sanity/ignore-*.txt)
shopt -u nullglob
for f in "${ignores[@]}"; do
  if [ -s "$f" ]; then
    echo "sanity: $f is not empty; fix the findings instead of ignoring them" >&2
    exit 1
  fi
done

export PATH=$VENV/bin:$PATH

# ansible-test silently skips shellcheck/pslint when the tool is missing; refuse instead when
# the collection has files those tests would check.
need_tool() {  # need_tool TOOL HOW-TO-GET-IT GLOB...
  local tool=$1 how=$2; shift 2
  command -v "$tool" >/dev/null && return 0
  local expr=() g
  for g in "$@"; do expr+=(${expr[0]+-o} -name "$g"); done
  local found
  found=$(find "$COLLECTION" -path "$COLLECTION/tests/output" -prune -o -type f \( "${expr[@]}" \) -print -quit)
  if [ -n "$found" ]; then
    echo "sanity: $tool is needed for ${found#"$COLLECTION"/} and is not installed ($how)" >&2
    exit 1
  fi
}
need_tool shellcheck "apt-get install shellcheck" '*.sh'
need_tool pwsh "PowerShell is not packaged for Debian 12" '*.ps1' '*.psm1' '*.psd1'
cd "$COLLECTION"
start=$SECONDS
rc=0
ansible-test sanity --python "$PYTHON_VERSION" --color no "$@" || rc=$?
echo "sanity: finished in $((SECONDS - start)) s (exit $rc)"
exit $rc

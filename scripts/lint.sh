#!/usr/bin/env bash
# Lints the repository offline: ansible-lint (production profile, settings in .ansible-lint)
# over playbooks/, roles/, molecule/ and the collection, then the collection's changelog
# fragments and changelog.yaml with antsibull-changelog.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$ROOT/.venv/bin:$PATH
COLLECTION=$ROOT/collections/ansible_collections/vpnops/ikev2

start=$SECONDS
rc=0
echo "lint: ansible-lint (profile production, offline)"
ansible-lint --nocolor || rc=1

echo "lint: antsibull-changelog lint (changelogs/fragments, changelogs/changelog.yaml)"
(cd "$COLLECTION" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml) || rc=1

echo "lint: finished in $((SECONDS - start)) s (exit $rc)"
exit $rc

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: vpnops.ikev2.audit runs on the controller (plugins/action/audit.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: audit
short_description: Append a remediation record to the controller's audit log
version_added: 0.1.0
description:
  - Appends one JSON object, on one line, to the audit log on the controller for the current host
    (C(inventory_hostname)) with the keys C(time) (UTC, ISO 8601 with C(Z)), C(operator), C(host), C(finding),
    C(role), C(diff), C(backup), C(verification), C(check_mode), C(changed) and C(schema) (1).
  - The operator is the variable C(ikev2_operator) when set, else the controller's login user
    (with the C(SUDO_USER) in parentheses under sudo).
  - Values that look secret are replaced by C(<redacted>) before anything is written, at any depth
    in O(finding), O(diff), O(backup) and O(verification). That is the values of mapping keys such as C(secret),
    C(password), C(psk), C(pin), C(token), C(private_key), C(secret = ...) style settings (also
    inside unified diffs), the secrets of C(ipsec.secrets) lines, PEM private key blocks, and
    credentials in URIs.
  - Writers are serialised with an exclusive lock on the log file, so forks and concurrent
    playbooks never interleave lines. The file is created with mode 0600.
author:
  - vpnops maintainers (@vpnops)
options:
  role:
    description:
      - The fix role that made (or would make) the change, for example C(vpnops.ikev2.ca_chain).
    type: str
    required: true
  finding:
    description:
      - The finding the change answers, as the finding dict of the classify report or its id
        (for example C(HOST-CHAIN-001@gw1)).
    type: raw
  diff:
    description:
      - The change, usually the C(diff) returned by the changing task (C(before)/C(after) dicts or a list
        of them) or a unified diff as text.
    type: raw
  backup:
    description:
      - Where the previous state was saved (a path, a list of paths or a dict), so the change can be undone.
    type: raw
  verification:
    description:
      - The result of the verification after the change, for example C(passed=true) and the checks made.
    type: dict
  changed:
    description:
      - Whether the role changed the host. Recorded as given; the audit task itself never reports a change.
    type: bool
  log:
    description:
      - The audit log file on the controller.
      - Defaults to the variable C(ikev2_audit_log), else C(reports/audit.jsonl) in the parent of
        C(playbook_dir) (the repository root for this repository's playbooks).
    type: path
attributes:
  check_mode:
    support: full
    description:
      - In check mode the record is still written, with C(check_mode=true), so the log also shows who
        previewed which change; consumers that only want applied changes filter on C(check_mode).
  diff_mode:
    support: none
    description: The task changes nothing on the hosts; the diff it records is the caller's.
  action:
    support: full
    description: Runs on the controller as an action plugin.
notes:
  - Controller-side only; nothing is executed on the managed hosts.
  - The task always returns C(changed=false), so recording a change never breaks idempotence checks.
  - A log that cannot be written fails the task with the file name and the reason.
seealso:
  - module: vpnops.ikev2.classify
'''

EXAMPLES = r'''
- name: Install the missing CA
  ansible.builtin.copy:
    content: "{{ ca_pem }}"
    dest: /etc/swanctl/x509ca/intermediate.pem
    mode: "0644"
    backup: true
  register: ca_file

- name: Record the change
  vpnops.ikev2.audit:
    role: vpnops.ikev2.ca_chain
    finding: "{{ finding }}"
    diff: "{{ ca_file.diff | default(omit) }}"
    backup: "{{ ca_file.backup_file | default(omit) }}"
    verification:
      passed: true
      checks: [chain complete, credentials reloaded, CHILD_SA INSTALLED]
    changed: "{{ ca_file is changed }}"
'''

RETURN = r'''
record:
  description: The record as written (secrets redacted).
  returned: always
  type: dict
  sample:
    schema: 1
    time: "2026-11-27T00:12:03Z"
    operator: root
    host: gw1
    role: vpnops.ikev2.ca_chain
    finding: HOST-CHAIN-001@gw1
    check_mode: false
    changed: true
    diff: {before: "", after: "-----BEGIN CERTIFICATE-----..."}
    backup: null
    verification: {passed: true}
log:
  description: The audit log file the record was appended to.
  returned: always
  type: str
  sample: /srv/vpnops/reports/audit.jsonl
'''

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vpnops.ikev2.audit: append one record to the remediation audit log.

Nothing runs on the targets; the record format and redaction live in plugin_utils/audit.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import audit
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.plain_data import plain

ARGUMENT_SPEC = {
    'role': {'type': 'str', 'required': True},
    'finding': {'type': 'raw'},
    'diff': {'type': 'raw'},
    'backup': {'type': 'raw'},
    'verification': {'type': 'dict'},
    'changed': {'type': 'bool'},
    'log': {'type': 'path'},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        # Ansible's own check of the task's arguments (fails the task naming the bad one).
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        configured = task_vars.get('ikev2_audit_log')
        if configured:
            # An inventory value may be a template (e.g. "{{ playbook_dir }}/../audit.jsonl").
            configured = self._templar.template(configured)
        path = args.get('log') or configured or audit.default_log_path(
            task_vars.get('playbook_dir'))
        host = task_vars.get('inventory_hostname') or self._task.delegate_to or 'localhost'
        record = audit.build_record(
            host=str(host),
            role=args['role'],
            finding=plain(args.get('finding')),
            diff=plain(args.get('diff')),
            backup=plain(args.get('backup')),
            verification=plain(args.get('verification')),
            operator=task_vars.get('ikev2_operator'),
            check_mode=bool(self._task.check_mode or self._play_context.check_mode),
            changed=args.get('changed'),
        )
        try:
            audit.append_record(str(path), record)
        except audit.AuditError as e:
            raise AnsibleActionFail('vpnops.ikev2.audit: %s (set ikev2_audit_log or log: to a writable file)' % e)
        result.update({'changed': False, 'record': record, 'log': str(path)})
        return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vpnops.ikev2.remediation_plan: validate remediation input and split findings.

Nothing runs on the targets; the logic is plugin_utils/approval.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import approval
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.plain_data import plain

ARGUMENT_SPEC = {
    'hosts': {'type': 'list', 'elements': 'str'},
    'report': {'type': 'raw'},
    'report_path': {'type': 'path'},
    'approve': {'type': 'raw'},
    'policy_var': {'type': 'str', 'default': 'ikev2_auto_remediate'},
    'roles': {'type': 'list', 'elements': 'str'},
    'golden': {'type': 'raw'},
    'deny': {'type': 'list', 'elements': 'str', 'default': []},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        # Ansible's own check of the task's arguments (fails the task naming the bad one).
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        names = args.get('hosts')
        if names is None:
            names = list(task_vars.get('ansible_play_hosts_all') or [])
        hostvars = task_vars.get('hostvars') or {}
        policies = {}
        for name in names:
            hv = hostvars.get(name) if hasattr(hostvars, 'get') else None
            value = hv.get(args['policy_var']) if hv is not None else None
            policies[name] = plain(value)
        try:
            golden = None
            if args.get('golden') is not None:
                groups = task_vars.get('groups')
                golden = approval.validate_golden(plain(args['golden']), args.get('deny'),
                                                  groups=list(groups) if hasattr(groups, 'keys') else None)
            policies = approval.validate_policy(policies)
            approve = approval.validate_approvals(plain(args.get('approve')))
            report = None
            if args.get('report_path'):
                report = approval.load_report(args['report_path'])
            elif args.get('report') is not None:
                report = approval.validate_report(plain(args['report']), 'classify result')
            plan = None
            if report is not None:
                plan = approval.make_plan(report, policies, approve, roles=args.get('roles'), inventory=names)
        except approval.ApprovalError as e:
            raise AnsibleActionFail('vpnops.ikev2.remediation_plan: %s' % e)
        result.update({'changed': False, 'policies': policies, 'approve': approve, 'report': report, 'golden': golden,
                       'available_roles': sorted(approval.installed_roles())})
        if plan is not None:
            result.update(plan)
        return result

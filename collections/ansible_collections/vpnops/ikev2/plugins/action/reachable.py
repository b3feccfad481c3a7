# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vpnops.ikev2.reachable: a fresh SSH login from the controller (paramiko).

Nothing is sent over Ansible's own (multiplexed) connection; the connection details come from
the task's arguments or from the host's inventory variables.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.ssh_reachable import (
    ReachabilityError, check_with_retries, known_hosts_from_ssh_args)

ARGUMENT_SPEC = {
    'host': {'type': 'str'},
    'port': {'type': 'int'},
    'user': {'type': 'str'},
    'private_key_file': {'type': 'path'},
    'known_hosts_file': {'type': 'path'},
    'host_key_checking': {'type': 'bool', 'default': True},
    'command': {'type': 'str', 'default': 'true'},
    'timeout': {'type': 'float', 'default': 10.0},
    'retries': {'type': 'int', 'default': 2},
    'delay': {'type': 'float', 'default': 2.0},
    'fail_on_unreachable': {'type': 'bool', 'default': True},
}


class ActionModule(ActionBase):
    """Checks that a new SSH connection to the host still works."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def _var(self, task_vars, *names):
        for name in names:
            if name in task_vars and task_vars[name] is not None:
                value = self._templar.template(task_vars[name])
                if value not in (None, ''):
                    return value
        return None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        # Ansible's own check of the task's arguments (fails the task naming the bad one).
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        host = args['host'] or self._var(task_vars, 'ansible_host', 'ansible_ssh_host', 'inventory_hostname')
        port = args['port'] or self._var(task_vars, 'ansible_port', 'ansible_ssh_port') or 22
        user = args['user'] or self._var(task_vars, 'ansible_user', 'ansible_ssh_user', 'ansible_remote_user') or 'root'
        key = args['private_key_file'] or self._var(
            task_vars, 'ansible_ssh_private_key_file', 'ansible_private_key_file')
        known_hosts = args['known_hosts_file'] or known_hosts_from_ssh_args(
            self._var(task_vars, 'ansible_ssh_common_args'), self._var(task_vars, 'ansible_ssh_extra_args'))
        try:
            check = check_with_retries(retries=args['retries'], delay=args['delay'], host=str(host), port=int(port),
                                       user=str(user), key_file=key, known_hosts=known_hosts,
                                       timeout=args['timeout'], command=args['command'],
                                       strict=args['host_key_checking'])
        except ReachabilityError as exc:
            raise AnsibleActionFail(f'vpnops.ikev2.reachable: {exc}') from None
        result.update(changed=False, reachable=check['ok'], host=check['host'], port=check['port'],
                      user=check['user'], command_rc=check['rc'], error=check['error'], elapsed_s=check['elapsed_s'],
                      attempts=check['attempts'], known_hosts_file=known_hosts)
        if not check['ok'] and args['fail_on_unreachable']:
            result['failed'] = True
            result['msg'] = f'no new SSH session to {user}@{host}:{port} from the controller: {check["error"]}'
        else:
            result['msg'] = 'reachable' if check['ok'] else check['error']
        return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vpnops.ikev2.classify: classify all hosts' gathered facts at once.

Nothing runs on the targets; the work is the triage engine in plugin_utils/triage.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.acknowledge import AcknowledgementError, acknowledge
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.engine import HostInput, classify
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import RuleError

ARGUMENT_SPEC = {
    'hosts': {'type': 'list', 'elements': 'str'},
    'unreachable': {'type': 'list', 'elements': 'str', 'default': []},
    'facts': {'type': 'dict'},
    'rules': {'type': 'list', 'elements': 'path'},
    'fail_on_findings': {'type': 'bool', 'default': False},
    'acknowledged': {'type': 'list', 'elements': 'dict'},
}


def host_inputs(names, hostvars, unreachable=(), facts=None, active=None):
    """Build the engine's inputs from hostvars (or an explicit facts mapping). ``active``: the
    play's remaining hosts; a host without facts that is no longer among them was unreachable (or
    failed before gathering)."""
    out = {}
    unreachable = set(unreachable or ())
    for name in names:
        if name in unreachable:
            out[name] = HostInput(name, status='unreachable', reason='host was unreachable when facts were gathered')
            continue
        if facts is not None:
            ikev2 = facts.get(name)
        else:
            hv = hostvars.get(name) if hostvars is not None else None
            ikev2 = None
            if hv is not None:
                af = hv.get('ansible_facts') or {}
                ikev2 = af.get('ikev2') if hasattr(af, 'get') else None
                if ikev2 is None:
                    ikev2 = hv.get('ikev2')
        if hasattr(ikev2, 'get') and 'ansible_facts' in ikev2:
            ikev2 = (ikev2.get('ansible_facts') or {}).get('ikev2', ikev2)
        if not hasattr(ikev2, 'get'):
            if active is not None and name not in active:
                out[name] = HostInput(name, status='unreachable',
                                      reason='no facts and no longer in the play (unreachable or failed before gathering)')
            else:
                out[name] = HostInput(name, status='missing',
                                      reason='no ansible_facts.ikev2 (run vpnops.ikev2.ike_facts first)')
            continue
        ikev2 = dict(ikev2)
        logs = ikev2.get('logs') if hasattr(ikev2.get('logs'), 'get') else {}
        events = [dict(e) for e in (logs.get('events') or ()) if hasattr(e, 'get')]
        for e in events:
            e.setdefault('host', name)
        status = ikev2.get('status') if isinstance(ikev2.get('status'), str) else 'ok'
        reason = ikev2.get('reason') if isinstance(ikev2.get('reason'), str) else None
        out[name] = HostInput(name, events=events, facts=ikev2, status=status, reason=reason)
    return out


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        # Ansible's own check of the task's arguments (fails the task naming the bad one).
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        names = args.get('hosts')
        if names is None and args.get('facts') is not None:
            names = list(args['facts'])
        elif names is None:
            names = list(task_vars.get('ansible_play_hosts_all') or task_vars.get('ansible_play_hosts') or [])
        if not names:
            raise AnsibleActionFail('vpnops.ikev2.classify: no hosts to classify (set hosts: or run in a play with hosts)')
        hostvars = task_vars.get('hostvars') or {}
        active = task_vars.get('ansible_play_hosts')
        inputs = host_inputs(names, hostvars, args.get('unreachable'), args.get('facts'),
                             set(active) if active is not None and args.get('facts') is None else None)
        ruleset = prefilter = None
        if args.get('rules'):
            from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.engine import make_prefilter
            from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import load_rules
            try:
                ruleset = load_rules(args['rules'])
            except RuleError as e:
                raise AnsibleActionFail('vpnops.ikev2.classify: bad rule file: %s' % e)
            prefilter = make_prefilter(ruleset)
        try:
            report = classify(inputs, ruleset=ruleset, prefilter=prefilter)
        except RuleError as e:
            raise AnsibleActionFail('vpnops.ikev2.classify: bad rule file: %s' % e)
        acks = args.get('acknowledged')
        if acks is None and args.get('facts') is not None:
            acks = []
        elif acks is None:
            # Each host's own inventory variable, its host implied.
            acks = []
            for name in names:
                hv = hostvars.get(name) if hostvars is not None else None
                for ack in ((hv.get('ikev2_acknowledged') if hv is not None else None) or ()):
                    acks.append(dict(ack, host=name) if hasattr(ack, 'get') and 'host' not in ack else ack)
        try:
            acknowledge(report, acks)
        except AcknowledgementError as e:
            raise AnsibleActionFail('vpnops.ikev2.classify: %s' % e)
        result.update(report)
        result['changed'] = False
        if args.get('fail_on_findings') and report['findings']:
            top = report['findings'][0]
            result['failed'] = True
            result['msg'] = '%d finding(s); top: %s on %s: %s' % (
                len(report['findings']), top['category'], ', '.join(top['hosts']), top['summary'])
        return result

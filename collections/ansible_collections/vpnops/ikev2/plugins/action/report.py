# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vpnops.ikev2.report: write the diagnose report files on the controller.

Nothing runs on the targets; the rendering is plugin_utils/report (HTML) and plugin_utils/triage
(JSON, Markdown).
"""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.build import FORMATS, build_report, summary_lines

ARGUMENT_SPEC = {
    'classification': {'type': 'dict', 'required': True},
    'dest': {'type': 'path', 'required': True},
    'hosts': {'type': 'list', 'elements': 'str'},
    'formats': {'type': 'list', 'elements': 'str', 'default': ['json', 'md', 'html'],
                'choices': sorted(FORMATS)},
    'title': {'type': 'str', 'default': 'IKEv2 diagnosis'},
    'timeline_max': {'type': 'int', 'default': 80},
}


def facts_from_hostvars(names, hostvars):
    """{host: its ansible_facts.ikev2} for the hosts that have them."""
    out = {}
    for name in names:
        hv = hostvars.get(name) if hostvars is not None else None
        if hv is None:
            continue
        af = hv.get('ansible_facts') or {}
        ikev2 = af.get('ikev2') if hasattr(af, 'get') else None
        if ikev2 is None:
            ikev2 = hv.get('ikev2')
        if hasattr(ikev2, 'get'):
            out[name] = ikev2
    return out


def write_atomic(path, text):
    """Write text to path through a temporary file in the same folder; True when the content changed."""
    data = to_bytes(text, errors='surrogate_or_strict')
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix='.report-', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        # Ansible's own check of the task's arguments (fails the task naming the bad one).
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        classification = args['classification']
        names = args.get('hosts')
        if names is None:
            names = sorted(classification.get('hosts') or {})
        facts = facts_from_hostvars(names, task_vars.get('hostvars') or {})
        try:
            files = build_report(classification, facts, formats=args['formats'], title=args['title'],
                                 timeline_max=args['timeline_max'])
        except ValueError as e:
            raise AnsibleActionFail('vpnops.ikev2.report: %s' % e)
        dest = os.path.abspath(args['dest'])
        try:
            os.makedirs(dest, exist_ok=True)
            changed = False
            paths = {}
            for fmt in args['formats']:
                path = os.path.join(dest, FORMATS[fmt])
                changed = write_atomic(path, files[FORMATS[fmt]]) or changed
                paths[fmt] = path
        except OSError as e:
            raise AnsibleActionFail('vpnops.ikev2.report: cannot write the report into %s: %s' % (dest, e))
        result.update({
            'changed': changed,
            'dest': dest,
            'files': paths,
            'summary': summary_lines(classification),
            'findings': len(classification.get('findings') or ()),
        })
        return result

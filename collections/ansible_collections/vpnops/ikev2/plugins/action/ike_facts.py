# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of vpnops.ikev2.ike_facts.

One module execution per host. Around the command that carries it the controller records its
own clock before and after; the module reports the host's clock when its process started
(``host_start``), how long it worked, and its clock when it handed its result to Ansible's
serializer (``host_end``, module_utils/facts/timefacts.stamp_result_end):

    rtt    = (after - before) - work
    offset = host_end - after                 (host minus controller)

The two legs of the round trip are far from even, so the NTP-style even split
(``(host_start + work/2) - (before + after)/2``, used before) was biased: the forward leg holds
the SSH session set-up on both ends, the remote shell and the interpreter's fork (measured on the
lab: 0.13 s for one host at a time, 0.6-1.3 s with ten in parallel on two cores), the return leg
only the result's serialization, the interpreter's exit and the transport back. The split put the
unskewed lab hosts 0.2-0.6 s ahead. Pairing the last host reading with the controller's ``after``
leaves only the return leg as error (the process's exit, made quick by the module, and the
transport back), which always makes the host look *behind* by that much: 5-8 ms one host at a
time on the lab, up to 45 ms with ten in parallel (tests/lab/test_lab_clock_offset.py); ``offset_bounds_s`` is the
interval the true offset is certain to lie in. A module that reports no ``host_end`` (an older
copy on the target) gets the even split. When the host could not parse
certificates (no ``cryptography`` there), the module returned the public certificates and
they are parsed here, in the same pass.
"""
from __future__ import annotations

import base64
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import certinfo
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts.gather import merge_cert_facts


def clock_offset(before, after, host_start, work, host_end=None):
    """(offset_s, rtt_s) from the controller's two readings and the host's start, work and end time.

    >>> clock_offset(100.0, 101.0, 186500.7, 0.29, host_end=186500.995)
    (186399.995, 0.71)
    >>> clock_offset(100.0, 101.0, 186500.25, 0.5)      # no host_end: the even split
    (186400.0, 0.5)
    """
    work = max(0.0, min(work, after - before))
    rtt = (after - before) - work
    if host_end is not None:
        offset = host_end - after
    else:
        offset = (host_start + work / 2.0) - (before + after) / 2.0
    return round(offset, 6), round(rtt, 6)


def parse_deferred_certs(certs_section):
    """Parse the public certificates a host without ``cryptography`` shipped; drop the raw copies."""
    if not certinfo.HAS_CRYPTOGRAPHY:
        certs_section['reason'] = (certs_section.get('reason', '') + '; cryptography is missing on the controller too').lstrip('; ')
        certs_section['status'] = 'error'
        return certs_section
    reasons = list(certs_section.pop('errors', []) or [])
    blobs = []
    for item in certs_section.pop('raw', []) or []:
        try:
            der = base64.b64decode(item['der_b64'])
        except (ValueError, KeyError, TypeError):
            reasons.append('%s: certificate not decodable' % item.get('path'))
            continue
        blobs.append((der, item.get('path'), item.get('store'), item.get('has_private_key')))
    certs = merge_cert_facts(blobs, None, reasons)
    crls = []
    for item in certs_section.pop('raw_crls', []) or []:
        try:
            crls.append(certinfo.crl_facts(base64.b64decode(item['der_b64']), item.get('path'), item.get('store')))
        except Exception as exc:
            reasons.append('%s: not a CRL (%s)' % (item.get('path'), exc))
    certs_section.update(certs=certs, chains=certinfo.build_chains(certs), crls=crls, parsed_on='controller',
                         status='ok' if not reasons else 'partial')
    if reasons:
        certs_section['reason'] = '; '.join(reasons[:10])
    else:
        certs_section.pop('reason', None)
    return certs_section


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Time the low-level command that carries the module, not the module's build on the
        # controller: the interval then holds only the transport, the interpreter start and the work.
        stamps = []
        low_level = self._low_level_execute_command

        def timed(*args, **kwargs):
            t0 = time.time()
            res = low_level(*args, **kwargs)
            stamps.append((t0, time.time(), 'ike_facts_timing' in str(res.get('stdout', ''))))
            return res

        self._low_level_execute_command = timed
        before = time.time()
        try:
            mod = self._execute_module(module_args=self._task.args, task_vars=task_vars)
        finally:
            self._low_level_execute_command = low_level
        after = time.time()
        carrying = [s for s in stamps if s[2]]
        if carrying:
            before, after = carrying[-1][0], carrying[-1][1]
        result.update(mod)
        if mod.get('failed') or mod.get('unreachable'):
            return result
        timing = result.pop('ike_facts_timing', None) or {}
        facts = (result.get('ansible_facts') or {}).get('ikev2')
        if not isinstance(facts, dict):
            raise AnsibleActionFail('vpnops.ikev2.ike_facts returned no ansible_facts.ikev2 '
                                    '(module output keys: %s)' % ', '.join(sorted(mod)))
        tsec = facts.get('time')
        if isinstance(tsec, dict) and tsec.get('status') != 'skipped' and 'host_start' in timing:
            try:
                host_start, work = float(timing['host_start']), float(timing.get('elapsed', 0.0))
                host_end = float(timing['host_end']) if timing.get('host_end') is not None else None
            except (TypeError, ValueError):
                raise AnsibleActionFail('vpnops.ikev2.ike_facts: the module returned unreadable clock readings %r' % (timing,))
            offset, rtt = clock_offset(before, after, host_start, work, host_end)
            tsec['offset_s'] = offset
            tsec['rtt_s'] = rtt
            # the host's readings lie inside the controller's interval: the true offset is in these bounds
            last = host_end if host_end is not None else host_start + work
            tsec['offset_bounds_s'] = [round(last - after, 6), round(host_start - before, 6)]
            tsec['controller_utc'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(after))
            tsec['measured_by'] = ('controller round trip, host clock at the result' if host_end is not None
                                   else 'controller round trip, split evenly')
        csec = facts.get('certs')
        if isinstance(csec, dict) and csec.get('status') == 'deferred':
            parse_deferred_certs(csec)
        result['changed'] = False
        return result

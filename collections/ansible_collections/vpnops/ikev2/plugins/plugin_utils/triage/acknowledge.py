# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acknowledged findings: faults an operator has accepted on a host, with a reason.

A host may carry known conditions that are not worth waking anyone for (a kernel without XFRM
support on a test box, a legacy client on its way out). An acknowledgement names a rule id or a
category and the host; a finding it matches on every host it names leaves ``findings`` for
``acknowledged``, keeping its evidence and gaining the reason, and the rest are ranked again.

    >>> report = {"findings": [{"rank": 1, "rule": "IKE-RES-004", "category": "resource_limit",
    ...                         "hosts": ["gw3"]}], "hosts": {}}
    >>> acknowledge(report, [{"rule": "IKE-RES-004", "host": "gw3", "reason": "no XFRM here"}])
    >>> report["findings"], report["acknowledged"][0]["acknowledged"]
    ([], 'no XFRM here')
"""

from __future__ import annotations


class AcknowledgementError(ValueError):
    """An acknowledgement that names nothing or misses its reason."""


def validate(acks):
    """Returns the acknowledgements as a clean list, or raises naming the bad entry."""
    out = []
    for i, ack in enumerate(acks or ()):
        if not isinstance(ack, dict):
            raise AcknowledgementError('acknowledgement %d: expected a mapping with rule or category, host and reason' % (i + 1))
        unknown = set(ack) - set(('rule', 'category', 'host', 'reason'))
        if unknown:
            raise AcknowledgementError('acknowledgement %d: unknown field(s) %s; allowed: rule, category, host, reason'
                                       % (i + 1, ', '.join(sorted(unknown))))
        if not ack.get('rule') and not ack.get('category'):
            raise AcknowledgementError('acknowledgement %d: names neither a rule nor a category' % (i + 1))
        if not isinstance(ack.get('host'), str) or not ack['host']:
            raise AcknowledgementError('acknowledgement %d: needs the host it applies to' % (i + 1))
        if not isinstance(ack.get('reason'), str) or not ack['reason'].strip():
            raise AcknowledgementError('acknowledgement %d: needs a reason' % (i + 1))
        out.append(dict(ack))
    return out


def _matches(ack, finding):
    if ack.get('rule') and ack['rule'] != finding.get('rule'):
        return False
    if ack.get('category') and ack['category'] != finding.get('category'):
        return False
    return True


def acknowledge(report, acks):
    """Moves the findings that acknowledgements cover from report['findings'] to
    report['acknowledged'] (in place) and ranks the remaining findings again."""
    acks = validate(acks)
    kept, moved = [], list(report.get('acknowledged') or ())
    for finding in report.get('findings') or ():
        hosts = finding.get('hosts') or []
        reasons = []
        for host in hosts:
            ack = next((a for a in acks if a['host'] == host and _matches(a, finding)), None)
            if ack is None:
                break
            reasons.append(ack['reason'])
        if hosts and len(reasons) == len(hosts):
            finding = dict(finding)
            finding['acknowledged'] = '; '.join(sorted(set(reasons)))
            finding.pop('rank', None)
            moved.append(finding)
        else:
            kept.append(finding)
    for rank, finding in enumerate(kept, 1):
        finding['rank'] = rank
    report['findings'] = kept
    report['acknowledged'] = moved

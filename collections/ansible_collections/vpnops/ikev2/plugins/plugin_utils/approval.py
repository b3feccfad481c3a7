# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which findings of a diagnosis may be fixed automatically: report loading, approval policy, plan.

Importable without Ansible; the action plugin vpnops.ikev2.remediation_plan is a thin wrapper and
playbooks/remediate.yml drives it. Every input problem raises :class:`ApprovalError` with a message
that names the file, the host, the category or the finding id, and what to do, so the playbook can
stop before any host is touched.

A finding is applied when all of these hold:

* its category is in the approval policy of the host it is attributed to (the inventory variable
  ``ikev2_auto_remediate``), or its id is approved on the command line (``ikev2_approve``);
* the rule marks it ``auto_remediable``;
* it names a fix role that the collection has, and a host of the inventory.

Everything else is planned: listed with the change the role would make and the reason it is not
applied.

Finding ids: the finding's own ``id`` when the report carries one, else ``RULE@HOST`` (the rule id
and the faulty host, the first of ``hosts``), with ``#2``, ``#3`` appended to repeats in rank order.

>>> report = {'schema': 1, 'hosts': {}, 'findings': [
...     {'rank': 1, 'category': 'cert_chain_incomplete', 'rule': 'HOST-CHAIN-001', 'hosts': ['gw1'],
...      'summary': 'gw1 cannot complete the chain', 'remediation': {'role': 'ca_chain', 'auto_remediable': True}}]}
>>> p = make_plan(validate_report(report), {'gw1': ['cert_chain_incomplete']}, [], roles={'ca_chain'})
>>> [(i['id'], i['host'], i['role'], i['apply']) for i in p['items']]
[('HOST-CHAIN-001@gw1', 'gw1', 'vpnops.ikev2.ca_chain', True)]
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import CATEGORIES

COLLECTION = 'vpnops.ikev2'
ROLES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'roles'))

# What each fix role does, for the plan (the exact diff comes from the role's own check-mode run).
CHANGE_TEMPLATES = {
    'ca_chain': 'install the missing CA certificate ({missing}) into the IKE daemon\'s trust store '
                '(strongSwan /etc/swanctl/x509ca/, libreswan NSS database) and reload the credentials',
    'time_sync': 'configure the NTP client with the approved servers and step the clock',
    'firewall': 'open {allow} inbound with the host\'s firewall provider (reverted unless SSH still works)',
    'proposals': 'move both ends of the tunnel to the golden proposal set and reload the connections',
    'connections': 'by the finding\'s category: align the failing connection\'s traffic selectors to the golden config '
                   '(ts_mismatch), load a configured but unloaded connection (no_matching_connection), or terminate and '
                   're-initiate a stale SA (invalid_spi); verified, rolled back on failure',
    'resources': 'raise the charon limits the finding names (ikesa_limit, init_limit_half_open, init_limit_job_load '
                 'where strongswan.conf sets them lower) and restart charon, which drops its SAs for a moment',
}


# Fix roles that change both ends of a tunnel: one item per host of the finding, not only the first.
BOTH_ENDS = frozenset(['proposals'])


class ApprovalError(ValueError):
    """Bad remediation input (report, policy, approvals); the message says what and where."""


def installed_roles(roles_dir=ROLES_DIR):
    """Names of the collection's roles that have tasks."""
    try:
        names = os.listdir(roles_dir)
    except OSError:
        return set()
    return set(n for n in names if os.path.isfile(os.path.join(roles_dir, n, 'tasks', 'main.yml')))


def load_report(path):
    """Read and validate ``report.json``; a missing, unreadable or malformed file is an ApprovalError."""
    if not path:
        raise ApprovalError('no report given (set ikev2_report_dir=DIR with DIR/report.json, or ikev2_report=FILE)')
    if os.path.isdir(path):
        path = os.path.join(path, 'report.json')
    if not os.path.exists(path):
        raise ApprovalError('%s: no such report; run playbooks/diagnose.yml first, or leave out '
                            'ikev2_report/ikev2_report_dir to diagnose afresh' % path)
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except OSError as e:
        raise ApprovalError('%s: cannot read the report: %s' % (path, e.strerror or e))
    if not raw.strip():
        raise ApprovalError('%s: the report is empty; run playbooks/diagnose.yml again' % path)
    try:
        data = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        raise ApprovalError('%s: the report is not valid JSON (%s); run playbooks/diagnose.yml again' % (path, e))
    return validate_report(data, path)


def validate_report(data, where='report'):
    """Check the classify contract (issue 4) far enough to act on it; returns the report."""
    def bad(msg):
        return ApprovalError('%s: malformed report: %s' % (where, msg))

    if not isinstance(data, dict):
        raise bad('expected a JSON object with schema, findings and hosts, got %s' % type(data).__name__)
    if data.get('schema') != 1:
        raise bad('schema is %r; this playbook reads schema 1' % (data.get('schema'),))
    findings = data.get('findings')
    if not isinstance(findings, list):
        raise bad('"findings" must be a list')
    if not isinstance(data.get('hosts', {}), dict):
        raise bad('"hosts" must be an object')
    for n, f in enumerate(findings):
        at = 'findings[%d]' % n
        if not isinstance(f, dict):
            raise bad('%s is not an object' % at)
        if f.get('category') not in CATEGORIES:
            raise bad('%s: category %r is not one of the fixed categories' % (at, f.get('category')))
        if not isinstance(f.get('rule'), str) or not f['rule']:
            raise bad('%s: "rule" must be a non-empty string' % at)
        hosts = f.get('hosts')
        if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
            raise bad('%s (%s): "hosts" must be a non-empty list of host names' % (at, f['rule']))
        rem = f.get('remediation')
        if not isinstance(rem, dict):
            raise bad('%s (%s): "remediation" must be an object with role and auto_remediable' % (at, f['rule']))
        if rem.get('role') is not None and not isinstance(rem.get('role'), str):
            raise bad('%s (%s): remediation.role must be a string or null' % (at, f['rule']))
        if not isinstance(rem.get('auto_remediable'), bool):
            raise bad('%s (%s): remediation.auto_remediable must be true or false' % (at, f['rule']))
        if rem.get('vars') is not None and not isinstance(rem.get('vars'), dict):
            raise bad('%s (%s): remediation.vars must be an object' % (at, f['rule']))
        if f.get('id') is not None and not isinstance(f.get('id'), str):
            raise bad('%s (%s): "id" must be a string' % (at, f['rule']))
    return data


def finding_ids(findings):
    """The id of each finding, in order (see the module docstring)."""
    seen = {}
    out = []
    for f in findings:
        base = f.get('id') or '%s@%s' % (f['rule'], f['hosts'][0])
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else '%s#%d' % (base, seen[base]))
    return out


def validate_policy(policies):
    """``policies``: host -> list of categories (``ikev2_auto_remediate``). Returns it normalised.

    Unknown categories and wrong types are errors naming the hosts, so a typo never silently
    approves nothing (or everything).
    """
    out = {}
    unknown = {}
    for host in sorted(policies):
        value = policies[host]
        if value is None:
            out[host] = []
            continue
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ApprovalError('ikev2_auto_remediate on %s must be a list of categories, got %r'
                                % (host, value))
        cats = []
        for c in value:
            if not isinstance(c, str) or c not in CATEGORIES:
                unknown.setdefault(str(c), []).append(host)
            elif c not in cats:
                cats.append(c)
        out[host] = cats
    if unknown:
        parts = ['%r (on %s)' % (c, _host_list(h)) for c, h in sorted(unknown.items())]
        raise ApprovalError('ikev2_auto_remediate names unknown categor%s %s; the categories are: %s'
                            % ('y' if len(parts) == 1 else 'ies', ', '.join(parts), ', '.join(CATEGORIES)))
    return out


def validate_approvals(approve):
    """``ikev2_approve`` from the command line: a list of finding ids (a comma-separated string is accepted)."""
    if approve is None or approve == '':
        return []
    if isinstance(approve, str):
        approve = [a.strip() for a in approve.split(',') if a.strip()]
    if not isinstance(approve, (list, tuple)) or not all(isinstance(a, str) and a for a in approve):
        raise ApprovalError('ikev2_approve must be a list of finding ids, e.g. -e \'{"ikev2_approve": '
                            '["HOST-CHAIN-001@gw1"]}\', got %r' % (approve,))
    return list(dict.fromkeys(approve))


def _host_list(hosts, limit=5):
    hosts = list(hosts)
    return ', '.join(hosts[:limit]) + (' and %d more' % (len(hosts) - limit) if len(hosts) > limit else '')


def _role_fqcn(role):
    if not role:
        return None
    return role if '.' in role else '%s.%s' % (COLLECTION, role)


def describe_change(role, host, finding, rvars):
    """One sentence: what the role would change on the host for this finding."""
    short = (role or '').rsplit('.', 1)[-1]
    template = CHANGE_TEMPLATES.get(short)
    if not template:
        return 'run %s on %s with %s' % (role, host, json.dumps(rvars, sort_keys=True)) if role else \
            'no automatic fix exists; %s' % (finding.get('summary') or 'see the report')
    fields = {
        'missing': rvars.get('ca_chain_missing') or _missing_from_summary(finding) or 'named in the finding',
        'allow': ', '.join(rvars.get('firewall_allow') or ['UDP 500, UDP 4500 and ESP']),
    }
    return '%s on %s: %s' % (role, host, template.format(**fields))


def _missing_from_summary(finding):
    summary = finding.get('summary') or ''
    marker = 'missing '
    if marker in summary:
        return summary.split(marker, 1)[1].rstrip('.').strip() or None
    return None


def make_plan(report, policies, approve, roles=None, inventory=None):
    """Split the report's findings into applied and planned items.

    ``policies``: host -> categories (validated); ``approve``: finding ids (validated against the
    report here); ``roles``: short names of the fix roles available (default: the collection's);
    ``inventory``: host names that can be changed (default: every host of ``policies``).

    A finding gives one item for its faulty host (the first of ``hosts``), or, for the roles in
    BOTH_ENDS, one item per host of the finding.

    Returns ``{'items': [...], 'apply_hosts': [...], 'plan_hosts': [...], 'ids': [...]}``; each item
    has id, rank, category, rule, host, hosts, role, role_available, vars, auto_remediable,
    approved_by, apply, reason, change, summary and the finding itself (with its id).
    """
    findings = report['findings']
    ids = finding_ids(findings)
    unknown = [a for a in approve if a not in ids]
    if unknown:
        raise ApprovalError('ikev2_approve names finding id%s not in the report: %s; the report has: %s'
                            % ('' if len(unknown) == 1 else 's', ', '.join(unknown),
                               ', '.join(ids) if ids else 'no findings'))
    roles = installed_roles() if roles is None else set(roles)
    inventory = set(policies) if inventory is None else set(inventory)
    items = []
    for fid, f in zip(ids, findings):
        rem = f['remediation']
        role = _role_fqcn(rem.get('role'))
        short = role.rsplit('.', 1)[-1] if role else None
        ends = list(f['hosts']) if short in BOTH_ENDS else f['hosts'][:1]
        for host in ends:
            items.append(_item(fid, f, host, role, short, roles, inventory, policies, approve))
    apply_hosts = []
    plan_hosts = []
    for it in items:
        if it['apply'] and it['host'] not in apply_hosts:
            apply_hosts.append(it['host'])
    for it in items:
        if (not it['apply'] and it['role_available'] and it['host'] in inventory and it['host'] not in apply_hosts
                and it['host'] not in plan_hosts):
            plan_hosts.append(it['host'])
    return {'items': items, 'apply_hosts': apply_hosts, 'plan_hosts': plan_hosts, 'ids': ids}


def summary_rows(findings):
    """``(id, category, host, rule)`` per finding, for before/after listings."""
    return [{'id': i, 'category': f['category'], 'host': f['hosts'][0], 'rule': f['rule']}
            for i, f in zip(finding_ids(findings), findings)]


def compare(before, after):
    """Findings fixed, remaining and new between two reports (by category and faulty host)."""
    b = summary_rows(before['findings'])
    a = summary_rows(after['findings'])
    bk = set(_key(r) for r in b)
    ak = set(_key(r) for r in a)
    return {
        'fixed': [r for r in b if _key(r) not in ak],
        'remaining': [r for r in a if _key(r) in bk],
        'new': [r for r in a if _key(r) not in bk],
    }


def _key(row):
    return (row['category'], row['host'])


def _item(fid, f, host, role, short, roles, inventory, policies, approve):
    """One plan item: the fix of finding ``f`` on ``host``."""
    rem = f['remediation']
    rvars = dict(rem.get('vars') or {})
    available = bool(role) and (not role.startswith(COLLECTION + '.') or short in roles)
    if fid in approve:
        approved_by = 'command line (ikev2_approve)'
    elif f['category'] in (policies.get(host) or ()):
        approved_by = 'policy (ikev2_auto_remediate on %s)' % host
    else:
        approved_by = None
    if not role:
        reason = 'no fix role exists for rule %s' % f['rule']
    elif not rem['auto_remediable']:
        reason = 'rule %s marks it as not auto-remediable; fix it by hand' % f['rule']
    elif not available:
        reason = 'the fix role %s is not in this collection yet' % role
    elif host not in inventory:
        reason = '%s is not a host of the inventory (or is outside --limit)' % host
    elif approved_by is None:
        reason = ('category %s is not in the approval policy of %s and %s is not approved by id '
                  '(-e \'{"ikev2_approve": ["%s"]}\')' % (f['category'], host, fid, fid))
    else:
        reason = None
    return {
        'id': fid, 'rank': f.get('rank'), 'category': f['category'], 'rule': f['rule'], 'host': host,
        'hosts': list(f['hosts']), 'role': role, 'role_available': available, 'vars': rvars,
        'auto_remediable': rem['auto_remediable'], 'approved_by': approved_by,
        'apply': reason is None, 'reason': reason,
        'change': describe_change(role, host, f, rvars),
        'summary': f.get('summary'), 'finding': dict(f, id=fid),
    }


# strongSwan algorithm keywords (https://docs.strongswan.org/docs/5.9/config/IKEv2CipherSuites.html),
# as regexes over one token of a proposal split on '-'.
_ALGORITHM_TOKENS = [re.compile(p) for p in (
    r'aes(128|192|256)?(ctr)?', r'aes(128|192|256)(gcm|ccm)(8|12|16|64|96|128)?', r'aes(128|192|256)?gmac',
    r'chacha20poly1305', r'3des', r'des', r'cast128', r'blowfish(128|192|256)?', r'camellia(128|192|256)?(ctr|ccm\d+)?',
    r'null',
    r'md5(_128)?', r'sha1(_160)?', r'sha256(_96)?', r'sha2_256(_96)?', r'sha384', r'sha2_384', r'sha512', r'sha2_512',
    r'aesxcbc', r'aescmac', r'camelliaxcbc',
    r'prf(md5|sha1|sha256|sha384|sha512|aesxcbc|aescmac|camelliaxcbc)',
    r'modp(768|1024|1536|2048|3072|4096|6144|8192|1024s160|2048s224|2048s256)', r'ecp(192|224|256|384|521)',
    r'ecp(224|256|384|512)bp', r'curve25519', r'x25519', r'curve448', r'x448', r'mlkem(512|768|1024)',
    r'esn', r'noesn',
)]


# The keys of a golden configuration (ikev2_golden) and the role that enforces each.
GOLDEN_KEYS = {
    'ike_proposals': 'vpnops.ikev2.proposals',
    'esp_proposals': 'vpnops.ikev2.proposals',
    'ca_subjects': 'vpnops.ikev2.ca_chain',
    'firewall_openings': 'vpnops.ikev2.firewall',
    'ntp_servers': 'vpnops.ikev2.time_sync',
    'ntp_server_options': 'vpnops.ikev2.time_sync',
    'connections': 'vpnops.ikev2.connections',
}
# Inbound openings vpnops.ikev2.firewall knows.
FIREWALL_OPENINGS = ('udp500', 'udp4500', 'esp')
_HOST_LABEL = re.compile(r'(?!-)[A-Za-z0-9-]{1,63}(?<!-)')
_NTP_OPTIONS = re.compile(r'[A-Za-z0-9_.-]+( +[A-Za-z0-9_.-]+)*')


def _is_list(value):
    return isinstance(value, (list, tuple))


def ntp_server_problem(server):
    """Why ``server`` is not an NTP server name (host name, IPv4 or IPv6 address), or None.

    >>> ntp_server_problem('infra.lab') is None and ntp_server_problem('2001:db8::1') is None
    True
    >>> ntp_server_problem('infra.lab iburst')
    'has a space (server options go in ikev2_golden.ntp_server_options)'
    """
    if not isinstance(server, str) or not server.strip():
        return 'is empty or not text'
    if server != server.strip() or any(c.isspace() for c in server):
        return 'has a space (server options go in ikev2_golden.ntp_server_options)'
    if ':' in server:
        try:
            ipaddress.IPv6Address(server)
        except ValueError:
            return 'is neither a host name nor a valid IPv6 address (no ports or URLs)'
        return None
    if re.fullmatch(r'[0-9.]+', server):
        try:
            ipaddress.IPv4Address(server)
        except ValueError:
            return 'is not a valid IPv4 address'
        return None
    name = server[:-1] if server.endswith('.') else server
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in name.split('.')):
        return 'is not a valid host name (letters, digits and hyphens in dot-separated labels)'
    return None


def golden_openings(golden, host_groups):
    """The inbound openings the golden configuration asks of a host in ``host_groups``.

    ``firewall_openings`` is a list (every host) or a mapping of inventory group to list; a host in
    several listed groups gets the union. Returns ``(openings, groups_that_named_it)``.

    >>> golden_openings({'firewall_openings': {'gateways': ['udp500', 'esp'], 'clients': []}}, ['gateways'])
    (['udp500', 'esp'], ['gateways'])
    """
    value = golden.get('firewall_openings')
    if value is None:
        return [], []
    if not isinstance(value, dict):
        return list(value), []
    openings, named = [], []
    for group, wanted in value.items():
        if group in host_groups:
            named.append(group)
            openings.extend(o for o in wanted if o not in openings)
    return openings, named


def validate_golden(golden, deny=(), groups=None):
    """Check a golden configuration (``ikev2_golden``) before any host is touched.

    ``golden``: a mapping with the keys of :data:`GOLDEN_KEYS`. Every problem is an error naming the
    key: an unknown key, an unknown or denied algorithm keyword in a proposal, an unknown firewall
    opening or inventory group (``groups``: the inventory's group names, when known), a malformed
    NTP server or server options, a CA subject that is no distinguished name. The content of
    ``connections`` is the business of vpnops.ikev2.connections; here it only has to be a mapping
    or a list. Returns ``golden``.

    >>> validate_golden({'ike_proposals': ['aes256gcm16-prfsha384-ecp384'], 'esp_proposals': ['aes256-sha256']})['ike_proposals']
    ['aes256gcm16-prfsha384-ecp384']
    >>> try:
    ...     validate_golden({'ntp_server': ['infra.lab']})
    ... except ApprovalError as e:
    ...     print(str(e).split(';')[0])
    ikev2_golden: unknown key 'ntp_server' (did you mean 'ntp_servers'?)
    """
    if not isinstance(golden, dict):
        raise ApprovalError('the golden configuration (ikev2_golden) must be a mapping, got %r' % (golden,))
    problems = []
    for key in golden:
        if key not in GOLDEN_KEYS:
            close = difflib.get_close_matches(str(key), GOLDEN_KEYS, n=1)
            problems.append('unknown key %r%s; the keys are: %s' % (
                key, " (did you mean '%s'?)" % close[0] if close else '', ', '.join(sorted(GOLDEN_KEYS))))
    problems.extend(_proposal_problems(golden, deny))
    problems.extend(_ca_problems(golden.get('ca_subjects')))
    problems.extend(_firewall_problems(golden.get('firewall_openings'), groups))
    problems.extend(_ntp_problems(golden))
    connections = golden.get('connections')
    if connections is not None and not isinstance(connections, (dict, list, tuple)):
        problems.append('connections must be a mapping or a list (see vpnops.ikev2.connections), got %r'
                        % (connections,))
    if problems:
        raise ApprovalError('ikev2_golden: %s' % '; '.join(problems))
    return golden


def _proposal_problems(golden, deny):
    deny = set(str(d).lower() for d in deny or ())
    problems = []
    if (golden.get('ike_proposals') is None) != (golden.get('esp_proposals') is None):
        problems.append('ike_proposals and esp_proposals go together (vpnops.ikev2.proposals sets both); %s is missing'
                        % ('esp_proposals' if golden.get('esp_proposals') is None else 'ike_proposals'))
    for key in ('ike_proposals', 'esp_proposals'):
        value = golden.get(key)
        if value is None:
            continue
        if not _is_list(value) or not value:
            problems.append('%s must be a non-empty list of proposals, got %r' % (key, value))
            continue
        for proposal in value:
            if not isinstance(proposal, str) or not proposal.strip():
                problems.append('%s has an empty or non-text proposal: %r' % (key, proposal))
                continue
            for token in proposal.lower().split('-'):
                if not any(rx.fullmatch(token) for rx in _ALGORITHM_TOKENS):
                    problems.append('%s %r: unknown algorithm %r (strongSwan proposal keywords, e.g. '
                                    'aes256gcm16-prfsha384-ecp384)' % (key, proposal, token))
                elif token in deny:
                    problems.append('%s %r: %r is on the deny list (ikev2_golden_deny)' % (key, proposal, token))
    return problems


def _ca_problems(value):
    if value is None:
        return []
    if not _is_list(value):
        return ['ca_subjects must be a list of CA subjects (e.g. "C=CH, O=Example, CN=Example Root CA"), got %r'
                % (value,)]
    return ['ca_subjects: %r is not a distinguished name (ATTR=value, ...)' % (s,)
            for s in value if not isinstance(s, str) or not re.search(r'\b[A-Za-z]+\s*=\s*\S', s)]


def _firewall_problems(value, groups):
    if value is None:
        return []

    def unknown(openings, where):
        if not _is_list(openings):
            return ['firewall_openings%s must be a list of openings (%s), got %r'
                    % (where, ', '.join(FIREWALL_OPENINGS), openings)]
        return ['firewall_openings%s: unknown opening %r; the openings are: %s'
                % (where, o, ', '.join(FIREWALL_OPENINGS)) for o in openings if o not in FIREWALL_OPENINGS]

    if isinstance(value, dict):
        problems = []
        for group, openings in value.items():
            if groups is not None and group not in groups:
                close = difflib.get_close_matches(str(group), [g for g in groups if g != 'ungrouped'], n=1)
                problems.append('firewall_openings names the group %r, which is not in the inventory%s'
                                % (group, " (did you mean '%s'?)" % close[0] if close else ''))
            problems.extend(unknown(openings, '.%s' % group))
        return problems
    if not _is_list(value):
        return ['firewall_openings must be a list of openings (%s) for every host, or a mapping of inventory '
                'group to such a list, got %r' % (', '.join(FIREWALL_OPENINGS), value)]
    return unknown(value, '')


def _ntp_problems(golden):
    problems = []
    servers = golden.get('ntp_servers')
    if servers is not None:
        if not _is_list(servers) or not servers:
            problems.append('ntp_servers must be a non-empty list of NTP servers (host names or addresses), got %r'
                            % (servers,))
        else:
            for server in servers:
                why = ntp_server_problem(server)
                if why:
                    problems.append('ntp_servers: %r %s' % (server, why))
    options = golden.get('ntp_server_options')
    if options is not None:
        if not isinstance(options, str) or not _NTP_OPTIONS.fullmatch(options.strip() or '-'):
            problems.append('ntp_server_options must be one line of server options such as "iburst minpoll 4", '
                            'got %r' % (options,))
        elif servers is None:
            problems.append('ntp_server_options is set but ntp_servers is not')
    return problems

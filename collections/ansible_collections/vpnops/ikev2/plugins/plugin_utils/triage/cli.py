# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ikev2-triage``: classify IKEv2 failures from logs and host facts.

    ikev2-triage classify [--log [HOST=]FILE]... [--facts FILE]... [--format json|md|text]
    ikev2-triage rules
    ikev2-triage explain RULE-ID

Exit codes: 0 no fault found, 1 faults found, 2 bad usage or unreadable input (one-line reason on
stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_OK, EXIT_FAULTS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    p = _Parser(prog='ikev2-triage', description='Classify IKEv2 VPN failures from logs and host facts.')
    sub = p.add_subparsers(dest='command')
    c = sub.add_parser('classify', help='classify logs and facts into findings')
    c.add_argument('--log', action='append', default=[], metavar='[HOST=]FILE',
                   help='a log file (charon, syslog, journald JSON, pluto, Windows events); - for stdin')
    c.add_argument('--facts', action='append', default=[], metavar='FILE',
                   help='ike_facts output as JSON (bare ikev2 dict or {"ansible_facts": {"ikev2": ...}})')
    c.add_argument('--format', choices=('json', 'md', 'text'), default='text')
    c.add_argument('--acknowledge', action='append', default=[], metavar='RULE@HOST=REASON',
                   help='a finding accepted on a host (rule id or category), moved out of the findings')
    c.add_argument('--year', type=int, help='year of year-less log stamps (default: inferred)')
    c.add_argument('--tz', help='time zone of local log stamps (default UTC), e.g. +01:00 or Europe/Berlin')
    c.add_argument('--rules', action='append', help='rule file or directory (default: the collection rule set)')
    sub.add_parser('rules', help='list the rules')
    e = sub.add_parser('explain', help='show one rule')
    e.add_argument('rule_id')
    return p


def _split_log_arg(arg):
    if '=' in arg and not os.path.exists(arg):
        host, path = arg.split('=', 1)
        if host and path and '/' not in host:
            return host, path
    return None, arg


def _load(paths):
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import rules as rules_mod
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine
    if paths:
        rs = rules_mod.load_rules(paths)
        return rs, engine.make_prefilter(rs)
    return engine.default_ruleset(), engine.default_prefilter()


def _ack_arg(text):
    """RULE@HOST=REASON (RULE may be a category) as an acknowledgement."""
    what, sep, reason = text.partition('=')
    key, at, host = what.partition('@')
    if not sep or not at or not key or not host or not reason.strip():
        raise UsageError('--acknowledge %s: expected RULE@HOST=REASON (RULE a rule id or a category)' % text)
    return {'rule' if '-' in key else 'category': key, 'host': host, 'reason': reason}


def cmd_classify(args, out):
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import inputs as inp
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.acknowledge import acknowledge
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.engine import HostInput, classify
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.report import RENDERERS

    if not args.log and not args.facts:
        raise UsageError('classify needs at least one --log or --facts')
    if sum(1 for a in args.log if _split_log_arg(a)[1] == '-') > 1:
        raise UsageError('--log - (stdin) can be given once')
    ruleset, prefilter = _load(args.rules)
    hosts = {}

    def host(name):
        h = hosts.get(name)
        if h is None:
            h = hosts[name] = HostInput(name, sigs=[])
            h._notes = []
        return h

    for arg in args.log:
        name, path = _split_log_arg(arg)
        src = inp.read_log(path, prefilter, host=name, year=args.year, tz=args.tz)
        groups = {}
        sigs = src.sigs if src.sigs is not None else [None] * len(src.events)
        default = name or inp.host_from_path(path)
        for ev, sg in zip(src.events, sigs):
            g = groups.setdefault(name or ev.get('host') or default, ([], []))
            g[0].append(ev)
            g[1].append(sg)
        if not groups:
            groups[default] = ([], [])
        for hname, (evs, sgs) in groups.items():
            for ev in evs:
                ev['host'] = ev.get('host') or hname
            h = host(hname)
            h.events.extend(evs)
            h.sigs.extend(sgs)
            h.sampled = h.sampled or src.sampled
            size = ('%d lines' % src.lines) if src.lines is not None else ('%.1f MB, signature lines only' % (src.bytes_read / 1e6))
            h._notes.append('%s: %s, %s' % ('stdin' if path == '-' else os.path.basename(path), src.fmt, size))
            if src.fmt == 'unknown' and not evs:
                h._notes.append('no line in a known log format')
    for path in args.facts:
        name, facts = inp.load_facts(path)
        name = name or inp.host_from_path(path)
        h = host(name)
        h.facts = facts
        st = facts.get('status')
        if isinstance(st, str):
            h.status = st
        if isinstance(facts.get('reason'), str):
            h._notes.append(facts['reason'])
        logs = facts.get('logs') if isinstance(facts.get('logs'), dict) else {}
        evs = [e for e in (logs.get('events') or ()) if isinstance(e, dict)]
        h.events.extend(evs)
        h.sigs.extend([None] * len(evs))
    for h in hosts.values():
        h.reason = '; '.join(h._notes) or None
    report = classify(hosts, ruleset=ruleset, prefilter=prefilter)
    acknowledge(report, [_ack_arg(a) for a in args.acknowledge])
    out.write(RENDERERS[args.format](report))
    out.write('\n')
    return EXIT_FAULTS if report['findings'] else EXIT_OK


def cmd_rules(args, out):
    rs = _load(None)[0]
    for r in rs.rules:
        out.write('%-16s %-24s %-14s %s\n' % (r.id, r['category'], r['phase'], r['title']))
    return EXIT_OK


def cmd_explain(args, out):
    rs = _load(None)[0]
    r = rs.by_id.get(args.rule_id) or rs.by_id.get(args.rule_id.upper())
    if r is None:
        raise UsageError('no rule %s (see: ikev2-triage rules)' % args.rule_id)
    d = r.data
    out.write('%s: %s\n' % (r.id, d['title']))
    out.write('  category: %s\n  phase: %s\n  severity: %s\n  kind: %s (priority %s, confidence %s)\n' % (
        d['category'], d['phase'], d['severity'], d['kind'], d['priority'], d['confidence']))
    out.write('  blame: %s\n  file: %s\n' % (d['blame'], r.file))
    if d.get('match'):
        out.write('  signatures: %s\n' % ', '.join(repr(s) for s in d['match']['signatures']))
        if d['match'].get('pattern'):
            out.write('  pattern: %s\n' % d['match']['pattern'])
    if d.get('facts'):
        out.write('  facts: %s\n' % json.dumps(d['facts']))
    if d.get('check'):
        out.write('  check: %s\n' % d['check'])
    if d.get('explains'):
        out.write('  explains: %s\n' % ', '.join(d['explains']))
    out.write('  explanation: %s\n' % ' '.join(d['explanation'].split()))
    rem = d['remediation']
    out.write('  remediation: role %s, vars %s, auto_remediable %s\n' % (
        rem.get('role') or '(none)', json.dumps(rem.get('vars') or {}), rem.get('auto_remediable')))
    return EXIT_OK


def main(argv=None):
    out = sys.stdout
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            raise UsageError('a command is required: classify, rules or explain')
        if args.command == 'classify':
            return cmd_classify(args, out)
        if args.command == 'rules':
            return cmd_rules(args, out)
        return cmd_explain(args, out)
    except UsageError as e:
        sys.stderr.write('ikev2-triage: %s\n' % e)
        return EXIT_USAGE
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write('ikev2-triage: interrupted\n')
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # one line, never a traceback
        from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.inputs import InputError
        from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import RuleError
        if isinstance(e, (InputError, RuleError)):
            sys.stderr.write('ikev2-triage: %s\n' % ' '.join(str(e).split()))
        else:
            sys.stderr.write('ikev2-triage: internal error: %s: %s\n' % (type(e).__name__, ' '.join(str(e).split())[:300]))
        return EXIT_USAGE


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading the rule set: YAML files validated against ``rules/schema.json`` and compiled.

A bad file raises :class:`RuleError` whose message names the file, the rule id and the field.
"""

from __future__ import annotations

import json
import os
import re

CATEGORIES = (
    'proposal_mismatch', 'psk_mismatch', 'cert_expired', 'clock_skew', 'cert_chain_incomplete',
    'cert_identity_mismatch', 'cert_usage', 'cert_revoked', 'cert_missing', 'eap_failure',
    'ts_mismatch', 'udp4500_blocked', 'esp_blocked', 'no_matching_connection', 'resource_limit',
    'fragmentation', 'peer_unreachable', 'invalid_spi', 'unknown',
)

RULES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'rules'))


class RuleError(ValueError):
    """A rule file is invalid; the message names the file, the rule and the field."""


class Rule(object):
    __slots__ = ('id', 'data', 'file', 'regex', 'signatures', 'min_count', 'when', 'refine', 'explains',
                 'daemons', 'is_context', 'order')

    def __init__(self, data, file, is_context=False, order=0):
        self.id = data['id']
        self.data = data
        self.file = file
        self.is_context = is_context
        self.order = order
        match = data if is_context else data.get('match')
        self.signatures = tuple(match['signatures']) if match else ()
        pat = match.get('pattern') if match else None
        self.regex = _compile(pat, file, self.id, 'pattern') if pat else None
        self.min_count = int(match.get('min_count', 1)) if match else 1
        self.when = _compile_when(data.get('when') or {}, file, self.id, 'when')
        self.refine = []
        for i, r in enumerate(data.get('refine') or []):
            r = dict(r)
            r['when'] = _compile_when(r['when'], file, self.id, 'refine[%d].when' % i)
            self.refine.append(r)
        self.explains = frozenset(data.get('explains') or ())
        self.daemons = frozenset(data.get('daemons') or ())

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __repr__(self):
        return 'Rule(%s)' % self.id


def _compile(pattern, file, rid, field):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise RuleError('%s: rule %s: field %s: invalid regular expression: %s' % (file, rid, field, e))


def _compile_when(when, file, rid, field):
    out = dict(when)
    for key in ('pattern', 'not_pattern'):
        if key in out:
            out[key] = _compile(out[key], file, rid, '%s.%s' % (field, key))
    return out


class RuleSet(object):
    """The compiled rule set: log rules, fact rules, pair checks and context extractors."""

    def __init__(self, rules, context, files):
        self.rules = rules
        self.context = context
        self.files = files
        self.by_id = dict((r.id, r) for r in rules)
        self.log_rules = [r for r in rules if r.get('match')]
        self.fact_rules = [r for r in rules if r.get('facts')]
        self.check_rules = [r for r in rules if r.get('check')]

    def signature_owners(self):
        """[(signature, owner)] for the prefilter; owner is a Rule (log rule or context)."""
        out = []
        for r in self.log_rules:
            for s in r.signatures:
                out.append((s, r))
        for c in self.context:
            for s in c.signatures:
                out.append((s, c))
        return out

    def signatures(self):
        seen = []
        for s, _owner in self.signature_owners():
            if s not in seen:
                seen.append(s)
        return seen


def _schema():
    with open(os.path.join(RULES_DIR, 'schema.json')) as f:
        return json.load(f)


def _field_path(err):
    parts = []
    for p in err.absolute_path:
        parts.append('[%d]' % p if isinstance(p, int) else ('.' + str(p) if parts else str(p)))
    return ''.join(parts) or '(top level)'


def validate_document(doc, file, schema=None):
    """Validate one parsed rule file; raise RuleError naming file, rule id and field."""
    import jsonschema  # controller-side dependency (requirements.txt)

    schema = schema or _schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = errors[0]
    rid = '(none)'
    path = list(err.absolute_path)
    if len(path) >= 2 and path[0] in ('rules', 'context') and isinstance(path[1], int):
        try:
            rid = doc[path[0]][path[1]].get('id') or '#%d' % path[1]
        except Exception:
            rid = '#%d' % path[1]
        field = ''.join('[%d]' % p if isinstance(p, int) else '.' + str(p) for p in path[2:]).lstrip('.')
    else:
        field = _field_path(err)
    if not field:
        field = '(rule)'
        if err.validator == 'required':
            m = re.search(r"'([^']+)' is a required property", err.message)
            if m:
                field = m.group(1)
        elif err.validator == 'additionalProperties':
            m = re.search(r"\('([^']+)'", err.message)
            if m:
                field = m.group(1)
    msg = err.message
    if len(msg) > 200:
        msg = msg[:200] + '...'
    raise RuleError('%s: rule %s: field %s: %s' % (file, rid, field, msg))


def load_rules(paths=None):
    """Load and validate the rule files (default: every ``*.yml`` in the collection's rules/)."""
    import yaml

    if paths is None:
        paths = [os.path.join(RULES_DIR, n) for n in sorted(os.listdir(RULES_DIR)) if n.endswith(('.yml', '.yaml'))]
    elif isinstance(paths, str):
        paths = [paths]
    expanded = []
    for p in paths:
        if os.path.isdir(p):
            expanded.extend(os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(('.yml', '.yaml')))
        else:
            expanded.append(p)
    schema = _schema()
    rules = []
    context = []
    seen = {}
    for path in expanded:
        name = os.path.basename(path)
        try:
            with open(path) as f:
                doc = yaml.safe_load(f)
        except (OSError, IOError) as e:
            raise RuleError('%s: rule (none): field (file): cannot read: %s' % (name, e))
        except yaml.YAMLError as e:
            raise RuleError('%s: rule (none): field (file): not valid YAML: %s' % (name, str(e).replace('\n', ' ')))
        if not isinstance(doc, dict):
            raise RuleError('%s: rule (none): field (top level): a rule file is a mapping with schema: 1' % name)
        validate_document(doc, name, schema)
        for c in doc.get('context') or ():
            if c['id'] in seen:
                raise RuleError('%s: rule %s: field id: duplicate id (also in %s)' % (name, c['id'], seen[c['id']]))
            seen[c['id']] = name
            context.append(Rule(c, name, is_context=True, order=len(context)))
        for r in doc.get('rules') or ():
            if r['id'] in seen:
                raise RuleError('%s: rule %s: field id: duplicate id (also in %s)' % (name, r['id'], seen[r['id']]))
            seen[r['id']] = name
            rules.append(Rule(r, name, order=len(rules)))
    ctx_ids = set(c.id for c in context)
    rule_ids = set(r.id for r in rules)
    for r in rules:
        refs = []
        for key in ('context', 'context_any', 'no_context'):
            refs.extend(('when.' + key, x) for x in r.when.get(key, ()))
        for i, ref in enumerate(r.refine):
            for key in ('context', 'context_any', 'no_context'):
                refs.extend(('refine[%d].when.%s' % (i, key), x) for x in ref['when'].get(key, ()))
        refs.extend(('evidence.context', x) for x in (r.get('evidence') or {}).get('context', ()))
        for field, ref in refs:
            if ref not in ctx_ids:
                raise RuleError('%s: rule %s: field %s: unknown context id %r' % (r.file, r.id, field, ref))
        for x in r.explains:
            if x not in CATEGORIES and x not in rule_ids:
                raise RuleError('%s: rule %s: field explains: %r is neither a category nor a rule id' % (r.file, r.id, x))
    return RuleSet(rules, context, expanded)

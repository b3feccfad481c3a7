# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan proposals in libreswan's terms, and the conn sections of a libreswan ipsec.conf.

Importable without Ansible, on the target and on the controller: the module ``vpnops.ikev2.conn_settings``
translates its proposals with :func:`to_libreswan` (through ``module_utils/conf/conn_settings.py``), the
filter plugins ``vpnops.ikev2.libreswan_proposals`` and ``vpnops.ikev2.libreswan_conns`` are thin
wrappers, and the ``vpnops.ikev2.proposals`` role drives them on a libreswan host.

* :func:`translate` turns strongSwan proposals (``aes256gcm16-prfsha384-ecp384``) into libreswan's
  ``ike=``/``esp=`` syntax (ipsec.conf(5) of libreswan 4: ``cipher-hash;dhN``, ``+`` joining
  alternatives inside one proposal) and into the names pluto itself prints for them (``whack
  --status``, ``algparse``: ``AES_GCM_16_256-HMAC_SHA2_384-DH20``). Both were checked against
  ``ipsec algparse`` of libreswan 4.10 (tests/fixtures/libreswan_algparse/).
* :func:`to_libreswan` gives one ``ike=``/``esp=`` value and raises on the first proposal that
  cannot be translated (for a module that must refuse to write a half-translated value).
* What libreswan cannot express is a :class:`TranslationError` naming the proposal and the token:
  a PRF different from the integrity algorithm (libreswan uses one hash for both), an algorithm
  libreswan 4 does not have (Blowfish, CAST, Brainpool/curve448 groups, truncated SHA-256), an
  algorithm it has only for ESP used in IKE (CCM, GMAC), ``esn``/``noesn`` (libreswan's ``esn=``
  option, not part of ``esp=``).
* :func:`parse_algparse` reads ``ipsec algparse`` output (the host's own parser decides what pluto
  accepts), :func:`parse_conns` the conn sections of an ipsec.conf, :func:`set_algorithms` rewrites
  only the ``ike=``/``esp=`` lines of the named conns and leaves every other byte alone.

>>> t = translate(['aes256gcm16-prfsha384-ecp384', 'aes256-sha256-ecp256'], ['aes256gcm16', 'aes256-sha256'])
>>> t['ike'], t['esp']
('aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19', 'aes_gcm256,aes256-sha2_256')
>>> t['ike_names']
['AES_GCM_16_256-HMAC_SHA2_384-DH20', 'AES_CBC_256-HMAC_SHA2_256-DH19']
>>> t['esp_names']
['AES_GCM_16_256-NONE', 'AES_CBC_256-HMAC_SHA2_256_128']
>>> translate(['aes256-sha256-prfsha384-ecp256'], ['aes256gcm16'])['errors']
["IKE proposal 'aes256-sha256-prfsha384-ecp256': libreswan uses one hash for integrity and PRF; sha256 and prfsha384 differ"]
"""

from __future__ import annotations

import re

__all__ = ['TranslationError', 'translate', 'translate_one', 'to_libreswan', 'parse_algparse', 'parse_conns', 'set_algorithms',
           'no_proposal_chosen']


class TranslationError(ValueError):
    """A strongSwan proposal libreswan cannot express; the message names the proposal and the token."""


# Encryption: strongSwan keyword -> (libreswan keyword, pluto name, aead, ike_ok).
_AEAD_RX = re.compile(r'^aes(128|192|256)?(gcm|ccm)(8|12|16|64|96|128)?$')
_ICV = {'8': (8, '_a'), '64': (8, '_a'), '12': (12, '_b'), '96': (12, '_b'), '16': (16, ''), '128': (16, ''), None: (16, '')}
_GMAC_RX = re.compile(r'^aes(128|192|256)?gmac$')
_CBC_RX = re.compile(r'^aes(128|192|256)?(ctr)?$')
_CAMELLIA_RX = re.compile(r'^camellia(128|192|256)?$')

# Integrity / PRF: strongSwan keyword -> (libreswan keyword, IKE PRF name, ESP integrity name).
_HASHES = {
    'md5': ('md5', 'HMAC_MD5', 'HMAC_MD5_96'),
    'md5_128': None,
    'sha1': ('sha1', 'HMAC_SHA1', 'HMAC_SHA1_96'),
    'sha1_160': None,
    'sha256': ('sha2_256', 'HMAC_SHA2_256', 'HMAC_SHA2_256_128'),
    'sha2_256': ('sha2_256', 'HMAC_SHA2_256', 'HMAC_SHA2_256_128'),
    'sha256_96': None,
    'sha2_256_96': None,
    'sha384': ('sha2_384', 'HMAC_SHA2_384', 'HMAC_SHA2_384_192'),
    'sha2_384': ('sha2_384', 'HMAC_SHA2_384', 'HMAC_SHA2_384_192'),
    'sha512': ('sha2_512', 'HMAC_SHA2_512', 'HMAC_SHA2_512_256'),
    'sha2_512': ('sha2_512', 'HMAC_SHA2_512', 'HMAC_SHA2_512_256'),
    'aesxcbc': ('aes_xcbc', 'AES_XCBC', 'AES_XCBC_96'),
    'aescmac': ('aes_cmac', None, 'AES_CMAC_96'),
    'camelliaxcbc': None,
}
_PRFS = {
    'prfmd5': 'md5', 'prfsha1': 'sha1', 'prfsha256': 'sha256', 'prfsha384': 'sha384', 'prfsha512': 'sha512',
    'prfaesxcbc': 'aesxcbc', 'prfaescmac': 'aescmac', 'prfcamelliaxcbc': 'camelliaxcbc',
}

# Key exchange: strongSwan keyword -> (libreswan keyword, pluto name); None: libreswan 4 lacks it.
_DH = {
    'modp768': None, 'modp1024': None, 'modp1024s160': None, 'modp2048s224': None, 'modp2048s256': None,
    'modp1536': ('dh5', 'MODP1536'), 'modp2048': ('dh14', 'MODP2048'), 'modp3072': ('dh15', 'MODP3072'),
    'modp4096': ('dh16', 'MODP4096'), 'modp6144': ('dh17', 'MODP6144'), 'modp8192': ('dh18', 'MODP8192'),
    'ecp256': ('dh19', 'DH19'), 'ecp384': ('dh20', 'DH20'), 'ecp521': ('dh21', 'DH21'),
    'curve25519': ('dh31', 'DH31'), 'x25519': ('dh31', 'DH31'),
    'ecp192': None, 'ecp224': None, 'ecp224bp': None, 'ecp256bp': None, 'ecp384bp': None, 'ecp512bp': None,
    'curve448': None, 'x448': None,
}
_NOT_IN_LIBRESWAN = ('des', 'cast128', 'blowfish', 'blowfish128', 'blowfish192', 'blowfish256',
                     'mlkem512', 'mlkem768', 'mlkem1024')


def _cipher(token):
    """(libreswan keyword, pluto name, aead, usable in IKE) for an encryption token, or None."""
    m = _AEAD_RX.match(token)
    if m:
        bits = m.group(1) or '128'
        icv, suffix = _ICV[m.group(3)]
        kind = m.group(2)
        return ('aes_%s%s%s' % (kind, suffix, bits), 'AES_%s_%d_%s' % (kind.upper(), icv, bits), True, kind == 'gcm')
    m = _GMAC_RX.match(token)
    if m:
        bits = m.group(1) or '128'
        return ('aes_gmac%s' % bits, 'NULL_AUTH_AES_GMAC_%s' % bits, True, False)
    m = _CBC_RX.match(token)
    if m:
        bits = m.group(1) or '128'      # strongSwan's bare "aes" is AES-128; libreswan's is 256 - spell it out
        if m.group(2):
            return ('aes_ctr%s' % bits, 'AES_CTR_%s' % bits, False, True)
        return ('aes%s' % bits, 'AES_CBC_%s' % bits, False, True)
    m = _CAMELLIA_RX.match(token)
    if m:
        bits = m.group(1) or '128'
        return ('camellia%s' % bits, 'CAMELLIA_CBC_%s' % bits, False, True)
    if token == 'chacha20poly1305':
        return ('chacha20_poly1305', 'CHACHA20_POLY1305', True, True)
    if token == '3des':
        return ('3des', '3DES_CBC', False, True)
    if token == 'null':
        return ('null', 'NULL', False, False)
    return None


def translate_one(proposal, kind):
    """One strongSwan proposal -> ``(libreswan text, pluto name)``; ``kind`` is ``'ike'`` or ``'esp'``.

    >>> translate_one('aes128-aes256-sha256-sha384-ecp256-ecp384', 'ike')
    ('aes128+aes256-sha2_256+sha2_384;dh19+dh20', 'AES_CBC_128+AES_CBC_256-HMAC_SHA2_256+HMAC_SHA2_384-DH19+DH20')
    >>> translate_one('aes256gcm16-ecp384', 'esp')
    ('aes_gcm256;dh20', 'AES_GCM_16_256-NONE-DH20')
    """
    if kind not in ('ike', 'esp'):
        raise ValueError('kind must be ike or esp, not %r' % (kind,))
    label = '%s proposal %r' % (kind.upper(), proposal)
    if not isinstance(proposal, str) or not proposal.strip():
        raise TranslationError('%s: empty or not text' % label)
    ciphers, hashes, prfs, groups = [], [], [], []
    for token in proposal.strip().lower().split('-'):
        if not token:
            raise TranslationError('%s: empty algorithm between two "-"' % label)
        if token in ('esn', 'noesn'):
            raise TranslationError('%s: %s is set with libreswan\'s esn= option, not in esp=; leave it out of the '
                                   'golden proposals for a libreswan host' % (label, token))
        if token in _NOT_IN_LIBRESWAN:
            raise TranslationError('%s: libreswan 4 has no %s' % (label, token))
        c = _cipher(token)
        if c is not None:
            if kind == 'ike' and not c[3]:
                raise TranslationError('%s: libreswan offers %s for ESP only, not for IKE' % (label, token))
            ciphers.append(c)
        elif token in _HASHES:
            if _HASHES[token] is None:
                raise TranslationError('%s: libreswan 4 has no %s' % (label, token))
            hashes.append((token, _HASHES[token]))
        elif token in _PRFS:
            prfs.append(token)
        elif token in _DH:
            if _DH[token] is None:
                raise TranslationError('%s: libreswan 4 has no key exchange group %s' % (label, token))
            groups.append(_DH[token])
        else:
            raise TranslationError('%s: %r is not a strongSwan algorithm keyword libreswan knows' % (label, token))
    if not ciphers:
        raise TranslationError('%s: no encryption algorithm' % label)
    aead = set(c[2] for c in ciphers)
    if len(aead) > 1:
        raise TranslationError('%s: libreswan cannot mix AEAD and non-AEAD ciphers in one proposal; '
                               'split it into two proposals' % label)
    aead = aead.pop()
    if aead and hashes:
        raise TranslationError('%s: an AEAD cipher takes no integrity algorithm (%s)' % (label, hashes[0][0]))
    enc_text = '+'.join(c[0] for c in ciphers)
    enc_name = '+'.join(c[1] for c in ciphers)
    if kind == 'ike':
        if aead:
            if not prfs:
                raise TranslationError('%s: an AEAD IKE proposal needs a PRF (e.g. prfsha384) for libreswan' % label)
            macs = [_PRFS[p] for p in prfs]
        else:
            macs = [h[0] for h in hashes]
            if not macs:
                raise TranslationError('%s: no integrity algorithm' % label)
            if prfs:
                want = [_HASHES[_PRFS[p]] for p in prfs]
                have = [h[1] for h in hashes]
                if want != have:
                    raise TranslationError('%s: libreswan uses one hash for integrity and PRF; %s and %s differ'
                                           % (label, '+'.join(h[0] for h in hashes), '+'.join(prfs)))
        entries = []
        for m in macs:
            entry = _HASHES.get(m)
            if entry is None or entry[1] is None:
                raise TranslationError('%s: libreswan 4 has no IKE PRF %s' % (label, m))
            entries.append(entry)
        text = '%s-%s' % (enc_text, '+'.join(e[0] for e in entries))
        name = '%s-%s' % (enc_name, '+'.join(e[1] for e in entries))
        if not groups:
            raise TranslationError('%s: no key exchange group (e.g. ecp384); libreswan would fill in its defaults' % label)
    else:
        if prfs:
            raise TranslationError('%s: ESP has no PRF (%s)' % (label, prfs[0]))
        if aead:
            text, name = enc_text, enc_name + '-NONE'
        else:
            if not hashes:
                raise TranslationError('%s: no integrity algorithm' % label)
            text = '%s-%s' % (enc_text, '+'.join(h[1][0] for h in hashes))
            name = '%s-%s' % (enc_name, '+'.join(h[1][2] for h in hashes))
    if groups:
        text += ';' + '+'.join(g[0] for g in groups)
        name += '-' + '+'.join(g[1] for g in groups)
    return text, name


def _split(proposals):
    if proposals is None:
        return []
    if isinstance(proposals, str):
        proposals = proposals.split(',')
    return [p.strip() if isinstance(p, str) else p for p in proposals if not (isinstance(p, str) and not p.strip())]


def to_libreswan(proposals, kind):
    """strongSwan proposals (a list, or a comma-separated string) -> libreswan's ``ike=`` or ``esp=`` value.

    ``kind`` is ``'ike'`` or ``'esp'``. Raises :class:`TranslationError` for the first proposal that
    cannot be translated, and when there is none at all.

    >>> to_libreswan('aes256gcm16-prfsha384-ecp384,aes256-sha256-ecp256', 'ike')
    'aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19'
    >>> to_libreswan(['aes256gcm16', 'aes256-sha256'], 'esp')
    'aes_gcm256,aes256-sha2_256'
    """
    items = _split(proposals)
    if not items:
        raise TranslationError('no %s proposals given' % kind.upper())
    return ','.join(translate_one(p, kind)[0] for p in items)


def translate(ike, esp):
    """strongSwan IKE and ESP proposals (lists, or comma-separated strings) in libreswan's terms.

    Returns ``{'ike', 'esp', 'ike_names', 'esp_names', 'errors'}``: the ``ike=``/``esp=`` values,
    the names pluto prints for each proposal, and one message per proposal that cannot be
    translated (then the values are ``None``). Never raises on bad proposals.
    """
    out = {'ike': None, 'esp': None, 'ike_names': [], 'esp_names': [], 'errors': []}
    for kind, proposals in (('ike', ike), ('esp', esp)):
        texts, names = [], []
        for p in _split(proposals):
            try:
                text, name = translate_one(p, kind)
            except TranslationError as e:
                out['errors'].append(str(e))
                continue
            texts.append(text)
            names.append(name)
        if not _split(proposals):
            out['errors'].append('no %s proposals given' % kind.upper())
        out[kind] = ','.join(texts) if texts else None
        out[kind + '_names'] = names
    if out['errors']:
        out['ike'] = out['esp'] = None
    return out


_ALGPARSE_HEAD = re.compile(r"^algparse(?: -\S+)* '(ike|esp|ah)=(.*)'\s*$")


def parse_algparse(text):
    """``ipsec algparse -v2 -pfs 'ike=...' 'esp=...'`` output -> list of ``{kind, value, names, error}``.

    >>> parse_algparse("algparse -v2 -pfs 'ike=aes256-sha2_256;dh19'\\n\\tAES_CBC_256-HMAC_SHA2_256-DH19\\n")
    [{'kind': 'ike', 'value': 'aes256-sha2_256;dh19', 'names': ['AES_CBC_256-HMAC_SHA2_256-DH19'], 'error': None}]
    """
    out = []
    for line in (text or '').splitlines():
        m = _ALGPARSE_HEAD.match(line)
        if m:
            out.append({'kind': m.group(1), 'value': m.group(2), 'names': [], 'error': None})
            continue
        if not out or not line.strip():
            continue
        item = line.strip()
        if item.startswith('ERROR:'):
            out[-1]['error'] = item[len('ERROR:'):].strip()
        elif line.startswith(('\t', ' ')):
            out[-1]['names'].append(item)
    return out


_CONN = re.compile(r'^conn\s+(\S+)\s*(?:#.*)?$')
_KEY = re.compile(r'^(\s+)([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$')
_ALIASES = {'ike': ('ike', 'ikealg'), 'esp': ('esp', 'phase2alg')}


def parse_conns(text, path=None):
    """The conn sections of one ipsec.conf-format text.

    Returns a list of ``{name, path, line, ike, esp, ike_key, esp_key, auto}`` (``line`` is the
    0-based index of the ``conn`` line; ``ike``/``esp`` are ``None`` when the conn leaves them to
    libreswan's defaults; ``*_key`` is the key actually used, e.g. ``phase2alg``).

    >>> [(c['name'], c['ike'], c['esp']) for c in parse_conns('conn a\\n\\tike=aes256-sha2;dh19\\n\\tphase2alg=aes_gcm256\\n')]
    [('a', 'aes256-sha2;dh19', 'aes_gcm256')]
    """
    conns = []
    cur = None
    for n, line in enumerate((text or '').splitlines()):
        m = _CONN.match(line)
        if m:
            cur = {'name': m.group(1), 'path': path, 'line': n, 'ike': None, 'esp': None, 'ike_key': None,
                   'esp_key': None, 'auto': None}
            conns.append(cur)
            continue
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if not line[0].isspace():
            cur = None
            continue
        if cur is None:
            continue
        k = _KEY.match(line)
        if not k:
            continue
        key, value = k.group(2).lower(), k.group(3)
        if '#' in value and not value.startswith('"'):
            value = value.split('#', 1)[0].rstrip()
        for what, names in _ALIASES.items():
            if key in names:
                cur[what], cur[what + '_key'] = value.strip('"'), key
        if key == 'auto':
            cur['auto'] = value
    return conns


def set_algorithms(text, conns, ike, esp):
    """``text`` with the ``ike=``/``esp=`` lines of the conns named in ``conns`` set to ``ike``/``esp``.

    A conn without such a line gets one after its ``conn`` line (indented like its first setting).
    Every other byte - comments, other conns, other settings, line endings - stays as it was.

    >>> set_algorithms('conn a\\n\\tike=x\\n\\tauto=add\\nconn b\\n\\tike=x\\n', ['a'], 'y', 'z')
    'conn a\\n\\tesp=z\\n\\tike=y\\n\\tauto=add\\nconn b\\n\\tike=x\\n'
    """
    wanted = set(conns)
    values = {'ike': ike, 'esp': esp}
    lines = (text or '').splitlines(True)
    out = []
    cur = None
    seen = set()
    pending = []                            # (index in out, indent) of the current conn's header

    def close():
        if cur in wanted and pending:
            at, indent = pending[0]
            missing = [w for w in ('esp', 'ike') if w not in seen and values[w] is not None]
            eol = out[at][len(out[at].rstrip('\r\n')):] or '\n'
            for w in missing:
                out.insert(at + 1, '%s%s=%s%s' % (indent or '\t', w, values[w], eol))

    for line in lines:
        body = line.rstrip('\r\n')
        m = _CONN.match(body)
        if m or (body.strip() and not body[0].isspace() and not body.lstrip().startswith('#')):
            close()
            cur = m.group(1) if m else None
            seen = set()
            pending = [(len(out), None)] if m else []
            out.append(line)
            continue
        k = _KEY.match(body)
        if cur is not None and k and pending and pending[0][1] is None:
            pending = [(pending[0][0], k.group(1))]
        if cur in wanted and k:
            key = k.group(2).lower()
            for what, names in _ALIASES.items():
                if key in names and values[what] is not None:
                    seen.add(what)
                    line = '%s%s=%s%s' % (k.group(1), k.group(2), values[what], line[len(body):])
        out.append(line)
    close()
    return ''.join(out)


_STATE = re.compile(r' #(\d+): ')


def no_proposal_chosen(log):
    """pluto's NO_PROPOSAL_CHOSEN lines, split by exchange: ``{'ike': [...], 'create_child_sa': [...]}``.

    ``ike``: answers to IKE_SA_INIT / IKE_AUTH (the IKE or first ESP proposal was refused);
    ``create_child_sa``: lines of states that handled a CREATE_CHILD_SA exchange (a later CHILD_SA or
    a rekey, e.g. refused for want of a PFS group), told apart by pluto's state number.

    >>> no_proposal_chosen('"c"[1] 1.2.3.4 #4: responding to CREATE_CHILD_SA message (ID 2) from 1.2.3.4:4500 '
    ...                    'with encrypted notification NO_PROPOSAL_CHOSEN\\n')['create_child_sa'] != []
    True
    """
    lines = (log or '').splitlines()
    child_states = set()
    for line in lines:
        if 'CREATE_CHILD_SA' in line:
            m = _STATE.search(line)
            if m:
                child_states.add(m.group(1))
    out = {'ike': [], 'create_child_sa': []}
    for line in lines:
        if 'NO_PROPOSAL_CHOSEN' not in line:
            continue
        m = _STATE.search(line)
        child = 'CREATE_CHILD_SA' in line or (m is not None and m.group(1) in child_states)
        out['create_child_sa' if child else 'ike'].append(line.strip())
    return out

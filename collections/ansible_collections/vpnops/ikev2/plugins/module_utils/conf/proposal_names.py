# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan proposal keywords to libreswan's ike=/esp= syntax (ipsec.conf(5) of libreswan 4).

strongSwan writes one proposal as ``enc-integ-prf-dh`` tokens joined by ``-``; libreswan writes
``cipher-hash;dhN`` (for an AEAD cipher in IKE the hash is the PRF; for ESP an AEAD cipher stands
alone). libreswan uses one hash for integrity and PRF, so a proposal whose integrity and PRF differ
cannot be written for it.

>>> to_libreswan_ike('aes256gcm16-prfsha384-ecp384')
'aes_gcm256-sha2_384;dh20'
>>> to_libreswan_ike(['aes256gcm16-prfsha384-ecp384', 'aes256-sha256-ecp256'])
'aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19'
>>> to_libreswan_esp('aes256gcm16,aes256-sha256')
'aes_gcm256,aes256-sha2_256'
>>> try:
...     to_libreswan_ike('aes256-foo-ecp256')
... except ProposalNameError as e:
...     print(e)
strongSwan proposal 'aes256-foo-ecp256': no libreswan name for 'foo'
"""
from __future__ import annotations

import re


class ProposalNameError(ValueError):
    """A strongSwan proposal that has no libreswan spelling; the message names the proposal and token."""


# AEAD ciphers: strongSwan aes<bits>gcm<icv> / ccm; libreswan aes_gcm (16-byte ICV), _a (8), _b (12).
_AEAD = re.compile(r'^aes(128|192|256)?(gcm|ccm)(8|12|16|64|96|128)?$')
_ICV_SUFFIX = {None: '', '16': '', '128': '', '12': '_b', '96': '_b', '8': '_a', '64': '_a'}
_CIPHERS = {
    'aes': 'aes', 'aes128': 'aes128', 'aes192': 'aes192', 'aes256': 'aes256',
    'aes128ctr': 'aes_ctr128', 'aes192ctr': 'aes_ctr192', 'aes256ctr': 'aes_ctr256',
    'chacha20poly1305': 'chacha20_poly1305', '3des': '3des', 'null': 'null',
    'camellia128': 'camellia128', 'camellia192': 'camellia192', 'camellia256': 'camellia256',
}
_HASHES = {
    'md5': 'md5', 'sha1': 'sha1', 'sha256': 'sha2_256', 'sha2_256': 'sha2_256', 'sha384': 'sha2_384',
    'sha2_384': 'sha2_384', 'sha512': 'sha2_512', 'sha2_512': 'sha2_512', 'aesxcbc': 'aes_xcbc',
}
_PRFS = dict(('prf' + k, v) for k, v in _HASHES.items() if '_' not in k)
_DH = {
    'modp1024': 'dh2', 'modp1536': 'dh5', 'modp2048': 'dh14', 'modp3072': 'dh15', 'modp4096': 'dh16',
    'modp6144': 'dh17', 'modp8192': 'dh18', 'ecp256': 'dh19', 'ecp384': 'dh20', 'ecp521': 'dh21',
    'curve25519': 'dh31', 'x25519': 'dh31',
}


def _split(proposals):
    if isinstance(proposals, str):
        proposals = proposals.split(',')
    return [p.strip() for p in proposals if p and p.strip()]


def _one(proposal, ike):
    enc = integ = prf = dh = None
    aead = False
    for token in proposal.lower().split('-'):
        m = _AEAD.match(token)
        if m and enc is None:
            enc = 'aes_%s%s%s' % (m.group(2), _ICV_SUFFIX.get(m.group(3), '_c'), m.group(1) or '')
            aead = True
        elif token in _CIPHERS and enc is None:
            enc = _CIPHERS[token]
            aead = token == 'chacha20poly1305'
        elif token in _HASHES and integ is None:
            integ = _HASHES[token]
        elif token in _PRFS and prf is None:
            prf = _PRFS[token]
        elif token in _DH and dh is None:
            dh = _DH[token]
        elif token in ('esn', 'noesn'):
            continue
        else:
            raise ProposalNameError('strongSwan proposal %r: no libreswan name for %r' % (proposal, token))
    if enc is None:
        raise ProposalNameError('strongSwan proposal %r: no encryption algorithm' % proposal)
    if ike:
        if integ and prf and integ != prf:
            raise ProposalNameError('strongSwan proposal %r: libreswan uses one hash for integrity and PRF '
                                    '(%s differs from %s)' % (proposal, integ, prf))
        text = enc + ('-' + (prf or integ) if (prf or integ) else '')
    else:
        text = enc if aead and not integ else enc + ('-' + integ if integ else '')
    return text + (';' + dh if dh else '')


def to_libreswan_ike(proposals):
    """strongSwan IKE proposals (a list or a comma-separated string) to libreswan's ``ike=`` value."""
    return ','.join(_one(p, True) for p in _split(proposals))


def to_libreswan_esp(proposals):
    """strongSwan ESP proposals to libreswan's ``esp=`` value."""
    return ','.join(_one(p, False) for p in _split(proposals))

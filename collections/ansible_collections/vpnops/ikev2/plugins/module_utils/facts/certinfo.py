# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""X.509 certificates to facts with ``cryptography``, and chain building leaf -> root.

Used on the target when ``cryptography`` imports there, and by the action plugin on the
controller otherwise (the module then ships the public certificates, never keys).
"""
from __future__ import annotations

import base64
import hashlib
import re

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    from cryptography.x509.oid import ExtensionOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised on targets without it
    HAS_CRYPTOGRAPHY = False

_PEM_CERT = re.compile(rb'-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[\s\S]+?-----END (?:X509 |TRUSTED )?CERTIFICATE-----')
_PEM_CRL = re.compile(rb'-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----')

_EKU_NAMES = {
    '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth', '1.3.6.1.5.5.7.3.17': 'ipsecIKE',
    '1.3.6.1.5.5.8.2.2': 'ikeIntermediate', '1.3.6.1.5.5.7.3.9': 'OCSPSigning', '2.5.29.37.0': 'anyExtendedKeyUsage',
}


def certs_from_blob(data):
    """Split a file's bytes into DER certificates (PEM bundle, or one DER)."""
    found = _PEM_CERT.findall(data)
    if found:
        out = []
        for pem in found:
            body = b''.join(pem.split(b'\n')[1:-1])
            try:
                out.append(base64.b64decode(re.sub(rb'[^A-Za-z0-9+/=]', b'', body)))
            except ValueError:
                continue
        return out
    if data[:1] == b'\x30':
        return [data]
    return []


def is_crl_blob(data):
    return bool(_PEM_CRL.search(data))


def _name(n):
    """RFC 4514-ish in strongSwan's order (C=.., O=.., CN=..), which is how operators read them."""
    parts = []
    for rdn in n.rdns:
        for attr in rdn:
            key = {'countryName': 'C', 'organizationName': 'O', 'organizationalUnitName': 'OU',
                   'commonName': 'CN', 'stateOrProvinceName': 'ST', 'localityName': 'L',
                   'emailAddress': 'E', 'domainComponent': 'DC', 'serialNumber': 'serialNumber'}.get(
                attr.oid._name, attr.oid.dotted_string)
            parts.append('%s=%s' % (key, attr.value))
    return ', '.join(parts)


def _iso(dt):
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    except Exception:  # malformed extension: recorded as absent rather than failing the host
        return None


def spki_sha256(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def cert_facts(der, path=None, store=None):
    """One certificate (DER bytes) to its facts."""
    cert = x509.load_der_x509_certificate(der)
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        ktype, ksize = 'RSA', pub.key_size
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        ktype, ksize = 'ECDSA', pub.key_size
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        ktype, ksize = 'ED25519', 256
    elif isinstance(pub, ed448.Ed448PublicKey):
        ktype, ksize = 'ED448', 456
    elif isinstance(pub, dsa.DSAPublicKey):
        ktype, ksize = 'DSA', pub.key_size
    else:
        ktype, ksize = type(pub).__name__, None
    sans = []
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is not None:
        for gn in san:
            if isinstance(gn, x509.IPAddress):
                sans.append(str(gn.value))
            elif isinstance(gn, x509.DirectoryName):
                sans.append(_name(gn.value))
            elif isinstance(gn, (x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier)):
                sans.append(gn.value)
            else:
                sans.append(str(gn.value))
    eku = []
    eku_ext = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    if eku_ext is not None:
        eku = [_EKU_NAMES.get(o.dotted_string, o.dotted_string) for o in eku_ext]
    ku = []
    ku_ext = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku_ext is not None:
        for attr in ('digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment',
                     'key_agreement', 'key_cert_sign', 'crl_sign'):
            if getattr(ku_ext, attr):
                ku.append(attr)
        if ku_ext.key_agreement:
            if ku_ext.encipher_only:
                ku.append('encipher_only')
            if ku_ext.decipher_only:
                ku.append('decipher_only')
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    crl_dps = []
    cdp = _ext(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if cdp is not None:
        for dp in cdp:
            for gn in dp.full_name or []:
                crl_dps.append(gn.value)
    ski = _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    try:
        nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        nb, na = cert.not_valid_before, cert.not_valid_after
    return {
        'path': path, 'store': store,
        'subject': _name(cert.subject), 'issuer': _name(cert.issuer), 'sans': sans,
        'serial': '%x' % cert.serial_number,
        'not_before': _iso(nb), 'not_after': _iso(na),
        'key_type': ktype, 'key_size': ksize, 'eku': eku, 'key_usage': ku,
        'is_ca': bool(bc.ca) if bc is not None else False,
        'path_len': bc.path_length if bc is not None else None,
        'crl_dps': crl_dps,
        'ski': ski.digest.hex() if ski is not None else None,
        'aki': aki.key_identifier.hex() if aki is not None and aki.key_identifier else None,
        'self_signed': cert.subject == cert.issuer,
        'fingerprint_sha256': hashlib.sha256(der).hexdigest(),
        'spki_sha256': spki_sha256(pub),
        'has_private_key': None,
    }


def crl_facts(data, path=None, store=None):
    if is_crl_blob(data):
        crl = x509.load_pem_x509_crl(_PEM_CRL.search(data).group(0))
    else:
        crl = x509.load_der_x509_crl(data)
    try:
        last, nxt = crl.last_update_utc, crl.next_update_utc
    except AttributeError:
        last, nxt = crl.last_update, crl.next_update
    return {'path': path, 'store': store, 'issuer': _name(crl.issuer), 'last_update': _iso(last),
            'next_update': _iso(nxt) if nxt else None, 'revoked': len(list(crl))}


def private_key_spki(data):
    """SPKI hash of the public half of a private key file, or None (encrypted, unknown format).

    Only the hash leaves this function; the key object is dropped at once.
    """
    if not HAS_CRYPTOGRAPHY:
        return None
    loaders = (serialization.load_pem_private_key, serialization.load_der_private_key)
    for loader in loaders:
        try:
            key = loader(data, password=None)
        except (ValueError, TypeError):
            continue
        except Exception:   # unsupported algorithm and the like
            continue
        try:
            return spki_sha256(key.public_key())
        finally:
            del key
    return None


def build_chains(certs):
    """For every end-entity certificate: the path to a self-signed root, or the missing link.

    Issuers are matched by subject name and, when both carry them, AKI == SKI.
    """
    by_subject = {}
    for c in certs:
        by_subject.setdefault(c['subject'], []).append(c)
    chains = []
    seen_leaf = set()
    for leaf in certs:
        if leaf['is_ca'] or leaf['fingerprint_sha256'] in seen_leaf:
            continue
        seen_leaf.add(leaf['fingerprint_sha256'])
        path = [leaf['subject']]
        cur = leaf
        complete = False
        missing = None
        root = None
        for _step in range(10):
            if cur['self_signed']:
                complete = cur is not leaf
                root = cur['subject'] if complete else None
                if cur is leaf:
                    missing = None
                    complete = True
                    root = cur['subject']
                break
            cands = [c for c in by_subject.get(cur['issuer'], []) if c['is_ca'] or c['self_signed']]
            if cur.get('aki'):
                keyed = [c for c in cands if c.get('ski') in (None, cur['aki'])]
                cands = keyed
            if not cands:
                missing = cur['issuer']
                break
            cur = cands[0]
            if cur['subject'] in path:
                break
            path.append(cur['subject'])
        chains.append({'leaf': leaf['subject'], 'fingerprint_sha256': leaf['fingerprint_sha256'],
                       'complete': complete, 'path': path, 'missing': missing, 'root': root})
    return chains

"""The lab's PKI: root CA -> intermediate CA -> gateway and client leaf certificates.

Real X.509 made with `cryptography`: ECDSA P-256 keys, SANs that match the IKE identities,
EKUs as a real deployment sets them, CRL distribution points served by the infra host.
Fault scenarios ask for variants of a leaf (expired, wrong SAN, wrong EKU, revoked); each is a
real certificate issued by the same intermediate.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

IKE_INTERMEDIATE = ObjectIdentifier("1.3.6.1.5.5.8.2.2")   # RFC 4945 id-kp-ipsecIKE-intermediate
CRL_BASE = "http://infra.lab/crl"
VARIANTS = ("good", "expired", "wrong_san", "no_eku", "revoked")


def _name(cn: str, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vpnops lab")]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LabPKI:
    """Keys and certificates of one lab, kept in a directory so a running lab can reuse them."""

    def __init__(self, directory: str, now: datetime.datetime | None = None):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        meta_path = os.path.join(directory, "pki.json")
        if os.path.exists(meta_path):
            with open(meta_path, encoding="utf-8") as handle:
                self.meta = json.load(handle)
            self.now = datetime.datetime.fromisoformat(self.meta["created"])
        else:
            self.meta = {"created": self.now.isoformat(), "revoked": []}
        self.root_key, self.root = self._ca("root", _name("vpnops lab Root CA"), None, None, path_len=1)
        self.int_key, self.intermediate = self._ca(
            "intermediate", _name("vpnops lab Intermediate CA", "IKE"), self.root_key, self.root, path_len=0)
        self._save_meta()

    # -- storage ---------------------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _save_meta(self) -> None:
        with open(self._path("pki.json"), "w", encoding="utf-8") as handle:
            json.dump(self.meta, handle)

    def _load(self, stem: str):
        cert_path, key_path = self._path(stem + ".pem"), self._path(stem + ".key")
        if os.path.exists(cert_path) and os.path.exists(key_path):
            with open(cert_path, "rb") as handle:
                cert = x509.load_pem_x509_certificate(handle.read())
            with open(key_path, "rb") as handle:
                key = serialization.load_pem_private_key(handle.read(), None)
            return key, cert
        return None

    def _store(self, stem: str, key, cert) -> None:
        with open(self._path(stem + ".pem"), "wb") as handle:
            handle.write(_pem(cert))
        fd = os.open(self._path(stem + ".key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_key_pem(key))

    # -- issuing ---------------------------------------------------------------------------
    def _ca(self, stem, subject, issuer_key, issuer_cert, path_len):
        found = self._load(stem)
        if found:
            return found
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = issuer_cert.subject if issuer_cert else subject
        builder = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(self.now - datetime.timedelta(minutes=10))
                   .not_valid_after(self.now + datetime.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if issuer_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(f"{CRL_BASE}/root.crl")], None, None, None)]), critical=False)
        cert = builder.sign(issuer_key or key, hashes.SHA256())
        self._store(stem, key, cert)
        return key, cert

    def leaf(self, fqdn: str, role: str, variant: str = "good", addr: str | None = None):
        """The key and certificate of a gateway ("server") or client leaf, in the given variant."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown certificate variant {variant!r}")
        stem = f"{fqdn}-{variant}"
        found = self._load(stem)
        if found:
            return found
        key = ec.generate_private_key(ec.SECP256R1())
        san_name = f"other-{fqdn}" if variant == "wrong_san" else fqdn
        sans: list[x509.GeneralName] = [x509.DNSName(san_name)]
        if addr and role == "server" and variant != "wrong_san":
            sans.append(x509.IPAddress(ipaddress.ip_address(addr)))
        if role == "client" and variant != "wrong_san":
            sans.append(x509.RFC822Name(f"vpn@{fqdn}"))
        if variant == "no_eku":
            ekus = [ExtendedKeyUsageOID.CODE_SIGNING]
        elif role == "server":
            ekus = [ExtendedKeyUsageOID.SERVER_AUTH, IKE_INTERMEDIATE]
        else:
            ekus = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if variant == "expired":
            start = self.now - datetime.timedelta(days=400)
            end = self.now - datetime.timedelta(days=2)
        else:
            start = self.now - datetime.timedelta(minutes=10)
            end = self.now + datetime.timedelta(days=365)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(san_name, "gateways" if role == "server" else "clients"))
                .issuer_name(self.intermediate.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=False, crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.int_key.public_key()),
                               critical=False)
                .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(f"{CRL_BASE}/intermediate.crl")], None, None, None)]),
                    critical=False)
                .sign(self.int_key, hashes.SHA256()))
        self._store(stem, key, cert)
        if variant == "revoked":
            self.meta["revoked"].append({"serial": cert.serial_number, "fqdn": fqdn})
            self._save_meta()
        return key, cert

    # -- outputs ---------------------------------------------------------------------------
    def crl(self, which: str = "intermediate") -> bytes:
        """A DER CRL of the intermediate (listing revoked leaves) or of the root (empty)."""
        issuer_key, issuer = (self.int_key, self.intermediate) if which == "intermediate" else (self.root_key, self.root)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
                   .last_update(self.now - datetime.timedelta(minutes=5))
                   .next_update(self.now + datetime.timedelta(days=30)))
        if which == "intermediate":
            for entry in self.meta["revoked"]:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(entry["serial"])
                    .revocation_date(self.now - datetime.timedelta(minutes=5)).build())
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    @staticmethod
    def pem(cert) -> bytes:
        return _pem(cert)

    @staticmethod
    def key_pem(key) -> bytes:
        return _key_pem(key)

    def pkcs12(self, key, cert, password: bytes) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            cert.subject.rfc4514_string().encode(), key, cert, [self.intermediate],
            serialization.BestAvailableEncryption(password))

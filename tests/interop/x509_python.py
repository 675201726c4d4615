#!/usr/bin/env python3
"""x509_python.py: checks the certificates x509_openssl.sh issued with
vigil-test-x509_issue (root.pem, inter.pem, leaf.pem from leaf.csr,
leaf2.pem, resp.pem in the current directory) using python3-cryptography,
which we did not write. Works with the Debian package (38) and newer.
Exits non-zero with a message on the first failed check."""
import argparse
import ipaddress
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH
OCSP_SIGNING = ExtendedKeyUsageOID.OCSP_SIGNING


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def load(name):
    with open(name, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def verify_signature(cert, issuer):
    pub = issuer.public_key()
    sig, tbs = cert.signature, cert.tbs_certificate_bytes
    if isinstance(pub, rsa.RSAPublicKey):
        pub.verify(sig, tbs, padding.PKCS1v15(), cert.signature_hash_algorithm)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(sig, tbs, ec.ECDSA(cert.signature_hash_algorithm))
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(sig, tbs)
    else:
        fail("unexpected issuer key type")


def common(name, cert, issuer, is_ca):
    """Checks every certificate we issue must pass."""
    check(cert.version == x509.Version.v3, name + ": not v3")
    # Serial: positive, at least 64 bits (generated: 16 octets, top bit
    # clear), at most 20 octets.
    s = cert.serial_number
    check(s > 0, name + ": serial not positive")
    check(s.bit_length() >= 64, name + ": serial under 64 bits")
    check(s.bit_length() <= 159, name + ": serial over 20 octets")
    check(cert.issuer == issuer.subject, name + ": issuer != issuer subject")
    verify_signature(cert, issuer)
    # Changing a signed byte must break the signature.
    bad = bytearray(cert.tbs_certificate_bytes)
    bad[-1] ^= 1
    try:
        pub = issuer.public_key()
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, bytes(bad),
                       ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(cert.signature, bytes(bad))
        else:
            pub.verify(cert.signature, bytes(bad), padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        fail(name + ": signature verified over modified data")
    except Exception as e:  # InvalidSignature
        if type(e).__name__ != "InvalidSignature":
            raise
    bc = ext(cert, x509.BasicConstraints)
    check(bc is not None and bc.critical, name + ": basicConstraints")
    check(bc.value.ca == is_ca, name + ": cA")
    ku = ext(cert, x509.KeyUsage)
    check(ku is not None and ku.critical, name + ": keyUsage not critical")
    # AKI keyIdentifier = the issuer's SKI.
    aki = ext(cert, x509.AuthorityKeyIdentifier)
    check(aki is not None and not aki.critical, name + ": AKI")
    issuer_ski = ext(issuer, x509.SubjectKeyIdentifier)
    check(issuer_ski is not None, name + ": issuer has no SKI")
    check(aki.value.key_identifier == issuer_ski.value.digest,
          name + ": AKI != issuer SKI")
    check(aki.value.authority_cert_issuer is None, name + ": AKI issuer set")
    ski = ext(cert, x509.SubjectKeyIdentifier)
    if is_ca:
        # RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
        want = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
        check(ski is not None and ski.value.digest == want.digest,
              name + ": SKI is not SHA-1 of the key")
    check(not_after(cert) > not_before(cert), name + ": validity")
    return ku.value


def not_before(cert):
    # not_valid_*_utc appeared in cryptography 42; Debian has 38.
    return getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before


def not_after(cert):
    return getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after


def uris(access_or_dp):
    return [n.value for n in access_or_dp]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocsp", required=True)
    ap.add_argument("--crl", required=True)
    ap.add_argument("--ca-issuers", required=True)
    ap.add_argument("--root-crl", required=True)
    a = ap.parse_args()

    root, inter = load("root.pem"), load("inter.pem")
    leaf, leaf2, resp = load("leaf.pem"), load("leaf2.pem"), load("resp.pem")

    # Root: self-signed, no EKU, AKI = SKI.
    ku = common("root", root, root, True)
    check(ku.key_cert_sign and ku.crl_sign and ku.digital_signature,
          "root: key usage")
    check(ext(root, x509.ExtendedKeyUsage) is None, "root: has EKU")
    check(ext(root, x509.BasicConstraints).value.path_length is None,
          "root: pathLen")
    check(root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
          == "DE", "root: C")

    # Intermediate.
    ku = common("inter", inter, root, True)
    check(ku.key_cert_sign and ku.crl_sign, "inter: key usage")
    check(ext(inter, x509.BasicConstraints).value.path_length == 0,
          "inter: pathLen")
    check(list(ext(inter, x509.ExtendedKeyUsage).value) == [SERVER, CLIENT],
          "inter: EKU")
    dp = ext(inter, x509.CRLDistributionPoints).value
    check(len(dp) == 1 and uris(dp[0].full_name) == [a.root_crl],
          "inter: CRL DP")
    check(isinstance(inter.public_key(), ec.EllipticCurvePublicKey) and
          inter.public_key().curve.name == "secp384r1", "inter: key")

    # Leaf from the openssl CSR.
    with open("leaf.csr", "rb") as f:
        csr = x509.load_pem_x509_csr(f.read())
    ku = common("leaf", leaf, inter, False)
    check(ku.digital_signature and ku.key_encipherment and
          not ku.key_cert_sign, "leaf: key usage (RSA)")
    check(leaf.subject == csr.subject, "leaf: subject != CSR subject")
    check(leaf.public_key().public_numbers() ==
          csr.public_key().public_numbers(), "leaf: key != CSR key")
    san = ext(leaf, x509.SubjectAlternativeName)
    check(san is not None and not san.critical, "leaf: SAN")
    check(san.value.get_values_for_type(x509.DNSName) ==
          ["leaf.example", "localhost"], "leaf: DNS SANs")
    check(san.value.get_values_for_type(x509.IPAddress) ==
          [ipaddress.ip_address("127.0.0.1")], "leaf: IP SANs")
    check(list(ext(leaf, x509.ExtendedKeyUsage).value) == [SERVER, CLIENT],
          "leaf: EKU")
    aia = ext(leaf, x509.AuthorityInformationAccess).value
    got = [(d.access_method, d.access_location.value) for d in aia]
    check(got == [(x509.oid.AuthorityInformationAccessOID.OCSP, a.ocsp),
                  (x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                   a.ca_issuers)], "leaf: AIA %r" % (got,))
    dp = ext(leaf, x509.CRLDistributionPoints).value
    check(len(dp) == 1 and uris(dp[0].full_name) == [a.crl], "leaf: CRL DP")
    pol = ext(leaf, x509.CertificatePolicies).value
    check([p.policy_identifier.dotted_string for p in pol] ==
          ["2.23.140.1.2.1"], "leaf: policies")
    check(ext(leaf, x509.SubjectKeyIdentifier) is None, "leaf: has SKI")
    check(ext(leaf, x509.OCSPNoCheck) is None, "leaf: has nocheck")
    days = (not_after(leaf) - not_before(leaf)).total_seconds()
    check(abs(days - (30 * 86400 + 300)) <= 1, "leaf: lifetime %r" % days)

    # Leaf with an empty subject: SAN must be critical (RFC 5280 4.2.1.6).
    ku = common("leaf2", leaf2, inter, False)
    check(ku.digital_signature and not ku.key_encipherment,
          "leaf2: key usage (EC)")
    check(len(leaf2.subject) == 0, "leaf2: subject not empty")
    san = ext(leaf2, x509.SubjectAlternativeName)
    check(san is not None and san.critical, "leaf2: SAN not critical")
    check(san.value.get_values_for_type(x509.IPAddress) ==
          [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")],
          "leaf2: IP SANs")

    # Delegated OCSP responder.
    ku = common("resp", resp, inter, False)
    check(ku.digital_signature and not ku.key_cert_sign, "resp: key usage")
    check(list(ext(resp, x509.ExtendedKeyUsage).value) == [OCSP_SIGNING],
          "resp: EKU")
    check(ext(resp, x509.OCSPNoCheck) is not None, "resp: no nocheck")
    check(ext(resp, x509.AuthorityInformationAccess) is None, "resp: AIA")
    check(ext(resp, x509.CRLDistributionPoints) is None, "resp: CRL DP")
    check(isinstance(resp.public_key(), ed25519.Ed25519PublicKey),
          "resp: key")
    life = (not_after(resp) - not_before(resp)).total_seconds()
    check(life == 96 * 3600 + 300, "resp: lifetime %r" % life)

    print("x509_python: all checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""crl_python.py: check one DER CRL made by vigil-test-crl_sign with the
python3 `cryptography` module (a parser and verifier we did not write).

Expected values come from the command line and the entries file the CRL
was built from, never from our own output. Exit status 0 = all checks hold.

  crl_python.py --ca CA.pem --crl CRL.der --entries FILE --number N
      --this-update T --next-update T [--idp URI [--user-certs]]
"""
import argparse
import calendar
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

REASONS = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def ts(obj, attr):
    """Epoch seconds of a datetime attribute: the *_utc (aware) form from
    cryptography 42 on, else the naive-UTC one (Debian's 38)."""
    dt = getattr(obj, attr + "_utc", None)
    if dt is None:
        dt = getattr(obj, attr)
    return calendar.timegm(dt.utctimetuple())


def read_entries(path):
    out = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            serial, when, reason = fields
            out.append((int(serial, 16), int(when), reason))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ca", required=True)
    ap.add_argument("--crl", required=True)
    ap.add_argument("--entries", required=True)
    ap.add_argument("--number", type=int, required=True)
    ap.add_argument("--this-update", type=int, required=True)
    ap.add_argument("--next-update", type=int, required=True)
    ap.add_argument("--idp")
    ap.add_argument("--user-certs", action="store_true")
    a = ap.parse_args()

    with open(a.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(a.crl, "rb") as f:
        der = f.read()
    crl = x509.load_der_x509_crl(der)
    name = a.crl

    # Signature, issuer, algorithm.
    check(crl.is_signature_valid(ca.public_key()), f"{name}: signature")
    check(crl.issuer == ca.subject, f"{name}: issuer != CA subject")
    key = ca.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        want_alg = SignatureAlgorithmOID.ECDSA_WITH_SHA256
    elif isinstance(key, rsa.RSAPublicKey):
        want_alg = SignatureAlgorithmOID.RSA_WITH_SHA256
    else:
        want_alg = None
    check(want_alg is None or crl.signature_algorithm_oid == want_alg,
          f"{name}: signature algorithm {crl.signature_algorithm_oid}")

    # A changed byte inside the signed part must break the signature. The
    # issuer's common name is in the TBSCertList; flipping a letter's case
    # keeps the DER valid.
    cn = ca.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    pos = der.find(cn.encode())
    check(pos > 0, f"{name}: CA name not found in the CRL")
    bad = bytearray(der)
    bad[pos] ^= 0x20
    check(not x509.load_der_x509_crl(bytes(bad)).is_signature_valid(key),
          f"{name}: tampered CRL still verifies")

    # Times.
    check(ts(crl, "last_update") == a.this_update, f"{name}: thisUpdate")
    check(ts(crl, "next_update") == a.next_update, f"{name}: nextUpdate")

    # Extensions: exactly AKI, CRL number, and IDP for a shard.
    exts = crl.extensions
    check(len(exts) == (3 if a.idp else 2),
          f"{name}: {len(exts)} CRL extensions")
    aki = exts.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    check(not aki.critical, f"{name}: AKI critical")
    check(aki.value.key_identifier == ski.value.digest,
          f"{name}: AKI keyIdentifier != CA SKI")
    num = exts.get_extension_for_class(x509.CRLNumber)
    check(not num.critical, f"{name}: CRL number critical")
    check(num.value.crl_number == a.number,
          f"{name}: CRL number {num.value.crl_number} != {a.number}")
    if a.idp:
        idp = exts.get_extension_for_class(x509.IssuingDistributionPoint)
        check(idp.critical, f"{name}: IDP not critical")
        full = idp.value.full_name
        check(full is not None and len(full) == 1 and
              isinstance(full[0], x509.UniformResourceIdentifier) and
              full[0].value == a.idp, f"{name}: IDP fullName {full}")
        check(idp.value.only_contains_user_certs == a.user_certs,
              f"{name}: onlyContainsUserCerts")
        check(not idp.value.only_contains_ca_certs,
              f"{name}: onlyContainsCACerts")
        check(not idp.value.indirect_crl, f"{name}: indirectCRL")
        check(idp.value.only_some_reasons is None, f"{name}: onlySomeReasons")

    # Entries: all of them, in input order, with dates and reasons.
    want = read_entries(a.entries)
    got = list(crl)
    check(len(crl) == len(want) and len(got) == len(want),
          f"{name}: {len(got)} entries, expected {len(want)}")
    # get_revoked_certificate_by_serial_number is a linear scan: look up
    # every entry of a small CRL, a spread-out sample (~40) of a large one.
    step = max(1, len(want) // 40)
    for i, ((serial, when, reason), r) in enumerate(zip(want, got)):
        check(r.serial_number == serial,
              f"{name}: order: {r.serial_number:x} where {serial:x} expected")
        check(ts(r, "revocation_date") == when, f"{name}: date of {serial:x}")
        try:
            ext = r.extensions.get_extension_for_class(x509.CRLReason)
        except x509.ExtensionNotFound:
            ext = None
        if reason in ("none", "unspecified"):
            check(ext is None, f"{name}: {serial:x} has a reasonCode")
            check(len(r.extensions) == 0, f"{name}: {serial:x} extensions")
        else:
            check(ext is not None and not ext.critical and
                  ext.value.reason == REASONS[reason],
                  f"{name}: reason of {serial:x}: {ext}")
        if i % step == 0 or i == len(want) - 1:
            byserial = crl.get_revoked_certificate_by_serial_number(serial)
            check(byserial is not None and
                  ts(byserial, "revocation_date") == when,
                  f"{name}: lookup of {serial:x}")
    unlisted = max([s for s, _, _ in want], default=0) + 1
    check(crl.get_revoked_certificate_by_serial_number(unlisted) is None,
          f"{name}: unlisted serial {unlisted:x} found")
    print(f"ok: python-cryptography: {name}: signature, {len(want)} entries, "
          f"number {a.number}" + (f", IDP {a.idp}" if a.idp else ""))


if __name__ == "__main__":
    main()

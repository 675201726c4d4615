#!/usr/bin/env python3
"""ocsp_response_python.py: checks OCSP responses made by
vigil-test-ocsp_sign with python3-cryptography (Debian 38), a parser and
verifier we did not write. Run by ocsp_response_python.sh, which makes the
PKI with the openssl CLI and the responses with our tool, then calls:

  ocsp_response_python.py DIR THIS_UPDATE NEXT_UPDATE PRODUCED_AT
                          REVOKED_AT NONCE_HEX

DIR holds ca.pem, responder.pem and good.der (CA-signed, SHA-1 CertID,
serial 0x1234abcd), revoked.der (delegated, keyCompromise, serial
0xc0ffee...01), unknown.der (delegated, SHA-256 CertID), nonce.der
(delegated, good, nonce NONCE_HEX) and tampered.der (good.der with one
signature bit flipped). Exits 0 if everything checks out.
"""
import datetime
import hashlib
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp

SERIAL1 = 0x1234ABCD
SERIAL2 = 0xC0FFEE0123456789ABCDEF0123456789ABCDEF01


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def utc(ts):
    # cryptography 38 returns naive datetimes in UTC.
    return datetime.datetime.utcfromtimestamp(ts)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_resp(path):
    with open(path, "rb") as f:
        return ocsp.load_der_ocsp_response(f.read())


def key_bits(pub):
    """The subjectPublicKey BIT STRING contents, per key type."""
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return pub.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint)
    if isinstance(pub, rsa.RSAPublicKey):
        return pub.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.PKCS1)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return pub.public_bytes(serialization.Encoding.Raw,
                                serialization.PublicFormat.Raw)
    fail("unexpected key type %r" % pub)
    return b""


def verify(resp, pub):
    """Verifies resp's signature over tbs_response_bytes with pub; returns
    True or False."""
    sig = resp.signature
    tbs = resp.tbs_response_bytes
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, tbs, ec.ECDSA(resp.signature_hash_algorithm))
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, tbs, padding.PKCS1v15(),
                       resp.signature_hash_algorithm)
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            check(resp.signature_hash_algorithm is None,
                  "Ed25519 response names a hash")
            pub.verify(sig, tbs)
        else:
            fail("unexpected key type")
    except InvalidSignature:
        return False
    return True


def check_common(name, resp, ca, signer, this_update, next_update,
                 produced_at, hash_alg, serial, with_cert):
    check(resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL,
          name + ": status %r" % resp.response_status)
    check(resp.responder_name is None, name + ": responder by name")
    want_kh = x509.SubjectKeyIdentifier.from_public_key(
        signer.public_key()).digest
    check(resp.responder_key_hash == want_kh,
          name + ": responder_key_hash %s != %s" %
          (resp.responder_key_hash.hex(), want_kh.hex()))
    check(resp.produced_at == utc(produced_at), name + ": produced_at")
    check(resp.this_update == utc(this_update), name + ": this_update")
    check(resp.next_update == utc(next_update), name + ": next_update")
    check(resp.serial_number == serial,
          name + ": serial %x" % resp.serial_number)
    check(isinstance(resp.hash_algorithm, hash_alg),
          name + ": hash %r" % resp.hash_algorithm)
    h = hashlib.new(resp.hash_algorithm.name)
    h.update(ca.subject.public_bytes())
    check(resp.issuer_name_hash == h.digest(), name + ": issuer_name_hash")
    h = hashlib.new(resp.hash_algorithm.name)
    h.update(key_bits(ca.public_key()))
    check(resp.issuer_key_hash == h.digest(), name + ": issuer_key_hash")
    if with_cert:
        check(len(resp.certificates) == 1 and resp.certificates[0] == signer,
              name + ": certs [0] is not the responder certificate")
    else:
        check(len(resp.certificates) == 0, name + ": unexpected certs")
    check(verify(resp, signer.public_key()), name + ": signature invalid")


def main():
    if len(sys.argv) != 7:
        fail("usage: DIR THIS NEXT PRODUCED REVOKED_AT NONCE_HEX")
    d = sys.argv[1]
    this_update, next_update, produced_at, revoked_at = (
        int(x) for x in sys.argv[2:6])
    nonce = bytes.fromhex(sys.argv[6])
    ca = load_cert(d + "/ca.pem")
    responder = load_cert(d + "/responder.pem")
    times = (this_update, next_update, produced_at)

    r = load_resp(d + "/good.der")
    check_common("good", r, ca, ca, *times, hashes.SHA1, SERIAL1, False)
    check(r.certificate_status == ocsp.OCSPCertStatus.GOOD, "good: status")
    check(len(r.extensions) == 0, "good: unexpected extensions")
    # Responder cert check: the delegated cert was issued by the CA, with
    # EKU OCSPSigning (set by openssl; we check we sent the right one).
    check(responder.issuer == ca.subject, "responder not issued by CA")

    r = load_resp(d + "/revoked.der")
    check_common("revoked", r, ca, responder, *times, hashes.SHA1, SERIAL2,
                 True)
    check(r.certificate_status == ocsp.OCSPCertStatus.REVOKED,
          "revoked: status")
    check(r.revocation_time == utc(revoked_at), "revoked: revocation_time")
    check(r.revocation_reason == x509.ReasonFlags.key_compromise,
          "revoked: reason %r" % r.revocation_reason)
    check(not verify(r, ca.public_key()),
          "revoked: signature verifies under the wrong key")

    r = load_resp(d + "/unknown.der")
    check_common("unknown", r, ca, responder, *times, hashes.SHA256,
                 SERIAL1, True)
    check(r.certificate_status == ocsp.OCSPCertStatus.UNKNOWN,
          "unknown: status")
    check(r.revocation_time is None and r.revocation_reason is None,
          "unknown: revocation fields")

    r = load_resp(d + "/nonce.der")
    check_common("nonce", r, ca, responder, *times, hashes.SHA1, SERIAL1,
                 True)
    ext = r.extensions.get_extension_for_class(x509.OCSPNonce)
    check(not ext.critical, "nonce: extension is critical")
    check(ext.value.nonce == nonce,
          "nonce: %s != %s" % (ext.value.nonce.hex(), nonce.hex()))

    r = load_resp(d + "/tampered.der")
    check(not verify(r, ca.public_key()), "tampered: signature verified")

    for status, code in (("malformedRequest", 1), ("internalError", 2),
                         ("tryLater", 3), ("sigRequired", 5),
                         ("unauthorized", 6)):
        r = load_resp(d + "/err-%s.der" % status)
        check(r.response_status == ocsp.OCSPResponseStatus(code),
              "error %s: %r" % (status, r.response_status))
    print("ok: " + d)


if __name__ == "__main__":
    main()

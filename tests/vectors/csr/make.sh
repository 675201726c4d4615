#!/usr/bin/env bash
# Regenerates the CSR vectors with the OpenSSL 3 CLI (a client we did not
# write). Run once by hand; the outputs are committed. Keys are test-only.
set -euo pipefail
cd "$(dirname "$0")"
san='subjectAltName=DNS:csr.example,DNS:*.wild.example,IP:192.0.2.7,IP:2001:db8::1,email:ops@csr.example,URI:https://csr.example/id'
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key
openssl req -new -key p256.key -subj "/C=DE/O=Vigil Tests/CN=csr.example" -addext "$san" -out p256_sans.pem
openssl req -in p256_sans.pem -outform DER -out p256_sans.der
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' p256_sans.pem > p256_new_label.pem
openssl req -new -key p256.key -subj "/CN=nosan.example" -out p256_nosan.pem
openssl req -new -key p256.key -subj "/" -addext "subjectAltName=DNS:empty-subject.example" -out p256_empty_subject.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key
openssl req -new -key p384.key -sha384 -subj "/CN=p384.example" -addext "subjectAltName=DNS:p384.example" -out p384.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.key
openssl req -new -key rsa2048.key -sha256 -subj "/CN=rsa.example" -addext "subjectAltName=DNS:rsa.example" -out rsa2048.pem
openssl req -new -key rsa2048.key -sha1 -subj "/CN=sha1.example" -out rsa2048_sha1.pem
openssl genpkey -algorithm ed25519 -out ed25519.key
openssl req -new -key ed25519.key -subj "/CN=ed.example" -addext "subjectAltName=DNS:ed.example" -out ed25519.pem
# Refused keys.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.key
openssl req -new -key p521.key -subj "/CN=p521.example" -out p521.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k256.key
openssl req -new -key k256.key -subj "/CN=k256.example" -out secp256k1.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
openssl req -new -key rsa1024.key -subj "/CN=rsa1024.example" -out rsa1024.pem
openssl genpkey -algorithm ed448 -out ed448.key
openssl req -new -key ed448.key -subj "/CN=ed448.example" -out ed448.pem
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out pss.key
openssl req -new -key pss.key -subj "/CN=pss.example" -out rsa_pss.pem
# Refused SAN type (otherName) and a malformed DNS name.
openssl req -new -key p256.key -subj "/CN=other.example" -addext "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@example" -out p256_othername.pem
openssl req -new -key p256.key -subj "/CN=bad.example" -addext "subjectAltName=DNS:bad_name.example" -out p256_bad_dns.pem
rm -f p521.key k256.key rsa1024.key ed448.key pss.key

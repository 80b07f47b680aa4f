#!/bin/sh
# Regenerates the shipped test identity in this directory with the openssl CLI (3.x).
#
# The files were generated ONCE and committed; `zerortt_core::identity::test_identity`
# embeds them with include_bytes!. Running this script again makes NEW keys and
# certificates (key generation is random), which changes every handshake transcript, so
# only run it when the identity must change, and then commit all outputs together.
#
# Outputs (DER unless .pem):
#   ca.der / ca.pem                      test CA, Ed25519, CN "zerortt test CA"
#   ca.key.pk8                           its private key, PKCS#8 (only needed to reissue)
#   server-ed25519.der / .pem            leaf with an Ed25519 key, signed by the CA
#   server-ed25519.key.pk8               its private key, PKCS#8
#   server-ecdsa-p256.der / .pem         leaf with an ECDSA P-256 key, signed by the CA
#   server-ecdsa-p256.key.pk8            its private key, PKCS#8
#   other-ca.der                         an unrelated CA, for "unknown CA" tests
#   server-rsa2048.der / .pem / .key.pk8 leaf with an RSA 2048 key (rsa_pss_rsae_* in TLS 1.3)
#   server-ecdsa-p384.der / .pem / .key.pk8  leaf with an ECDSA P-384 key
#
# `./regenerate.sh --leaves NAME...` reissues only the named extra leaves (server-rsa2048,
# server-ecdsa-p384) under the EXISTING CA (ca.pem, ca.key.pk8), leaving every other file
# and transcript unchanged; that is how those two were added.
#
# Leaves: SAN DNS localhost and zerortt.test, EKU serverAuth, validity 2025-01-01 to
# 2099-12-31 (the simulator's clock starts at 2026-01-01, Timestamp::SIM_EPOCH).
set -eu

cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=20250101000000Z
end=20991231235959Z

cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = test_ca

[test_ca]
dir = $work
database = $work/index.txt
new_certs_dir = $work/newcerts
serial = $work/serial
default_md = default
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no

[policy_any]
commonName = supplied

[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:zerortt.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# sign_with SERIAL EXTENSIONS CSR OUT OPENSSL-CA-SIGNER-ARGS...
sign_with() {
    serial=$1 ext=$2 csr=$3 out=$4
    shift 4
    rm -rf "$work/index.txt" "$work/newcerts"
    : >"$work/index.txt"
    mkdir "$work/newcerts"
    # Fixed serials keep the certificates distinguishable when read by eye.
    echo "$serial" >"$work/serial"
    openssl ca -batch -config "$work/ca.cnf" -notext "$@" -extensions "$ext" \
        -in "$csr" -out "$out" -startdate "$start" -enddate "$end" 2>"$work/ca.log" \
        || { cat "$work/ca.log" >&2; exit 1; }
}

make_ca() { # NAME CN SERIAL
    openssl genpkey -algorithm ED25519 -out "$work/$1.key.pem"
    openssl req -new -config "$work/ca.cnf" -key "$work/$1.key.pem" -subj "/CN=$2" \
        -out "$work/$1.csr"
    sign_with "$3" v3_ca "$work/$1.csr" "$work/$1.crt.pem" \
        -selfsign -keyfile "$work/$1.key.pem"
}

make_leaf() { # NAME CN SERIAL GENPKEY-ARGS...
    name=$1 cn=$2 serial=$3
    shift 3
    openssl genpkey "$@" -out "$work/$name.key.pem"
    openssl req -new -config "$work/ca.cnf" -key "$work/$name.key.pem" -subj "/CN=$cn" \
        -out "$work/$name.csr"
    sign_with "$serial" v3_leaf "$work/$name.csr" "$work/$name.crt.pem" \
        -cert "$work/ca.crt.pem" -keyfile "$work/ca.key.pem"
}

make_extra_leaf() { # NAME
    case $1 in
    server-rsa2048) make_leaf server-rsa2048 "zerortt test server (RSA 2048)" 12 \
        -algorithm RSA -pkeyopt rsa_keygen_bits:2048 ;;
    server-ecdsa-p384) make_leaf server-ecdsa-p384 "zerortt test server (ECDSA P-384)" 13 \
        -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve ;;
    *) echo "unknown extra leaf '$1' (valid: server-rsa2048 server-ecdsa-p384)" >&2; exit 2 ;;
    esac
    openssl x509 -in "$work/$1.crt.pem" -outform DER -out "$1.der"
    openssl x509 -in "$work/$1.crt.pem" -out "$1.pem"
    openssl pkcs8 -topk8 -nocrypt -in "$work/$1.key.pem" -outform DER -out "$1.key.pk8"
    openssl verify -CAfile ca.pem -purpose sslserver "$1.pem"
}

if [ "${1:-}" = "--leaves" ]; then
    shift
    openssl x509 -in ca.pem -out "$work/ca.crt.pem"
    openssl pkey -inform DER -in ca.key.pk8 -out "$work/ca.key.pem"
    for name in "$@"; do make_extra_leaf "$name"; done
    exit 0
fi

make_ca ca "zerortt test CA" 01
make_ca other-ca "zerortt unrelated test CA" 02
make_leaf server-ed25519 "zerortt test server (Ed25519)" 10 -algorithm ED25519
make_leaf server-ecdsa-p256 "zerortt test server (ECDSA P-256)" 11 \
    -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve

for name in ca server-ed25519 server-ecdsa-p256; do
    openssl x509 -in "$work/$name.crt.pem" -outform DER -out "$name.der"
    openssl x509 -in "$work/$name.crt.pem" -out "$name.pem"
    openssl pkcs8 -topk8 -nocrypt -in "$work/$name.key.pem" -outform DER -out "$name.key.pk8"
done
openssl x509 -in "$work/other-ca.crt.pem" -outform DER -out other-ca.der

# Check what was made: both leaves chain to the CA with the server purpose.
openssl verify -CAfile ca.pem -purpose sslserver server-ed25519.pem server-ecdsa-p256.pem
for name in server-rsa2048 server-ecdsa-p384; do make_extra_leaf "$name"; done

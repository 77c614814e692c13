#!/usr/bin/env bash
# Throw-away development keys for RAUC (never release keys; those stay outside the repository and the build):
#   DIR/dev-ca.cert.pem        the keyring the image trusts
#   DIR/dev-signing.{cert,key}.pem   a code-signing certificate under it (extendedKeyUsage codeSigning)
# With a second argument NAME the same under another name (a foreign CA, for the refusal tests).
# Idempotent: keys that exist are kept, so rebuilt images trust the same keyring.
set -euo pipefail
dir=${1:?usage: make-dev-keys.sh DIR [NAME]}
name=${2:-dev}
mkdir -p "$dir" && chmod 700 "$dir"
ca=$dir/$name-ca signer=$dir/$name-signing
[ -s "$ca.cert.pem" ] && [ -s "$signer.cert.pem" ] && [ -s "$signer.key.pem" ] && exit 0
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/ext.cnf" <<CNF
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[signer]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" -out "$ca.cert.pem" \
  -days 3650 -subj "/O=Room development (not for release)/CN=Room $name update CA" \
  -extensions ca -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n'; cat "$tmp/ext.cnf") 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$signer.key.pem" -out "$tmp/signer.csr" \
  -subj "/O=Room development (not for release)/CN=Room $name bundle signing" 2>/dev/null
openssl x509 -req -in "$tmp/signer.csr" -CA "$ca.cert.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 3650 \
  -extfile "$tmp/ext.cnf" -extensions signer -out "$signer.cert.pem" 2>/dev/null
chmod 600 "$signer.key.pem"
echo "make-dev-keys: development keys in $dir ($name; the CA's private key is gone: nothing else can be signed with it)"

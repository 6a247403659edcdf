#!/usr/bin/env bash
# Mints a test certificate authority and node certificates for mutual TLS on the peer port
# (meridiand --peer-tls-cert/--peer-tls-key/--peer-tls-ca), with the openssl command.
#
#   deploy/local/make-certs.sh DIR NAME...
#
# Writes DIR/ca.crt and DIR/ca.key (reused when they exist, so nodes added later join the same
# cluster) and, per NAME, DIR/NAME.crt and DIR/NAME.key. Every node certificate is signed by the
# CA, valid for both TLS roles, and carries the fixed peer name "meridian-peer" (subjectAltName):
# nodes are dialled by address, so they verify the CA and that name, never a host name (see
# docs/security.md). Keys are EC P-256, unencrypted, mode 0600. For local clusters and tests;
# a real deployment uses its own CA and keeps ca.key off the nodes.
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (scripts/install-deps.sh)" >&2; exit 1; }
dir=$1
shift
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 \
    -subj "/CN=Meridian test peer CA $(openssl rand -hex 4)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

for name in "$@"; do
  [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "make-certs.sh: bad node name '$name'" >&2; exit 2; }
  extensions=$(mktemp)
  trap 'rm -f "$extensions" "$dir/$name.csr"' EXIT
  cat >"$extensions" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:meridian-peer
EXT
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$extensions" \
    -out "$dir/$name.crt" 2>/dev/null
  rm -f "$extensions" "$dir/$name.csr"
  trap - EXIT
done
# Certificates are public; the umask above kept only the keys private.
chmod 644 "$dir/ca.crt"
for name in "$@"; do chmod 644 "$dir/$name.crt"; done

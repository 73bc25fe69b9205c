#!/usr/bin/env bash
# Sigstore verification benchmarks (issue 11):
#   1. keyless bundle verifications per second with full tlog checking (SET, inclusion proof,
#      signed checkpoint, body match, Fulcio chain, SCT, identity), offline and against the
#      local docker-registry;
#   2. `customs verify-bundle` per invocation on a conformance bundle (Rekor v2 + RFC 3161);
#   3. `customs sign-blob` and `customs verify-blob` on a 1 GB file (streamed), with peak RSS.
#   bash bench/sigstore.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE=$ROOT/../shared/cosign/conformance
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
[ -x /usr/bin/docker-registry ] || apt-get install -y -qq docker-registry
cargo build -q --release -p customs
CUSTOMS=$ROOT/target/release/customs

echo "== 1. keyless bundle verifications per second"
cargo test -q --release -p customs-sign --test registry_roundtrip -- --ignored --nocapture \
  keyless_bundle_verifications_per_second 2>&1 | grep 'per second'

echo "== 2. customs verify-bundle (Rekor v2 entry, RFC 3161 timestamp, embedded checks)"
C=$SUITE/bundle-verify/rekor2-happy-path
hyperfine -N --warmup 3 --runs 30 \
  "$CUSTOMS verify-bundle --bundle $C/bundle.sigstore.json --trusted-root $C/trusted_root.json --certificate-identity https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main --certificate-oidc-issuer https://token.actions.githubusercontent.com $SUITE/a.txt"

echo "== 3. 1 GB blob"
head -c 1073741824 /dev/urandom > "$TMP/blob"
(cd "$TMP" && CUSTOMS_PASSWORD=pw "$CUSTOMS" key generate --output-key-prefix k >/dev/null 2>&1)
/usr/bin/time -f 'sign-blob: %e s, max RSS %M KiB' env CUSTOMS_PASSWORD=pw \
  "$CUSTOMS" sign-blob --key "$TMP/k.key" --bundle "$TMP/blob.bundle" "$TMP/blob" >/dev/null
/usr/bin/time -f 'verify-blob: %e s, max RSS %M KiB' \
  "$CUSTOMS" verify-blob "$TMP/blob" --bundle "$TMP/blob.bundle" --key "$TMP/k.pub" --insecure-ignore-tlog 2>&1 | grep -v '^  -\|Verified OK'
hyperfine -N --warmup 1 --runs 5 \
  "$CUSTOMS verify-blob $TMP/blob --bundle $TMP/blob.bundle --key $TMP/k.pub --insecure-ignore-tlog"
echo "   sha256sum of the same file, for scale:"
hyperfine -N --warmup 1 --runs 5 "sha256sum $TMP/blob"

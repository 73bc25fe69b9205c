#!/usr/bin/env bash
# The push gate's speed (issue 14): the time from the last blob of a push to the image's
# verdict (the manifest PUT, which judges the image before answering) for the shared debian
# image, and the time to rematch 1,000 stored inventories after a database update.
# Runs on its own (`bash bench/serve_gate.sh`; CUSTOMS=path/to/customs to skip the release
# build); writes bench/out/serve_gate.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
mkdir -p "$OUT"
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
if [ -z "${CUSTOMS:-}" ]; then
  cargo build -q --release -p customs
  CUSTOMS=$ROOT/target/release/customs
fi
N=${N:-1000}
export CUSTOMS_MAX_DB_AGE=100000d
mkdir -p "$TMP/old/osv/Go"
cp "$SHARED/vulndata/osv/Go/all.zip" "$TMP/old/osv/Go/"
"$CUSTOMS" db import "$TMP/old" --db "$TMP/c.db" >/dev/null 2>&1
printf '[vulnerabilities]\nmax_severity = "medium"\nunknown = "pass"\n' > "$TMP/policy.toml"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$TMP/serve.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$TMP/data"
[gate]
policy = "$TMP/policy.toml"
database = "$TMP/c.db"
watch_secs = 1
TOML
"$CUSTOMS" -v serve --config "$TMP/serve.toml" > "$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$TMP/policy.json"
sk() { skopeo --policy="$TMP/policy.json" "$@"; }

# 1. Verdict latency: the manifest PUT's time in the access log.
sk copy -q --preserve-digests --dest-tls-verify=false \
  "oci-archive:$SHARED/images/debian-bookworm-minbase.oci.tar" "docker://127.0.0.1:$PORT/gate/debian:latest"
LAT=$(grep -o 'PUT /v2/gate/debian/manifests/latest 201 [0-9]*ms' "$TMP/serve.log" | awk '{print $4}')
# The gate's own clock: from the commit of the image's last layer blob to its verdict (the
# layer is inventoried as soon as its blob is committed; this includes that wait).
SINCE=$(grep -o 'gate: gate/debian@[^ ]* verdict [0-9]* ms after its last layer was committed' "$TMP/serve.log" | awk '{print $4 " ms"}' | tail -1)
AHEAD=$(grep -o 'gate: gate/debian@[^ ]*: [0-9]* of [0-9]* layer(s) inventoried before the manifest' "$TMP/serve.log" | sed 's/.*: //' | tail -1)

# 2. N stored images: alpine pushed once, then mounted into N-1 more repositories and its
#    manifest PUT there (each PUT is judged and its inventory stored).
sk copy -q --preserve-digests --dest-tls-verify=false \
  "docker-archive:$SHARED/images/alpine-3.10.tar" "docker://127.0.0.1:$PORT/gate/a0:v1"
curl -fs -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://127.0.0.1:$PORT/v2/gate/a0/manifests/v1" -o "$TMP/m.json"
read -r CONFIG LAYER < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["config"]["digest"], m["layers"][0]["digest"])' "$TMP/m.json")
T0=$(date +%s.%N)
for i in $(seq 1 $((N - 1))); do
  curl -fs -X POST "http://127.0.0.1:$PORT/v2/gate/a$i/blobs/uploads/?mount=$CONFIG&from=gate/a0" -o /dev/null
  curl -fs -X POST "http://127.0.0.1:$PORT/v2/gate/a$i/blobs/uploads/?mount=$LAYER&from=gate/a0" -o /dev/null
  curl -fs -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
    --data-binary "@$TMP/m.json" "http://127.0.0.1:$PORT/v2/gate/a$i/manifests/v1" -o /dev/null
done
T1=$(date +%s.%N)

# 3. The newer data; the server notices the file changed and rematches every stored image.
"$CUSTOMS" db import "$SHARED/vulndata" --db "$TMP/c.db" >/dev/null 2>&1
for _ in $(seq 600); do grep -q 'gate: rematched' "$TMP/serve.log" && break; sleep 0.1; done
REMATCH=$(grep -o 'gate: rematched [0-9]* stored image(s) in [^ ]*' "$TMP/serve.log" | tail -1)
{
  echo "| measurement | result |"
  echo "| --- | ---: |"
  echo "| debian-bookworm-minbase: manifest PUT with the gate verdict | $LAT |"
  echo "| debian-bookworm-minbase: last layer blob committed → verdict (${AHEAD:-no layer inventoried ahead}) | ${SINCE:-n/a} |"
  python3 -c 'import sys; print(f"| {int(sys.argv[3])-1} judged pushes of alpine-3.10 by manifest PUT (mounted blobs) | {float(sys.argv[2])-float(sys.argv[1]):.1f} s |")' "$T0" "$T1" "$N"
  echo "| rematch after db import ($REMATCH) | ${REMATCH##* } |"
} | tee "$OUT/serve_gate.md"

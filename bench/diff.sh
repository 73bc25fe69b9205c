#!/usr/bin/env bash
# customs diff (issue 15): `customs diff` of the shared alpine 3.10 and 3.11 images against two
# separate `customs scan -f json` runs of the same images, and `customs report` of the debian
# image (HTML, with the audit) against `customs scan` of it, all in one run, cold (no layer
# cache). Runs on its own (`bash bench/diff.sh`) or with a temporary directory as $1.
# CUSTOMS=path/to/customs uses that binary instead of building the release one.
# Writes bench/out/diff-*.{md,json} and bench/out/diff.md (the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
TMP=${1:-}
if [ -z "$TMP" ]; then TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; fi
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
if [ -z "${CUSTOMS:-}" ]; then
  cargo build -q --release -p customs
  CUSTOMS=$ROOT/target/release/customs
fi

DB=$TMP/diff.db
"$CUSTOMS" db import --db "$DB" "$SHARED/vulndata" "$SHARED/ratings" "$SHARED/distro-osv" >/dev/null
export CUSTOMS_MAX_DB_AGE=100000d
A=$SHARED/images/alpine-3.10.tar
B=$SHARED/images/alpine-3.11.tar.gz
D=$SHARED/images/debian-bookworm-minbase.oci.tar

hyperfine -N -w 2 -r 15 --export-markdown "$OUT/diff-alpine.md" --export-json "$OUT/diff-alpine.json" \
  -n "customs diff A B" "$CUSTOMS diff --db $DB --no-cache -f json $A $B" \
  -n "customs scan A + customs scan B" "bash -c '$CUSTOMS scan --db $DB --no-cache -f json $A >/dev/null && $CUSTOMS scan --db $DB --no-cache -f json $B >/dev/null'"

hyperfine -N -w 1 -r 10 --export-markdown "$OUT/diff-report.md" --export-json "$OUT/diff-report.json" \
  -n "customs report debian" "$CUSTOMS report --db $DB --no-cache $D -o $TMP/debian.html" \
  -n "customs scan debian" "$CUSTOMS scan --db $DB --no-cache -f json $D" \
  -n "customs audit debian" "$CUSTOMS audit -f json $D"

python3 - "$OUT" "$TMP/debian.html" > "$OUT/diff.md" <<'PY'
import json, os, sys
out, html = sys.argv[1], sys.argv[2]
def rows(name):
    return json.load(open(f"{out}/{name}.json"))["results"]
print("# customs diff and customs report\n")
print("| command | mean (ms) | min (ms) |")
print("| --- | ---: | ---: |")
for name in ("diff-alpine", "diff-report"):
    for r in rows(name):
        print(f"| {r['command']} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | {r['min']*1000:.1f} |")
d = {r["command"]: r["mean"] for r in rows("diff-alpine")}
print(f"\ndiff / two scans: {d['customs diff A B'] / d['customs scan A + customs scan B']:.2f}")
print(f"debian report size: {os.path.getsize(html):,} bytes")
PY
cat "$OUT/diff.md"

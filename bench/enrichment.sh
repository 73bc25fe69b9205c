#!/usr/bin/env bash
# Severity enrichment (issue 10): the database built from all shared advisory data with and
# without the CVE facts (ratings/, distro-osv/), and a cold `customs scan` of every shared
# image against both databases, side by side in one run. Called by `bench/run.sh enrichment`
# with a temporary directory as $1; runs on its own too (`bash bench/enrichment.sh`).
# Writes bench/out/enrichment-*.{md,json} and bench/out/enrichment.md (the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
TMP=${1:-}
if [ -z "$TMP" ]; then TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; fi
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build -q --release -p customs
CUSTOMS=$ROOT/target/release/customs

PLAIN=$TMP/plain.db
RICH=$TMP/rich.db
hyperfine -N -w 1 -r 5 --export-markdown "$OUT/enrichment-db.md" --export-json "$OUT/enrichment-db.json" \
  -n "vulndata" "$CUSTOMS db import --db $PLAIN $SHARED/vulndata" \
  -n "vulndata+ratings+distro-osv" "$CUSTOMS db import --db $RICH $SHARED/vulndata $SHARED/ratings $SHARED/distro-osv"

IMAGE_DIR=$SHARED/images
source "$ROOT/bench/images.sh"
export CUSTOMS_CACHE_DIR=$TMP/cache CUSTOMS_MAX_DB_AGE=100000d
for i in "${IMAGES[@]}"; do
  hyperfine -N -w 2 -r 15 --export-markdown "$OUT/enrichment-$i.md" --export-json "$OUT/enrichment-$i.json" \
    -n "before (no CVE facts)" "$CUSTOMS scan --db $PLAIN --no-cache -f json ${CUSTOMS_SRC[$i]}" \
    -n "after (enriched)" "$CUSTOMS scan --db $RICH --no-cache -f json ${CUSTOMS_SRC[$i]}"
done

python3 - "$OUT" "$PLAIN" "$RICH" "${IMAGES[@]}" > "$OUT/enrichment.md" <<'PY'
import json, os, subprocess, sys
out, plain, rich, images = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
db = {x["command"]: x for x in json.load(open(f"{out}/enrichment-db.json"))["results"]}
def status(path):
    return subprocess.run([os.environ.get("CUSTOMS", "target/release/customs"), "db", "status", "--db", path],
                          capture_output=True, text=True).stdout
print("# Severity enrichment\n")
print("| database | build (ms) | bytes | advisories | bytes per advisory |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, path in (("vulndata", plain), ("vulndata+ratings+distro-osv", rich)):
    s = status(path)
    adv = int(next(l for l in s.splitlines() if l.startswith("advisories:")).split()[1])
    size = os.path.getsize(path)
    r = db[name]
    print(f"| {name} | {r['mean']*1000:.0f} ± {r['stddev']*1000:.0f} | {size:,} | {adv:,} | {size/adv:.0f} |")
print("\nCold scan (no layer cache), same binary, same run:\n")
print("| image | before (ms) | after (ms) | after / before |")
print("| --- | ---: | ---: | ---: |")
for i in images:
    r = {x["command"]: x for x in json.load(open(f"{out}/enrichment-{i}.json"))["results"]}
    b, a = r["before (no CVE facts)"], r["after (enriched)"]
    print(f"| {i} | {b['mean']*1000:.1f} ± {b['stddev']*1000:.1f} | {a['mean']*1000:.1f} ± {a['stddev']*1000:.1f} | {a['mean']/b['mean']:.3f} |")
PY
cat "$OUT/enrichment.md"

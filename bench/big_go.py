"""Writes app-multi plus one layer holding a 100 MB Go-like binary, as an OCI layout:
  python3 bench/big_go.py SHARED_IMAGES_DIR OUT_DIR [MB]  ->  OUT_DIR/big-go (oci layout)
The binary is app-multi's own Go executable (`gosvc`, found by its Go build-info magic) with
incompressible bytes appended up to MB megabytes: still a valid ELF whose build info every
reader finds, but as large as the biggest Go binaries in real images. Issue 12: `customs sbom`
must read its build info without holding the binary (peak RSS <= 50 MiB)."""
import gzip, hashlib, io, json, os, random, sys, tarfile

shared, out = sys.argv[1], sys.argv[2]
mb = int(sys.argv[3]) if len(sys.argv) > 3 else 100
dest = os.path.join(out, "big-go")
with tarfile.open(os.path.join(shared, "app-multi.oci.tar")) as t:
    t.extractall(dest, filter="data")
blobs = os.path.join(dest, "blobs", "sha256")


def blob(digest):
    with open(os.path.join(blobs, digest.split(":")[1]), "rb") as f:
        return f.read()


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


index = json.loads(blob_index := open(os.path.join(dest, "index.json")).read())
manifest = json.loads(blob(index["manifests"][0]["digest"]))
config = json.loads(blob(manifest["config"]["digest"]))

# The Go executable of app-multi: the first ELF layer member with the build-info magic.
gobin = None
for layer in manifest["layers"]:
    raw = blob(layer["digest"])
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:4] == b"\x28\xb5\x2f\xfd":
        continue  # zstd: Python has no decoder before 3.14
    # Found by hand rather than with tarfile, which refuses some of app-multi's (valid) layers:
    # a 512-aligned ELF whose ustar header (the block before) gives its size.
    at = 0
    while gobin is None and (at := raw.find(b"\x7fELF", at + 1)) > 0:
        if at % 512 == 0:
            size = int(raw[at - 512 + 124:at - 512 + 136].strip(b"\0 ") or b"0", 8)
            data = raw[at:at + size]
            if b"\xff Go buildinf:" in data:
                gobin = data
    if gobin:
        break
assert gobin, "no Go binary in app-multi"
rng = random.Random(100)
big = gobin + rng.randbytes(mb * 1024 * 1024 - len(gobin))

buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as lt:
    info = tarfile.TarInfo("usr/local/bin/bigsvc")
    info.size, info.mode, info.mtime = len(big), 0o755, 1_700_000_000
    lt.addfile(info, io.BytesIO(big))
tar = buf.getvalue()
diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
digest, size = put(gzip.compress(tar, compresslevel=1))
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": digest, "size": size})
config["rootfs"]["diff_ids"].append(diff_id)
config.setdefault("history", []).append({"created_by": "COPY bigsvc /usr/local/bin/"})
cdigest, csize = put(json.dumps(config).encode())
manifest["config"]["digest"], manifest["config"]["size"] = cdigest, csize
mdigest, msize = put(json.dumps(manifest).encode())
index["manifests"][0]["digest"], index["manifests"][0]["size"] = mdigest, msize
with open(os.path.join(dest, "index.json"), "w") as f:
    json.dump(index, f)
print(dest)

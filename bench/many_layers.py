"""Writes a `docker save` archive of N layers (default 127), each one tar of a few files
totalling about 1.2 MB of incompressible bytes, plain and gzip-compressed:
  python3 bench/many_layers.py OUT_DIR [N]  ->  OUT_DIR/many.tar, OUT_DIR/many.tar.gz
The gzip archive is the case issue 12 names: reading it layer by layer must not re-inflate
it from its start for every layer."""
import gzip, hashlib, io, json, os, random, sys, tarfile

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 127
rng = random.Random(127)
layers, diff_ids = [], []
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for j in range(3):
            data = rng.randbytes(400_000)
            info = tarfile.TarInfo(f"srv/layer{i}/part{j}.bin")
            info.size, info.mtime = len(data), 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    b = buf.getvalue()
    layers.append((f"{i}/layer.tar", b))
    diff_ids.append("sha256:" + hashlib.sha256(b).hexdigest())
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": ["many:layers"],
                        "Layers": [name for name, _ in layers]}]).encode()
plain = os.path.join(out, "many.tar")
with tarfile.open(plain, "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in [("manifest.json", manifest), (config_name, config)] + layers:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 1_700_000_000
        t.addfile(info, io.BytesIO(data))
with open(plain, "rb") as f, gzip.open(plain + ".gz", "wb", compresslevel=1) as g:
    while chunk := f.read(1 << 20):
        g.write(chunk)

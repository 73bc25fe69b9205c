#!/usr/bin/env python3
"""An independent check of `customs diff -f json` for two single-layer docker-archive images.

- Package changes are recomputed from ../shared/images/expected-packages.json (lists made
  without customs) and from the two `customs sbom -f json` documents.
- Findings fixed and introduced are recomputed from the two `customs scan -f json` documents,
  keyed by (advisory id, ecosystem, package name).
- File changes are recomputed by reading both archives with Python's tarfile and hashing every
  regular file of the layer.

usage: diff_check.py DIFF.json OLD_SCAN.json NEW_SCAN.json OLD_SBOM.json NEW_SBOM.json
                     EXPECTED_PACKAGES.json OLD_NAME NEW_NAME OLD_ARCHIVE NEW_ARCHIVE
(OLD_ARCHIVE "-" skips the file check, for images with more than one layer.)
Prints what it compared; exits 1 on the first disagreement.
"""

import gzip
import hashlib
import io
import json
import sys
import tarfile


def load(path):
    with open(path) as f:
        return json.load(f)


def versions(packages):
    out = {}
    for p in packages:
        out.setdefault((p["ecosystem"], p["name"]), set()).add(p["version"])
    return out


def package_changes(old, new):
    a, b = versions(old), versions(new)
    changed = {k: (sorted(a[k]), sorted(b[k])) for k in a.keys() & b.keys() if a[k] != b[k]}
    added = {(k[0], k[1], v) for k in b.keys() - a.keys() for v in b[k]}
    removed = {(k[0], k[1], v) for k in a.keys() - b.keys() for v in a[k]}
    return changed, added, removed


def finding_keys(scan):
    return {(f["id"], f["package"]["ecosystem"], f["package"]["name"]) for f in scan["findings"]}


def layer_tar(archive):
    """The one layer of a docker-archive (gzip or not), as a TarFile."""
    with open(archive, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    outer = tarfile.open(fileobj=io.BytesIO(data))
    manifest = json.load(outer.extractfile("manifest.json"))
    layers = manifest[0]["Layers"]
    assert len(layers) == 1, "this check handles single-layer images"
    return tarfile.open(fileobj=io.BytesIO(outer.extractfile(layers[0]).read()))


def norm(path):
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


def tree(archive):
    out = {}
    t = layer_tar(archive)
    for m in t.getmembers():
        path = norm(m.name)
        if not path:
            continue
        if m.isfile():
            kind, digest = "file", hashlib.sha256(t.extractfile(m).read()).hexdigest()
        elif m.isdir():
            kind, digest = "dir", None
        elif m.issym():
            kind, digest = "symlink", None
        elif m.islnk():
            kind, digest = "hardlink", None
        else:
            kind, digest = "other", None
        link = m.linkname if m.issym() else (norm(m.linkname) if m.islnk() else None)
        out[path] = (kind, m.size if kind == "file" else 0, digest, m.mode & 0o7777, m.uid, m.gid, link)
    return out


def fail(what, want, got):
    print(f"DISAGREE {what}:\n  independent: {sorted(want)}\n  customs:     {sorted(got)}")
    sys.exit(1)


def main():
    (diff_p, old_scan_p, new_scan_p, old_sbom_p, new_sbom_p, expected_p, old_name, new_name,
     old_archive, new_archive) = sys.argv[1:11]
    diff = load(diff_p)
    got_changed = {(c["ecosystem"], c["name"]): (c["old"], c["new"]) for c in diff["packages"]["changed"]}
    got_added = {(r["ecosystem"], r["name"], r["version"]) for r in diff["packages"]["added"]}
    got_removed = {(r["ecosystem"], r["name"], r["version"]) for r in diff["packages"]["removed"]}

    expected = load(expected_p)
    old_sbom, new_sbom = load(old_sbom_p)["packages"], load(new_sbom_p)["packages"]
    # expected-packages.json leaves out the application's own root project (a lockfile's ""
    # entry, marked `root` in customs' SBOM); against it, roots are set aside on both sides.
    roots = {(p["ecosystem"], p["name"], p["version"]) for p in old_sbom + new_sbom if p.get("root")}
    for label, old, new, skip in [
        ("expected-packages.json", expected[old_name], expected[new_name], roots),
        ("customs sbom", old_sbom, new_sbom, set()),
    ]:
        changed, added, removed = package_changes(old, new)
        want_added, want_removed = got_added - skip, got_removed - skip
        if changed != got_changed:
            fail(f"version changes vs {label}", changed.items(), got_changed.items())
        if added != want_added:
            fail(f"packages added vs {label}", added, want_added)
        if removed != want_removed:
            fail(f"packages removed vs {label}", removed, want_removed)
    print(f"packages: {len(got_changed)} changed, {len(got_added)} added, {len(got_removed)} removed")

    a, b = finding_keys(load(old_scan_p)), finding_keys(load(new_scan_p))
    got_fixed = {(f["id"], f["ecosystem"], f["package"]) for f in diff["findings"]["fixed"]}
    got_new = {(f["id"], f["ecosystem"], f["package"]) for f in diff["findings"]["introduced"]}
    if a - b != got_fixed:
        fail("findings fixed", a - b, got_fixed)
    if b - a != got_new:
        fail("findings introduced", b - a, got_new)
    if len(a & b) != diff["findings"]["unchanged"]:
        fail("findings unchanged", [len(a & b)], [diff["findings"]["unchanged"]])
    print(f"findings: {len(a - b)} fixed, {len(b - a)} introduced, {len(a & b)} unchanged")

    if old_archive == "-":
        return
    ta, tb = tree(old_archive), tree(new_archive)
    added = set(tb) - set(ta)
    removed = set(ta) - set(tb)
    changed = {p for p in set(ta) & set(tb) if ta[p] != tb[p]}
    files = diff["files"]
    for what, want, got in [
        ("files added", added, {f["path"] for f in files["added"]}),
        ("files removed", removed, {f["path"] for f in files["removed"]}),
        ("files changed", changed, {f["path"] for f in files["changed"]}),
    ]:
        if want != got:
            fail(what, want, got)
    sizes = {f["path"]: (f["old_size"], f["new_size"]) for f in files["changed"]}
    for p in changed:
        if (ta[p][1], tb[p][1]) != sizes[p]:
            fail(f"size of {p}", [(ta[p][1], tb[p][1])], [sizes[p]])
    old_bytes = sum(v[1] for v in ta.values() if v[0] == "file")
    new_bytes = sum(v[1] for v in tb.values() if v[0] == "file")
    if (old_bytes, new_bytes) != (files["old_bytes"], files["new_bytes"]):
        fail("file bytes", [(old_bytes, new_bytes)], [(files["old_bytes"], files["new_bytes"])])
    print(f"files: {len(changed)} changed, {len(added)} added, {len(removed)} removed")


if __name__ == "__main__":
    main()

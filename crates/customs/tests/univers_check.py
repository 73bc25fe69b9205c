#!/usr/bin/env python3
"""Independent check of customs' vulnerability matching.

Reads the advisory files directly (OSV `all.zip` exports and Alpine secdb YAML), takes each
image's package inventory from `customs sbom -f json` output, and evaluates every affected
range with the `univers` library (AlpineLinuxVersion for apk, PypiVersion for PyPI,
SemverVersion for crates.io, GolangVersion for Go). It shares no code with customs.

Usage:
    univers_check.py VULNDATA_DIR NAME=INVENTORY.json [NAME=INVENTORY.json ...]

Prints one JSON document: for each NAME, a sorted list of
[ecosystem, package, version, [sorted ids and aliases]], where advisories affecting the same
package whose id/alias sets overlap are merged (transitively) into one entry, as customs
merges them into one finding. Versions univers cannot parse are listed under "undecided".

OSV semantics (https://ossf.github.io/osv-schema/#evaluation): a version is affected when it
is listed in `versions`, or when, walking a range's events in version order, the last
`introduced` at or below it is not followed by a `fixed` at or below it (or a
`last_affected` below it); `limit` bounds a range from above. Withdrawn records are ignored.
GIT ranges are not evaluated (no commit is known for an installed package).

secdb semantics (alpine-secdb README): `secfixes` maps the apk version that fixed the issues
to the issue ids; the key `0` means never affected. An issue listed under several versions
was fixed on several version lines (busybox CVE-2019-5747 under 1.29.3-r10 and 1.30.1-r2):
each fix is its own `< fixed` constraint over its own line, the lowest from `0`, the others
from their line's start (the version without its last numeric component, `1.30`), as
Grype reads each fix as a constraint. An item may hold several ids separated by spaces (the first
is the id, the others aliases).
"""

import json
import re
import sys
import zipfile
from pathlib import Path

import yaml
from univers.versions import (
    AlpineLinuxVersion,
    GolangVersion,
    InvalidVersion,
    PypiVersion,
    SemverVersion,
)

VERSION_CLASS = {
    "Alpine": AlpineLinuxVersion,
    "PyPI": PypiVersion,
    "crates.io": SemverVersion,
    "Go": GolangVersion,
}


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def key_name(ecosystem, name):
    return pep503(name) if ecosystem == "PyPI" else name


class Undecided(Exception):
    pass


def parse(cls, text):
    try:
        return cls(text)
    except (InvalidVersion, ValueError, TypeError) as e:
        raise Undecided(f"{cls.__name__}({text!r}): {e}")


def load_osv(zip_path, index):
    with zipfile.ZipFile(zip_path) as z:
        for entry in z.namelist():
            if not entry.endswith(".json"):
                continue
            rec = json.loads(z.read(entry))
            if rec.get("withdrawn"):
                continue
            ids = {rec["id"], *rec.get("aliases", [])}
            for aff in rec.get("affected", []):
                pkg = aff.get("package") or {}
                eco, name = pkg.get("ecosystem"), pkg.get("name")
                if not eco or not name:
                    continue
                index.setdefault((eco, key_name(eco, name)), []).append(
                    {
                        "ids": ids,
                        "ranges": [r for r in aff.get("ranges", []) if r.get("type") in ("SEMVER", "ECOSYSTEM")],
                        "versions": aff.get("versions", []),
                    }
                )


def load_secdb(yaml_path, index):
    doc = yaml.safe_load(Path(yaml_path).read_text())
    eco = f"Alpine:{doc['distroversion']}"
    for p in doc.get("packages") or []:
        pkg = p["pkg"]
        # id -> (ids, lowest fixed version)
        issues = {}
        for fixed, items in (pkg.get("secfixes") or {}).items():
            fixed = str(fixed).strip()
            for item in items or []:
                if not item:
                    continue
                words = str(item).split()
                if fixed == "0":
                    continue
                ids, fixes = issues.setdefault(words[0], (set(), []))
                ids.update(words)
                fixes.append(fixed)
        for ids, fixes in issues.values():
            try:
                fixes = sorted(fixes, key=lambda f: parse(AlpineLinuxVersion, f))
            except Undecided:
                pass  # left as listed; evaluation reports the version as undecided
            ranges = []
            for i, f in enumerate(fixes):
                m = re.match(r"[0-9.]*", f).group(0).rstrip(".")
                line = m.rsplit(".", 1)[0] if "." in m else m
                start = "0" if i == 0 or not line else line
                ranges.append({"type": "ECOSYSTEM", "events": [{"introduced": start}, {"fixed": f}]})
            index.setdefault((eco, pkg["name"]), []).append(
                {"ids": ids, "ranges": ranges, "versions": []}
            )


def in_range(cls, version, rng):
    """OSV range evaluation for one range."""
    v = parse(cls, version)
    events = rng.get("events", [])
    limits = [e["limit"] for e in events if "limit" in e and e["limit"] != "*"]
    if limits and not any(v < parse(cls, l) for l in limits):
        return False

    def order(e):
        kind, text = next((k, x) for k, x in e.items() if k != "limit")
        return (0, None) if (kind == "introduced" and text == "0") else (1, parse(cls, text))

    evs = [e for e in events if "limit" not in e]
    # Sort: introduced 0 first, then by version.
    zero = [e for e in evs if e.get("introduced") == "0"]
    rest = sorted((e for e in evs if e.get("introduced") != "0"), key=lambda e: order(e)[1])
    affected = False
    for e in zero + rest:
        if "introduced" in e:
            if e["introduced"] == "0" or v >= parse(cls, e["introduced"]):
                affected = True
        elif "fixed" in e:
            if v >= parse(cls, e["fixed"]):
                affected = False
        elif "last_affected" in e:
            if v > parse(cls, e["last_affected"]):
                affected = False
    return affected


def affects(cls, version, adv):
    if version in adv["versions"]:
        return True
    undecided = None
    for r in adv["ranges"]:
        try:
            if in_range(cls, version, r):
                return True
        except Undecided as e:
            undecided = e
    if undecided:
        raise undecided
    return False


def query(os_info, pkg):
    """(ecosystem key, name, version, version class) to look up, or None."""
    eco = pkg["ecosystem"]
    if eco == "Alpine":
        if not os_info or os_info.get("family") != "alpine":
            return None
        m = re.match(r"(\d+)\.(\d+)", os_info.get("version", ""))
        if not m:
            return None
        name = pkg.get("source_name") or pkg["name"]
        version = pkg.get("source_version") or pkg["version"]
        return (f"Alpine:v{m.group(1)}.{m.group(2)}", name, version, AlpineLinuxVersion)
    if eco not in VERSION_CLASS:
        return None
    version = pkg["version"]
    if eco == "Go":
        if not version or version.startswith("(") or version.startswith("devel"):
            return None
        if pkg["name"] in ("stdlib", "toolchain"):
            # go1.22 -> 1.22.0 (the Go vulnerability database writes releases as semver).
            v = version[2:] if version.startswith("go") else version.lstrip("v")
            parts = v.split(".")
            while len(parts) < 3:
                parts.append("0")
            version = ".".join(parts)
        else:
            version = version[1:] if version.startswith("v") else version
    return (eco, key_name(eco, pkg["name"]), version, VERSION_CLASS[eco])


def merge(groups):
    """Merges id sets that overlap, transitively."""
    out = []
    for g in groups:
        g = set(g)
        keep = []
        for o in out:
            if o & g:
                g |= o
            else:
                keep.append(o)
        out = keep + [g]
    return out


def main(argv):
    vulndata = Path(argv[1])
    index = {}
    for z in sorted(vulndata.glob("osv/*/all.zip")):
        load_osv(z, index)
    for y in sorted(vulndata.glob("alpine-secdb/*/*.yaml")):
        load_secdb(y, index)
    result = {"images": {}, "undecided": []}
    for arg in argv[2:]:
        name, path = arg.split("=", 1)
        inv = json.loads(Path(path).read_text())
        found = []
        for pkg in inv.get("packages", []):
            q = query(inv.get("os"), pkg)
            if q is None:
                continue
            eco_key, key, version, cls = q
            hits = []
            for adv in index.get((eco_key, key), []):
                try:
                    if affects(cls, version, adv):
                        hits.append(adv["ids"])
                except Undecided as e:
                    result["undecided"].append([name, pkg["ecosystem"], pkg["name"], version, sorted(adv["ids"]), str(e)])
            for g in merge(hits):
                found.append([pkg["ecosystem"], pkg["name"], pkg["version"], sorted(g)])
        result["images"][name] = sorted(found)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv)

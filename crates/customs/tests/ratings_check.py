#!/usr/bin/env python3
"""Independent check of customs' severity enrichment.

Reads the CVE List V5, Vulnrichment, NVD API 2.0, GHSA, KEV and EPSS files of
../shared/ratings itself, scores every CVSS vector with Red Hat's `cvss` library
(not the Rust crate customs uses), applies the documented precedence, and
compares with a `customs scan -f json` document both ways:

1. every rating these files give a finding's CVEs is in the finding's `ratings`;
2. every rating customs attributes to these sources comes from these files;
3. the winner under the precedence (over these ratings plus the ratings of the
   matched advisories themselves, which customs lists with their own source)
   is customs' `severity_source`, and its bucket is customs' `severity`;
4. KEV and EPSS facts equal the files';
5. a finding left UNKNOWN has no usable rating anywhere.

Usage: ratings_check.py SCAN.json RATINGS_DIR OS_PACKAGES(0|1)
Prints one line per disagreement and exits 1 if there is any.
"""
import glob
import json
import os
import sys

from cvss import CVSS2, CVSS3, CVSS4

CISA = "134c704f-9b21-4f2e-91b3-4a467353bcc0"
EXTERNAL = ("nvd", "cisa-adp")


def bucket(score, version):
    if score is None:
        return "UNKNOWN"
    if version == "2.0":
        return "HIGH" if score >= 7.0 else "MEDIUM" if score >= 4.0 else "LOW" if score > 0 else "UNKNOWN"
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0:
        return "LOW"
    return "UNKNOWN"


def word(label):
    l = label.strip().rstrip("*").strip().upper()
    return {
        "CRITICAL": "CRITICAL", "HIGH": "HIGH", "IMPORTANT": "HIGH", "MODERATE": "MEDIUM",
        "MEDIUM": "MEDIUM", "LOW": "LOW", "NEGLIGIBLE": "LOW", "UNIMPORTANT": "LOW",
        "END-OF-LIFE": "LOW",
    }.get(l, "UNKNOWN")


def score_of(vector, version, given):
    try:
        if version == "2.0":
            return float(CVSS2(vector.strip("()")).base_score)
        if version == "4.0":
            return float(CVSS4(vector).base_score)
        return float(CVSS3(vector).base_score)
    except Exception:
        return given


def rating(source, version, data):
    vector = (data.get("vectorString") or "").strip() or None
    score = score_of(vector, version, data.get("baseScore")) if vector else data.get("baseScore")
    sev = bucket(score, version) if score is not None else word(data.get("baseSeverity") or "")
    if sev == "UNKNOWN" and score is None:
        return None
    return {"source": source, "cvss_version": version, "vector": vector, "score": score, "severity": sev}


def load(ratings_dir):
    facts = {}

    def add(cve, r):
        f = facts.setdefault(cve.upper(), {"ratings": [], "rejected": False, "kev": None, "epss": None})
        key = (r["source"], r["cvss_version"], r["vector"], r.get("label"))
        if key not in {(x["source"], x["cvss_version"], x["vector"], x.get("label")) for x in f["ratings"]}:
            f["ratings"].append(r)

    for path in glob.glob(os.path.join(ratings_dir, "cve5", "*.json")) + glob.glob(
        os.path.join(ratings_dir, "vulnrichment", "*.json")
    ):
        rec = json.load(open(path))
        cve = rec["cveMetadata"]["cveId"].upper()
        f = facts.setdefault(cve, {"ratings": [], "rejected": False, "kev": None, "epss": None})
        if rec["cveMetadata"].get("state", "").upper() == "REJECTED":
            f["rejected"] = True
        c = rec.get("containers", {})
        for is_cna, cont in [(True, c.get("cna"))] + [(False, a) for a in c.get("adp", [])]:
            if not cont:
                continue
            pm = cont.get("providerMetadata", {})
            short, org = pm.get("shortName") or "", pm.get("orgId") or ""
            if not is_cna and (org == CISA or short.upper() == "CISA-ADP"):
                source = "cisa-adp"
            else:
                source = ("cna:" if is_cna else "adp:") + (short or org or "unknown")
            for m in cont.get("metrics", []):
                for key, version in (("cvssV4_0", "4.0"), ("cvssV3_1", "3.1"), ("cvssV3_0", "3.0"), ("cvssV2_0", "2.0")):
                    if key in m:
                        r = rating(source, version, m[key])
                        if r:
                            add(cve, r)
    for path in glob.glob(os.path.join(ratings_dir, "nvd", "*.json")):
        rec = json.load(open(path))
        cve = rec["id"].upper()
        f = facts.setdefault(cve, {"ratings": [], "rejected": False, "kev": None, "epss": None})
        if (rec.get("vulnStatus") or "").lower() == "rejected":
            f["rejected"] = True
        for key, version in (("cvssMetricV40", "4.0"), ("cvssMetricV31", "3.1"), ("cvssMetricV30", "3.0"), ("cvssMetricV2", "2.0")):
            for m in (rec.get("metrics") or {}).get(key, []):
                src = m.get("source", "")
                source = "nvd" if src == "nvd@nist.gov" else "cisa-adp" if src == CISA else "cna:" + (src or "unknown")
                data = dict(m["cvssData"])
                data.setdefault("baseSeverity", m.get("baseSeverity"))
                r = rating(source, version, data)
                if r:
                    add(cve, r)
    for path in glob.glob(os.path.join(ratings_dir, "ghsa", "*.json")):
        rec = json.load(open(path))
        rs = []
        for s in rec.get("severity", []):
            v = s["score"]
            version = "4.0" if v.startswith("CVSS:4.0") else "3.1" if v.startswith("CVSS:3.1") else "3.0" if v.startswith("CVSS:3.0") else "2.0"
            sc = score_of(v, version, None)
            rs.append({"source": "ghsa", "cvss_version": version, "vector": v, "score": sc, "severity": bucket(sc, version)})
        label = (rec.get("database_specific") or {}).get("severity")
        if label:
            rs.append({"source": "ghsa", "cvss_version": None, "vector": None, "score": None, "severity": word(label), "label": label})
        for a in rec.get("aliases", []):
            if a.upper().startswith("CVE-"):
                for r in rs:
                    add(a, r)
    kev = json.load(open(os.path.join(ratings_dir, "kev", "known_exploited_vulnerabilities.json")))
    for v in kev["vulnerabilities"]:
        facts.setdefault(v["cveID"].upper(), {"ratings": [], "rejected": False, "kev": None, "epss": None})["kev"] = v["dateAdded"]
    for path in glob.glob(os.path.join(ratings_dir, "epss", "*.csv")):
        for line in open(path):
            cols = [c.strip() for c in line.replace(";", ",").split(",")]
            if len(cols) >= 3 and cols[0].upper().startswith("CVE-"):
                facts.setdefault(cols[0].upper(), {"ratings": [], "rejected": False, "kev": None, "epss": None})["epss"] = float(cols[1])
    return facts


VENDORS = {"debian", "ubuntu", "alpine", "redhat", "rocky", "almalinux", "suse", "opensuse", "wolfi", "chainguard", "amazon", "azure"}


def rank(r, os_package):
    s = r["source"]
    if os_package:
        cls = 0 if s in VENDORS else 1 if s == "nvd" else 2 if s.startswith("cna:") else 3 if s == "cisa-adp" else 4 if s == "ghsa" else 5
    else:
        cls = 0 if s == "ghsa" else 1 if s == "nvd" else 2 if s.startswith("cna:") else 3 if s == "cisa-adp" else 4
    ver = 0 if r.get("label") else {"4.0": 1, "3.1": 2, "3.0": 3, "2.0": 4}.get(r.get("cvss_version"), 5)
    return (cls, ver, -(r.get("score") or 0.0), r.get("vector") or "")


def key(r):
    return (r["source"], r.get("cvss_version"), r.get("vector"), r.get("label"))


def main():
    scan = json.load(open(sys.argv[1]))
    facts = load(sys.argv[2])
    problems = []
    for f in scan["findings"]:
        os_package = f["package"]["ecosystem"] in ("deb", "apk", "rpm", "dpkg", "Debian", "Alpine", "Ubuntu")
        fid = f["id"]
        cves = [i for i in [fid] + f.get("aliases", []) if i.upper().startswith("CVE-")]
        expected = []
        kev, epss = None, None
        for c in cves:
            fc = facts.get(c.upper())
            if not fc or fc["rejected"]:
                continue
            for r in fc["ratings"]:
                if key(r) not in {key(x) for x in expected}:
                    expected.append(r)
            kev = kev or fc["kev"]
            if fc["epss"] is not None and (epss is None or fc["epss"] > epss):
                epss = fc["epss"]
        got = f.get("ratings", [])
        got_keys = {key(r) for r in got}
        for r in expected:
            if key(r) not in got_keys:
                problems.append(f"{fid}: rating {key(r)} from the files is missing in customs' ratings")
        exp_keys = {key(r) for r in expected}
        for r in got:
            ext = r["source"] in EXTERNAL or r["source"].startswith(("cna:", "adp:"))
            if ext and key(r) not in exp_keys:
                problems.append(f"{fid}: customs lists {key(r)}, which no file gives")
        for r in expected:
            g = [x for x in got if key(x) == key(r)]
            if g and (g[0]["severity"] != r["severity"] or (r["score"] is not None and abs((g[0].get("score") or -1) - r["score"]) > 1e-9)):
                problems.append(f"{fid}: {key(r)} scored {g[0].get('score')} {g[0]['severity']}, expected {r['score']} {r['severity']}")
        # The advisories' own ratings (not from these files) take part in the precedence too.
        own = [r for r in got if not (r["source"] in EXTERNAL or r["source"].startswith(("cna:", "adp:")) or key(r) in exp_keys)]
        pool = [r for r in expected + own if r["severity"] != "UNKNOWN"]
        if pool:
            win = min(pool, key=lambda r: rank(r, os_package))
            ss = f["severity_source"]
            if ss.get("source") != win["source"] or f["severity"] != win["severity"]:
                problems.append(f"{fid}: customs picked {ss.get('source')} {f['severity']}, precedence picks {win['source']} {win['severity']}")
        elif f["severity"] != "UNKNOWN":
            problems.append(f"{fid}: rated {f['severity']} with no rating anywhere")
        if bool(kev) != bool(f.get("kev")) or (kev and f["kev"]["date_added"] != kev):
            problems.append(f"{fid}: KEV {f.get('kev')} but the catalogue says {kev}")
        got_epss = (f.get("epss") or {}).get("score")
        if (epss is None) != (got_epss is None) or (epss is not None and abs(epss - got_epss) > 1e-9):
            problems.append(f"{fid}: EPSS {got_epss} but the file says {epss}")
    for p in problems:
        print(p)
    unknown = sum(1 for f in scan["findings"] if f["severity"] == "UNKNOWN")
    print(f"checked {len(scan['findings'])} findings, {unknown} unknown, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

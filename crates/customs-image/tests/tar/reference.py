"""Lists a tar archive the way a reference extractor reads it, as one JSON object:
{"ok": true, "entries": [[path, kind, size, link, sha256|null], ...]} or
{"ok": false, "error": "..."}. Paths are normalised the way runtimes apply them
(no leading '/', no '.' or empty components, '..' stops at the root); the root itself is
left out. kind is one of f d l h c b p o; size counts only for files; link is the
normalised target of a hardlink or the raw target of a symlink.

Usage: python3 reference.py python|gnu ARCHIVE
  python: Python's tarfile, reading every regular file's data (sha256 given).
  gnu:    GNU tar's `--list --verbose` output (no data hashes).
"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile


def normalize(p):
    parts = []
    for c in p.split("/"):
        if c in ("", "."):
            continue
        if c == "..":
            if parts:
                parts.pop()
            continue
        parts.append(c)
    return "/".join(parts)


def entry(path, kind, size, link, digest):
    path = normalize(path)
    if not path:
        return None
    if kind == "h":
        link = normalize(link)
    elif kind != "l":
        link = None
    return [path, kind, size if kind == "f" else 0, link, digest]


def python_list(archive):
    out = []
    with tarfile.open(archive, "r:") as tf:
        for m in tf:
            if m.isreg():
                kind = "f"
            elif m.isdir():
                kind = "d"
            elif m.issym():
                kind = "l"
            elif m.islnk():
                kind = "h"
            elif m.ischr():
                kind = "c"
            elif m.isblk():
                kind = "b"
            elif m.isfifo():
                kind = "p"
            else:
                kind = "o"
            digest = None
            if kind == "f":
                data = tf.extractfile(m).read()
                if len(data) != m.size:
                    raise ValueError(f"{m.name}: {len(data)} of {m.size} bytes")
                digest = hashlib.sha256(data).hexdigest()
            e = entry(m.name, kind, m.size, m.linkname, digest)
            if e:
                out.append(e)
    return out


ESC = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34, "?": 63}


def unquote(s, i):
    """Reads a C-quoted string starting at s[i] == '"'; returns (bytes, index after it)."""
    assert s[i] == '"', s
    i += 1
    out = bytearray()
    while s[i] != '"':
        ch = s[i]
        if ch == "\\":
            nxt = s[i + 1]
            if nxt in ESC:
                out.append(ESC[nxt])
                i += 2
            else:
                out.append(int(s[i + 1:i + 4], 8))
                i += 4
        else:
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
    return bytes(out), i + 1


GNU_KINDS = {"-": "f", "C": "f", "d": "d", "l": "l", "h": "h", "c": "c", "b": "b", "p": "p"}


def gnu_list(archive):
    r = subprocess.run(
        ["tar", "--list", "--verbose", "--numeric-owner", "--full-time",
         "--quoting-style=c", "--file", archive],
        capture_output=True, env={**os.environ, "LC_ALL": "C"})
    if r.returncode != 0:
        raise RuntimeError(f"tar exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    out = []
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        q = line.index('"')
        fields = line[:q].split()
        name, j = unquote(line, q)
        link = b""
        rest = line[j:]
        if rest.startswith(" -> "):
            link, _ = unquote(line, j + 4)
        elif rest.startswith(" link to "):
            link, _ = unquote(line, j + 9)
        kind = GNU_KINDS.get(fields[0][0], "o")
        size = int(fields[2]) if fields[2].isdigit() else 0
        dec = lambda b: b.decode("utf-8", "replace")
        e = entry(dec(name), kind, size, dec(link), None)
        if e:
            out.append(e)
    return out


def main():
    mode, archive = sys.argv[1], sys.argv[2]
    try:
        entries = python_list(archive) if mode == "python" else gnu_list(archive)
        result = {"ok": True, "entries": entries}
    except Exception as e:  # any failure to read is the answer "refused"
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

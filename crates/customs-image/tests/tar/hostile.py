"""Builds the hostile tar archives of the differential test, byte by byte, into DIR.

Each archive probes one way tar readers disagree (see issue 12). Every one ends with a
plain file `after` so a reader that loses its place in the stream shows it. Archives are
deterministic (fixed mtimes), so the copies kept as fuzz seeds can be checked for drift.
Names ending in `.read.tar` are well-formed archives every extractor reads alike: customs
must read them, not refuse them. Usage: python3 hostile.py DIR
"""
import os
import sys

BLOCK = 512


def checksum(b):
    b = bytearray(b)
    b[148:156] = b" " * 8
    return sum(b)


def header(name=b"", typeflag=b"0", size=0, link=b"", magic=b"ustar\x00", version=b"00",
           prefix=b"", size_field=None, trailer=None, mode=b"0000644\x00"):
    b = bytearray(BLOCK)
    b[0:len(name)] = name[:100]
    b[100:108] = mode
    b[108:116] = b"0000000\x00"
    b[116:124] = b"0000000\x00"
    b[124:136] = size_field if size_field is not None else b"%011o\x00" % size
    b[136:148] = b"14000000000\x00"
    b[156:157] = typeflag
    b[157:157 + len(link)] = link[:100]
    b[257:263] = magic
    b[263:265] = version
    b[345:345 + len(prefix)] = prefix[:155]
    if trailer is not None:
        b[508:512] = trailer
    b[148:156] = b"%06o\x00 " % checksum(b)
    return bytes(b)


def padded(data):
    return data + b"\x00" * (-len(data) % BLOCK)


def member(name, data=b"", typeflag=b"0", **kw):
    size = kw.pop("size", len(data))
    return header(name, typeflag, size, **kw) + padded(data)


def pax_body(records):
    out = b""
    for k, v in records:
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n:
            n += 1
        out += str(n).encode() + rec
    return out


def pax(records, typeflag=b"x"):
    body = pax_body(records)
    return header(b"PaxHeaders/x", typeflag, len(body)) + padded(body)


def gnulong(name, typeflag=b"L"):
    data = name + b"\x00"
    return header(b"././@LongLink", typeflag, len(data), magic=b"ustar ", version=b" \x00") \
        + padded(data)


DB = b"lib/apk/db/installed"
APK = b"P:musl\nV:1.1.24-r0\n\n"
END = member(b"after", b"tail\n") + b"\x00" * (2 * BLOCK)


def cases():
    long_dir = b"usr/share/rubygems-integration/all/gems/bundler-2.4.20/lib/bundler/vendor/x" + b"y" * 24
    assert len(long_dir) == 99
    long_file = long_dir + b"/cli.rb"
    gnu = dict(magic=b"ustar ", version=b" \x00")
    c = {}
    c["bundler-gnu-long-name.read"] = gnulong(long_file) + member(long_file[:100], b"puts 1\n", **gnu)
    c["bundler-pax-path.read"] = pax([(b"path", long_file)]) + member(long_file[:100], b"puts 1\n")
    c["pax-name-no-slash.read"] = pax([(b"path", DB)]) + member(b"decoy", APK)
    c["untyped-slash-in-header-only"] = pax([(b"path", DB)]) + member(b"lib/apk/db/", APK, typeflag=b"\x00")
    c["untyped-slash-in-full-name-only"] = pax([(b"path", b"lib/apk/db/")]) + member(DB, APK, typeflag=b"\x00")
    c["regular-with-trailing-slash"] = member(DB + b"/", APK)
    c["contiguous-with-trailing-slash"] = member(DB + b"/", APK, typeflag=b"7")
    c["v7-directory-by-slash.read"] = member(b"olddir/", typeflag=b"\x00", magic=b"\x00" * 6, version=b"\x00\x00") + member(b"olddir/f", b"x", typeflag=b"\x00", magic=b"\x00" * 6, version=b"\x00\x00")
    c["nul-in-pax-path"] = pax([(b"path", DB + b"\x00junk")]) + member(b"decoy", APK)
    c["nul-in-name-field.read"] = member(DB + b"\x00junk", APK)
    c["nul-in-long-name.read"] = gnulong(DB + b"\x00junk") + member(b"decoy", APK, **gnu)
    c["control-bytes-in-names.read"] = member(b"lib/apk/db/inst\nalled", APK) + member(b"etc/\x01\x7fx", b"a")
    c["doubled-slashes.read"] = member(b"lib//apk///db/installed", APK)
    c["dot-dot-and-absolute.read"] = member(b"a/../../" + DB, APK) + member(b"/etc/os-release", b"ID=alpine\n")
    c["ustar-prefix.read"] = member(b"installed", APK, prefix=b"lib/apk/db")
    c["ustar-prefix-trailing-slash.read"] = member(b"installed", APK, prefix=b"lib/apk/db/")
    c["ustar-prefix-empty-name"] = member(b"", APK, prefix=DB)
    c["ustar-version-xx-prefix.read"] = member(b"installed", APK, prefix=b"lib/apk/db", version=b"xx")
    c["gnu-magic-with-prefix"] = member(b"installed", APK, prefix=b"lib/apk/db", **gnu)
    c["gnu-magic-version-00-prefix"] = member(b"installed", APK, prefix=b"lib/apk/db", magic=b"ustar ", version=b"00")
    c["v7-with-prefix-bytes"] = member(b"installed", APK, prefix=b"lib/apk/db", magic=b"\x00" * 6, version=b"\x00\x00")
    c["star-long-prefix"] = member(b"installed", APK, prefix=b"p" * 140, trailer=b"tar\x00")
    c["global-pax-path"] = pax([(b"path", DB)], typeflag=b"g") + member(b"decoy", APK)
    c["global-pax-size"] = pax([(b"size", b"0")], typeflag=b"g") + member(DB, APK)
    c["global-pax-comment.read"] = pax([(b"comment", b"built by git archive")], typeflag=b"g") + member(DB, APK)
    c["pax-path-then-long-name"] = pax([(b"path", b"decoy")]) + gnulong(DB) + member(b"x", APK)
    c["long-name-then-pax-path"] = gnulong(DB) + pax([(b"path", b"decoy")]) + member(b"x", APK)
    c["pax-and-long-name-agree.read"] = pax([(b"path", DB)]) + gnulong(DB) + member(b"x", APK)
    c["long-link-and-pax-linkpath"] = pax([(b"linkpath", b"decoy")]) + gnulong(DB, b"K") + member(b"x", typeflag=b"2", link=b"y")
    c["two-long-names"] = gnulong(b"decoy") + gnulong(DB) + member(b"x", APK, **gnu)
    c["two-pax-headers"] = pax([(b"path", b"decoy")]) + pax([(b"path", DB)]) + member(b"x", APK)
    c["long-name-then-global"] = gnulong(DB) + pax([(b"comment", b"c")], typeflag=b"g") + member(b"x", APK)
    c["solaris-x-header"] = pax([(b"path", DB)], typeflag=b"X") + member(b"decoy", APK)
    c["empty-pax-path"] = pax([(b"path", b"")]) + member(DB, APK)
    c["pax-size-override.read"] = pax([(b"size", b"%d" % len(APK))]) + member(DB, APK, size=0)
    c["pax-size-with-sign"] = pax([(b"size", b"+%d" % len(APK))]) + member(DB, APK, size=0)
    c["octal-size-with-sign"] = member(DB, APK, size_field=b"+0000000024\x00")
    c["octal-size-after-nul"] = member(DB, APK, size_field=b"\x000000000024\x00")
    c["pax-trailing-garbage"] = header(b"PaxHeaders/x", b"x", 40) + padded(pax_body([(b"path", DB)]) + b"garbage!") + member(b"decoy", APK)
    c["hardlink-with-size"] = member(b"etc/apk/decoy", APK) + member(b"x", APK, typeflag=b"1", link=b"etc/apk/decoy")
    c["symlink-with-size"] = member(b"x", APK, typeflag=b"2", link=b"etc")
    c["directory-with-size"] = member(b"d/", APK, typeflag=b"5")
    c["directory-size-no-data.read"] = member(b"d/", typeflag=b"5", size=4096) + member(DB, APK)
    c["lone-zero-block"] = member(b"decoy", b"x") + b"\x00" * BLOCK + member(DB, APK)
    c["after-two-zero-blocks.read"] = member(b"decoy", b"x") + b"\x00" * (2 * BLOCK) + member(DB, APK)
    c["unknown-types.read"] = member(b"label", typeflag=b"V") + member(b"z", b"zzz", typeflag=b"Z") + member(DB, APK)
    c["contiguous-file.read"] = member(DB, APK, typeflag=b"7")
    # Old GNU sparse: one map entry in the header, isextended set, one extension block.
    sp = bytearray(header(DB, b"S", 512, **gnu))
    sp[386:398] = b"%011o\x00" % 0
    sp[398:410] = b"%011o\x00" % 512
    sp[482] = 1
    sp[483:495] = b"%011o\x00" % 4096
    sp[148:156] = b"%06o\x00 " % checksum(sp)
    ext = bytearray(BLOCK)
    ext[0:12] = b"%011o\x00" % 3584
    ext[12:24] = b"%011o\x00" % 0
    c["old-gnu-sparse"] = bytes(sp) + bytes(ext) + padded(APK)
    c["pax-gnu-sparse-1.0"] = pax([(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0"), (b"GNU.sparse.name", DB), (b"GNU.sparse.realsize", b"20")]) + member(b"GNUSparseFile.0/x", b"1\n0\n20\n" + b"\x00" * 505 + APK, size=512 + len(APK))
    c["name-exactly-100-bytes.read"] = member(b"n" * 100, b"x")
    c["long-link-target.read"] = member(b"t", b"x") + gnulong(b"t" + b"/." * 60, b"K") + member(b"h", typeflag=b"1", link=b"t", **gnu)
    c["xattrs.read"] = pax([(b"SCHILY.xattr.security.capability", b"\x01\x00\x00\x02")]) + member(b"usr/bin/ping", b"ELF")
    return c


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, body in sorted(cases().items()):
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(body + END)


if __name__ == "__main__":
    main()

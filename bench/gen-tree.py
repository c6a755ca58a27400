#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen-tree.py --packages N --out DIR [--world W --world-file FILE]

Writes a synthetic ebuild repository of N packages (about 1.6 ebuilds each,
so N = 19,400 gives the Gentoo tree's ~31,000 ebuilds) as a git repository
in DIR, through git fast-import: one commit on branch main holding the
ebuilds, 40 eclasses, profiles/ (repo_name, a default/linux/amd64 profile)
and metadata/md5-cache entries computed as egencache writes them (sorted
keys, _eclasses_ with the eclasses' md5s, _md5_ of the ebuild).

The dependency graph is like Gentoo's: the first 300 packages are core
libraries depending on lower core libraries; every other package depends
on 2-5 core libraries, and sometimes on a nearby package, with
USE-conditional groups, || groups, version ranges, slot and sub-slot
operators and BDEPEND on tool packages.  Packages are generated from a
per-package seed, so a smaller tree is a prefix of a larger one and a
world drawn from its first packages resolves to the same plan in every
size.  --world-file writes W world atoms, drawn from packages 300 to
--world-range (4,500), there.
"""

import argparse
import hashlib
import os
import random
import subprocess
import sys

CORE = 300
CATS = ["app-%s" % x for x in ("admin", "arch", "crypt", "editors", "misc",
        "shells", "text")] + \
       ["dev-%s" % x for x in ("db", "lang", "libs", "perl", "python",
        "ruby", "util", "vcs", "java", "lua", "ml")] + \
       ["media-%s" % x for x in ("gfx", "libs", "sound", "video", "fonts")] + \
       ["net-%s" % x for x in ("analyzer", "dns", "firewall", "libs", "misc",
        "mail", "p2p")] + \
       ["sys-%s" % x for x in ("apps", "auth", "block", "devel", "fs",
        "libs", "process", "kernel")] + \
       ["www-%s" % x for x in ("apps", "client", "servers", "misc")] + \
       ["x11-%s" % x for x in ("libs", "misc", "terms", "wm", "apps")]
ECLASSES = ["eclass%02d" % i for i in range(40)]
FLAGS = ["ssl", "threads", "test", "doc", "static-libs", "ipv6", "zlib",
         "debug", "nls", "examples", "readline", "unicode"]


def md5(data):
    return hashlib.md5(data).hexdigest()


class Pkg:
    pass


def make_pkg(i):
    r = random.Random(i * 7919 + 17)
    p = Pkg()
    p.i = i
    p.cat = CATS[i % len(CATS)]
    p.pn = "pkg%05d" % i
    p.slotted = i < CORE and r.random() < 0.1
    nver = 2 if r.random() < 0.6 else 1
    base = r.randint(1, 9)
    p.versions = []
    for v in range(nver):
        p.versions.append("%d.%d.%d" % (base + v, r.randint(0, 20),
                                         r.randint(0, 9)))
    p.subslot = r.random() < 0.3
    p.iuse = sorted(r.sample(FLAGS, r.randint(1, 4)))
    p.eclasses = sorted(r.sample(ECLASSES, r.randint(0, 3)))
    return p


def atom(r, t, pkgs):
    q = pkgs[t]
    kind = r.random()
    name = "%s/%s" % (q.cat, q.pn)
    if kind < 0.35:
        return name
    if kind < 0.55:
        return ">=%s-%s" % (name, q.versions[0])
    if kind < 0.75:
        return "%s:=" % name
    if kind < 0.85:
        return "%s:0" % name if not q.slotted else "%s:1" % name
    if kind < 0.92:
        return "<%s-%d" % (name, int(q.versions[-1].split(".")[0]) + 1)
    return "%s[%s(+)]" % (name, r.choice(["threads", "zlib"]))


def deps(p, v, pkgs):
    r = random.Random(p.i * 104729 + v * 31 + 3)
    out = []
    if p.i < CORE:
        lo, n = 0, r.randint(0, 3) if p.i > 10 else 0
        cand = list(range(lo, p.i))
    else:
        n = r.randint(2, 5)
        cand = list(range(0, CORE))
    picks = r.sample(cand, min(n, len(cand)))
    for t in picks:
        a = atom(r, t, pkgs)
        if r.random() < 0.2:
            a = "%s? ( %s )" % (r.choice(p.iuse), a)
        out.append(a)
    if p.i >= CORE and r.random() < 0.3:
        t = r.randint(max(CORE, p.i - 50), p.i - 1) if p.i > CORE else 0
        if t != p.i:
            out.append(atom(r, t, pkgs))
    if p.i > 20 and r.random() < 0.15:
        a, b = r.sample(range(0, min(p.i, CORE)), 2)
        out.append("|| ( %s %s )" % (atom(r, a, pkgs), atom(r, b, pkgs)))
    bdep = []
    if p.i > 40 and r.random() < 0.5:
        bdep = ["%s/%s" % (pkgs[t].cat, pkgs[t].pn)
                for t in r.sample(range(0, 40), r.randint(1, 2))]
    return " ".join(out), " ".join(bdep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--world", type=int, default=0)
    ap.add_argument("--world-file")
    ap.add_argument("--world-range", type=int, default=4500)
    a = ap.parse_args()

    pkgs = [make_pkg(i) for i in range(a.packages)]
    ecl_text = {}
    for e in ECLASSES:
        ecl_text[e] = ("# Copyright 2026 synthetic\n# @ECLASS: %s.eclass\n"
                       "%s_helper() { :; }\n" % (e, e)).encode()

    subprocess.run(["git", "init", "-q", "-b", "main", a.out], check=True)
    fi = subprocess.Popen(["git", "-C", a.out, "fast-import", "--quiet"],
                          stdin=subprocess.PIPE)
    w = fi.stdin
    files = []

    def add(path, data):
        files.append((path, data))

    add("profiles/repo_name", b"gentoo\n")
    add("profiles/categories", ("\n".join(sorted(CATS)) + "\n").encode())
    add("metadata/layout.conf", b"masters =\nthin-manifests = true\n"
        b"cache-formats = md5-dict\n")
    add("profiles/default/linux/amd64/make.defaults",
        b'ARCH="amd64"\nACCEPT_KEYWORDS="amd64"\nCHOST="x86_64-pc-linux-gnu"\n'
        b'USE="ssl threads"\nUSE_EXPAND_IMPLICIT="ARCH"\n'
        b'USE_EXPAND_UNPREFIXED="ARCH"\nUSE_EXPAND_VALUES_ARCH="amd64"\n')
    add("profiles/default/linux/amd64/eapi", b"8\n")
    add("profiles/profiles.desc", b"amd64 default/linux/amd64 stable\n")
    add("profiles/arch.list", b"amd64\n")
    add("profiles/license_groups", b"FREE-SOFTWARE MIT\nFREE @FREE-SOFTWARE\n")
    for e in ECLASSES:
        add("eclass/%s.eclass" % e, ecl_text[e])
    nebuilds = 0
    for p in pkgs:
        for vi, ver in enumerate(p.versions):
            dep, bdep = deps(p, vi, pkgs)
            if p.slotted:
                slot = "%d" % (vi + 1)
            else:
                slot = "0/%s" % ver.split(".")[0] if p.subslot else "0"
            kw = "~amd64" if vi == len(p.versions) - 1 and vi > 0 and \
                p.i % 3 == 0 else "amd64"
            iuse = " ".join(("+" if f in ("threads", "zlib") else "") + f
                            for f in p.iuse)
            inh = "inherit %s\n" % " ".join(p.eclasses) if p.eclasses else ""
            eb = ("# synthetic\nEAPI=8\n%s\nDESCRIPTION=\"synthetic %s\"\n"
                  "HOMEPAGE=\"https://example.com/\"\nLICENSE=\"MIT\"\n"
                  "SLOT=\"%s\"\nKEYWORDS=\"%s\"\nIUSE=\"%s\"\n"
                  "DEPEND=\"%s\"\nRDEPEND=\"${DEPEND}\"\nBDEPEND=\"%s\"\n" %
                  (inh, p.pn, slot, kw, iuse, dep, bdep)).encode()
            pf = "%s-%s" % (p.pn, ver)
            add("%s/%s/%s.ebuild" % (p.cat, p.pn, pf), eb)
            keys = {
                "BDEPEND": bdep, "DEFINED_PHASES": "-", "DEPEND": dep,
                "DESCRIPTION": "synthetic %s" % p.pn, "EAPI": "8",
                "HOMEPAGE": "https://example.com/",
                "INHERIT": " ".join(p.eclasses), "IUSE": iuse,
                "KEYWORDS": kw, "LICENSE": "MIT", "RDEPEND": dep,
                "SLOT": slot,
            }
            lines = ["%s=%s" % (k, v) for k, v in sorted(keys.items()) if v]
            if p.eclasses:
                lines.append("_eclasses_=" + "\t".join(
                    "%s\t%s" % (e, md5(ecl_text[e])) for e in p.eclasses))
            lines.append("_md5_=" + md5(eb))
            add("metadata/md5-cache/%s/%s" % (p.cat, pf),
                ("\n".join(lines) + "\n").encode())
            nebuilds += 1

    w.write(b"commit refs/heads/main\n"
            b"committer bench <bench@example.com> 1767225600 +0000\n"
            b"data 9\nsynthetic\n")
    for path, data in files:
        w.write(b"M 100644 inline %s\ndata %d\n" % (path.encode(), len(data)))
        w.write(data)
        w.write(b"\n")
    w.write(b"done\n")
    w.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    if a.world_file:
        r = random.Random(4242)
        idx = r.sample(range(CORE, min(a.packages, a.world_range)), a.world)
        with open(a.world_file, "w") as f:
            for i in sorted(idx):
                f.write("%s/%s\n" % (pkgs[i].cat, pkgs[i].pn))
    print(nebuilds)


if __name__ == "__main__":
    main()

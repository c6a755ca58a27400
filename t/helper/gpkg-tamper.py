#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Makes broken and hostile variants of a good .gpkg.tar for the tests.

usage: gpkg-tamper.py IN OUT ACTION [ARGS]

Actions on the container (the Manifest is rewritten to match unless the
action is about the Manifest, so that only the named defect remains):
  flip MEMBER               flip one byte in the middle of MEMBER's data
  flip-header MEMBER        flip one byte of MEMBER's tar header name
  unlist MEMBER             drop MEMBER's line from the Manifest
  extra NAME                add an unlisted member NAME (basename)
  extra-listed NAME         add a member NAME listed in the Manifest
  dup MEMBER                store MEMBER twice (both listed once)
  drop MEMBER               remove MEMBER (its Manifest line stays)
  rename-raw OLD NEWPATH    rename a member to a full path (e.g. ../x, /x, x)
  v7                        write the container as a V7 tar (no ustar magic)
  swap-hashes               write SHA512 before BLAKE2B in the Manifest
  replace MEMBER FILE       MEMBER's data becomes FILE's bytes
  meta-many N               N more metadata keys, X0..X<N-1>
  extra-many N              N more members, extra0..extra<N-1> (unlisted)
Actions on the metadata (a new metadata.tar.zst, Manifest rewritten, as
a worker building with another configuration would upload):
  meta KEY VALUE            set build-info KEY to VALUE (a line, as Portage)
  meta-drop KEY             remove build-info KEY
Actions on the image (a new image.tar.zst with one hostile entry added):
  image-abs | image-dotdot | image-outside | image-symlink-escape |
  image-hardlink-escape | image-device | image-below-symlink
  image-many N              N more empty files, image/many/<i>
"""
import hashlib
import io
import subprocess
import sys
import tarfile


def zstd(data, decompress=False):
    args = ["zstd", "-q", "-c"] + (["-d"] if decompress else ["-3"])
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def manifest_line(name, data, swap=False):
    b = hashlib.blake2b(data).hexdigest()
    s = hashlib.sha512(data).hexdigest()
    if swap:
        return f"DATA {name} {len(data)} SHA512 {s} BLAKE2B {b}\n"
    return f"DATA {name} {len(data)} BLAKE2B {b} SHA512 {s}\n"


def read(path):
    with tarfile.open(path, "r") as t:
        out = []
        for m in t.getmembers():
            out.append([m.name, t.extractfile(m).read()])
    return out


def write(path, members, fmt=tarfile.USTAR_FORMAT, manifest=True, skip=(),
          swap=False, extra_lines=""):
    base = members[0][0].split("/")[0]
    if not manifest:
        body = members
    else:
        body = [m for m in members if not m[0].endswith("/Manifest")]
        text = "".join(manifest_line(n.split("/")[-1], d, swap)
                       for n, d in body if n.split("/")[-1] not in skip)
        text += extra_lines
        body.append([f"{base}/Manifest", text.encode()])
    with tarfile.open(path, "w", format=fmt) as t:
        for name, data in body:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))


def hostile_image(members, kind, args=()):
    idx = [i for i, m in enumerate(members) if m[0].split("/")[-1].startswith("image.tar")][0]
    raw = zstd(members[idx][1], decompress=True)
    src = tarfile.open(fileobj=io.BytesIO(raw), mode="r")
    buf = io.BytesIO()
    dst = tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT)
    for m in src.getmembers():
        dst.addfile(m, src.extractfile(m) if m.isreg() else None)

    def add(name, type_=tarfile.REGTYPE, linkname="", data=b"x"):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.linkname = linkname
        ti.size = len(data) if type_ == tarfile.REGTYPE else 0
        dst.addfile(ti, io.BytesIO(data) if type_ == tarfile.REGTYPE else None)

    if kind == "image-abs":
        add("/etc/evil")
    elif kind == "image-dotdot":
        add("image/../../etc/evil")
    elif kind == "image-outside":
        add("elsewhere/evil")
    elif kind == "image-symlink-escape":
        add("image/usr/evil", tarfile.SYMTYPE, "../../../etc/passwd")
    elif kind == "image-hardlink-escape":
        add("image/usr/evil", tarfile.LNKTYPE, "/etc/shadow")
    elif kind == "image-device":
        add("image/dev-null", tarfile.CHRTYPE)
    elif kind == "image-many":
        add("image/many", tarfile.DIRTYPE)
        for i in range(int(args[0])):
            add(f"image/many/{i}", data=b"")
    elif kind == "image-below-symlink":
        add("image/lnk", tarfile.SYMTYPE, "/etc")
        add("image/lnk/cron.d/evil")
    else:
        sys.exit(f"unknown image action {kind}")
    dst.close()
    members[idx][1] = zstd(buf.getvalue())


def edit_meta(members, key, value, many=0, drop=False):
    """metadata KEY becomes VALUE (or goes, with drop), plus `many` keys
    X0..X<many-1>: a new metadata.tar.zst, as a worker building with
    another configuration would upload."""
    idx = [i for i, m in enumerate(members)
           if m[0].split("/")[-1].startswith("metadata.tar")][0]
    src = tarfile.open(fileobj=io.BytesIO(zstd(members[idx][1], decompress=True)),
                       mode="r")
    items = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isreg()}
    if key is not None:
        name = f"metadata/{key}"
        if drop:
            if name not in items:
                sys.exit(f"no metadata key {key}")
            del items[name]
        else:
            items[name] = value.encode() + b"\n"
    for i in range(many):
        items[f"metadata/X{i}"] = b""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as dst:
        for n in sorted(items):
            ti = tarfile.TarInfo(n)
            ti.size = len(items[n])
            ti.mode = 0o644
            ti.mtime = 1700000000
            dst.addfile(ti, io.BytesIO(items[n]))
    members[idx][1] = zstd(buf.getvalue())


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, out, action, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    members = read(src)
    base = members[0][0].split("/")[0]

    def find(b):
        for m in members:
            if m[0].split("/")[-1] == b:
                return m
        sys.exit(f"no member {b}")

    if action == "flip":
        m = find(args[0])
        data = bytearray(m[1])
        data[len(data) // 2] ^= 0x01
        m[1] = bytes(data)
        # keep the original Manifest: only the byte differs
        write(out, members, manifest=False)
        return
    if action == "flip-header":
        write(out, members, manifest=False)
        with open(out, "r+b") as f:
            off = 0
            while True:
                f.seek(off)
                h = f.read(512)
                if len(h) < 512 or h[0] == 0:
                    sys.exit(f"no member {args[0]}")
                name = h[:100].rstrip(b"\0").decode()
                size = int(h[124:135].rstrip(b"\0 ") or b"0", 8)
                if name.split("/")[-1] == args[0]:
                    f.seek(off + 10)
                    c = f.read(1)
                    f.seek(off + 10)
                    f.write(bytes([c[0] ^ 0x01]))
                    return
                off += 512 + (size + 511) // 512 * 512
    if action == "unlist":
        write(out, members, skip=(args[0],))
    elif action == "extra":
        mf = find("Manifest")
        members.insert(-1, [f"{base}/{args[0]}", b"surprise\n"])
        write(out, members, manifest=False)
        _ = mf
    elif action == "extra-listed":
        members.insert(-1, [f"{base}/{args[0]}", b"surprise\n"])
        write(out, members)
    elif action == "dup":
        m = find(args[0])
        members.insert(-1, [m[0], m[1]])
        write(out, members, manifest=False)
    elif action == "drop":
        members = [m for m in members if m[0].split("/")[-1] != args[0]]
        write(out, members, manifest=False)
    elif action == "rename-raw":
        m = find(args[0])
        m[0] = args[1]
        write(out, members, manifest=False)
    elif action == "v7":
        write(out, members, manifest=False)
        with open(out, "r+b") as f:
            off = 0
            data = bytearray(f.read())
            while off + 512 <= len(data) and data[off] != 0:
                size = int(bytes(data[off + 124:off + 135]).rstrip(b"\0 ") or b"0", 8)
                data[off + 257:off + 265] = b"\0" * 8
                data[off + 148:off + 156] = b" " * 8
                chk = sum(data[off:off + 512])
                data[off + 148:off + 156] = b"%06o\0 " % chk
                off += 512 + (size + 511) // 512 * 512
            f.seek(0)
            f.write(data)
    elif action == "replace":
        m = find(args[0])
        with open(args[1], "rb") as f:
            m[1] = f.read()
        write(out, members)
    elif action == "meta-many":
        edit_meta(members, None, None, int(args[0]))
        write(out, members)
    elif action == "extra-many":
        for i in range(int(args[0])):
            members.insert(-1, [f"{base}/extra{i}", b""])
        write(out, members, manifest=False)
    elif action == "swap-hashes":
        write(out, members, swap=True)
    elif action == "meta":
        edit_meta(members, args[0], args[1])
        write(out, members)
    elif action == "meta-drop":
        edit_meta(members, args[0], None, drop=True)
        write(out, members)
    elif action.startswith("image-"):
        hostile_image(members, action, args)
        write(out, members)
    else:
        sys.exit(f"unknown action {action}")


main()

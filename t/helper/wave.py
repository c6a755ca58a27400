#!/usr/bin/env python3
"""wave.py [--ready FILE --go FILE] PORT N PATH...: a release wave.
N keep-alive HTTP/1.1 connections from 127.0.0.1 to 127.0.0.1:PORT, all
opened first, then each GETs every PATH in order and checks each answer
is a 200 with a body of Content-Length bytes.  With --ready/--go: after
every connection got its first PATH, creates the ready file and waits
for the go file before the rest (the test stops the server meanwhile).
Prints:
  connected C of N
  requests R ok K errors E   (E = N * #PATH - K: refused, reset, closed,
                              timed out, non-200 or short answers)
  first-error MESSAGE        (when E > 0)
Bounded: 60 s for everything, then what is left counts as errors."""
import asyncio
import os
import sys

args = sys.argv[1:]
ready = go = None
while args and args[0].startswith("--"):
    if args[0] == "--ready":
        ready = args[1]
    elif args[0] == "--go":
        go = args[1]
    args = args[2:]
port, n, paths = int(args[0]), int(args[1]), args[2:]
stats = {"connected": 0, "ok": 0, "first": None}


def fail(msg):
    if stats["first"] is None:
        stats["first"] = msg


async def get(r, w, path):
    w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise OSError("%s: %s" % (path, lines[0]))
    length = None
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    if length is None:
        raise OSError("%s: no Content-Length" % path)
    left = length
    while left > 0:
        d = await r.read(min(left, 1 << 20))
        if not d:
            raise OSError("%s: %d of %d bytes" % (path, length - left, length))
        left -= len(d)


async def client(conns, i, phase1):
    try:
        r, w = conns[i]
        if phase1.is_set():
            pass
        await get(r, w, paths[0])
        stats["ok"] += 1
        return r, w
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        fail("connection %d: %s" % (i, e or type(e).__name__))
        return None


async def rest(rw, i):
    if rw is None:
        return
    r, w = rw
    try:
        for p in paths[1:]:
            await get(r, w, p)
            stats["ok"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        fail("connection %d: %s" % (i, e or type(e).__name__))
    finally:
        w.close()


async def connect(i):
    try:
        rw = await asyncio.open_connection("127.0.0.1", port,
                                           local_addr=("127.0.0.1", 0))
        stats["connected"] += 1
        return rw
    except OSError as e:
        fail("connect %d: %s" % (i, e))
        return None


async def wave():
    conns = await asyncio.gather(*(connect(i) for i in range(n)))
    ev = asyncio.Event()
    firsts = await asyncio.gather(*(client(conns, i, ev)
                                    for i in range(n) if conns[i] is not None))
    if ready is not None:
        open(ready, "w").close()
        while not os.path.exists(go):
            await asyncio.sleep(0.02)
    await asyncio.gather(*(rest(rw, i) for i, rw in enumerate(firsts)))


async def main():
    try:
        await asyncio.wait_for(wave(), 60)
    except asyncio.TimeoutError:
        fail("timed out after 60 s")


asyncio.run(main())
total = n * len(paths)
print("connected %d of %d" % (stats["connected"], n))
print("requests %d ok %d errors %d" % (total, stats["ok"], total - stats["ok"]))
if stats["first"] is not None:
    print("first-error %s" % stats["first"])

#!/usr/bin/env python3
"""slowloris.py PORT N SECONDS: N connections from 127.0.0.1 to the
binhost on 127.0.0.1:PORT, each sending its request head one byte every
0.5 s (a head that would take minutes), for SECONDS seconds; meanwhile a
normal client on 127.0.0.2 (loopback too: the per-address limit counts
127.0.0.1 only) sends a GET /healthz on a new connection every 0.2 s.
Prints:
  accepted A refused R   connections held by the server / closed by it
                         within 0.5 s of connecting, without a response
  reaped K min X max Y   held connections the server closed later, and
                         the least and most seconds they had been open
  answered J             trickling connections that got any response
  fast N ok M max_ms L   the normal client's requests, those answered
                         200, and the slowest in milliseconds
Bounded: at most N + SECONDS * 5 connections, SECONDS + 3 seconds."""
import socket
import sys
import threading
import time

port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
fast = {"n": 0, "ok": 0, "max": 0.0}
stop = threading.Event()


def normal_client():
    while not stop.is_set():
        t0 = time.monotonic()
        ok = False
        try:
            s = socket.socket()
            s.settimeout(3)
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            buf = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            ok = buf.startswith(b"HTTP/1.1 200")
            s.close()
        except OSError:
            pass
        fast["n"] += 1
        fast["ok"] += ok
        fast["max"] = max(fast["max"], time.monotonic() - t0)
        time.sleep(0.2)


socks = []
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    socks.append({"s": s, "t0": time.monotonic(), "closed": None,
                  "data": b""})
th = threading.Thread(target=normal_client)
th.start()
head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
pos = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    now = time.monotonic()
    for e in socks:
        if e["closed"] is not None:
            continue
        try:
            d = e["s"].recv(4096)
            if d:
                e["data"] += d
            else:
                e["closed"] = now
        except BlockingIOError:
            pass
        except OSError:
            e["closed"] = now
        if e["closed"] is None and pos % 5 == 0:
            try:
                e["s"].send(head[pos // 5:pos // 5 + 1])
            except BlockingIOError:
                pass
            except OSError:
                e["closed"] = now
    pos += 1
    time.sleep(0.1)
stop.set()
th.join()
refused = [e for e in socks if e["closed"] is not None
           and e["closed"] - e["t0"] < 0.5]
held = [e for e in socks if e not in refused]
reaped = [e["closed"] - e["t0"] for e in held if e["closed"] is not None]
print("accepted %d refused %d" % (len(held), len(refused)))
if reaped:
    print("reaped %d min %.1f max %.1f" % (len(reaped), min(reaped),
                                         max(reaped)))
else:
    print("reaped 0")
print("answered %d" % len([e for e in socks if e["data"]]))
print("fast %d ok %d max_ms %d" % (fast["n"], fast["ok"],
                                    int(fast["max"] * 1000)))

#!/usr/bin/env python3
"""conns.py: hostile and slow clients for the builder's limits (t5003).

  conns.py idle PORT N SRC READYFILE HOLD
      opens N TCP connections from address SRC (another loopback
      address than the tests' own) and sends nothing; writes the number
      the server accepted and did not close at once to READYFILE, then
      holds them HOLD seconds.
  conns.py trickle PORT CAFILE INTERVAL MAX
      a TLS connection that sends a request head one byte every
      INTERVAL seconds; prints "closed after N s" when the server
      closes it, or "open after MAX s" (and exits 1).
  conns.py put PORT CAFILE TOKEN PATH LENGTH
      a PUT whose head says Content-Length: LENGTH, sends no body, and
      prints the response's status line (or "no answer", exit 1)."""
import socket
import ssl
import sys
import time


def tls(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def idle(port, n, src, ready, hold):
    held = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", port))
            held.append(s)
        except OSError:
            s.close()
    time.sleep(0.5)
    alive = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                continue	# closed by the server: over a limit
        except BlockingIOError:
            pass
        except OSError:
            continue
        alive += 1
    with open(ready, "w") as f:
        f.write("%d\n" % alive)
    time.sleep(hold)


def trickle(port, cafile, interval, most):
    s = tls(port, cafile)
    req = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    start = time.monotonic()
    for i in range(len(req)):
        if time.monotonic() - start > most:
            print("open after %d s" % most)
            sys.exit(1)
        try:
            s.sendall(req[i:i + 1])
            s.settimeout(interval)
            if s.recv(1) == b"":
                break
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except OSError:
            break
    print("closed after %d s" % round(time.monotonic() - start))


def put(port, cafile, token, path, length):
    s = tls(port, cafile)
    s.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Authorization: Bearer %s\r\nContent-Length: %s\r\n"
               "X-Binfarm-Checksum: sha256:%s\r\n\r\n"
               % (path, token, length, "0" * 64)).encode())
    s.settimeout(5)
    try:
        line = s.recv(4096).split(b"\r\n")[0].decode()
    except OSError:
        line = ""
    if not line:
        print("no answer")
        sys.exit(1)
    print(line)


mode = sys.argv[1]
a = sys.argv[2:]
if mode == "idle":
    idle(int(a[0]), int(a[1]), a[2], a[3], float(a[4]))
elif mode == "trickle":
    trickle(int(a[0]), a[1], float(a[2]), float(a[3]))
elif mode == "put":
    put(int(a[0]), a[1], a[2], a[3], a[4])
else:
    sys.exit("conns.py: unknown mode " + mode)

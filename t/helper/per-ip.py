#!/usr/bin/env python3
"""per-ip.py PORT LIMIT: checks the binhost's per-IP connection limit
without timing guesses.  Opens LIMIT keep-alive connections from
127.0.0.1 and proves each one is served; a connection the server has
not yet seen closing (an earlier client's) may still count against the
limit, so the set is retried until all LIMIT are served.  Then one more
connection must get no response, and the LIMIT held ones must still be
served.  Prints what failed and exits 1 on failure."""
import socket
import sys
import time

port, limit = int(sys.argv[1]), int(sys.argv[2])
REQ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def served(s):
    """Sends one request on s; True when a whole response came back."""
    try:
        s.sendall(REQ)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return False
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                return False
            body += chunk
        return True
    except OSError:
        return False


def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=10)


deadline = time.monotonic() + 20
while True:
    held = [connect() for _ in range(limit)]
    if all(served(s) for s in held):
        break
    for s in held:
        s.close()
    if time.monotonic() > deadline:
        sys.exit("per-ip: could not get %d connections served" % limit)
    time.sleep(0.2)

extra = connect()
if served(extra):
    sys.exit("per-ip: connection %d was served past the limit" % (limit + 1))
extra.close()
for i, s in enumerate(held):
    if not served(s):
        sys.exit("per-ip: held connection %d was dropped" % (i + 1))
print("ok")

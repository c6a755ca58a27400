#!/usr/bin/env python3
"""http-frame.py PORT REQUEST: sends REQUEST (Python escapes such as
\\r\\n decoded) to 127.0.0.1:PORT without half-closing, reads responses
for up to 3 s, and prints one line per response ("HTTP/1.1 400"), then
"closed" if the server closed the connection or "open" if it was still
open when the 3 s were up (or when two responses had come and nothing
more arrived for 1 s).  Responses are delimited by their Content-Length,
so a request smuggled in a body shows as a second response line."""
import socket
import sys
import time

port = int(sys.argv[1])
req = sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", port), timeout=3)
try:
    s.sendall(req)
except OSError:
    pass  # refused and closed before it was all sent
buf = b""
closed = False
deadline = time.monotonic() + 3
lines = []
while time.monotonic() < deadline:
    # Whole responses in buf first.
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            break
        head = buf[:end].decode("latin-1").split("\r\n")
        clen = 0
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
        if len(buf) < end + 4 + clen:
            break
        lines.append(" ".join(head[0].split(" ")[:2]))
        buf = buf[end + 4 + clen:]
    s.settimeout(max(0.05, min(deadline - time.monotonic(),
                               1 if len(lines) >= 2 else 3)))
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        if len(lines) >= 2:
            break
        continue
    except OSError:
        closed = True
        break
    if not chunk:
        closed = True
        break
    buf += chunk
for l in lines:
    print(l)
if buf:
    print("partial: %r" % buf[:80])
print("closed" if closed else "open")

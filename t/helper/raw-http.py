#!/usr/bin/env python3
"""raw-http.py PORT REQUEST: sends REQUEST (Python escapes such as \\r\\n
and \\x00 are decoded) to 127.0.0.1:PORT, half-closes, and writes the
whole response to stdout.  For requests curl will not send."""
import socket
import sys

port = int(sys.argv[1])
req = sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
try:
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass  # the server may answer and close before reading it all
out = b""
while True:
    try:
        chunk = s.recv(65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)

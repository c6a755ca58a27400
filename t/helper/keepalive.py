#!/usr/bin/env python3
"""keepalive.py PORT STEP...: sends requests on one connection to
127.0.0.1:PORT and prints one line per response:

    <status> <content-length or -> <sha256 of the body> <header>=<value>...

for the headers Content-Type, ETag, Last-Modified, Cache-Control,
Content-Range and Connection (Date is left out: it changes).  A STEP is
"GET PATH", "HEAD PATH", a raw request (Python escapes decoded) given as
"RAW <text>", "PIPE <n>" (the next n steps are sent in one write, then
their responses read), "SLOW" (the next step's request is sent in two
pieces 0.3 s apart) or "EOF" (prints "eof" if the server closed the
connection, "open" if not).  A response to HEAD has no body."""
import hashlib
import socket
import sys
import time

port = int(sys.argv[1])
steps = sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
buf = b""


def read_more():
    global buf
    chunk = s.recv(65536)
    if not chunk:
        raise EOFError
    buf += chunk


def request(step):
    if step.startswith("RAW "):
        return step[4:].encode("latin-1").decode("unicode_escape").encode("latin-1"), False
    method, path = step.split(" ", 1)
    return ("%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: keepalive\r\n\r\n"
            % (method, path)).encode(), method == "HEAD"


def response(head_only):
    global buf
    while b"\r\n\r\n" not in buf:
        read_more()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1]
    hdr = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        hdr[k.strip().lower()] = v.strip()
    n = int(hdr.get("content-length", "0"))
    body = b""
    if not head_only and status not in ("304",):
        while len(buf) < n:
            read_more()
        body, buf = buf[:n], buf[n:]
    out = [status, hdr.get("content-length", "-"), hashlib.sha256(body).hexdigest()]
    for k in ("content-type", "etag", "last-modified", "cache-control",
              "content-range", "connection"):
        if k in hdr:
            out.append("%s=%s" % (k, hdr[k]))
    print(" ".join(out))
    sys.stdout.flush()


i = 0
slow = False
while i < len(steps):
    st = steps[i]
    if st == "SLOW":
        slow = True
        i += 1
        continue
    if st == "EOF":
        try:
            s.settimeout(3)
            read_more()
            print("open")
        except (EOFError, ConnectionResetError):
            print("eof")
        except socket.timeout:
            print("open")
        i += 1
        continue
    if st.startswith("PIPE "):
        n = int(st[5:])
        reqs = [request(x) for x in steps[i + 1:i + 1 + n]]
        s.sendall(b"".join(r for r, _ in reqs))
        for _, h in reqs:
            response(h)
        i += 1 + n
        continue
    req, head_only = request(st)
    if slow:
        s.sendall(req[:10])
        time.sleep(0.3)
        s.sendall(req[10:])
        slow = False
    else:
        s.sendall(req)
    response(head_only)
    i += 1

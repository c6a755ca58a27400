#!/usr/bin/env python3
"""per-ip.py PORT LIMIT: checks the binhost's per-IP connection limit
without timing guesses.

The server counts a connection against its client's address from
accept until its worker thread has processed the close, so connections
a client has already closed (the start-up health check's) may still
hold slots for a while.  Rather than guessing how long, this waits on
the server's own count: it opens one keep-alive connection and asks
/metrics over it until binhost_connections is 1, i.e. the server holds
no connection but this one (libmicrohttpd gives the per-IP slot back
before it drops the connection from that count).  The wait is bounded
by 90 s, beyond the server's 30 s idle timeout, which reaps a
connection whose close was never seen.  Every client of the test is on
127.0.0.1.

From there all is determined: LIMIT - 1 more connections are served;
one more is closed without a response (a timeout is a failure, not a
refusal); the LIMIT held ones are still served; and
once the server has seen one of them closed (binhost_connections again,
over another held one), a new connection is served in its place.
Prints what failed and exits 1 on failure."""
import socket
import sys
import time

port, limit = int(sys.argv[1]), int(sys.argv[2])
DEADLINE = time.monotonic() + 90
TIMEOUT = 30


def request(s, path):
    """Sends one GET on s; the body of a 200, or None."""
    try:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                return None
            body += chunk
        return body
    except TimeoutError:
        # Not an answer either way: the server did not even close it.
        sys.exit("per-ip: no answer nor close within %d s" % TIMEOUT)
    except OSError:
        return None


def served(s):
    return request(s, b"/healthz") is not None


def connections(s):
    """The server's binhost_connections, asked over s; None if refused."""
    body = request(s, b"/metrics")
    if body is None:
        return None
    for line in body.split(b"\n"):
        if line.startswith(b"binhost_connections "):
            return int(line.split()[1])
    sys.exit("per-ip: no binhost_connections in /metrics")


def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def wait_connections(s, want):
    """Asks over s until the server holds exactly `want` connections."""
    while True:
        n = connections(s)
        if n is None:
            return False
        if n == want:
            return True
        if time.monotonic() > DEADLINE:
            sys.exit("per-ip: the server still holds %d connections, "
                     "not %d" % (n, want))
        time.sleep(0.05)


# One connection the server serves and that it holds alone.  Opening it
# can itself be refused while closed connections still hold every slot.
while True:
    first = connect()
    if wait_connections(first, 1):
        break
    first.close()
    if time.monotonic() > DEADLINE:
        sys.exit("per-ip: no connection was served")
    time.sleep(0.05)

held = [first] + [connect() for _ in range(limit - 1)]
for i, s in enumerate(held):
    if not served(s):
        sys.exit("per-ip: connection %d of %d was refused" % (i + 1, limit))

extra = connect()
if served(extra):
    sys.exit("per-ip: connection %d was served past the limit" % (limit + 1))
extra.close()
for i, s in enumerate(held):
    if not served(s):
        sys.exit("per-ip: held connection %d was dropped" % (i + 1))

# A slot comes back when the server has seen a connection closed.
if limit >= 2:
    held.pop().close()
    if not wait_connections(held[0], limit - 1):
        sys.exit("per-ip: held connection 1 was dropped")
    again = connect()
    if not served(again):
        sys.exit("per-ip: a freed slot was not given to a new connection")
print("ok")

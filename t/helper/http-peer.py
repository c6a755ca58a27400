#!/usr/bin/env python3
"""A tiny HTTP/1.1 server for t0090: answers every request with
"<path> <body>" (Content-Length framed), counts the connections it
accepted in PORTFILE.conns, and, by MODE, keeps connections alive
("keep"), closes each after its response without saying so ("drop", as
a server whose idle timeout fired), or says "Connection: close"
("close").  usage: http-peer.py MODE PORTFILE"""
import socket
import sys
import threading

mode, portfile = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
conns = 0
lock = threading.Lock()


def serve(c):
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            break
        _, path, _ = line.decode().split(" ", 2)
        clen = 0
        while True:
            h = f.readline().decode()
            if h in ("\r\n", ""):
                break
            k, v = h.split(":", 1)
            if k.lower() == "content-length":
                clen = int(v)
        body = f.read(clen).decode() if clen else ""
        out = ("%s %s" % (path, body)).encode()
        hdr = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(out)
        if mode == "close":
            hdr += "Connection: close\r\n"
        c.sendall(hdr.encode() + b"\r\n" + out)
        if mode != "keep":
            break
    f.close()
    c.close()


def count():
    with open(portfile + ".conns", "w") as out:
        out.write("%d\n" % conns)


count()
with open(portfile + ".tmp", "w") as out:
    out.write("%d\n" % srv.getsockname()[1])
import os
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = srv.accept()
    with lock:
        conns += 1
        count()
    threading.Thread(target=serve, args=(c,), daemon=True).start()

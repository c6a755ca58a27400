#!/usr/bin/env python3
"""unit-exec.py UNIT KEY [ENVFILE] [--without-user]: runs the command of
the systemd unit file UNIT's KEY line (ExecStart, ExecStartPre) as
systemd would: words as systemd splits them (quotes), the unit's
Environment= assignments, then ENVFILE as its
EnvironmentFile= (NAME=value lines, quotes removed, # comments), then
"${NAME}" replaced by the value as one word and a "$NAME" word by the
value split at white space (systemd.service(5), "Command lines").  The
process execs the command, so its pid is the daemon's.  --without-user
drops a "-u VALUE" pair, to show what the daemon does without it.
With --print it prints the words, one a line, instead."""
import os
import re
import shlex
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = [a for a in sys.argv[1:] if a.startswith("--")]
unit, key = args[0], args[1]
envfile = args[2] if len(args) > 2 else None

env = {}
cmd = None
for line in open(unit):
    line = line.strip()
    if line.startswith("Environment="):
        for a in shlex.split(line[len("Environment="):]):
            k, _, v = a.partition("=")
            env[k] = v
    elif line.startswith(key + "="):
        cmd = line[len(key) + 1:]
if cmd is None:
    sys.exit("unit-exec: no %s= in %s" % (key, unit))
if envfile is not None:
    for line in open(envfile):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        env[k.strip()] = v
cmd = cmd.lstrip("-@:+!")
words = []
for w in shlex.split(cmd):
    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
    if m:
        words += env.get(m.group(1), "").split()
        continue
    w = re.sub(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
               lambda m: env.get(m.group(1), ""), w)
    words.append(w.replace("$$", "$"))
if "--without-user" in flags:
    i = words.index("-u")
    del words[i:i + 2]
if "--print" in flags:
    print("\n".join(words))
    sys.exit(0)
os.execve(words[0], words, dict(os.environ, **env))

#!/usr/bin/env python3
"""Reload benchmark (issue 5). With COUNT servers running under `controller run`, saves EDITS
manifest edits one at a time, 150 ms apart (rename-save, as editors do; each changes the
command, so each is a replace) and measures, from the log's timestamps, file saved -> `replace`
issued and -> the new instance ready: p50 and p99. Then runs IDLE_COUNT servers and measures the controller's CPU and
RSS while idle for IDLE_SECONDS. Usage: reload.py CONTROLLER COUNT EDITS IDLE_COUNT IDLE_SECONDS"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

controller, count, edits, idle_count, idle_seconds = sys.argv[1], *map(int, sys.argv[2:6])
bin_dir = os.path.dirname(controller)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manifest(name, variant=0):
    return (f"name: {name}\ndescription: reload benchmark server\ntransport: stdio\n"
            f"command: [mcp-demo, --name, v{variant}]\n")


def make_root(n):
    root = tempfile.mkdtemp(prefix="omni-bench-reload-")
    os.makedirs(f"{root}/servers")
    os.makedirs(f"{root}/config")
    names = [f"bench-{i:03d}" for i in range(n)]
    for name in names:
        with open(f"{root}/servers/{name}.yaml", "w") as f:
            f.write(manifest(name))
    with open(f"{root}/config/default.yaml", "w") as f:
        f.write("log: { level: info }\nfeatures:\n" + "".join(f"  {n}: {{ enabled: true }}\n" for n in names))
    with open(f"{root}/.env.example", "w") as f:
        f.write("OMNI_API_TOKENS=\n")
    return root, names


def start(root):
    port = free_port()
    log = open(f"{root}/controller.log", "w")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": root}
    proc = subprocess.Popen([controller, "run", "--root", root, "--listen", f"127.0.0.1:{port}"], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200:
                return proc, port
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit("bench: not ready after 120 s")


def records(root, offset):
    with open(f"{root}/controller.log", "rb") as f:
        f.seek(offset)
        data = f.read()
    # Only whole lines: a line still being written is read again next time, not dropped.
    complete = data[:data.rfind(b"\n") + 1]
    text, end = complete.decode("utf-8", "replace"), offset + len(complete)
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out, end


def ts(record):
    return datetime.strptime(record["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


root, names = make_root(count)
proc, port = start(root)
offset = os.path.getsize(f"{root}/controller.log")
to_action, to_ready = [], []
for i in range(edits):
    name = names[i % count]
    tmp = f"{root}/servers/{name}.yaml.tmp"
    with open(tmp, "w") as f:
        f.write(manifest(name, i + 1))
    saved = time.time()
    os.rename(tmp, f"{root}/servers/{name}.yaml")
    action = ready = None
    deadline = time.time() + 30
    while ready is None and time.time() < deadline:
        batch, offset = records(root, offset)
        for r in batch:
            if r.get("srv") != name:
                continue
            if r.get("event") == "action.replace" and action is None:
                action = ts(r)
            if r.get("event") == "ready" and action is not None:
                ready = ts(r)
        time.sleep(0.002)
    if action is None or ready is None:
        raise SystemExit(f"bench: edit {i} of {name} was not applied within 30 s")
    to_action.append((action - saved) * 1000)
    to_ready.append((ready - saved) * 1000)
    # Edits closer together than the debounce's quiet period (100 ms) are coalesced by design;
    # space them so each one measures a single save.
    time.sleep(0.15)
proc.send_signal(signal.SIGTERM)
proc.wait(timeout=60)
shutil.rmtree(root)
print(f"reload: {count} servers, {edits} rename-saved edits: save -> replace issued p50 {percentile(to_action, 50):.1f} ms, "
      f"p99 {percentile(to_action, 99):.1f} ms; save -> new instance ready p50 {percentile(to_ready, 50):.1f} ms, "
      f"p99 {percentile(to_ready, 99):.1f} ms")

root, names = make_root(idle_count)
started = time.time()
proc, port = start(root)
ready_after = time.time() - started


def usage(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


time.sleep(2)
cpu0, _ = usage(proc.pid)
_, log_offset = records(root, 0)
time.sleep(idle_seconds)
cpu1, rss = usage(proc.pid)
# Idle means idle: a crash loop or a probe failure would show here, not only as CPU.
idle_events = [r.get("event") for r in records(root, log_offset)[0]]
incidents = sum(1 for e in idle_events if e in ("spawned", "exited", "unhealthy", "probe_failed"))
stop_start = time.time()
proc.send_signal(signal.SIGTERM)
proc.wait(timeout=120)
print(f"idle: {idle_count} servers ready after {ready_after:.1f} s; controller CPU {(cpu1 - cpu0) / idle_seconds * 100:.2f}% "
      f"of a core over {idle_seconds} s (default probes every 15 s), RSS {rss / 1048576:.1f} MiB; "
      f"SIGTERM to exit {time.time() - stop_start:.2f} s; {incidents} spawn/exit/probe-failure events while idle")
shutil.rmtree(root)

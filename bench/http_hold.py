#!/usr/bin/env python3
"""Held-connection part of bench/http.sh. Opens COUNT TCP connections to the controller at
127.0.0.1:PORT from this one process (non-blocking sockets and `selectors`), of one KIND:

  idle     connect and send nothing
  partial  send a request line and a header but not the blank line that ends the head
  sse      send `GET /events` (Accept: text/event-stream) and read the response head, then keep
           reading (and discarding) the stream

Samples the controller (VmRSS, Threads from /proc/PID/status; open descriptors from
/proc/PID/fd) before, SETTLE seconds after the last connection was opened, and at the end of
HOLD seconds; at the first sample also times `curl /readyz` and `curl /status` on fresh
connections. Keeps every socket serviced while curl runs. Prints one Markdown table row to stdout
and notes (after-close figures, the 404 of a missing /events) to NOTES.

Usage: http_hold.py PID PORT KIND COUNT [--hold S] [--settle S] [--notes FILE]"""

import argparse
import errno
import os
import resource
import selectors
import socket
import subprocess
import time
from collections import Counter

parser = argparse.ArgumentParser()
parser.add_argument("pid", type=int)
parser.add_argument("port", type=int)
parser.add_argument("kind", choices=["idle", "partial", "sse"])
parser.add_argument("count", type=int)
parser.add_argument("--hold", type=float, default=5.0, help="seconds from the last connect to closing all")
parser.add_argument("--settle", type=float, default=1.0, help="seconds from the last connect to the first sample")
parser.add_argument("--notes", default=None)
args = parser.parse_args()

PAYLOAD = {
    "idle": b"",
    "partial": b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
    "sse": b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
}[args.kind]
HEAD_LIMIT = 16384
CONNECT_BATCH = 100      # connects issued per step
CONNECT_STEP = 0.005     # seconds of event loop between steps
CONNECT_DEADLINE = 5.0   # a connect still pending after this is counted as pending

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard == resource.RLIM_INFINITY or hard > soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = hard
count = args.count
if soft != resource.RLIM_INFINITY and count + 64 > soft:
    count = max(0, soft - 64)


def note(text):
    if args.notes:
        with open(args.notes, "a") as f:
            f.write(text + "\n")


def proc_sample(pid):
    """(rss_mib, threads, fds) of the controller, or None when it is gone."""
    try:
        fields = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"]), fds
    except (OSError, KeyError, ValueError):
        return None


class Conn:
    __slots__ = ("sock", "state", "head", "status", "received", "error", "event_stream")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connecting"   # connecting, open, closed (by the server), reset, failed
        self.head = b""
        self.status = None          # status code of the response head, once it is complete
        self.received = 0
        self.error = None
        self.event_stream = False   # the head said Content-Type: text/event-stream


selector = selectors.DefaultSelector()
conns = []


def finish(conn, state, error=None):
    if conn.state in ("connecting", "open"):
        conn.state = state
        conn.error = error
        try:
            selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass


def parse_status(conn):
    end = conn.head.find(b"\r\n")
    if end < 0:
        return
    parts = conn.head[:end].split(b" ")
    if len(parts) >= 2 and parts[1].isdigit():
        conn.status = int(parts[1])
    else:
        conn.status = -1


def on_writable(conn):
    err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        finish(conn, "failed", errno.errorcode.get(err, str(err)))
        return
    conn.state = "open"
    if PAYLOAD:
        try:
            # Small enough to go out in one send on a fresh connection.
            conn.sock.send(PAYLOAD)
        except OSError as e:
            finish(conn, "reset", errno.errorcode.get(e.errno, str(e.errno)))
            return
    selector.modify(conn.sock, selectors.EVENT_READ, conn)


def on_readable(conn):
    try:
        data = conn.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as e:
        finish(conn, "reset", errno.errorcode.get(e.errno, str(e.errno)))
        return
    if not data:
        if conn.status is None and conn.head:
            parse_status(conn)
        finish(conn, "closed")
        return
    conn.received += len(data)
    if conn.status is None:
        conn.head = (conn.head + data)[:HEAD_LIMIT]
        if b"\r\n\r\n" in conn.head or len(conn.head) >= HEAD_LIMIT:
            parse_status(conn)
            conn.event_stream = b"content-type: text/event-stream" in conn.head.lower()
            conn.head = conn.head[:200]


def pump(seconds):
    """Services every socket for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        for key, events in selector.select(timeout=min(left, 0.05)):
            conn = key.data
            if conn.state == "connecting":
                on_writable(conn)
            elif events & selectors.EVENT_READ:
                on_readable(conn)


def tally():
    states = Counter(c.state for c in conns)
    answers = Counter(c.status for c in conns if c.status is not None)
    errors = Counter(c.error for c in conns if c.error)
    return states, answers, errors


def curl(path):
    """Starts curl on a fresh connection; returns the process (its output: code and seconds)."""
    return subprocess.Popen(
        ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code} %{time_total}",
         f"http://127.0.0.1:{args.port}{path}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def timed(path):
    """Runs curl while keeping the held sockets serviced; returns 'CODE T ms'."""
    p = curl(path)
    deadline = time.monotonic() + 8
    while p.poll() is None and time.monotonic() < deadline:
        pump(0.005)
    if p.poll() is None:
        p.kill()
        p.wait()
        return "no answer in 8 s"
    out = p.stdout.read().split()
    if len(out) != 2:
        return "curl failed"
    code, seconds = out
    if p.returncode == 28:
        return f"timed out after 5 s (status {code})"
    if code == "000":
        return f"failed after {float(seconds) * 1000:.1f} ms"
    return f"{code} in {float(seconds) * 1000:.1f} ms"


def answers_text(answers, states):
    parts = [f"{code if code != -1 else 'garbled'} ×{n}" for code, n in sorted(answers.items())]
    unanswered_closed = sum(1 for c in conns if c.state == "closed" and c.status is None)
    if unanswered_closed:
        parts.append(f"closed silently ×{unanswered_closed}")
    # A reset after an answer is the server closing with our unread request in its buffer
    # (after a 503, say): already counted by its status. Only unanswered resets are listed.
    reset_unanswered = sum(1 for c in conns if c.state == "reset" and c.status is None)
    if reset_unanswered:
        parts.append(f"reset before an answer ×{reset_unanswered}")
    return ", ".join(parts) or "none"


before = proc_sample(args.pid)
if before is None:
    raise SystemExit(f"http_hold: controller pid {args.pid} is gone")

# Open the connections, CONNECT_BATCH at a time with the loop running in between, so the
# listen backlog sees a burst per step rather than all COUNT SYNs at once.
opened_at = time.monotonic()
while len(conns) < count:
    for _ in range(min(CONNECT_BATCH, count - len(conns))):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        conn = Conn(s)
        conns.append(conn)
        err = s.connect_ex(("127.0.0.1", args.port))
        if err in (0, errno.EINPROGRESS):
            selector.register(s, selectors.EVENT_WRITE, conn)
        else:
            conn.state = "failed"
            conn.error = errno.errorcode.get(err, str(err))
    pump(CONNECT_STEP)
# Let pending handshakes complete (bounded).
while any(c.state == "connecting" for c in conns) and time.monotonic() - opened_at < CONNECT_DEADLINE:
    pump(0.02)
last_connect = time.monotonic()
connected = sum(1 for c in conns if c.state != "connecting" and c.state != "failed")
pump(args.settle)

first_at = time.monotonic() - last_connect
states1, answers1, _ = tally()
sample1 = proc_sample(args.pid)
readyz = timed("/readyz")
status = timed("/status")

pump(max(0.0, args.hold - (time.monotonic() - last_connect)))
end_at = time.monotonic() - last_connect
states2, answers2, errors2 = tally()
sample2 = proc_sample(args.pid)

for c in conns:
    try:
        selector.unregister(c.sock)
    except (KeyError, ValueError):
        pass
    c.sock.close()
closed_at = time.monotonic()
time.sleep(1.5)
after = proc_sample(args.pid)

label = {"idle": "idle (nothing sent)", "partial": "partial head (no blank line)", "sse": "GET /events streams"}[args.kind]
open1 = states1.get("open", 0)
open2 = states2.get("open", 0)
if args.kind == "sse":
    ok1 = sum(1 for c in conns if c.status == 200 and c.state == "open")
    open_text1 = f"{open1} ({ok1} with a 200 head)"
else:
    open_text1 = f"{open1} ({sum(1 for c in conns if c.state == 'open' and c.status is None)} unanswered)"


def fmt(sample, index, spec):
    return "gone" if sample is None else format(sample[index], spec)


print(f"| {count} {label} | {connected}/{count} | {open_text1} @{first_at:.1f} s | {open2} @{end_at:.1f} s "
      f"| {answers_text(answers2, states2)} | {fmt(before, 2, 'd')} → {fmt(sample1, 2, 'd')} "
      f"| {fmt(before, 0, '.1f')} → {fmt(sample1, 0, '.1f')} | {fmt(before, 1, 'd')} → {fmt(sample1, 1, 'd')} "
      f"| {readyz} | {status} |")

notes = [f"{args.kind}: after closing all ({time.monotonic() - closed_at:.1f} s later): "
         f"threads {fmt(after, 1, 'd')}, RSS {fmt(after, 0, '.1f')} MiB, fds {fmt(after, 2, 'd')}; "
         f"at end of hold: threads {fmt(sample2, 1, 'd')}, RSS {fmt(sample2, 0, '.1f')} MiB"]
if count < args.count:
    notes.append(f"{args.kind}: only {count} of {args.count} connections opened: RLIMIT_NOFILE hard limit {hard}")
if states2.get("failed") or states2.get("connecting"):
    notes.append(f"{args.kind}: connect failed ×{states2.get('failed', 0)} ({dict(errors2)}), "
                 f"still pending after {CONNECT_DEADLINE:.0f} s ×{states2.get('connecting', 0)}")
if args.kind == "sse":
    if answers2.get(404):
        note_text = (f"sse: GET /events answered 404 on {answers2[404]} connection(s): the endpoint does not exist "
                     f"in this build (streams not measured; the row shows plain held keep-alive connections)")
        notes.append(note_text)
    streams = [c for c in conns if c.status == 200]
    if streams:
        notes.append(f"sse: {len(streams)} stream(s) got a 200 head ({sum(1 for c in streams if c.event_stream)} with "
                     f"Content-Type: text/event-stream); {sum(1 for c in streams if c.state == 'open')} "
                     f"still open at end of hold; {sum(c.received for c in streams)} bytes received on them in all")
for n in notes:
    note(n)

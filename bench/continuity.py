"""Driver for bench/continuity.sh: what clients see of a replacement and of the aggregate.

  continuity.py replace PORT ROOT DEMO THREADS SECONDS
      THREADS keep-alive clients call mcp-demo's echo on /mcp/demo (2026-07-28, stateless) for
      SECONDS; a third of the way in, servers/demo.yaml is rewritten so that the server is
      replaced. Prints one `BENCH` line: calls, failures, calls/s, p50/p99 before the edit,
      p99 from the edit until the old process is gone (plus 0.5 s), and how long that took.
  continuity.py list PORT COUNT
      One `tools/list` on the aggregate /mcp, then COUNT more on the same connection. Prints
      one `BENCH` line: the first's time, p50 and p99 of the rest (ms), and the tools listed.

Clients are Python (http.client): their own cost is in every figure, for both phases alike.
"""

import http.client
import json
import os
import sys
import threading
import time

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def post(conn, path, method, params, name=None):
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name:
        headers["Mcp-Name"] = name
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}})
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def ready_pid(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/status")
    status = json.loads(conn.getresponse().read())
    conn.close()
    server = next(s for s in status["servers"] if s["name"] == "demo")
    return next((i["pid"] for i in server["instances"] if i["phase"] == "ready"), None)


def replace(port, root, demo, threads, seconds):
    records = []  # (start, latency, ok)
    lock = threading.Lock()
    stop = threading.Event()

    def client(number):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            text = f"client {number}"
            started = time.monotonic()
            try:
                status, reply = post(conn, "/mcp/demo", "tools/call", {"name": "echo", "arguments": {"text": text}}, "echo")
                ok = status == 200 and reply["result"]["content"][0]["text"] == text
            except Exception:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                records.append((started, time.monotonic() - started, ok))

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    begin = time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(seconds / 3)
    old = ready_pid(port)
    edited = time.monotonic()
    path = os.path.join(root, "servers", "demo.yaml")
    with open(path) as f:
        manifest = f.read()
    with open(path + ".tmp", "w") as f:
        f.write(manifest.replace(json.dumps([demo]), json.dumps([demo, "--name", "replaced"])))
    os.replace(path + ".tmp", path)
    deadline = edited + 60
    while time.monotonic() < deadline:
        pid = ready_pid(port)
        if pid not in (None, old) and not os.path.exists(f"/proc/{old}"):
            break
        time.sleep(0.02)
    done = time.monotonic()
    time.sleep(max(0.0, begin + seconds - time.monotonic()))
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    steady = [latency for started, latency, ok in records if started + latency < edited]
    during = [latency for started, latency, ok in records if edited <= started <= done + 0.5]
    failures = sum(1 for _, _, ok in records if not ok)
    elapsed = max(started + latency for started, latency, _ in records) - begin
    print(f"BENCH calls={len(records)} failures={failures} rps={len(records) / elapsed:.0f} "
          f"steady_p50_ms={percentile(steady, 0.5) * 1000:.3f} steady_p99_ms={percentile(steady, 0.99) * 1000:.3f} "
          f"during_calls={len(during)} during_p99_ms={percentile(during, 0.99) * 1000:.3f} "
          f"replace_ms={(done - edited) * 1000:.0f}")


def aggregate_list(port, count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.monotonic()
    status, reply = post(conn, "/mcp", "tools/list", {})
    first = time.monotonic() - started
    assert status == 200, reply
    tools = len(reply["result"]["tools"])
    times = []
    for _ in range(count):
        started = time.monotonic()
        status, reply = post(conn, "/mcp", "tools/list", {})
        times.append(time.monotonic() - started)
        assert status == 200 and len(reply["result"]["tools"]) == tools, reply
    print(f"BENCH first_ms={first * 1000:.3f} p50_ms={percentile(times, 0.5) * 1000:.3f} "
          f"p99_ms={percentile(times, 0.99) * 1000:.3f} tools={tools}")


if __name__ == "__main__":
    if sys.argv[1] == "replace":
        replace(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    else:
        aggregate_list(int(sys.argv[2]), int(sys.argv[3]))

"""The controller's HTTP layer as real clients see it: Python's `http.client` and raw sockets
against `controller run` on a minimal root (no servers, empty `.env.example`).

What this pins (issue 11):
- keep-alive (one connection, many requests), pipelining (three requests in one write, three
  answers in order), chunked request bodies, HEAD, HTTP/1.0 and 1.1;
- hostile input gets a clean status or a dropped connection, and other clients are unaffected;
- with 2,000 idle or half-sent connections held open, `/readyz` and `/status` on a new
  connection are still answered, and the controller's thread count does not grow with them;
- `/events` is a Server-Sent Events stream with keep-alive comments;
- a request trickled a few bytes per write is answered once whole, and one trickled slower
  than the head deadline (5 s: `HTTPLimits.headTimeout`, which `controller run` keeps) gets
  408 and is closed before it is whole.

The binary comes from $CONTROLLER (default: <repo>/.build/debug/controller). Socket timeouts
bound every wait, so a stall fails a test instead of hanging it.
"""

import http.client
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROLLER = os.environ.get("CONTROLLER", os.path.join(ROOT, ".build", "debug", "controller"))
HELD = 2000
HEAD_TIMEOUT = 5.0  # HTTPLimits.headTimeout: `controller run` sets only body limits


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def controller():
    if not os.access(CONTROLLER, os.X_OK):
        pytest.fail(f"controller binary not found at {CONTROLLER}; run `swift build` or set CONTROLLER")
    root = tempfile.mkdtemp(prefix="omni-http-")
    os.makedirs(os.path.join(root, "servers"))
    os.makedirs(os.path.join(root, "config"))
    open(os.path.join(root, "config", "default.yaml"), "w").close()
    open(os.path.join(root, ".env.example"), "w").close()
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root}
    process = subprocess.Popen(
        [CONTROLLER, "run", "--root", root, "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the controller did not listen within 20 s")
    yield process, port
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(root, ignore_errors=True)


def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends `data` on a new connection and reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_to_close(s)


def read_to_close(s: socket.socket) -> bytes:
    """Reads until the server closes the connection (or resets it)."""
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


def answered(s: socket.socket) -> bool:
    """Whether the server has sent anything yet (without waiting)."""
    return bool(select.select([s], [], [], 0)[0])


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def test_keep_alive_serves_many_requests_on_one_connection(controller):
    _, port = controller
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(20):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b"ok\n"
    first_socket = conn.sock
    conn.request("GET", "/readyz")
    response = conn.getresponse()
    assert response.status == 200 and response.read().startswith(b"ready")
    assert conn.sock is first_socket, "the connection was not kept alive"
    conn.close()


def test_pipelined_requests_are_answered_in_order(controller):
    _, port = controller
    data = raw(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"404", b"200"]
    assert data.index(b"ok\n") < data.index(b"not found: /nope") < data.index(b"ready:")


def test_a_chunked_body_is_read_and_the_connection_stays_usable(controller):
    _, port = controller
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/status", body=iter([b"ab", b"cd"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    assert response.status == 405  # the admin API is read-only; the body was still framed right
    response.read()
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()


def test_a_foreign_origin_is_refused_and_a_loopback_one_allowed(controller):
    _, port = controller
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/status", headers={"Origin": "https://evil.example"})
    response = conn.getresponse()
    assert response.status == 403 and response.read() == b"origin not allowed\n"
    conn.request("GET", "/status", headers={"Origin": f"http://localhost:{port}"})
    response = conn.getresponse()
    assert response.status == 200
    response.read()
    conn.close()


def test_head_and_http_10(controller):
    _, port = controller
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("HEAD", "/healthz")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == "3"
    assert response.read() == b""
    conn.close()
    data = raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in data and data.endswith(b"ok\n")


@pytest.mark.parametrize("request_bytes,status", [
    (b"POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", b"400"),
    (b"POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", b"400"),
    (b"POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"400"),
    (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", b"414"),
    (b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n", b"431"),
    (b"POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999\r\n\r\n", b"413"),
    (b"POST /status HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 100 + b"\r\n", b"431"),
    (b"GET /healthz HTTP/1.1\r\n\r\n", b"400"),
    (b"GET /healthz HTTP/1.1\r\nHost: rebind.example.com\r\n\r\n", b"421"),
    (b"\r\n" * (1 << 19), b"400"),
])
def test_hostile_input_gets_a_clean_status(controller, request_bytes, status):
    _, port = controller
    data = raw(port, request_bytes)
    assert data.split(b" ")[1] == status, data[:200]
    assert b"Connection: close" in data
    # Nobody else noticed.
    assert raw(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").endswith(b"ok\n")


def test_events_streams_the_log_as_server_sent_events(controller):
    process, port = controller
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.readline() == b"retry: 2000\n"
    process.send_signal(signal.SIGHUP)  # a reload logs config.loaded
    for _ in range(50):
        line = response.readline()
        if line.startswith(b"data: ") and b'"event":"config.loaded"' in line:
            break
    else:
        pytest.fail("no config.loaded event on the stream")
    metrics = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    metrics.request("GET", "/metrics")
    text = metrics.getresponse().read().decode()
    assert "omni_http_event_streams 1" in text
    assert "omni_http_connections_accepted_total" in text
    conn.close()


def test_thousands_of_idle_and_half_sent_connections_starve_nobody(controller):
    process, port = controller
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    before = threads(process.pid)
    held = []
    try:
        for index in range(HELD):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if index % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # unfinished head
            held.append(s)
        for path in ("/readyz", "/status"):
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.monotonic() - started
            print(f"{path} with {HELD} connections held: {response.status} in {elapsed * 1000:.1f} ms")
            assert response.status == 200, body
            conn.close()
        # No thread per connection: the count does not grow with the connections held.
        assert threads(process.pid) <= before + 2
    finally:
        for s in held:
            s.close()


def test_a_trickled_request_is_answered_once_whole(controller):
    _, port = controller
    request = b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nX-Trickle: split across writes\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), 4):
            s.sendall(request[start:start + 4])
            if start + 4 < len(request):
                assert not answered(s), f"answered after {start + 4} of {len(request)} bytes"
                time.sleep(0.01)  # the trickle's pace, not a synchronisation
        data = read_to_close(s)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200]
    assert data.endswith(b"\r\n\r\nready: 0 server(s)\n"), data[-200:]


def test_a_trickle_slower_than_the_head_deadline_gets_408_and_is_closed(controller):
    """58 bytes at one per 150 ms take at least 8.7 s, past the 5 s head deadline, while every
    gap is far inside it: only a deadline measured from the request's first byte stops it."""
    _, port = controller
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert len(request) * 0.15 > HEAD_TIMEOUT + 3
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in request:
            if answered(s):
                break
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            time.sleep(0.15)  # the trickle's pace, not a synchronisation
        data = read_to_close(s)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data[:200]
    assert b"Connection: close" in data
    assert sent < len(request), "the whole request went out before the deadline"
    # Nobody else noticed.
    assert raw(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").endswith(b"ok\n")

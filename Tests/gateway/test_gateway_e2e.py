"""The gateway as real clients see it: `controller run` with real MCP servers as children, and
the official Python SDK (2.x in modern, legacy and auto modes; 1.x in a venv of its own), raw
HTTP and raw sockets as clients of `/mcp/<name>`.

What this pins (issue 12):
- every client mode reaches every server era (mcp-demo dual, --era legacy, --era modern) and
  mcp-server-time from PyPI: list, call, progress;
- a client that abandons a call cancels it at the child; a legacy GET stream and DELETE;
- 50 clients x 100 calls whose JSON-RPC ids all collide: every reply reaches its asker;
- a modern and a legacy client on one child, 1,000 calls each: no failure, one pid;
- a child killed mid-call: the client gets an error at once, and the server serves again;
- a 10 rps / burst 20 limit admits what the bucket allows, with Retry-After on the rest;
- hostile HTTP and JSON-RPC: clean 4xx, never a crash, other clients unaffected; tokens;
- with 2,000 idle or half-sent connections open, a tools/call on a new one is answered (its
  time is printed, not asserted: tests do not judge speed).

Binaries: $CONTROLLER and $MCP_DEMO (default: <repo>/.build/debug/...). Every wait is bounded.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time

import anyio
import pytest
from harness import (
    BUDGET, FAST, MODERN, SDK1_PYTHON, TIME_SERVER, Controller, Raw, demo, run_concurrently, text_of,
)
from mcp import Client, MCPError

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def controller():
    c = Controller({
        "demo": (demo(), FAST),
        "legacy": (demo("--era", "legacy"), FAST),
        "modern": (demo("--era", "modern"), FAST),
        "time": ([TIME_SERVER], FAST),
        "limited": (demo(), "{ rps: 10, burst: 20, concurrency: 8, request_timeout: 10s }"),
        "fragile": (demo(), FAST),
        "asker": (demo("--era", "legacy", "--ask-roots"), FAST),
    })
    yield c
    c.stop()


# --- The official SDK, every mode against every era ---------------------------------------

@pytest.mark.parametrize("server", ["demo", "legacy", "modern"])
@pytest.mark.parametrize("mode", [MODERN, "legacy", "auto"])
async def test_sdk2_lists_calls_and_gets_progress_in_every_mode_and_era(controller, server, mode):
    with anyio.fail_after(BUDGET):
        async with Client(controller.url(server), mode=mode) as client:
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == ["echo", "add", "sleep", "clock", "fetch"]
            assert text_of(await client.call_tool("echo", {"text": f"{server} {mode}"})) == f"{server} {mode}"
            updates = []

            async def progress(value, total, message):
                updates.append(value)

            result = await client.call_tool("sleep", {"ms": 300}, progress_callback=progress)
            assert "slept 300 ms" in text_of(result)
            assert updates and updates == sorted(updates)


@pytest.mark.parametrize("mode", [MODERN, "legacy", "auto"])
async def test_sdk2_calls_mcp_server_time_from_pypi(controller, mode):
    with anyio.fail_after(BUDGET):
        async with Client(controller.url("time"), mode=mode) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert "get_current_time" in names
            result = await client.call_tool("get_current_time", {"timezone": "UTC"})
            assert json.loads(text_of(result))["timezone"] == "UTC"
            with pytest.raises(MCPError):
                await client.call_tool("no_such_tool", {})


@pytest.mark.parametrize("mode", [MODERN, "legacy"])
async def test_an_abandoned_call_is_cancelled_at_the_child_which_keeps_serving(controller, mode):
    with anyio.fail_after(BUDGET):
        before = controller.read_log().count("cancelled request")
        async with Client(controller.url("demo"), mode=mode) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("sleep", {"ms": 20_000})
            assert text_of(await client.call_tool("echo", {"text": "still here"})) == "still here"
        deadline = time.monotonic() + 10
        while controller.read_log().count("cancelled request") <= before and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        assert controller.read_log().count("cancelled request") > before


@pytest.mark.parametrize("mode", [MODERN, "legacy", "auto"])
async def test_a_legacy_servers_roots_request_reaches_the_calling_client_in_every_mode(controller, mode):
    from mcp.types import ListRootsResult, Root

    asked = []

    async def roots(context):
        asked.append(mode)
        return ListRootsResult(roots=[Root(uri="file:///work/project"), Root(uri="file:///tmp/scratch")])

    with anyio.fail_after(BUDGET):
        async with Client(controller.url("asker"), mode=mode, list_roots_callback=roots) as client:
            result = await client.call_tool("roots", {})
            assert text_of(result) == "file:///work/project\nfile:///tmp/scratch"
            assert asked == [mode]
            # Without the capability the server is told so, and the tool reports it.
        async with Client(controller.url("asker"), mode=mode) as client:
            result = await client.call_tool("roots", {})
            assert result.isError if hasattr(result, "isError") else result.is_error
    assert b'omni_gateway_server_requests_total{server="asker",method="roots/list",outcome="relayed"}' in controller.get("/metrics")[1]


def test_sdk1_legacy_client_lists_calls_and_gets_progress(controller):
    if not os.access(SDK1_PYTHON, os.X_OK):
        pytest.fail(f"SDK 1.x venv missing at {SDK1_PYTHON}; run scripts/setup.sh")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk1_client.py")
    for server in ("demo", "modern", "time", "asker"):
        out = subprocess.run([SDK1_PYTHON, script, controller.url(server)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr[-3000:]
        report = json.loads(out.stdout)
        assert report["version"] in ("2025-06-18", "2025-11-25", "2025-03-26")
        assert report["tools"], report
        if server != "time":
            assert report["echo"] == "from sdk1"
            assert report["progress"] >= 1
        if server == "asker":
            assert report["roots"] == "file:///sdk1"


# --- Raw HTTP: sessions, streams, hostile input -------------------------------------------

def test_legacy_get_stream_ping_and_delete(controller):
    client = Raw(controller.port, "demo")
    client.initialize()
    response, body = client.legacy_call("ping", {})
    assert response.status == 200 and body["result"] == {}
    stream = socket.create_connection(("127.0.0.1", controller.port), timeout=10)
    stream.sendall((f"GET /mcp/demo HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                    f"Mcp-Session-Id: {client.session}\r\n\r\n").encode())
    head = stream.recv(4096)
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    client.conn.request("DELETE", "/mcp/demo", headers={"Mcp-Session-Id": client.session})
    response = client.conn.getresponse()
    response.read()
    assert response.status == 200
    # The stream ends with the session (chunked: the terminating zero-length chunk).
    rest = b""
    stream.settimeout(10)
    while not rest.endswith(b"0\r\n\r\n"):
        chunk = stream.recv(4096)
        if not chunk:
            break
        rest += chunk
    stream.close()
    assert rest.endswith(b"0\r\n\r\n"), "the GET stream did not end cleanly with its session"
    response, body = client.legacy_call("tools/list", {})
    assert response.status == 404 and body["error"]["message"] == "Session not found"


def test_hostile_requests_get_clean_errors_and_others_are_unaffected(controller):
    good = Raw(controller.port, "demo")
    cases = [
        (b"{not json", {}, 400, -32700),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', {}, 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), {"Mcp-Session-Id": "f" * 32}, 404, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), {}, 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}}),
         {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}, 400, -32022),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}}),
         {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "add"}, 400, -32020),
        (b"{}", {"Origin": "https://evil.example"}, 403, None),
    ]
    for body, headers, status, code in cases:
        client = Raw(controller.port, "demo")
        response, raw = client.post(body, headers)
        assert response.status == status, (body, raw)
        if code is not None:
            assert json.loads(raw)["error"]["code"] == code, raw
        response, reply = good.modern_call("tools/call", {"name": "echo", "arguments": {"text": "fine"}})
        assert response.status == 200 and reply["result"]["content"][0]["text"] == "fine"
    # A declared length that never comes, a huge header, a bad length: answered or dropped.
    for data, expected in [
        (b"POST /mcp/demo HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", b"HTTP/1.1 400"),
        (b"POST /mcp/demo HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", b"HTTP/1.1 431"),
        (b"POST /mcp/demo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999\r\n\r\n", b"HTTP/1.1 413"),
    ]:
        with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
            except OSError:
                pass
            assert answer.startswith(expected), answer[:200]
    # A client that sends one byte a second does not hold anyone up.
    slow = socket.create_connection(("127.0.0.1", controller.port), timeout=10)
    slow.sendall(b"P")
    response, reply = good.modern_call("tools/call", {"name": "echo", "arguments": {"text": "meanwhile"}})
    assert reply["result"]["content"][0]["text"] == "meanwhile"
    slow.close()
    assert controller.process.poll() is None


def test_tokens_are_required_when_configured():
    c = Controller({"demo": (demo(), FAST)}, env={"OMNI_API_TOKENS": "tok-one,tok-two"})
    try:
        anonymous = Raw(c.port, "demo")
        response, raw = anonymous.modern_call("tools/list", {})
        assert response.status == 401 and response.getheader("WWW-Authenticate").startswith("Bearer")
        wrong = Raw(c.port, "demo", {"Authorization": "Bearer tok-three"})
        assert wrong.modern_call("tools/list", {})[0].status == 401
        right = Raw(c.port, "demo", {"Authorization": "Bearer tok-two"})
        response, reply = right.modern_call("tools/call", {"name": "echo", "arguments": {"text": "in"}})
        assert response.status == 200 and reply["result"]["content"][0]["text"] == "in"
        assert c.get("/healthz")[0] == 200
    finally:
        c.stop()


# --- Many clients, one child ---------------------------------------------------------------

def test_fifty_clients_with_colliding_ids_each_get_their_own_replies(controller):
    def client(number: int):
        raw = Raw(controller.port, "demo")
        if number % 2:
            raw.initialize()
        for call in range(100):
            text = f"client {number} call {call}"
            params = {"name": "echo", "arguments": {"text": text}}
            response, reply = (raw.legacy_call if number % 2 else raw.modern_call)("tools/call", params, id=7)
            assert response.status == 200 and reply["id"] == 7, (number, call, reply)
            assert reply["result"]["content"][0]["text"] == text, (number, call, reply)

    run_concurrently(client, list(range(50)))


def test_a_modern_and_a_legacy_client_share_one_child_for_a_thousand_calls_each(controller):
    pid = controller.pid("demo")

    def run(legacy: bool):
        raw = Raw(controller.port, "demo")
        if legacy:
            raw.initialize()
        for call in range(1000):
            params = {"name": "add", "arguments": {"a": call, "b": 1}}
            response, reply = (raw.legacy_call if legacy else raw.modern_call)("tools/call", params, id=call)
            assert response.status == 200 and reply["result"]["content"][0]["text"] == str(call + 1), (legacy, call, reply)

    run_concurrently(run, [False, True])
    assert controller.pid("demo") == pid


def test_a_child_killed_mid_call_fails_the_call_at_once_and_comes_back(controller):
    pid = controller.pid("fragile")
    raw = Raw(controller.port, "fragile")
    outcome = {}

    def call():
        outcome["response"] = raw.modern_call("tools/call", {"name": "sleep", "arguments": {"ms": 20_000}})
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=call)
    thread.start()
    controller.wait_in_flight("fragile")
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=10)
    assert not thread.is_alive()
    response, reply = outcome["response"]
    elapsed = outcome["at"] - killed
    print(f"error {elapsed * 1000:.1f} ms after the kill")
    assert response.status == 502 and reply["error"]["code"] == -32006
    assert elapsed < 2, "the client waited for the failure instead of getting it at once"
    controller.wait_ready("fragile", other_than=pid)
    response, reply = Raw(controller.port, "fragile").modern_call("tools/call", {"name": "echo", "arguments": {"text": "back"}})
    assert response.status == 200 and reply["result"]["content"][0]["text"] == "back"


def test_a_rate_limit_admits_what_the_bucket_allows(controller):
    raw = Raw(controller.port, "limited")
    started = time.monotonic()
    statuses = []
    retry_after = set()
    for call in range(60):
        response, reply = raw.modern_call("tools/list", {}, id=call)
        statuses.append(response.status)
        if response.status == 429:
            retry_after.add(response.getheader("Retry-After"))
            assert reply["error"]["code"] == -32001
    elapsed = time.monotonic() - started
    admitted = statuses.count(200)
    assert statuses[:20] == [200] * 20
    assert admitted <= 20 + int(elapsed * 10) + 1
    assert statuses.count(429) == 60 - admitted and retry_after == {"1"}


# --- Held connections ------------------------------------------------------------------------

def test_a_call_is_answered_while_two_thousand_connections_are_held(controller):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    held = []
    try:
        for index in range(2000):
            s = socket.create_connection(("127.0.0.1", controller.port), timeout=10)
            if index % 2:
                s.sendall(b"POST /mcp/demo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
            held.append(s)
        started = time.monotonic()
        response, reply = Raw(controller.port, "demo").modern_call("tools/call", {"name": "echo", "arguments": {"text": "through"}})
        print(f"answered in {(time.monotonic() - started) * 1000:.1f} ms with 2000 connections held")
        assert response.status == 200 and reply["result"]["content"][0]["text"] == "through"
    finally:
        for s in held:
            s.close()

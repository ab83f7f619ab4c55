"""No client notices a restart (issue 13), as real clients see it through `controller run`:

- steady load from several clients (both eras, raw keep-alive HTTP) while a server's manifest is
  edited so that it is replaced, five times in a row: not one failed call; the old process is
  gone after each drain; the clients' next `tools/list` shows the change; the same with the
  official SDK's clients of both eras across three replacements;
- a child killed under load: calls made while it restarts wait and succeed once it is ready;
- a legacy GET stream and a modern `subscriptions/listen` stream each get exactly one
  `tools/list_changed` for a burst of three restarts that changed the tools;
- SIGTERM while a call is in flight: the call is answered, then the controller stops cleanly;
- a legacy session survives controller restarts (SIGTERM and kill -9), raw and with the
  official SDK's legacy client; a tampered or deleted session id is 404.

Every wait is bounded; nothing here judges speed.
"""

import json
import os
import signal
import socket
import threading
import time

import anyio
import pytest
from harness import FAST, MODERN, Controller, Raw, demo, text_of
from mcp import Client


def test_five_replacements_under_steady_load_fail_no_call():
    c = Controller({"demo": (demo(), "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }")})
    try:
        stop = threading.Event()
        calls = [0, 0, 0, 0]
        failures = []

        def client(number: int):
            raw = Raw(c.port, "demo")
            legacy = number % 2 == 1
            if legacy:
                raw.initialize()
            while not stop.is_set():
                # Slow calls too, so that some are in flight at the old process when it drains.
                if calls[number] % 4 == 0:
                    text = "slept 150 ms"
                    params = {"name": "sleep", "arguments": {"ms": 150}}
                else:
                    text = f"client {number} call {calls[number]}"
                    params = {"name": "echo", "arguments": {"text": text}}
                try:
                    response, reply = (raw.legacy_call if legacy else raw.modern_call)("tools/call", params, id=calls[number])
                    if response.status != 200 or reply.get("result", {}).get("content", [{}])[0].get("text") != text:
                        failures.append((number, response.status, reply))
                except Exception as error:  # a dropped connection is a failed call too
                    failures.append((number, "exception", repr(error)))
                calls[number] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        try:
            for edit in range(5):
                old = c.pid("demo")
                # Each edit changes the command line (a replacement); even ones add a tool.
                flags = ["--name", f"omni-demo-{edit}"] + (["--ask-roots"] if edit % 2 == 0 else [])
                c.write_manifest("demo", demo(*flags))
                c.wait_ready("demo", other_than=old)
                c.wait_gone(old)
                # Load goes on across the switch: a few calls on the new process before the next edit.
                before = sum(calls)
                deadline = time.monotonic() + 10
                while sum(calls) < before + 20 and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        print(f"{sum(calls)} calls across five replacements, {len(failures)} failed")
        assert not failures, failures[:5]
        assert all(count > 0 for count in calls)

        # The last edit added `roots`: both eras' next list shows it, on sessions opened before.
        modern = Raw(c.port, "demo")
        response, reply = modern.modern_call("tools/list", {})
        assert response.status == 200 and "roots" in [tool["name"] for tool in reply["result"]["tools"]], reply
        legacy = Raw(c.port, "demo")
        legacy.initialize()
        response, reply = legacy.legacy_call("tools/list", {})
        assert response.status == 200 and "roots" in [tool["name"] for tool in reply["result"]["tools"]], reply
    finally:
        c.stop()


def test_calls_made_while_a_killed_child_restarts_wait_and_succeed():
    c = Controller({"demo": (demo(), "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }")})
    try:
        pid = c.pid("demo")
        os.kill(pid, signal.SIGKILL)
        c.wait_gone(pid)
        outcomes = []

        def call(number: int):
            raw = Raw(c.port, "demo")
            text = f"after the crash {number}"
            outcomes.append(raw.modern_call("tools/call", {"name": "echo", "arguments": {"text": text}}) + (text,))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(outcomes) == 5
        for response, reply, text in outcomes:
            assert response.status == 200 and reply["result"]["content"][0]["text"] == text, reply
        assert c.wait_ready("demo", other_than=pid) != pid
    finally:
        c.stop()


class StreamLines:
    """Reads an SSE response line by line in a thread of its own, until it ends."""

    def __init__(self, port: int, method: str, path: str, headers: dict, body: bytes | None = None):
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request(method, path, body=body, headers=headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        self.lines = []
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        try:
            for line in self.response:
                self.lines.append(line.decode().rstrip("\r\n"))
        except Exception:
            pass

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def close(self):
        # Shut the socket first: the reader thread holds the response's buffer until a read
        # returns, which on an idle stream is the next keep-alive, seconds away.
        if self.conn.sock is not None:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=10)
        self.conn.close()


def test_a_burst_of_restarts_that_changed_the_tools_is_one_list_changed_per_stream():
    c = Controller({"demo": (demo(), "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }")})
    try:
        legacy = Raw(c.port, "demo")
        legacy.initialize()
        get = StreamLines(c.port, "GET", "/mcp/demo", {
            "Accept": "text/event-stream", "Mcp-Session-Id": legacy.session, "MCP-Protocol-Version": legacy.version})
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
        body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen",
                           "params": {"notifications": {"toolsListChanged": True}, "_meta": meta}}).encode()
        listen = StreamLines(c.port, "POST", "/mcp/demo", {
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}, body)
        deadline = time.monotonic() + 10
        while listen.count("subscriptions/acknowledged") == 0:
            assert time.monotonic() < deadline, listen.lines
            time.sleep(0.02)

        old = c.pid("demo")
        # Three restarts in a burst (each edit a replacement); the tools end up with `roots` added.
        for flags in (["--ask-roots"], [], ["--ask-roots"]):
            c.write_manifest("demo", demo("--name", f"burst-{len(flags)}-{time.monotonic()}", *flags))
            time.sleep(0.3)
        c.wait_ready("demo", other_than=old)
        deadline = time.monotonic() + 30
        while get.count("tools/list_changed") == 0 or listen.count("tools/list_changed") == 0:
            assert time.monotonic() < deadline, (get.lines, listen.lines)
            time.sleep(0.05)
        # Past the coalescing window (2 s of quiet): still one each.
        time.sleep(3)
        assert get.count("tools/list_changed") == 1, get.lines
        assert listen.count("tools/list_changed") == 1, listen.lines
        assert any("io.modelcontextprotocol/subscriptionId" in line for line in listen.lines if "list_changed" in line)
        get.close()
        listen.close()
    finally:
        c.stop()


def test_sigterm_lets_a_call_in_flight_finish_then_stops_cleanly():
    c = Controller({"demo": (demo(), "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }")})
    try:
        pid = c.pid("demo")
        outcome = {}

        def call():
            outcome["reply"] = Raw(c.port, "demo").modern_call("tools/call", {"name": "sleep", "arguments": {"ms": 3000}})

        thread = threading.Thread(target=call)
        thread.start()
        c.wait_in_flight("demo")
        c.process.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        response, reply = outcome["reply"]
        assert response.status == 200 and reply["result"]["content"][0]["text"] == "slept 3000 ms", reply
        assert c.process.wait(timeout=30) == 0
        c.wait_gone(pid)
        log = c.read_log()
        assert "shutdown.done" in log and "shutdown.cut" not in log
    finally:
        c.stop()


def test_a_legacy_session_survives_controller_restarts_and_a_tampered_one_is_404():
    c = Controller({"demo": (demo(), "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }")})
    try:
        client = Raw(c.port, "demo")
        client.initialize()
        session = client.session
        for kill in (False, True):
            c.restart(kill=kill)
            c.wait_ready("demo")
            again = Raw(c.port, "demo")
            again.session, again.version = session, client.version
            text = f"after {'kill -9' if kill else 'SIGTERM'}"
            response, reply = again.legacy_call("tools/call", {"name": "echo", "arguments": {"text": text}})
            assert response.status == 200 and reply["result"]["content"][0]["text"] == text, reply
        # One character changed anywhere: not a session.
        for position in (5, len(session) // 2, len(session) - 2):
            forged = Raw(c.port, "demo")
            swapped = "A" if session[position] != "A" else "B"
            forged.session, forged.version = session[:position] + swapped + session[position + 1:], client.version
            response, _ = forged.legacy_call("tools/list", {})
            assert response.status == 404
        # Deleted: gone, and still gone after a restart (var/sessions.ended).
        deleter = Raw(c.port, "demo")
        deleter.conn.request("DELETE", "/mcp/demo", headers={"Mcp-Session-Id": session})
        assert deleter.conn.getresponse().status == 200
        for restart in (False, True):
            if restart:
                c.restart()
                c.wait_ready("demo")
            gone = Raw(c.port, "demo")
            gone.session, gone.version = session, client.version
            assert gone.legacy_call("tools/list", {})[0].status == 404, restart
        key = os.path.join(c.root, "var", "session.key")
        assert os.stat(key).st_mode & 0o777 == 0o600
    finally:
        c.stop()


@pytest.mark.anyio
async def test_the_sdk_legacy_client_keeps_its_session_across_controller_restarts():
    c = Controller({"demo": (demo(), FAST)})
    try:
        with anyio.fail_after(90):
            async with Client(c.url("demo"), mode="legacy") as client:
                assert text_of(await client.call_tool("echo", {"text": "before"})) == "before"
                for kill in (False, True):
                    c.restart(kill=kill)
                    c.wait_ready("demo")
                    text = f"after {'kill -9' if kill else 'SIGTERM'}"
                    # The same client object: no new initialize, the session id it holds.
                    assert text_of(await client.call_tool("echo", {"text": text})) == text
    finally:
        c.stop()


@pytest.mark.anyio
async def test_sdk_clients_of_both_eras_fail_no_call_across_three_replacements():
    c = Controller({"demo": (demo(), FAST)})
    try:
        failures = []
        counts = {MODERN: 0, "legacy": 0}
        stop = anyio.Event()

        async def loop(mode):
            async with Client(c.url("demo"), mode=mode) as client:
                while not stop.is_set():
                    text = f"{mode} {counts[mode]}"
                    try:
                        result = await client.call_tool("echo", {"text": text})
                        if text_of(result) != text:
                            failures.append((mode, text, text_of(result)))
                    except Exception as error:
                        failures.append((mode, text, repr(error)))
                    counts[mode] += 1
                # The next list shows the last edit's tool.
                names = [tool.name for tool in (await client.list_tools()).tools]
                assert "roots" in names, (mode, names)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                group.start_soon(loop, MODERN)
                group.start_soon(loop, "legacy")
                for edit in range(3):
                    before = sum(counts.values())
                    while sum(counts.values()) < before + 20:
                        await anyio.sleep(0.01)
                    old = await anyio.to_thread.run_sync(c.pid, "demo")
                    flags = ["--name", f"sdk-{edit}"] + (["--ask-roots"] if edit == 2 else [])
                    c.write_manifest("demo", demo(*flags))
                    await anyio.to_thread.run_sync(lambda: c.wait_ready("demo", other_than=old))
                    await anyio.to_thread.run_sync(c.wait_gone, old)
                before = sum(counts.values())
                while sum(counts.values()) < before + 20:
                    await anyio.sleep(0.01)
                stop.set()
        print(f"{counts} SDK calls across three replacements, {len(failures)} failed")
        assert not failures, failures[:5]
    finally:
        c.stop()

"""No client notices a restart (issue 13), as real clients see it through `controller run`:

- steady load from several clients (both eras, raw keep-alive HTTP) while a server's manifest is
  edited so that it is replaced, five times in a row: not one failed call; the old process is
  gone after each drain; the clients' next `tools/list` shows the change;
- a child killed under load: calls made while it restarts wait and succeed once it is ready.

Every wait is bounded; nothing here judges speed.
"""

import os
import signal
import threading
import time

from harness import Controller, Raw, demo


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

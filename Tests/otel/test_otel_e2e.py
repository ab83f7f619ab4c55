"""End to end: `controller run` with `otel.enabled` exports spans over OTLP/HTTP (JSON) to a
test collector that decodes them with the official opentelemetry-proto package.

Checked: the gateway's SERVER span per request (name, the client's trace and span as its trace
and parent, attributes, the span the child was given as parent in `_meta.traceparent`), the log
line's `trace_id`, an unsampled request (not exported, still propagated), the aggregate `/mcp`,
the reconcile spans of the demo server's spawn; then, with the collector gone, requests still
pass and `/metrics` counts the drops. Every wait is bounded.
"""

import json
import os
import re
import sys
import time

import pytest

# The gateway tests' harness (controller, raw MCP connection). Not through a conftest.py: a
# second module named conftest would shadow the one Tests/deploy imports names from.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gateway"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector import Collector  # noqa: E402
from harness import FAST, Controller, Raw, demo  # noqa: E402

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


class TracedController(Controller):
    """A controller whose config/local.yaml turns tracing on, pointed at `endpoint`."""

    def __init__(self, servers: dict, endpoint: str):
        self.endpoint = endpoint
        super().__init__(servers)

    def start(self):
        with open(os.path.join(self.root, "config", "local.yaml"), "w") as f:
            f.write(f'otel: {{ enabled: true, endpoint: "{self.endpoint}", service_name: omni-e2e }}\n')
        super().start()

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.read_log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def metric(self, name: str) -> float:
        text = self.get("/metrics")[1].decode()
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        assert match, f"{name} not in /metrics"
        return float(match.group(1))


def wait_for(what, predicate, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


@pytest.fixture
def traced():
    collector = Collector()
    controller = TracedController({"demo": (demo("--stderr-every-request"), FAST)}, collector.endpoint)
    try:
        yield controller, collector
    finally:
        controller.stop()
        collector.stop()


def one(spans, **conditions):
    matching = [s for s in spans if all(getattr(s, key) == value for key, value in conditions.items())]
    return matching[0] if len(matching) == 1 else None


def test_spans_reach_a_real_collector_and_drops_are_counted_when_it_is_gone(traced):
    controller, collector = traced
    client = Raw(controller.port, "demo", headers={"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01"})
    response, answer = client.modern_call("tools/call", {"name": "echo", "arguments": {"text": "traced"}})
    assert response.status == 200, answer
    assert answer["result"]["content"][0]["text"] == "traced"

    # The gateway's span: the client's trace, the client's span as parent.
    span = wait_for("the tools/call span", lambda: one(collector.snapshot(), trace_id=TRACE, name="tools/call echo"))
    assert span.parent_span_id == CLIENT_SPAN
    assert span.kind == 2  # SPAN_KIND_SERVER
    assert span.status_code == 1  # STATUS_CODE_OK
    assert span.end >= span.start > 1_600_000_000 * 10**9
    attributes = span.attributes
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "echo"
    assert attributes["mcp.server"] == "demo" and attributes["omni.srv"] == "demo"
    assert attributes["omni.outcome"] == "ok"
    assert attributes["http.response.status_code"] == 200
    assert attributes["omni.instance"] == "demo#1"
    assert span.resource == {"service.name": "omni-e2e", "service.version": span.resource["service.version"]}
    assert span.scope == "omni-mcp"
    assert collector.errors == []
    assert collector.content_types == {"application/json"}

    # The child got a traceparent naming the exported span as its parent (mcp-demo logs it on
    # stderr, which the controller logs), and the request's log line has the client's trace id.
    expected = f"mcp-demo: tools/call traceparent=00-{TRACE}-{span.span_id}-01"
    wait_for("the child's traceparent", lambda: any(
        line.get("event") == "stderr" and line.get("msg") == expected for line in controller.log_lines()))
    request_lines = [line for line in controller.log_lines() if line.get("event") == "mcp.request" and line.get("method") == "tools/call"]
    assert [line["trace_id"] for line in request_lines] == [TRACE]

    # Unsampled: propagated with the flag off, not exported. A sampled request sent after it is
    # exported after it (the queue is FIFO), so its arrival proves the first one is not coming.
    unsampled_trace = "11111111111111111111111111111111"
    quiet = Raw(controller.port, "demo", headers={"traceparent": f"00-{unsampled_trace}-{CLIENT_SPAN}-00"})
    response, _ = quiet.modern_call("tools/call", {"name": "echo", "arguments": {"text": "quiet"}})
    assert response.status == 200
    later_trace = "22222222222222222222222222222222"
    later = Raw(controller.port, "demo", headers={"traceparent": f"00-{later_trace}-{CLIENT_SPAN}-01"})
    response, _ = later.modern_call("tools/list", {})
    assert response.status == 200
    wait_for("the later span", lambda: one(collector.snapshot(), trace_id=later_trace, name="tools/list"))
    assert [s for s in collector.snapshot() if s.trace_id == unsampled_trace] == []
    assert any(line.get("event") == "stderr" and re.fullmatch(rf"mcp-demo: tools/call traceparent=00-{unsampled_trace}-[0-9a-f]{{16}}-00",
                                                              line.get("msg", ""))
               for line in controller.log_lines())

    # The aggregate /mcp: its span too, with the client's parent; a legacy session's request too.
    aggregate_trace = "33333333333333333333333333333333"
    whole = Raw(controller.port, "demo", headers={"traceparent": f"00-{aggregate_trace}-{CLIENT_SPAN}-01"})
    whole.path = "/mcp"
    response, answer = whole.modern_call("tools/list", {})
    assert response.status == 200, answer
    listed = wait_for("the /mcp span", lambda: one(collector.snapshot(), trace_id=aggregate_trace))
    assert (listed.name, listed.parent_span_id, listed.attributes["omni.srv"]) == ("tools/list", CLIENT_SPAN, "*")
    legacy_trace = "44444444444444444444444444444444"
    session = Raw(controller.port, "demo", headers={"traceparent": f"00-{legacy_trace}-{CLIENT_SPAN}-01"})
    session.initialize()
    response, answer = session.legacy_call("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    assert response.status == 200, answer
    added = wait_for("the legacy span", lambda: one(collector.snapshot(), trace_id=legacy_trace, name="tools/call add"))
    assert added.parent_span_id == CLIENT_SPAN and added.attributes["omni.era"] == "legacy"

    # The reconcile spans of the demo server's start: a pass, and its spawn until ready.
    spawn = wait_for("the spawn span", lambda: one(collector.snapshot(), name="reconcile spawn"))
    assert spawn.attributes["omni.srv"] == "demo"
    assert spawn.attributes["omni.action"] == "spawn"
    assert spawn.attributes["omni.outcome"] == "ok"
    assert spawn.attributes["omni.reason"]
    assert spawn.kind == 1  # SPAN_KIND_INTERNAL
    passes = [s for s in collector.snapshot() if s.name == "reconcile" and s.span_id == spawn.parent_span_id]
    assert len(passes) == 1 and passes[0].trace_id == spawn.trace_id and passes[0].parent_span_id is None
    assert controller.metric("omni_otel_spans_exported_total") >= 6
    assert collector.errors == []

    # The collector goes away: requests still pass, and the drops are counted.
    collector.stop()
    for number in range(3):
        response, answer = client.modern_call("tools/call", {"name": "echo", "arguments": {"text": f"#{number}"}})
        assert response.status == 200, answer
        wait_for("a failed export", lambda n=number: controller.metric("omni_otel_export_failures_total") > n)
    assert controller.metric('omni_otel_spans_dropped_total{reason="export_failed"}') >= 3
    assert controller.metric('omni_otel_spans_dropped_total{reason="queue_full"}') == 0
    assert controller.metric("omni_otel_queue_spans") >= 0
    warnings = [line for line in controller.log_lines() if line.get("event") == "otel.export_failed"]
    assert len(warnings) == 1, warnings

"""A small OTLP/HTTP trace collector for the tests: `POST /v1/traces` with an OTLP/JSON body,
decoded with the official `opentelemetry-proto` package, as a real collector would.

OTLP/JSON writes trace and span ids as hex, while protobuf's generic JSON mapping (what
`json_format.Parse` reads) wants base64 for bytes fields: the ids are converted first, which is
what collectors do. A body that does not decode is answered 400 and kept in `errors`.
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def hex_ids_to_base64(request: dict) -> dict:
    for resource_spans in request.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for field in ID_FIELDS:
                    if field in span:
                        span[field] = base64.b64encode(bytes.fromhex(span[field])).decode()
    return request


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Span:
    """One decoded span, ids back in hex, attributes as a dict."""

    def __init__(self, span, resource: dict, scope: str):
        self.trace_id = span.trace_id.hex()
        self.span_id = span.span_id.hex()
        self.parent_span_id = span.parent_span_id.hex() or None
        self.name = span.name
        self.kind = span.kind
        self.start = span.start_time_unix_nano
        self.end = span.end_time_unix_nano
        self.attributes = {a.key: value_of(a.value) for a in span.attributes}
        self.status_code = span.status.code
        self.status_message = span.status.message
        self.resource = resource
        self.scope = scope

    def __repr__(self):
        return f"Span({self.name!r}, trace={self.trace_id}, id={self.span_id}, parent={self.parent_span_id}, {self.attributes})"


class Collector:
    """Listens on 127.0.0.1 (a free port) in a thread of its own until `stop()`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.spans: list[Span] = []
        self.errors: list[str] = []
        self.exports = 0
        self.content_types: set[str] = set()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                collector.receive(self.path, self.headers.get("Content-Type", ""), body, self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def receive(self, path: str, content_type: str, body: bytes, handler):
        try:
            if path != "/v1/traces":
                raise ValueError(f"POST to {path}")
            request = json_format.Parse(json.dumps(hex_ids_to_base64(json.loads(body))), ExportTraceServiceRequest())
        except Exception as error:  # noqa: BLE001 - anything undecodable is a test failure
            with self.lock:
                self.errors.append(f"{type(error).__name__}: {error}")
            handler.send_response(400)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        decoded = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                decoded += [Span(span, resource, scope_spans.scope.name) for span in scope_spans.spans]
        with self.lock:
            self.spans += decoded
            self.exports += 1
            self.content_types.add(content_type)
        answer = b"{}"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

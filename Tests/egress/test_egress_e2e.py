"""Egress in proxy mode, end to end: `controller run` with mcp-demo, whose `fetch` tool honours
the proxy variables the controller gives it, against HTTP servers on 127.0.0.2 and 127.0.0.3
named through the proxy's static host map (`proxy.hosts`), never /etc/hosts.

Binaries: $CONTROLLER and $MCP_DEMO (default: <repo>/.build/debug/...). Every wait is bounded.
"""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gateway"))
from harness import MCP_DEMO, Controller, Raw  # noqa: E402


class Named(BaseHTTPRequestHandler):
    """Answers every GET with the server's own label, and records the request's headers."""

    def do_GET(self):
        body = f"hello from {self.server.label} {self.path}".encode()
        self.server.seen.append(dict(self.headers))
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(address: str, label: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((address, 0), Named)
    server.label = label
    server.seen = []
    server.paths = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


MANIFEST = """name: {name}
description: demo for the egress tests
transport: stdio
command: {command}
egress: {egress}
isolation: {isolation}
limits: {{ rps: 1000, burst: 1000, concurrency: 16, request_timeout: 30s }}
"""


class World(Controller):
    """The controller (the gateway tests' harness), its root, and the two upstreams."""

    def __init__(self, isolation: str = "none", sealed: bool = False):
        self.isolation = isolation
        self.two = serve("127.0.0.2", "two")
        self.three = serve("127.0.0.3", "three")
        self.p2 = self.two.server_address[1]
        self.p3 = self.three.server_address[1]
        self.egress = {"demo": [f"allowed.test:{self.p2}", f"127.0.0.2:{self.p2}", f"private.test:{self.p3}"]}
        if sealed:
            # `egress: []`: the proxy refuses everything this server asks for.
            self.egress["sealed"] = []
        super().__init__(
            {name: ([MCP_DEMO], "") for name in self.egress},
            config="log: { level: debug }\n"
            "proxy: { hosts: { allowed.test: 127.0.0.2, denied.test: 127.0.0.2, private.test: 127.0.0.3 } }\n")
        self.client = Raw(self.port, "demo")
        self.client.initialize()

    def write_manifest(self, name: str, command: list, limits: str = ""):
        """The harness's whole-file rename, with this server's egress list and isolation."""
        path = os.path.join(self.root, "servers", f"{name}.yaml")
        with open(path + ".tmp", "w") as f:
            f.write(MANIFEST.format(
                name=name, command=json.dumps(command), egress=json.dumps(self.egress[name]), isolation=self.isolation))
        os.replace(path + ".tmp", path)

    def write_egress(self, entries: list, name: str = "demo"):
        self.egress[name] = entries
        self.write_manifest(name, [MCP_DEMO])

    def fetch(self, url: str, client=None, **extra):
        response, body = (client or self.client).legacy_call("tools/call", {"name": "fetch", "arguments": {"url": url, **extra}})
        assert response.status == 200, body
        result = body["result"]
        return result["isError"], result["content"][0]["text"]

    def pid(self, server: str = "demo") -> int:
        return super().pid(server)

    def audit(self) -> list:
        path = os.path.join(self.root, "var", "audit.ndjson")
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def metric(self, name: str) -> float:
        for line in self.get("/metrics")[1].decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def stop(self):
        super().stop()
        self.two.shutdown()
        self.three.shutdown()


@pytest.fixture(scope="module")
def world():
    w = World()
    yield w
    w.stop()


def test_an_allowed_host_is_reached_through_the_proxy(world):
    failed, text = world.fetch(f"http://allowed.test:{world.p2}/ok")
    assert not failed, text
    assert f"hello from two /ok" in text
    # What reached the upstream: no proxy credentials, a Host for the name asked for.
    seen = world.two.seen[-1]
    assert not any(name.lower().startswith("proxy-") for name in seen), seen
    assert seen.get("Host") == f"allowed.test:{world.p2}"
    assert world.metric('omni_egress_allowed_total{srv="demo"}') >= 1


def test_a_denied_host_is_refused_audited_and_counted(world):
    before = world.metric('omni_egress_denied_total{srv="demo"}')
    failed, text = world.fetch(f"http://denied.test:{world.p2}/no")
    assert failed, text
    assert "403" in text and "denied.test is not in the egress list" in text
    records = [r for r in world.audit() if r["kind"] == "egress_denied" and r["host"] == "denied.test"]
    assert records, world.audit()
    assert records[-1]["server"] == "demo" and records[-1]["port"] == world.p2
    assert world.metric('omni_egress_denied_total{srv="demo"}') == before + 1
    assert any(json.loads(line).get("event") == "egress_denied" for line in world.read_log().splitlines() if line.startswith("{"))


def test_a_name_resolving_to_an_internal_address_is_refused_until_the_address_is_listed(world):
    url = f"http://private.test:{world.p3}/inside"
    failed, text = world.fetch(url)
    assert failed, text
    assert "403" in text and "127.0.0.3" in text
    records = [r for r in world.audit() if r["kind"] == "egress_denied" and r["host"] == "private.test"]
    assert records and "internal address" in records[-1]["reason"]
    # Listing the address literally is an egress edit: applied in place, same process.
    pid = world.pid()
    world.write_egress([f"allowed.test:{world.p2}", f"127.0.0.2:{world.p2}", f"private.test:{world.p3}", f"127.0.0.3:{world.p3}"])
    deadline = time.monotonic() + 20
    while True:
        failed, text = world.fetch(url)
        if not failed:
            break
        assert time.monotonic() < deadline, f"the edit did not apply within 20 s: {text}"
        time.sleep(0.1)
    assert "hello from three /inside" in text
    assert world.pid() == pid
    # And taking the allowed host away refuses it at once, still in place.
    world.write_egress([f"private.test:{world.p3}", f"127.0.0.3:{world.p3}"])
    deadline = time.monotonic() + 20
    while not world.fetch(f"http://allowed.test:{world.p2}/")[0]:
        assert time.monotonic() < deadline, "the removal did not apply within 20 s"
        time.sleep(0.1)
    assert world.pid() == pid


def test_https_opens_a_tunnel_only_where_allowed(world):
    failed, text = world.fetch(f"https://private.test:{world.p3}/")
    assert not failed, text
    assert "tunnel to private.test" in text
    failed, text = world.fetch(f"https://elsewhere.test:{world.p3}/")
    assert failed and "403" in text


def test_credentials_never_appear_in_logs_audit_or_status(world):
    with open(f"/proc/{world.pid()}/environ", "rb") as f:
        environ = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    proxy = environ[b"HTTP_PROXY"].decode()
    assert environ[b"HTTPS_PROXY"].decode() == proxy and environ[b"https_proxy"].decode() == proxy
    assert environ[b"NODE_USE_ENV_PROXY"] == b"1" and b"127.0.0.1" in environ[b"NO_PROXY"]
    token = proxy.split("@")[0].split(":")[-1]
    assert token.startswith("omxp_") and len(token) > 20
    audit = open(os.path.join(world.root, "var", "audit.ndjson")).read()
    log = world.read_log()
    status = world.get("/status")[1].decode()
    for text in (audit, log, status):
        assert token not in text
    # A fetch whose URL carries credentials of its own: they are not echoed either.
    failed, text = world.fetch(f"http://user:sekrit-value@denied.test:{world.p2}/")
    assert failed and "sekrit-value" not in text


def test_wrong_credentials_get_407(world):
    status = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
         "-x", f"http://demo:omxp_00000000000000000000000000000000@127.0.0.1:{proxy_port(world)}",
         f"http://allowed.test:{world.p2}/"], capture_output=True, text=True, timeout=20)
    assert status.stdout == "407"


def proxy_port(world) -> int:
    for line in world.read_log().splitlines():
        if '"event":"egress.listening"' in line:
            return json.loads(line)["port"]
    raise AssertionError("no egress.listening line")


def test_proxy_mode_does_not_stop_a_server_that_connects_directly(world):
    # What isolated mode adds (Tests/egress/test_isolation_e2e.py): here the bypass works.
    failed, text = world.fetch(f"http://127.0.0.2:{world.p2}/direct", direct=True)
    assert not failed, text
    assert "hello from two /direct" in text

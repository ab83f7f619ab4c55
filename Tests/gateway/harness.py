"""What the gateway's end-to-end tests share: `controller run` on a scratch root with real
children (`Controller`), one keep-alive connection speaking MCP by hand (`Raw`), and helpers.

Binaries: $CONTROLLER and $MCP_DEMO (default: <repo>/.build/debug/...). Every wait is bounded.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROLLER = os.path.abspath(os.environ.get("CONTROLLER", os.path.join(ROOT, ".build", "debug", "controller")))
MCP_DEMO = os.path.abspath(os.environ.get("MCP_DEMO", os.path.join(ROOT, ".build", "debug", "mcp-demo")))
TIME_SERVER = os.path.join(os.path.dirname(sys.executable), "mcp-server-time")
SDK1_PYTHON = os.environ.get("SDK1_PYTHON", os.path.join(ROOT, ".venv-sdk1", "bin", "python"))
MODERN = "2026-07-28"
BUDGET = 30

MANIFEST = """name: {name}
description: {name} for the gateway tests
transport: stdio
command: {command}
limits: {limits}
restart: {{ backoff: [100ms], budget: 50/60s }}
"""
FAST = "{ rps: 10000, burst: 10000, concurrency: 64, request_timeout: 30s }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Controller:
    """`controller run` on a scratch root; its log lines in a file."""

    def __init__(self, servers: dict, env: dict | None = None, config: str = ""):
        """`config`: more lines for config/default.yaml after the `features:` line."""
        for path in (CONTROLLER, MCP_DEMO):
            if not os.access(path, os.X_OK):
                pytest.fail(f"{path} not found; run `swift build` or set CONTROLLER/MCP_DEMO")
        self.root = tempfile.mkdtemp(prefix="omni-gateway-")
        os.makedirs(os.path.join(self.root, "servers"))
        os.makedirs(os.path.join(self.root, "config"))
        enabled = ", ".join(f"{name}: {{ enabled: true }}" for name in servers)
        with open(os.path.join(self.root, "config", "default.yaml"), "w") as f:
            f.write(f"features: {{ {enabled} }}\n{config}")
        with open(os.path.join(self.root, ".env.example"), "w") as f:
            f.write("OMNI_API_TOKENS=\n")
        for name, (command, limits) in servers.items():
            self.write_manifest(name, command, limits)
        self.port = free_port()
        self.log_path = os.path.join(self.root, "controller.log")
        self.log = open(self.log_path, "w")
        self.environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.root}
        self.environment.update(env or {})
        self.token = (env or {}).get("OMNI_API_TOKENS", "").split(",")[0] or None
        self.start()

    def start(self):
        """Starts `controller run` on this root and port; returns once /readyz is 200."""
        self.process = subprocess.Popen(
            [CONTROLLER, "run", "--root", self.root, "--listen", f"127.0.0.1:{self.port}"],
            env=self.environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the controller exited: {self.read_log()[-2000:]}")
            if self.get("/readyz")[0] == 200:
                break
            time.sleep(0.1)
        else:
            self.stop()
            pytest.fail(f"not ready within 60 s: {self.get('/readyz')}")

    def restart(self, kill: bool = False):
        """Stops the controller (SIGTERM, or SIGKILL with `kill`: its children outlive it) and
        starts it again on the same root and port."""
        if kill:
            self.process.kill()
        else:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.start()

    def write_manifest(self, name: str, command: list, limits: str = FAST):
        """Writes (or rewrites) a server's manifest whole, by rename, as an editor or `git
        checkout` would: the watcher never sees half a file."""
        path = os.path.join(self.root, "servers", f"{name}.yaml")
        with open(path + ".tmp", "w") as f:
            f.write(MANIFEST.format(name=name, command=json.dumps(command), limits=limits))
        os.replace(path + ".tmp", path)

    def url(self, server: str) -> str:
        return f"http://127.0.0.1:{self.port}/mcp/{server}"

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path, headers=self.headers())
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return response.status, body
        except OSError:
            return 0, b""

    def pid(self, server: str) -> int:
        status = json.loads(self.get("/status")[1])
        entry = next(s for s in status["servers"] if s["name"] == server)
        return next(i["pid"] for i in entry["instances"] if i["phase"] == "ready")

    def wait_in_flight(self, server: str, count: int = 1, timeout: float = 10):
        """Waits until /metrics shows `count` gateway requests in flight at `server`."""
        deadline = time.monotonic() + timeout
        while f'omni_gateway_in_flight{{server="{server}"}} {count}'.encode() not in self.get("/metrics")[1]:
            assert time.monotonic() < deadline, f"no {count} request(s) in flight at {server} within {timeout} s"
            time.sleep(0.02)

    def wait_gone(self, pid: int, timeout: float = 30):
        """Waits until process `pid` has ended (and been reaped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError(f"process {pid} still alive after {timeout} s")

    def wait_ready(self, server: str, other_than: int | None = None, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = self.pid(server)
                if pid != other_than:
                    return pid
            except (StopIteration, KeyError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"{server} not ready again within {timeout} s")

    def read_log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def demo(*args: str) -> list:
    return [MCP_DEMO, "--name", "omni-demo", *args]


class Raw:
    """One keep-alive HTTP connection speaking MCP by hand."""

    def __init__(self, port: int, server: str, headers: dict | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = f"/mcp/{server}"
        self.extra = headers or {}
        self.session = None
        self.version = None

    def post(self, body, headers: dict | None = None):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        all_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **self.extra}
        if self.session:
            all_headers["Mcp-Session-Id"] = self.session
            all_headers["MCP-Protocol-Version"] = self.version
        all_headers.update(headers or {})
        self.conn.request("POST", self.path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response, raw

    def modern_call(self, method: str, params: dict, id=1):
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
        headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
        if "name" in params:
            headers["Mcp-Name"] = params["name"]
        body = {"jsonrpc": "2.0", "id": id, "method": method, "params": {**params, "_meta": meta}}
        response, raw = self.post(body, headers)
        return response, json.loads(raw) if raw else None

    def initialize(self, version: str = "2025-06-18"):
        response, raw = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                   "params": {"protocolVersion": version, "capabilities": {},
                                              "clientInfo": {"name": "raw", "version": "1"}}})
        assert response.status == 200, raw
        self.session = response.getheader("Mcp-Session-Id")
        self.version = json.loads(raw)["result"]["protocolVersion"]
        response, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert response.status == 202

    def legacy_call(self, method: str, params: dict, id=1):
        response, raw = self.post({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        return response, json.loads(raw) if raw else None


def text_of(result) -> str:
    return result.content[0].text


def run_concurrently(target, arguments, timeout: float = 120):
    """Runs target(argument) for every argument, each in a thread of its own; any exception or
    failed assertion in one of them fails the test (a bare thread would only warn)."""
    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        for future in [pool.submit(target, argument) for argument in arguments]:
            future.result(timeout=timeout)

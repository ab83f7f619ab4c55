"""The controller run as the Deployment runs it: its args (listen on every address at the
Deployment's port), its environment (OMNI_ENV, HOME, and a Secret made from .env.example with a
token set), and the ConfigMaps laid out the way the kubelet mounts them (..data link swaps).

Only loopback may be used on this machine, so the test makes its own network namespace
(`unshare -n`), brings `lo` up, adds a veth pair with 10.255.0.1/24, and runs the controller
in it; curl runs in the same namespace (nsenter) against 10.255.0.1, an address that is not
loopback. The probes must pass without a token; /status and /metrics need it. SIGHUP (the
unit's ExecReload) reloads without a restart; everything the controller writes lands under
<root>/var, which both the unit and the Deployment make writable. Skipped, with the reason,
where network namespaces cannot be made.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, config_maps_from_files, controller_binary, env_example_values, kubernetes_objects

ADDRESS = "10.255.0.1"
TOKEN = "deploy-test-token-0123456789"


def namespace_command() -> list:
    """The unshare prefix that works here: a plain network namespace (root), else one inside a
    user namespace (unprivileged)."""
    for prefix in (["unshare", "-n"], ["unshare", "-Urn"]):
        probe = subprocess.run(prefix + ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return prefix
    pytest.skip("cannot create a network namespace with a veth pair here (unshare -n and -Urn refused): "
                + probe.stderr.strip())


def kubelet_layout(directory: str, data: dict) -> None:
    """A ConfigMap volume as the kubelet writes it: a timestamped directory, a ..data link to it,
    and one link per key through ..data."""
    os.makedirs(directory)
    stamp = "..2026_12_03_00_00_00.000000001"
    os.makedirs(os.path.join(directory, stamp))
    for key, content in data.items():
        with open(os.path.join(directory, stamp, key), "w") as f:
            f.write(content)
    os.symlink(stamp, os.path.join(directory, "..data"))
    for key in data:
        os.symlink(os.path.join("..data", key), os.path.join(directory, key))


def curl(pid: int, path: str, token: str = None) -> tuple:
    command = ["nsenter", f"--net=/proc/{pid}/ns/net", "curl", "-s", "-m", "5", "-o", "-", "-w", "\n%{http_code}",
               f"http://{ADDRESS}:{PORT}{path}"]
    if token:
        command[-1:-1] = ["-H", f"Authorization: Bearer {token}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


PORT = None


@pytest.fixture(scope="module")
def deployed():
    global PORT
    prefix = namespace_command()
    container = kubernetes_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    args = list(container["args"])
    deployed_root = args[args.index("--root") + 1]
    PORT = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    root = tempfile.mkdtemp(prefix="omni-deploy-run-")
    # The image's root: .env.example; the ConfigMaps over servers/ and config/; var/ a volume.
    shutil.copy(os.path.join(ROOT, ".env.example"), root)
    maps = config_maps_from_files()
    kubelet_layout(os.path.join(root, "servers"), maps["omni-mcp-servers"])
    kubelet_layout(os.path.join(root, "config"), maps["omni-mcp-config"])
    os.makedirs(os.path.join(root, "var"))
    home = os.path.join(root, "home")
    os.makedirs(home)
    before = set(walk(root))
    # envFrom the Secret (made from .env.example with a token), then the explicit env, which wins.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(env_example_values())
    env["OMNI_API_TOKENS"] = TOKEN
    for entry in container["env"]:
        env[entry["name"]] = entry["value"]
    env["HOME"] = home
    args = [a.replace(deployed_root, root) for a in args]
    setup = ("ip link set lo up && ip link add v0 type veth peer name v1 && ip link set v1 up && "
             f"ip addr add {ADDRESS}/24 dev v0 && ip link set v0 up && exec \"$0\" \"$@\"")
    log = open(os.path.join(root, "controller.log"), "w")
    process = subprocess.Popen(prefix + ["sh", "-c", setup, controller_binary()] + args,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, open(os.path.join(root, "controller.log")).read()
            status, _ = curl(process.pid, "/healthz")
            if status == 200:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the controller did not answer /healthz within 30 s:\n" + open(os.path.join(root, "controller.log")).read())
        yield process, root, before
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def walk(root: str):
    for directory, _, files in os.walk(root):
        for name in files:
            yield os.path.relpath(os.path.join(directory, name), root)


def test_probes_pass_without_a_token(deployed):
    process, _, _ = deployed
    container = kubernetes_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        status, body = curl(process.pid, container[probe]["httpGet"]["path"])
        assert status == 200, f"{probe}: {status} {body}"


def test_everything_else_needs_the_token(deployed):
    process, _, _ = deployed
    assert curl(process.pid, "/status")[0] == 401
    assert curl(process.pid, "/metrics")[0] == 401
    status, body = curl(process.pid, "/status", TOKEN)
    assert status == 200
    # Every manifest was read through the kubelet's ..data links (all disabled in production).
    names = sorted(server["name"] for server in json.loads(body)["servers"])
    assert names == sorted(name[:-len(".yaml")] for name in config_maps_from_files()["omni-mcp-servers"])
    status, body = curl(process.pid, "/metrics", TOKEN)
    assert status == 200 and "controller_config_last_reload_successful 1" in body


def test_reload_by_sighup_keeps_serving(deployed):
    process, root, _ = deployed
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        log = open(os.path.join(root, "controller.log")).read()
        if "SIGHUP" in log:
            break
        time.sleep(0.2)
    else:
        pytest.fail("no reload was logged after SIGHUP")
    assert process.poll() is None
    assert curl(process.pid, "/readyz")[0] == 200


def test_writes_only_under_var(deployed):
    """The unit binds its state directory over <root>/var and the Deployment mounts a volume
    there; nothing else under the root may be written (it is read-only in both)."""
    process, root, before = deployed
    assert curl(process.pid, "/status", TOKEN)[0] == 200
    written = set(walk(root)) - before - {"controller.log"}
    assert written, "the controller wrote no state at all"
    outside = sorted(p for p in written if not p.startswith("var/") and not p.startswith("home/"))
    assert outside == [], f"written outside var/: {outside}"
    assert "var/session.key" in written

"""The deployment manifests are parseable and agree with the controller and with each other.

- every YAML file under manifests/ parses, and the kustomize base renders (kubectl kustomize;
  skipped with a printed reason when kubectl is absent);
- ports, paths and probe URLs agree with the controller's built-in defaults, which are read
  from `controller run --help`, not copied here;
- the NetworkPolicy admits exactly the Service's port; egress only DNS and HTTPS;
- the ConfigMaps hold every file of servers/ and every deployable config layer, and the
  rendered catalogue passes `controller validate`;
- the Secret made from .env.example (kubectl create secret --from-env-file) has exactly its
  keys, which cover every manifest's secrets;
- the systemd unit passes `systemd-analyze verify` with no warning, is hardened as
  docs/deployment.md says, and its writable paths agree with where the controller writes;
- the Containerfile's COPY sources exist, its user is the Deployment's, its port the default.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

from conftest import (CONTAINERFILE, KUBERNETES, ROOT, UNIT, config_maps_from_files, controller_binary,
                      env_example_keys, kubernetes_objects, kustomization, render_kustomize, server_manifests)

# config layers that are not deployed: development enables the demo server and logs at debug,
# test shortens every timer for the test suite. local.yaml is git-ignored (a machine's own).
NOT_DEPLOYED_LAYERS = {"development.yaml", "test.yaml", "local.yaml"}


def builtin_listen() -> tuple:
    """The controller's built-in listen address, as `controller run --help` states it."""
    out = subprocess.run([controller_binary(), "run", "--help"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"built in: ([0-9.]+):(\d+)", out)
    assert match, f"`controller run --help` does not state the built-in listen address:\n{out}"
    return match.group(1), int(match.group(2))


def deployment_container() -> dict:
    return kubernetes_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def named_port(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    matches = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert len(matches) == 1, f"port name {port!r} does not name exactly one container port"
    return matches[0]


def deployment_root(container: dict) -> str:
    args = container["args"]
    return args[args.index("--root") + 1]


def test_every_manifest_file_parses():
    files = sorted(glob.glob(os.path.join(ROOT, "manifests", "**", "*.yaml"), recursive=True))
    assert files, "no YAML under manifests/"
    for path in files:
        documents = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        assert documents, f"{path} is empty"
        for document in documents:
            assert isinstance(document, dict) and ("kind" in document), f"{path}: not a Kubernetes object"
    # Every resource file in the directory is listed in the kustomization, and only those.
    listed = set(kustomization()["resources"])
    present = {os.path.basename(p) for p in files if os.path.basename(p) != "kustomization.yaml"}
    assert listed == present


def test_kustomize_renders_the_base():
    objects = render_kustomize()
    if objects is None:
        pytest.skip("kubectl is not installed (not a Debian package); the files were parsed above")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap", "ConfigMap", "Deployment", "Namespace", "NetworkPolicy", "Service"]
    for o in objects:
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "omni-mcp"
    rendered = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    assert rendered == config_maps_from_files()


def test_ports_paths_and_probes_agree_with_the_controller():
    host, port = builtin_listen()
    assert host == "127.0.0.1"
    objects = kubernetes_objects()
    container = deployment_container()
    args = container["args"]
    assert args[0] == "run"
    listen = args[args.index("--listen") + 1]
    assert listen == f"0.0.0.0:{port}", "the Deployment listens on every address at the controller's port"
    assert named_port(container, "http") == port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    annotations = objects["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert annotations["prometheus.io/path"] == "/metrics"
    service_ports = objects["Service"]["spec"]["ports"]
    assert len(service_ports) == 1
    assert service_ports[0]["port"] == port and named_port(container, service_ports[0]["targetPort"]) == port
    selector = objects["Service"]["spec"]["selector"]
    assert selector.items() <= objects["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    # The kubelet waits longer than the controller's own stop (10 s drain + 10 s to SIGKILL).
    assert objects["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 20


def test_deployment_is_locked_down_and_mounts_where_the_controller_writes():
    spec = kubernetes_objects()["Deployment"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "limits" in container["resources"] and "requests" in container["resources"]
    root = deployment_root(container)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # The only writable places: <root>/var (all the controller writes), HOME (npx/uvx caches), /tmp.
    env = {e["name"]: e.get("value") for e in container["env"]}
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    assert writable == {root + "/var", env["HOME"], "/tmp"}
    for path in writable:
        assert "emptyDir" in volumes[mounts[path]["name"]]
    assert mounts[root + "/servers"]["readOnly"] and mounts[root + "/config"]["readOnly"]
    generated = {g["name"] for g in kustomization()["configMapGenerator"]}
    assert volumes[mounts[root + "/servers"]["name"]]["configMap"]["name"] in generated
    assert volumes[mounts[root + "/config"]["name"]]["configMap"]["name"] in generated


def test_network_policy_admits_only_the_service_port():
    objects = kubernetes_objects()
    policy = objects["NetworkPolicy"]["spec"]
    container = deployment_container()
    assert policy["podSelector"]["matchLabels"].items() <= objects["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    service_port = named_port(container, objects["Service"]["spec"]["ports"][0]["targetPort"])
    admitted = []
    for rule in policy["ingress"]:
        assert rule.get("ports"), "an ingress rule without ports admits every port"
        admitted += [(named_port(container, p["port"]), p.get("protocol", "TCP")) for p in rule["ports"]]
    assert admitted == [(service_port, "TCP")]
    egress = []
    for rule in policy["egress"]:
        assert rule.get("ports"), "an egress rule without ports allows every port"
        egress += [(p["port"], p.get("protocol", "TCP")) for p in rule["ports"]]
    assert sorted(egress) == [(53, "TCP"), (53, "UDP"), (443, "TCP")]


def test_config_maps_hold_every_deployable_file():
    generators = {g["name"]: g for g in kustomization()["configMapGenerator"]}
    listed_servers = sorted(os.path.basename(f) for f in generators["omni-mcp-servers"]["files"])
    assert listed_servers == sorted(os.listdir(os.path.join(ROOT, "servers"))), \
        "kustomization.yaml's omni-mcp-servers must list every file of servers/"
    listed_config = sorted(os.path.basename(f) for f in generators["omni-mcp-config"]["files"])
    deployable = sorted(f for f in os.listdir(os.path.join(ROOT, "config")) if f not in NOT_DEPLOYED_LAYERS)
    assert listed_config == deployable, "omni-mcp-config must list every config layer but development and test"
    container = deployment_container()
    assert {"name": "OMNI_ENV", "value": "production"} in container["env"]
    assert "production.yaml" in listed_config


def test_rendered_config_maps_pass_validate():
    """The ConfigMaps' content, laid out as the Deployment mounts it, is a valid root."""
    maps = config_maps_from_files()
    root = tempfile.mkdtemp(prefix="omni-deploy-validate-")
    try:
        for directory, name in (("servers", "omni-mcp-servers"), ("config", "omni-mcp-config")):
            os.makedirs(os.path.join(root, directory))
            for key, content in maps[name].items():
                with open(os.path.join(root, directory, key), "w") as f:
                    f.write(content)
        shutil.copy(os.path.join(ROOT, ".env.example"), root)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "OMNI_ENV": "production"}
        result = subprocess.run([controller_binary(), "validate", "--root", root], capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "valid:" in result.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_secret_from_env_example_has_exactly_its_keys():
    container = deployment_container()
    assert container["envFrom"] == [{"secretRef": {"name": "omni-mcp-env", "optional": True}}]
    keys = env_example_keys()
    assert len(keys) == len(set(keys)), ".env.example lists a variable twice"
    needed = {"OMNI_API_TOKENS"}
    for name, manifest in server_manifests().items():
        needed |= set(manifest.get("secrets") or [])
    assert needed <= set(keys), f"secrets not in .env.example: {sorted(needed - set(keys))}"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: the Secret is not built from .env.example (its keys were checked)")
        return
    result = subprocess.run([kubectl, "create", "secret", "generic", "omni-mcp-env", "--dry-run=client", "-o", "yaml",
                             "--from-env-file", os.path.join(ROOT, ".env.example")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(yaml.safe_load(result.stdout)["data"]) == sorted(keys)


def unit_directives() -> dict:
    directives = {}
    section = None
    for line in open(UNIT):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        directives.setdefault((section, key), []).append(value)
    return directives


def test_systemd_unit_passes_verify():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd; scripts/setup.sh installs it)")
    directory = tempfile.mkdtemp(prefix="omni-unit-")
    try:
        # verify checks that ExecStart's binary exists: the built one stands in for /usr/local/bin.
        text = open(UNIT).read().replace("/usr/local/bin/controller", controller_binary())
        path = os.path.join(directory, "omni-mcp.service")
        with open(path, "w") as f:
            f.write(text)
        result = subprocess.run([analyze, "verify", path], capture_output=True, text=True, timeout=120)
        ours = [line for line in (result.stdout + result.stderr).splitlines() if "omni-mcp" in line]
        assert result.returncode == 0 and not ours, result.stdout + result.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_systemd_unit_is_hardened_and_agrees_with_the_controller():
    d = unit_directives()

    def one(key):
        values = d.get(("Service", key))
        assert values and len(values) == 1, f"{key}= must be set once"
        return values[0]

    assert one("Type") == "exec"
    assert one("Restart") == "on-failure"
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("KillMode") == "mixed"
    assert int(one("TimeoutStopSec")) > 20
    assert one("NoNewPrivileges") == "yes"
    assert one("ProtectSystem") == "strict"
    assert one("PrivateTmp") == "yes"
    assert one("ProtectHome") == "yes"
    assert one("CapabilityBoundingSet") == "" and one("AmbientCapabilities") == ""
    assert one("RestrictNamespaces").split() == ["user", "net"]
    assert "MemoryDenyWriteExecute" not in {k for _, k in d}, "it would break every Node server's JIT"
    start = one("ExecStart").split()
    assert start[1] == "run"
    root = start[start.index("--root") + 1]
    assert "--listen" not in start, "systemd runs on the built-in loopback address unless .env says otherwise"
    pre = one("ExecStartPre").split()
    assert pre[1] == "validate" and pre[pre.index("--root") + 1] == root
    assert one("WorkingDirectory") == root
    # Everything the controller writes is under <root>/var: the state directory is bound there.
    state = one("StateDirectory")
    assert one("BindPaths") == f"/var/lib/{state}:{root}/var"
    home = [v.split("=", 1)[1] for v in d[("Service", "Environment")] if v.startswith("HOME=")]
    assert home == [f"/var/cache/{one('CacheDirectory')}"], "HOME (npx/uvx caches) must be writable"


def containerfile_instructions() -> list:
    lines, current = [], ""
    for raw in open(CONTAINERFILE):
        line = raw.rstrip("\n")
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        lines.append(current.strip())
        current = ""
    return [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]


def test_containerfile_stages_sources_and_user():
    instructions = containerfile_instructions()
    stages = [re.split(r"\s+", args) for op, args in instructions if op == "FROM"]
    names = [s[2] for s in stages if len(s) == 3 and s[1].upper() == "AS"]
    assert names == ["build", "uv", "runtime"]
    args = dict(a.split("=", 1) for op, a in instructions if op == "ARG" and "=" in a)
    assert re.fullmatch(r"swift:6\.\d+(\.\d+)?-bookworm", args["SWIFT_IMAGE"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["UV_VERSION"]), "uv is pinned"
    assert stages[-1][0] == "debian:bookworm-slim"
    for op, arguments in instructions:
        if op == "COPY" and not arguments.startswith("--from"):
            for source in arguments.split()[:-1]:
                assert os.path.exists(os.path.join(ROOT, source)), f"COPY source {source} does not exist"
        if op == "COPY" and arguments.startswith("--from="):
            assert arguments.split()[0][len("--from="):] in names
    runs = " ".join(a for op, a in instructions if op == "RUN")
    assert "--product controller" in runs and "--product mcp-demo" in runs
    for package in ("libyaml-0-2", "libinotifytools0", "ca-certificates", "nodejs", "npm"):
        assert package in runs
    spec = kubernetes_objects()["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    user = [a for op, a in instructions if op == "USER"]
    assert user == [f"{spec['runAsUser']}:{spec['runAsGroup']}"]
    assert f"--uid {spec['runAsUser']}" in runs
    _, port = builtin_listen()
    assert [a for op, a in instructions if op == "EXPOSE"] == [str(port)]
    assert [a for op, a in instructions if op == "ENTRYPOINT"] == ['["controller"]']
    health = [a for op, a in instructions if op == "HEALTHCHECK"]
    assert len(health) == 1 and '"health"' in health[0] and f"127.0.0.1:{port}" in health[0]
    ignore = open(os.path.join(ROOT, ".containerignore")).read().split()
    for entry in (".build", ".venv", "var", ".env"):
        assert entry in ignore


def test_containerfile_build_context_is_a_loadable_package():
    """The build stage's COPYs, replayed into an empty directory, give SwiftPM every directory
    Package.swift names (it refuses to load a package with a target's directory missing)."""
    swift = shutil.which("swift")
    if swift is None:
        pytest.skip("swift is not on PATH")
    instructions = containerfile_instructions()
    stage = []
    for op, arguments in instructions:
        if op == "FROM":
            stage.append([])
        elif stage:
            stage[-1].append((op, arguments))
    build = stage[0]
    directory = tempfile.mkdtemp(prefix="omni-image-context-")
    try:
        workdir = directory
        for op, arguments in build:
            if op == "WORKDIR":
                workdir = os.path.join(directory, arguments.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            if op == "COPY":
                *sources, destination = arguments.split()
                target = os.path.normpath(os.path.join(workdir, destination))
                for source in sources:
                    path = os.path.join(ROOT, source)
                    if os.path.isdir(path):
                        shutil.copytree(path, target)
                    else:
                        shutil.copy(path, target)
        result = subprocess.run([swift, "package", "describe", "--type", "json"], cwd=workdir, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert {"controller", "mcp-demo"} <= {p["name"] for p in json.loads(result.stdout)["products"]}
    finally:
        shutil.rmtree(directory, ignore_errors=True)

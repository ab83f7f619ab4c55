"""Shared by the deployment tests: where things are, the manifests parsed, the kustomize render."""

import glob
import os
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Absolute: the unit under test names it in ExecStart, which must be an absolute path.
CONTROLLER = os.path.abspath(os.environ.get("CONTROLLER", os.path.join(ROOT, ".build", "debug", "controller")))
KUBERNETES = os.path.join(ROOT, "manifests", "kubernetes")
UNIT = os.path.join(ROOT, "manifests", "systemd", "omni-mcp.service")
CONTAINERFILE = os.path.join(ROOT, "Containerfile")


def controller_binary() -> str:
    if not os.access(CONTROLLER, os.X_OK):
        pytest.fail(f"controller binary not found at {CONTROLLER}; run `swift build` or set CONTROLLER")
    return CONTROLLER


def load_documents(path: str) -> list:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kubernetes_objects() -> dict:
    """Every object of the base's resource files, keyed by kind (one of each)."""
    objects = {}
    with open(os.path.join(KUBERNETES, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    for resource in kustomization["resources"]:
        for document in load_documents(os.path.join(KUBERNETES, resource)):
            assert document["kind"] not in objects, f"two {document['kind']} objects"
            objects[document["kind"]] = document
    return objects


def kustomization() -> dict:
    with open(os.path.join(KUBERNETES, "kustomization.yaml")) as f:
        return yaml.safe_load(f)


def render_kustomize():
    """`kubectl kustomize` of the base as a list of objects, or None (with the reason printed)
    when kubectl is not installed: it is not a Debian package."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: the kustomize render is not checked (every file is still parsed)")
        return None
    result = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", KUBERNETES],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d is not None]


def config_maps_from_files() -> dict:
    """The generated ConfigMaps' data as kustomize builds them (name → {key: content}), from the
    generator's file lists; used when kubectl is absent."""
    maps = {}
    for generator in kustomization()["configMapGenerator"]:
        data = {}
        for entry in generator["files"]:
            key, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
            with open(os.path.normpath(os.path.join(KUBERNETES, path))) as f:
                data[key or os.path.basename(path)] = f.read()
        maps[generator["name"]] = data
    return maps


def env_example_keys() -> list:
    """The variables .env.example lists (KEY=… lines), in order."""
    keys = []
    with open(os.path.join(ROOT, ".env.example")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                keys.append(line.split("=", 1)[0])
    return keys


def env_example_values() -> dict:
    values = {}
    with open(os.path.join(ROOT, ".env.example")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def server_manifests() -> dict:
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "servers", "*.yaml"))):
        with open(path) as f:
            out[os.path.basename(path)] = yaml.safe_load(f)
    return out

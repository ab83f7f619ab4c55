"""The CI workflows and .ci/run run the same make targets, so the two cannot drift; every job
checks out with actions/checkout@v4 and reads the repository only; the nightly job gets every
catalogue secret (named as in .env.example) and runs on a schedule."""

import glob
import os
import re

import yaml

from conftest import ROOT, env_example_keys, server_manifests

WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
# The one step that is not a make target: the Swift image has no make.
BOOTSTRAP = "apt-get update -qq && apt-get install -y -qq make"


def workflow(name: str) -> dict:
    with open(os.path.join(WORKFLOWS, name)) as f:
        document = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as true.
    document["on"] = document.pop(True, document.get("on"))
    return document


def make_targets(command: str) -> list:
    match = re.fullmatch(r"make((?:\s+[a-z][a-z-]*)+)", command.strip())
    assert match, f"a CI step runs {command!r}, not a make target"
    return match.group(1).split()


def workflow_targets(name: str) -> set:
    targets = set()
    document = workflow(name)
    assert document["permissions"] == {"contents": "read"}
    for job_name, job in document["jobs"].items():
        steps = job["steps"]
        assert steps[0]["uses"] == "actions/checkout@v4", f"{name}:{job_name} does not check out first"
        runs = [step["run"] for step in steps if "run" in step]
        assert runs, f"{name}:{job_name} runs nothing"
        for command in runs:
            if command != BOOTSTRAP:
                targets.update(make_targets(command))
    return targets


def ci_run_targets() -> set:
    targets = set()
    for line in open(os.path.join(ROOT, ".ci", "run")):
        line = line.strip()
        if line.startswith("make"):
            targets.update(make_targets(line))
    return targets


def makefile_targets() -> set:
    text = open(os.path.join(ROOT, "Makefile")).read()
    phony = set(re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split())
    rules = set(re.findall(r"^([a-z][a-z-]*):", text, re.M))
    assert phony <= rules, f"phony targets without a rule: {phony - rules}"
    return rules


def test_the_workflows_are_the_expected_three():
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(WORKFLOWS, "*.yml"))) == \
        ["ci.yml", "nightly-health.yml", "security.yml"]


def test_ci_and_ci_run_run_the_same_targets():
    ci = workflow_targets("ci.yml") | workflow_targets("security.yml")
    assert ci == ci_run_targets(), "the workflows and .ci/run must run the same make targets"
    assert {"lint", "build", "test", "validate", "security", "health-check"} <= ci
    assert ci <= makefile_targets()


def test_nightly_enables_every_catalogue_secret():
    document = workflow("nightly-health.yml")
    assert workflow_targets("nightly-health.yml") == {"nightly-health"}
    assert "nightly-health" in makefile_targets()
    assert document["on"]["schedule"][0]["cron"]
    env = document["jobs"]["nightly-health"]["env"]
    secrets = set()
    for manifest in server_manifests().values():
        secrets |= set(manifest.get("secrets") or [])
    assert set(env) == secrets
    assert secrets <= set(env_example_keys())
    for name, value in env.items():
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_][A-Z0-9_]* \}\}", value), f"{name} must come from a secret"


def test_pull_requests_run_ci_and_security():
    for name in ("ci.yml", "security.yml"):
        on = workflow(name)["on"]
        assert "pull_request" in on and "push" in on

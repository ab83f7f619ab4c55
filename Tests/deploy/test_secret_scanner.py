"""scripts/check-secrets.py (the `make security` scanner) finds every shape it promises, passes
placeholders and the allow-list, and the repository itself is clean. The fake secrets are
assembled at run time so that this file has none of the shapes itself."""

import importlib.util
import os
import subprocess
import sys

from conftest import ROOT

SCRIPT = os.path.join(ROOT, "scripts", "check-secrets.py")
spec = importlib.util.spec_from_file_location("check_secrets", SCRIPT)
scanner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scanner)

A, B = "A" * 8, "B" * 40


def kinds(text: str, rules=()) -> list:
    return [finding.split(": ", 1)[1] for finding in scanner.findings("f.txt", text, list(rules))]


def test_every_shape_is_found():
    assert kinds("key " + "AKIA" + "Z" * 16) == ["AWS access key id"]
    assert kinds("t=" + "ghp" + "_" + "a" * 36) == ["GitHub token"]
    assert kinds("t " + "github" + "_pat_" + "a" * 30) == ["GitHub token"]
    assert kinds("x " + "xox" + "b-" + "1" * 20) == ["Slack token"]
    assert kinds("k " + "rk" + "_live_" + "a" * 24) == ["Stripe key"]
    assert kinds("-----BEGIN " + "OPENSSH PRIVATE KEY-----") == ["private key block"]
    assert kinds("GITHUB" + "_TOKEN=" + "abc") == ["credential assignment (GITHUB_TOKEN)"]
    assert kinds("export DB" + "_PASSWORD=" + "hunter2") == ["credential assignment (DB_PASSWORD)"]


def test_placeholders_and_allow_list_pass():
    for value in ("", "${GITHUB_TOKEN}", "$OTHER", "<your token>", "...", "…", '""', "  # comment"):
        assert kinds("GITHUB" + "_TOKEN=" + value) == [], value
    assert kinds("token = 'x'") == []  # code, not an env-file line
    fake = "AKIA" + "Q" * 16
    assert kinds(fake, [("f.txt", scanner.re.compile("AKIA"))]) == []
    assert kinds(fake, [("other.txt", scanner.re.compile("AKIA"))]) == ["AWS access key id"]


def test_the_repository_is_clean():
    result = subprocess.run([sys.executable, SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

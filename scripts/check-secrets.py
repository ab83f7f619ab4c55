#!/usr/bin/env python3
"""Fails when a committed file holds a secret-shaped string.

Usage: check-secrets.py [FILE ...]   (default: every file `git ls-files` lists)

Shapes: AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_,
github_pat_), Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-), Stripe live/test keys
(sk_/rk_), private key blocks, and env-file assignments of a non-empty value to a variable
named like a credential (`GITHUB_TOKEN=abc`, `export DB_PASSWORD=abc`; the form of .env and
shell files, no spaces around `=`). Placeholders never count: an empty value, `${VAR}`,
`$VAR`, `<...>`, `...`, `…`. Deliberate fakes (the redactor's tests need token-shaped text)
are listed in scripts/secret-allowlist.txt, one `GLOB REGEX` per line: a finding in a file
matching GLOB whose text matches REGEX is allowed. Exit 1 with `file:line: kind` per finding
(the value itself is never printed).
"""
import fnmatch
import os
import re
import subprocess
import sys

SHAPES = [
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("private key block", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----")),
]
ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY)[A-Z0-9_]*)=(.*)$")
PLACEHOLDER = re.compile(r"""^["']?(?:|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>|\.\.\.|…)["']?\s*(?:#.*)?$""")
ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secret-allowlist.txt")


def allowlist(path: str = ALLOWLIST) -> list:
    rules = []
    if os.path.exists(path):
        for line in open(path):
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                glob, regex = line.split(None, 1)
                rules.append((glob, re.compile(regex)))
    return rules


def findings(path: str, text: str, rules: list) -> list:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        hits = [(kind, m.group(0)) for kind, shape in SHAPES for m in shape.finditer(line)]
        assignment = ASSIGNMENT.match(line)
        if assignment and not PLACEHOLDER.match(assignment.group(2).strip()):
            hits.append((f"credential assignment ({assignment.group(1)})", line.strip()))
        for kind, text_found in hits:
            if any(fnmatch.fnmatch(path, glob) and regex.search(text_found) for glob, regex in rules):
                continue
            out.append(f"{path}:{number}: {kind}")
    return out


def main(arguments: list) -> int:
    files = arguments or subprocess.run(["git", "ls-files", "-z"], check=True, capture_output=True,
                                        text=True).stdout.split("\0")
    rules = allowlist()
    problems = []
    scanned = 0
    for path in files:
        if not path or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read(4 * 1024 * 1024)
        if b"\0" in data:
            continue  # binary
        scanned += 1
        problems += findings(path, data.decode("utf-8", "replace"), rules)
    for problem in problems:
        print(problem)
    print(f"secrets: {scanned} files scanned, {len(problems)} secret-shaped strings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

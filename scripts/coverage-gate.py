#!/usr/bin/env python3
"""Enforces line-coverage gates per module from the last `swift test --enable-code-coverage`.

Usage: coverage-gate.py Desired=90 [Reconciler=90 ...]
Reads the llvm-cov JSON export that SwiftPM writes and sums the line counts of every file
under Sources/<Module>/.
"""
import json
import os
import subprocess
import sys


def main() -> int:
    path = subprocess.run(["swift", "test", "--show-codecov-path"], check=True, capture_output=True, text=True).stdout.strip()
    with open(path) as f:
        data = json.load(f)
    root = os.getcwd()
    failed = False
    for gate in sys.argv[1:]:
        module, minimum = gate.split("=")
        prefix = os.path.join(root, "Sources", module) + os.sep
        covered = total = 0
        for file in data["data"][0]["files"]:
            if file["filename"].startswith(prefix):
                lines = file["summary"]["lines"]
                covered += lines["covered"]
                total += lines["count"]
        percent = 100.0 * covered / total if total else 0.0
        verdict = "ok" if percent >= float(minimum) else "BELOW GATE"
        print(f"coverage {module}: {percent:.1f}% of {total} lines (gate {minimum}%) {verdict}")
        failed |= percent < float(minimum)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

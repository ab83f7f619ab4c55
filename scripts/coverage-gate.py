#!/usr/bin/env python3
"""Enforces line-coverage gates from the last `swift test --enable-code-coverage`.

Usage: coverage-gate.py Desired=90 [Reconciler=90 ...] [ALL=80]
Reads the llvm-cov JSON export that SwiftPM writes. A module gate sums the line counts of
every file under Sources/<Module>/. ALL is the whole project: every file under Sources/ that
the export lists, which is every Swift file compiled into the test binary (every module but
the executables' entry points: Sources/Controller/main.swift and Sources/McpDemo, which the
tests run as separate processes and whose profiles the export does not hold). The C shim
(Sources/CSystem/csystem.c) is counted when the export lists it.
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
    sources = os.path.join(root, "Sources") + os.sep
    files = [f for f in data["data"][0]["files"] if f["filename"].startswith(sources)]
    failed = False
    for gate in sys.argv[1:]:
        module, minimum = gate.split("=")
        prefix = sources if module == "ALL" else os.path.join(sources, module) + os.sep
        covered = total = counted = 0
        for file in files:
            if file["filename"].startswith(prefix):
                lines = file["summary"]["lines"]
                covered += lines["covered"]
                total += lines["count"]
                counted += 1
        percent = 100.0 * covered / total if total else 0.0
        verdict = "ok" if percent >= float(minimum) else "BELOW GATE"
        name = f"whole project ({counted} files under Sources/)" if module == "ALL" else module
        print(f"coverage {name}: {percent:.1f}% of {total} lines (gate {minimum}%) {verdict}")
        failed |= percent < float(minimum)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Enforces line-coverage gates from the last `swift test --enable-code-coverage`.

Usage: coverage-gate.py Desired=90 [Reconciler=90 ...] [ALL=80]

Merges every raw profile in SwiftPM's coverage directory (which `swift test` empties when it
starts) and exports line counts for the test binary with llvm-cov. Those profiles are the test
binary's own and, because the end-to-end tests pass LLVM_PROFILE_FILE on to the `controller`
processes they run, the controller binary's: its counters belong to the same functions, so
code the tests reach only through the binary (most of Sources/Controller) counts too.

A module gate sums the lines of every file under Sources/<Module>/. ALL is the whole project:
every file under Sources/ that the export lists, which is every Swift file compiled into the
test binary that holds code. Not in it: Sources/McpDemo (a separate program that no test target
imports; its processes' profiles are not merged) and the C shim Sources/CSystem/csystem.c
(compiled without instrumentation).
"""
import glob
import json
import os
import subprocess
import sys


def export() -> dict:
    swiftpm_json = subprocess.run(["swift", "test", "--show-codecov-path"], check=True, capture_output=True,
                                  text=True).stdout.strip()
    directory = os.path.dirname(swiftpm_json)
    profiles = sorted(glob.glob(os.path.join(directory, "*.profraw")))
    binaries = glob.glob(os.path.join(os.path.dirname(directory), "*PackageTests.xctest"))
    if not profiles or len(binaries) != 1:
        # Nothing to merge (an older SwiftPM layout): SwiftPM's own export, test binary only.
        with open(swiftpm_json) as f:
            return json.load(f)
    merged = os.path.join(directory, "merged.profdata")
    subprocess.run(["llvm-profdata", "merge", "-sparse", "-o", merged] + profiles, check=True)
    out = subprocess.run(["llvm-cov", "export", "-summary-only", f"-instr-profile={merged}", binaries[0]],
                         check=True, capture_output=True, text=True).stdout
    print(f"coverage: {len(profiles)} profiles merged (test binary and the controller processes it ran)")
    return json.loads(out)


def main() -> int:
    data = export()
    sources = os.path.join(os.getcwd(), "Sources") + os.sep
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

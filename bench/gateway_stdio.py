"""bench/gateway.sh's direct path: one MCP server over stdio, no HTTP. Handshakes, warms up,
then sends COUNT sequential `tools/call` requests (each written after the previous answer) and
prints one `BENCH ...` line: calls/s and p50/p99/max in microseconds, measured from the write
to the answer's line. Usage: gateway_stdio.py COUNT TOOL ARGUMENTS_JSON -- COMMAND..."""

import json
import subprocess
import sys
import time


def main() -> None:
    count, tool, arguments = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, inp = child.stdout, child.stdin

    def call(message: dict) -> dict:
        inp.write(json.dumps(message).encode() + b"\n")
        inp.flush()
        while True:
            reply = json.loads(out.readline())
            if reply.get("id") == message.get("id"):
                return reply

    call({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    inp.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    inp.flush()
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    for _ in range(200):
        assert "result" in call(request)
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        request["id"] = index + 2
        t0 = time.perf_counter()
        reply = call(request)
        latencies.append(time.perf_counter() - t0)
        assert "result" in reply, reply
    seconds = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6
    print(f"BENCH requests={count} seconds={seconds:.3f} rps={count / seconds:.1f} p50_us={pick(0.5):.0f} "
          f"p99_us={pick(0.99):.0f} max_us={latencies[-1] * 1e6:.0f}")
    inp.close()
    child.wait(timeout=10)


if __name__ == "__main__":
    main()

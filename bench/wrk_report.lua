-- The `done` hook shared by the wrk scripts of bench/: one machine-readable `BENCH ...` line
-- at the end (requests/s, p50/p99/max in microseconds, errors), which the shell scripts parse.

function done(summary, latency, requests)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%.0f seconds=%.3f rps=%.1f p50_us=%.0f p99_us=%.0f max_us=%.0f "
            .. "connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50), latency:percentile(99), latency.max,
        e.connect, e.read, e.write, e.status, e.timeout))
end

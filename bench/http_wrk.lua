-- wrk script for bench/http.sh. Prints one machine-readable `BENCH ...` line at the end
-- (requests/s, p50/p99/max in microseconds, errors).
--
-- Pacing: when BENCH_DELAY_MS is set, each connection waits that many milliseconds (a mean:
-- wrk's timers are whole milliseconds, so each wait is the floor or the ceiling at random) after
-- a response before sending its next request; with C connections the aggregate rate is about
-- C * 1000 / (delay + response time) per second. This is wrk's `delay()` hook: closed loop per
-- connection with a think time, an approximation of open-loop load, not a constant-rate
-- generator. Latency is measured from the request's send, so the wait is not counted in it.
-- delay() must only exist when pacing: its mere presence makes wrk schedule a timer per request.

local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "")

if pace then
    local whole = math.floor(pace)
    local fraction = pace - whole
    math.randomseed(os.time())
    function delay()
        if math.random() < fraction then
            return whole + 1
        end
        return whole
    end
end

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

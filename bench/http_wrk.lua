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

-- Run from the repository root (the bench scripts cd there).
dofile("bench/wrk_report.lua")

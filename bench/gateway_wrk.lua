-- wrk script for bench/gateway.sh: POSTs one MCP `tools/call` over and over on keep-alive
-- connections. The body and the session come from the environment (BENCH_BODY, BENCH_SESSION,
-- BENCH_VERSION), so the same client drives the gateway and mcp-proxy. Prints one `BENCH ...`
-- line (requests/s, p50/p99/max in microseconds, errors) like bench/http_wrk.lua.

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
local session = os.getenv("BENCH_SESSION") or ""
if session ~= "" then
    wrk.headers["Mcp-Session-Id"] = session
end
local version = os.getenv("BENCH_VERSION") or ""
if version ~= "" then
    wrk.headers["MCP-Protocol-Version"] = version
end
local method = os.getenv("BENCH_METHOD") or ""
if method ~= "" then
    wrk.headers["Mcp-Method"] = method
    wrk.headers["Mcp-Name"] = os.getenv("BENCH_NAME")
end

-- Run from the repository root (the bench scripts cd there).
dofile("bench/wrk_report.lua")

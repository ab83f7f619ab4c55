"""Interop: the official MCP Python SDK (`mcp` 2.3.0) drives `mcp-demo` over stdio.

What this pins: the demo is a real dual-era MCP server as a real client sees it —
- `Client(mode="auto")` probes `server/discover` and adopts 2026-07-28 against the default
  (dual) demo, and falls back to the `initialize` handshake against `--era legacy`;
- the low-level `ClientSession.initialize()` (handshake only) negotiates 2025-11-25, and a
  `--era modern` demo refuses it with -32022;
- every tool answers as its schema says, in every era; progress arrives in order;
  unknown tools are protocol errors, bad arguments are tool errors;
- a request the client abandons is cancelled on the server, which keeps serving.

The binary comes from $MCP_DEMO (default: <repo>/.build/debug/mcp-demo). Every test is
bounded by `anyio.fail_after`, so a server that stops answering fails the test instead of
hanging it.
"""

import datetime
import os
import tempfile
import warnings
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client, ClientSession, MCPError, StdioServerParameters, stdio_client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MCP_DEMO = os.environ.get("MCP_DEMO", os.path.join(ROOT, ".build", "debug", "mcp-demo"))
TOOL_NAMES = ["echo", "add", "sleep", "clock", "fetch"]
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
# Each test's wall-clock budget, in seconds: generous for a loaded CI box, tiny for a hang.
BUDGET = 20

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True, scope="module")
def _binary_exists():
    if not os.access(MCP_DEMO, os.X_OK):
        pytest.fail(f"mcp-demo binary not found at {MCP_DEMO}; run `swift build --product mcp-demo` or set MCP_DEMO")


def demo(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=MCP_DEMO, args=list(args))


@asynccontextmanager
async def legacy_session(*args: str, errlog=None):
    """The SDK's low-level, handshake-only path: `stdio_client` + `ClientSession`."""
    kwargs = {"errlog": errlog} if errlog is not None else {}
    async with stdio_client(demo(*args), **kwargs) as (read, write):
        async with ClientSession(read, write) as session:
            yield session


def text_of(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text", result
    return result.content[0].text


async def check_every_tool(call) -> None:
    """Calls each tool through `call(name, arguments)` and checks the answers."""
    result = await call("echo", {"text": "hello, wörld"})
    assert not result.is_error and text_of(result) == "hello, wörld"

    result = await call("add", {"a": 2, "b": 3.5})
    assert not result.is_error
    assert float(text_of(result)) == 5.5 and result.structured_content == {"sum": 5.5}
    result = await call("add", {"a": 40, "b": 2})
    assert text_of(result) == "42" and result.structured_content == {"sum": 42}

    result = await call("sleep", {"ms": 50})
    assert not result.is_error and text_of(result) == "slept 50 ms"

    result = await call("clock", {})
    stamp = datetime.datetime.fromisoformat(text_of(result).replace("Z", "+00:00"))
    assert stamp.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()) < 60

    # Bad arguments are the tool's error (a result with isError), not a protocol error.
    result = await call("add", {"a": "two", "b": 3})
    assert result.is_error and "number" in text_of(result)
    result = await call("sleep", {"ms": -1})
    assert result.is_error and "integer" in text_of(result)
    result = await call("echo", {})
    assert result.is_error and "text" in text_of(result)


async def check_tool_list(tools) -> None:
    assert [tool.name for tool in tools] == TOOL_NAMES
    for tool in tools:
        assert tool.description
        assert tool.input_schema["type"] == "object"
    required = {tool.name: tool.input_schema.get("required", []) for tool in tools}
    assert required == {"echo": ["text"], "add": ["a", "b"], "sleep": ["ms"], "clock": [], "fetch": ["url"]}


async def test_auto_mode_against_dual_era_demo_negotiates_modern():
    with anyio.fail_after(BUDGET):
        async with Client(demo()) as client:
            assert client.protocol_version == MODERN
            assert client.server_info is not None and client.server_info.name == "mcp-demo"
            assert client.server_info.version == "0.1.0"
            assert client.server_capabilities.tools is not None
            assert client.session.discover_result is not None
            assert LEGACY in client.session.discover_result.supported_versions
            listing = await client.list_tools()
            await check_tool_list(listing.tools)
            await check_every_tool(client.call_tool)


async def test_legacy_handshake_negotiates_2025_11_25():
    with anyio.fail_after(BUDGET):
        async with legacy_session("--name", "demo-legacy") as session:
            result = await session.initialize()
            assert result.protocol_version == LEGACY
            assert result.server_info.name == "demo-legacy"
            assert result.capabilities.tools is not None
            assert result.instructions
            listing = await session.list_tools()
            await check_tool_list(listing.tools)
            await check_every_tool(session.call_tool)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await session.send_ping()


async def test_auto_mode_falls_back_to_handshake_against_legacy_era():
    with anyio.fail_after(BUDGET):
        async with Client(demo("--era", "legacy")) as client:
            assert client.protocol_version == LEGACY
            assert client.session.initialize_result is not None
            listing = await client.list_tools()
            await check_tool_list(listing.tools)
            await check_every_tool(client.call_tool)


async def test_modern_era_serves_auto_mode_and_rejects_handshake():
    with anyio.fail_after(BUDGET):
        async with Client(demo("--era", "modern")) as client:
            assert client.protocol_version == MODERN
            assert client.session.discover_result.supported_versions == [MODERN]
            listing = await client.list_tools()
            await check_tool_list(listing.tools)
            await check_every_tool(client.call_tool)

        async with legacy_session("--era", "modern") as session:
            with pytest.raises(MCPError) as raised:
                await session.initialize()
            assert raised.value.code == -32022
            assert raised.value.error.data == {"supported": [MODERN], "requested": LEGACY}


@pytest.mark.parametrize("era_args", [[], ["--era", "legacy"]], ids=["modern", "legacy"])
async def test_sleep_reports_increasing_progress(era_args):
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    with anyio.fail_after(BUDGET):
        async with Client(demo(*era_args)) as client:
            result = await client.call_tool("sleep", {"ms": 550}, progress_callback=on_progress)
            assert text_of(result) == "slept 550 ms"
            # Callbacks are delivered asynchronously; give the last one a moment to land.
            with anyio.move_on_after(2):
                while not updates or updates[-1][0] < 550:
                    await anyio.sleep(0.01)

    progress = [update[0] for update in updates]
    assert len(progress) >= 4, updates
    assert progress == sorted(progress) and len(set(progress)) == len(progress), updates
    assert progress[-1] == 550
    assert all(total == 550 for _, total, _ in updates)
    assert all(message for _, _, message in updates)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_unknown_tool_is_a_protocol_error(mode):
    with anyio.fail_after(BUDGET):
        async with Client(demo(), mode=mode) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("no_such_tool", {})
            assert raised.value.code == -32602
            assert "Unknown tool: no_such_tool" in raised.value.error.message


async def test_abandoned_request_is_cancelled_and_server_keeps_serving():
    with tempfile.TemporaryFile("w+") as errlog:
        with anyio.fail_after(BUDGET):
            async with legacy_session(errlog=errlog) as session:
                await session.initialize()
                # The SDK sends notifications/cancelled when its read timeout abandons the call.
                with pytest.raises(MCPError):
                    await session.call_tool("sleep", {"ms": 60_000}, read_timeout_seconds=0.3)
                result = await session.call_tool("echo", {"text": "still here"})
                assert text_of(result) == "still here"
                with anyio.move_on_after(5):
                    while "cancelled request" not in read_all(errlog):
                        await anyio.sleep(0.05)
        assert "cancelled request" in read_all(errlog)


def read_all(handle) -> str:
    handle.flush()
    handle.seek(0)
    return handle.read()

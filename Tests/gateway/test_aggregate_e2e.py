"""The aggregate endpoint `/mcp` as real clients see it (issue 13): the official SDK 2.x in
both eras lists every ready server's tools as `<server>__<name>` and calls `demo__echo` and
`time__get_current_time` (mcp-server-time from PyPI); a server that hangs on `tools/list` drops
out of the list without breaking it for the others. Every wait is bounded.
"""

import anyio
import pytest
from harness import BUDGET, FAST, MODERN, TIME_SERVER, Controller, demo, text_of
from mcp import Client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def fleet():
    c = Controller({
        "demo": (demo(), FAST),
        "time": ([TIME_SERVER], FAST),
        "hang": (demo("--hang", "tools/list"), FAST),
    })
    for name in ("demo", "time", "hang"):
        c.wait_ready(name, timeout=60)
    yield c
    c.stop()


@pytest.mark.parametrize("mode", [MODERN, "legacy"])
async def test_both_eras_list_and_call_across_the_fleet_while_one_server_hangs(fleet, mode):
    with anyio.fail_after(BUDGET):
        async with Client(f"http://127.0.0.1:{fleet.port}/mcp", mode=mode) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert names[:4] == ["demo__echo", "demo__add", "demo__sleep", "demo__clock"], names
            assert "time__get_current_time" in names
            assert not any(name.startswith("hang__") for name in names)
            assert text_of(await client.call_tool("demo__echo", {"text": f"via /mcp {mode}"})) == f"via /mcp {mode}"
            now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
            assert "UTC" in text_of(now)

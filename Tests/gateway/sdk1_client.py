"""Run by the gateway tests with the SDK 1.x venv's Python: the legacy-only official client
against one `/mcp/<name>` URL. Prints one JSON object: the negotiated version, tool names, an
echo's text and how many progress notifications a sleep produced."""

import json
import sys

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import ListRootsResult, Root


async def roots(context):
    return ListRootsResult(roots=[Root(uri="file:///sdk1")])


async def main(url: str) -> None:
    report = {}
    with anyio.fail_after(30):
        async with streamablehttp_client(url) as (read, write, _):
            async with ClientSession(read, write, list_roots_callback=roots) as session:
                init = await session.initialize()
                report["version"] = init.protocolVersion
                tools = await session.list_tools()
                report["tools"] = [t.name for t in tools.tools]
                if "echo" in report["tools"]:
                    result = await session.call_tool("echo", {"text": "from sdk1"})
                    report["echo"] = result.content[0].text
                    updates = []

                    async def progress(value, total, message):
                        updates.append(value)

                    await session.call_tool("sleep", {"ms": 300}, progress_callback=progress)
                    report["progress"] = len(updates)
                if "roots" in report["tools"]:
                    result = await session.call_tool("roots", {})
                    report["roots"] = result.content[0].text
                await session.send_ping()
    print(json.dumps(report))


anyio.run(main, sys.argv[1])

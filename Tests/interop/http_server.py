"""A Streamable HTTP MCP server built with the official Python SDK, for the controller's
`transport: http` tests. Usage: http_server.py PORT. Serves /mcp on 127.0.0.1 only."""

import sys

from mcp.server import MCPServer

server = MCPServer("sdk-http-peer")


@server.tool()
def echo(text: str) -> str:
    """Returns its argument."""
    return text


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))

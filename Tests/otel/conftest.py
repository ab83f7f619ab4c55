"""The tracing tests share the gateway tests' harness (controller, raw MCP connection)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gateway"))

# Sourced by the gateway benchmarks: sets $controller and $demo to release builds of
# `controller` and `mcp-demo`, built here unless CONTROLLER_BIN and MCP_DEMO_BIN name them.

if [ -n "${CONTROLLER_BIN:-}" ]; then
  # Absolute: the benchmarks run the controller in a root of their own, where a relative
  # path would name nothing.
  controller=$(realpath "$CONTROLLER_BIN")
  demo=$(realpath "${MCP_DEMO_BIN:?set MCP_DEMO_BIN with CONTROLLER_BIN}")
else
  swift build -c release --product controller >/dev/null
  swift build -c release --product mcp-demo >/dev/null
  controller="$(swift build -c release --show-bin-path)/controller"
  demo="$(swift build -c release --show-bin-path)/mcp-demo"
fi

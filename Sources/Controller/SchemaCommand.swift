import Desired
import JSON

/// `controller schema`: the JSON Schema generated from the validator's own definitions.
enum SchemaCommand {
    static func run(_ arguments: inout Arguments) throws(Arguments.Problem) -> Int32 {
        let kind = try arguments.choice("--kind", ["manifest", "config"], default: "manifest")
        try arguments.finish()
        let document =
            kind == "config"
            ? JSONSchemaWriter.document(
                ConfigSchema.schema, id: "https://omni-mcp.dev/schema/config.schema.json", title: "Omni-MCP config layer")
            : JSONSchemaWriter.document(
                ManifestSchema.schema, id: "https://omni-mcp.dev/schema/manifest.schema.json", title: "Omni-MCP server manifest")
        Output.print(document.rendered(pretty: true))
        return 0
    }
}

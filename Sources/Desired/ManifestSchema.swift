/// The schema of `servers/NAME.yaml`.
public enum ManifestSchema {
    /// Where editors find the published schema, relative to `servers/`.
    public static let schemaComment = "# yaml-language-server: $schema=../schema/manifest.schema.json"

    public static let schema = Schema.object(
        ObjectSchema(
            "An MCP server the controller runs and exposes.",
            fields: [
                Field("name", .string(.name, description: "Equals the file's stem; [a-z0-9][a-z0-9-]{0,47}."), required: true),
                Field("description", .string(.text(max: 200), description: "What the server is for, one line."), required: true),
                Field("homepage", .string(.url, description: "The server's project page.")),
                Field(
                    "transport",
                    .string(.oneOf(["stdio", "http"]), description: "stdio (a child process) or http (Streamable HTTP at url)."),
                    required: true),
                Field(
                    "command",
                    .array(
                        of: .string(.text(max: 4096), interpolated: true, description: "One argument; ${VAR} allowed."),
                        minItems: 1, maxItems: 256,
                        description: "argv of the process to run, never a shell string. Required for stdio.")),
                Field(
                    "url",
                    .string(.url, interpolated: true, description: "Streamable HTTP endpoint. Required for http, not allowed for stdio.")),
                Field("cwd", .string(.text(max: 4096), interpolated: true, description: "Working directory, relative to the root.")),
                Field(
                    "env",
                    .map(
                        keys: .envName,
                        values: .string(
                            .text(max: 65536), interpolated: true, description: "A value; ${VAR}, ${VAR:-default} and $$ allowed."),
                        description: "Exactly the environment the child sees (plus PATH, HOME, LANG, TMPDIR).")),
                Field(
                    "secrets",
                    .array(
                        of: .string(.variableName, description: "A controller-side variable."), unique: true,
                        description: "Variables that must be set for the server to run; their values are redacted everywhere.")),
                Field(
                    "scopes",
                    .array(
                        of: .string(.text(max: 200), description: "One permission."), unique: true,
                        description: "The least-privilege scopes to grant this server's credentials.")),
                Field(
                    "egress",
                    .array(
                        of: .string(.hostPattern, description: "host, *.domain, optional :port."), unique: true,
                        description: "Outbound hosts the server may reach; [] means none.")),
                Field("credentials", CredentialRoute.schema),
                Field("limits", PolicySchemas.limits),
                Field("health", PolicySchemas.health),
                Field("restart", PolicySchemas.restart),
                Field("isolation", PolicySchemas.isolation),
            ],
            conditions: [
                Condition(when: "transport", is: "stdio", requires: ["command"], forbids: ["url"]),
                Condition(when: "transport", is: "http", requires: ["url"]),
            ]))
}

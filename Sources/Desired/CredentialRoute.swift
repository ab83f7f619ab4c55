/// A manifest's `credentials:`: the identity route its provider offers instead of a long-lived
/// static token, and whether this server can take it.
///
/// ```yaml
/// credentials:
///   provider: aws                  # aws | gcp | azure | github-actions
///   route: workload-identity       # workload-identity | oidc | none
///   how: "IRSA: the pod's role instead of access keys"
///   uses: [AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE]
///   replaces: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
/// ```
///
/// `route: none` documents that the provider has such a route but this server can only read a
/// static credential (`how` says what to do instead). With a route, `replaces` names the
/// long-lived variables it makes unnecessary: `controller validate --strict` warns when one is
/// set for an enabled server. When every variable of `uses` is set, the `replaces` variables
/// are no longer required for the server to run.
public struct CredentialRoute: Sendable, Hashable {
    public enum Route: String, Sendable, Hashable, CaseIterable {
        case workloadIdentity = "workload-identity"
        case oidc
        case none

        /// How the matrix and warnings name it.
        public var label: String {
            switch self {
            case .workloadIdentity: "workload identity"
            case .oidc: "OIDC"
            case .none: "none usable"
            }
        }
    }

    public static let providers = ["aws", "gcp", "azure", "github-actions"]

    public var provider: String
    public var route: Route
    public var how: String
    public var uses: [String]
    public var replaces: [String]
    /// Where `credentials:` was written (warnings point here).
    public var position: SourcePosition

    /// True when this route is in use: it has `uses` variables and every one is set.
    public func isInUse(_ environment: Environment) -> Bool {
        !uses.isEmpty && uses.allSatisfy { !(environment[$0] ?? "").isEmpty }
    }

    /// The `replaces` variables that hold a value: long-lived credentials where the route
    /// would do.
    public func staticCredentialsSet(_ environment: Environment) -> [String] {
        route == .none ? [] : replaces.filter { !(environment[$0] ?? "").isEmpty }
    }

    public static let schema = Schema.object(
        ObjectSchema(
            "The provider's short-lived identity route (workload identity, OIDC) and the static variables it replaces.",
            fields: [
                Field(
                    "provider", .string(.oneOf(providers), description: "Whose identity route: aws, gcp, azure or github-actions."),
                    required: true),
                Field(
                    "route",
                    .string(
                        .oneOf(Route.allCases.map(\.rawValue)),
                        description:
                            "workload-identity or oidc (preferred over static tokens), or none: the provider offers one, this server cannot use it."
                    ),
                    required: true),
                Field("how", .string(.text(max: 400), description: "How to set the route up, or what to do instead."), required: true),
                Field(
                    "uses",
                    .array(
                        of: .string(.variableName, description: "A variable the route sets."), maxItems: 16, unique: true,
                        description: "Variables that are all set when the route is in use; then `replaces` are not required.")),
                Field(
                    "replaces",
                    .array(
                        of: .string(.variableName, description: "A long-lived credential variable."), minItems: 1, maxItems: 16,
                        unique: true,
                        description: "The long-lived variables the route makes unnecessary; validate --strict warns when one is set.")),
            ],
            conditions: [
                Condition(when: "route", is: "workload-identity", requires: ["replaces"]),
                Condition(when: "route", is: "oidc", requires: ["replaces"]),
                Condition(when: "route", is: "none", forbids: ["uses", "replaces"]),
            ]))

    /// The typed route of a node that passed `schema`.
    static func decode(_ node: YAMLNode) -> CredentialRoute {
        CredentialRoute(
            provider: node["provider"]?.text ?? "",
            route: node["route"]?.text.flatMap(Route.init(rawValue:)) ?? .none,
            how: node["how"]?.text ?? "",
            uses: node["uses"]?.items?.compactMap(\.text) ?? [],
            replaces: node["replaces"]?.items?.compactMap(\.text) ?? [],
            position: node.position)
    }

    /// `uses` and `replaces` must name variables the manifest reads (its `secrets:` or a
    /// `${VAR}`): a route that names others documents nothing this server does.
    static func check(_ node: YAMLNode, variables: Set<String>) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for key in ["uses", "replaces"] {
            for (index, item) in (node[key]?.items ?? []).enumerated() {
                guard let name = item.text, !variables.contains(name) else { continue }
                let suggestion = Suggestion.closest(to: name, among: variables.sorted()).map { "did you mean \($0)? " } ?? ""
                out.append(
                    Diagnostic(
                        at: item.position, path: "credentials.\(key)[\(index)]",
                        "\(name) is not a variable this manifest reads",
                        hint: "\(suggestion)name a variable of secrets: or a ${VAR} of command, env, url or cwd"))
            }
        }
        return out
    }
}

extension ListenAddress {
    /// The built-in layer's `listen:` (loopback: no token needed, nothing exposed); what
    /// `controller run --help` states, and what deployment manifests are checked against.
    public static var builtin: ListenAddress {
        BuiltinConfig.node["listen"]?.text.flatMap(ListenAddress.init) ?? fallback
    }
}

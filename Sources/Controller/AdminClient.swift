import Desired
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The CLI side of the admin API (`diff --against`, `status`, `health`).
struct AdminClient {
    let base: String
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `--url`, else `http://<listen>` from the files' config (0.0.0.0 and :: mean loopback here).
    static func resolve(url: String?, workspace: Workspace, process: Environment) -> AdminClient {
        let load = workspace.load(process)
        let config = load.state?.config
        let (environment, _) = workspace.environment(process)
        let token = config.flatMap { environment[$0.tokensEnv] }?.split(separator: ",").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if let url { return AdminClient(base: url.hasSuffix("/") ? String(url.dropLast()) : url, token: token) }
        let listen = config?.listen
        var host = listen?.host ?? "127.0.0.1"
        if host == "0.0.0.0" { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        let shown = host.contains(":") ? "[\(host)]" : host
        return AdminClient(base: "http://\(shown):\(listen?.port ?? 8765)", token: token)
    }

    func get(_ path: String) async throws(Failure) -> (Int, String) {
        try await send(path, body: nil)
    }

    /// POSTs `body` (JSON) to `path`.
    func post(_ path: String, json body: [UInt8]) async throws(Failure) -> (Int, String) {
        try await send(path, body: body)
    }

    private func send(_ path: String, body: [UInt8]?) async throws(Failure) -> (Int, String) {
        guard let url = URL(string: base + path) else { throw Failure(description: "\(base + path) is not a URL") }
        var request = URLRequest(url: url, timeoutInterval: 10)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (status, String(decoding: data, as: UTF8.self))
        } catch {
            throw Failure(description: "cannot reach \(base): \(error.localizedDescription)")
        }
    }
}

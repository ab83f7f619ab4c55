import CSystem
import Glibc

/// Turns a failed isolation step of the spawn shim (`omni_spawn_isolated`: step, errno and
/// detail) into the sentence a `LaunchError` carries, and says whether retrying can help.
enum IsolationFailure {
    /// The `LaunchError` for an isolation step, or nil when `step` is not one.
    static func error(step: Int32, code: Int32, detail: Int32, port: UInt16) -> LaunchError? {
        guard let message = message(step: step, code: code, detail: detail, port: port) else { return nil }
        return LaunchError(.isolation, code: code, message, permanent: isPermanent(step: step, code: code))
    }

    /// "isolation: network: unshare(CLONE_NEWNET): Operation not permitted; user namespaces: …".
    static func message(step: Int32, code: Int32, detail: Int32, port: UInt16) -> String? {
        let prefix = "isolation: network: "
        let reason = LaunchError.text(code)
        switch omni_spawn_step(UInt32(step)) {
        case OMNI_SPAWN_UNSHARE:
            // `detail` is the plain unshare's errno; only "not permitted" tried the fallback.
            guard detail == EPERM || detail == EACCES else { return prefix + "unshare(CLONE_NEWNET): \(reason)" }
            return prefix
                + "unshare(CLONE_NEWNET): \(LaunchError.text(detail)); user namespaces: unshare(CLONE_NEWUSER|CLONE_NEWNET): \(reason)"
        case OMNI_SPAWN_ID_MAP:
            let file = ["setgroups", "uid_map", "gid_map"][max(0, min(2, Int(detail) - 1))]
            return prefix + "user namespace: writing /proc/self/\(file): \(reason)"
        case OMNI_SPAWN_LOOPBACK:
            let call = ["socket", "ioctl(SIOCGIFFLAGS)", "ioctl(SIOCSIFFLAGS)"][max(0, min(2, Int(detail) - 1))]
            return prefix + "bringing lo up: \(call): \(reason)"
        case OMNI_SPAWN_LISTENER:
            let call = ["socket", "bind", "listen"][max(0, min(2, Int(detail) - 1))]
            return prefix + "the proxy listener on 127.0.0.1:\(port) inside the namespace: \(call): \(reason)"
        case OMNI_SPAWN_PASS:
            return prefix + "handing the proxy listener to the controller: \(reason)"
        case OMNI_SPAWN_CONFINE:
            let what = [
                "emptying the bounding set", "clearing ambient capabilities", "clearing inheritable capabilities",
                "setting no_new_privs", "CAP_SYS_ADMIN would survive exec",
            ][max(0, min(4, Int(detail) - 1))]
            return prefix + "dropping capabilities: \(what): \(reason)"
        default:
            return nil
        }
    }

    /// A host that forbids namespaces (EPERM, EACCES) or lacks them (EINVAL, ENOSYS) refuses
    /// every later try the same way; anything else (ENOMEM, ENOSPC: too many namespaces right
    /// now) may pass on a retry.
    static func isPermanent(step: Int32, code: Int32) -> Bool {
        switch omni_spawn_step(UInt32(step)) {
        case OMNI_SPAWN_UNSHARE, OMNI_SPAWN_ID_MAP: [EPERM, EACCES, EINVAL, ENOSYS].contains(code)
        default: false
        }
    }
}

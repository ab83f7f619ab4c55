/// The start window: how many processes may be starting (spawned, not ready yet) at once.
///
/// Starts are paced by readiness rather than by a fixed rate: a server that becomes ready (or
/// fails) frees its slot for the next, so cheap servers stream through, and a slow starter
/// holds only its own slot.
public enum StartWindow {
    /// The actions of `actions` to begin now, in order: none for a server in `busy` (one action
    /// per server in flight), every stop and update, and starts (`spawn`, `replace`) while fewer
    /// than `window` processes are starting (`starting` counts those now, the admitted ones are
    /// added). `waiting`: the starts left for a later plan.
    public static func admit(_ actions: [Action], busy: Set<String>, starting: Int, window: Int) -> (admitted: [Action], waiting: Int) {
        var starting = starting
        var admitted: [Action] = []
        var waiting = 0
        for action in actions where !busy.contains(action.server) {
            if action.startsAProcess {
                guard starting < window else {
                    waiting += 1
                    continue
                }
                starting += 1
            }
            admitted.append(action)
        }
        return (admitted, waiting)
    }
}

extension Action {
    /// Whether applying it starts a process (`spawn`, `replace`).
    public var startsAProcess: Bool {
        switch kind {
        case .spawn, .replace: true
        case .update, .stop: false
        }
    }
}

import Glibc

/// Finds a server's escapees: processes that left its process group but are still its.
///
/// As of one `/proc` pass, a live process that started no earlier than the leader is the
/// server's when
/// - it is in the leader's session but another group (it called setpgid; only setsid leaves a
///   session, so this mark survives any re-parenting, also across a controller crash), or
/// - it was recorded earlier by pid and start time (an earlier pass saw its ancestry), or
/// - it was re-parented to this controller and still has one of the server's pipes as its
///   stdin, stdout or stderr (a shell's `(setsid cmd &)` double fork keeps them), or
/// - its parent chain reaches the leader, a member of its group, or any process above.
///
/// Limit: a descendant that called setsid, closed every inherited descriptor, and whose parent
/// exited before any pass saw it bears no mark of its server: a daemon's quick double fork, or
/// a child forked by a server that is stopped while still starting, after the stop's first
/// pass, whose parent then exits on the closed stdin. It is reaped when it exits, but not
/// stopped with its server.
struct EscapeeFinder: Sendable {
    let leader: Int32
    let leaderStart: UInt64
    let pipeInodes: Set<UInt64>

    /// The escapees in `table` (pid → start ticks); `otherLeaders` (servers' leaders) never are.
    /// `leaderHeld`: the leader is still unreaped, so its pid, group and session ids are still
    /// the server's; once it is reaped they may be a stranger's, and only the marks that name a
    /// process itself (recorded start time, pipes) are used.
    func find(in table: ProcessTable, known: [Int32: UInt64], otherLeaders: Set<Int32>, leaderHeld: Bool = true) -> [Int32: UInt64] {
        let me = getpid()
        func eligible(_ row: ProcessTable.Row) -> Bool {
            !row.isZombie && row.startTicks >= leaderStart && row.pid != leader && !otherLeaders.contains(row.pid)
        }
        var roots: Set<Int32> = leaderHeld ? [leader] : []
        for row in table.rows.values where eligible(row) {
            if leaderHeld, row.group == leader || row.session == leader {
                roots.insert(row.pid)
            } else if known[row.pid] == row.startTicks {
                roots.insert(row.pid)
            } else if row.parent == me, !pipeInodes.isEmpty, !ProcessTable.standardPipeInodes(of: row.pid).isDisjoint(with: pipeInodes) {
                roots.insert(row.pid)
            }
        }
        var found: [Int32: UInt64] = [:]
        for pid in table.closure(of: roots) {
            // Members of the group are the group's business: the group signal reaches them.
            guard let row = table.rows[pid], eligible(row), row.group != leader else { continue }
            found[pid] = row.startTicks
        }
        return found
    }

    /// Whether `find` could return anything for any server in `table`: a live process outside
    /// every server's group that is in a server's session, a child of this controller that is
    /// no leader, a descendant of a server process, or a process recorded before (`known`).
    /// One pass and one tree walk over the table, whatever the number of servers, so the
    /// periodic census costs O(processes) when, as usual, no server has an escapee.
    static func anySuspect(in table: ProcessTable, leaders: Set<Int32>, known: Set<Int32>) -> Bool {
        let me = getpid()
        var servers: Set<Int32> = []
        for row in table.rows.values where !row.isZombie {
            let member = leaders.contains(row.pid) || leaders.contains(row.group)
            if member {
                servers.insert(row.pid)
                continue
            }
            if leaders.contains(row.session) || row.parent == me || known.contains(row.pid) { return true }
        }
        // A descendant of a server process that is not itself in a server's group.
        return table.closure(of: servers).contains { pid in
            guard let row = table.rows[pid], !row.isZombie else { return false }
            return !leaders.contains(row.pid) && !leaders.contains(row.group)
        }
    }
}

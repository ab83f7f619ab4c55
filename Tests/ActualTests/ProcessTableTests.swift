import Glibc
import Testing

@testable import Actual

@Suite struct ProcessTableTests {
    /// The C scanner and the Swift parser of `/proc/<pid>/stat` agree on this process.
    @Test func aScanSeesThisProcessAsItsStatSaysIt() throws {
        let table = ProcessTable.scan()
        let me = try #require(table.rows[getpid()])
        let stats = try #require(ProcessStats.read(pid: getpid()))
        #expect(me.parent == getppid())
        #expect(me.group == stats.processGroup)
        #expect(me.session == stats.session)
        #expect(me.startTicks == stats.startTicks)
        #expect(!me.isZombie)
        #expect(table.rows.count > 1)
    }

    /// Descendants through parent links, however deep; nothing above or beside the roots.
    @Test func theClosureFollowsParentLinksDownOnly() {
        func row(_ pid: Int32, _ parent: Int32, group: Int32 = 1) -> ProcessTable.Row {
            ProcessTable.Row(pid: pid, parent: parent, group: group, session: 1, startTicks: 0, isZombie: false)
        }
        let table = ProcessTable(rows: [
            1: row(1, 0), 10: row(10, 1), 11: row(11, 10), 12: row(12, 11), 20: row(20, 1), 21: row(21, 20, group: 10),
        ])
        #expect(table.closure(of: [10]) == [10, 11, 12])
        #expect(table.closure(of: [20]) == [20, 21])
        #expect(table.hasMember(group: 10, except: 10, reaper: 1))
        #expect(!table.hasMember(group: 20, except: 20, reaper: 1))
    }

    /// A zombie member counts while its reaper is this process (it will reap it first), not
    /// while it waits for another parent.
    @Test func aZombieMemberCountsOnlyForItsOwnReaper() {
        let table = ProcessTable(rows: [
            10: ProcessTable.Row(pid: 10, parent: 1, group: 10, session: 10, startTicks: 0, isZombie: true),
            11: ProcessTable.Row(pid: 11, parent: 5, group: 10, session: 10, startTicks: 0, isZombie: true),
        ])
        #expect(table.hasMember(group: 10, except: 10, reaper: 5))
        #expect(!table.hasMember(group: 10, except: 10, reaper: 1))
    }
}

@Suite struct EscapeeFinderTests {
    private func row(_ pid: Int32, parent: Int32, group: Int32, session: Int32, start: UInt64 = 60) -> ProcessTable.Row {
        ProcessTable.Row(pid: pid, parent: parent, group: group, session: session, startTicks: start, isZombie: false)
    }

    /// Leader 100 (started at tick 50): what counts as its escapee, and what never does.
    private var table: ProcessTable {
        ProcessTable(rows: [
            100: row(100, parent: 1, group: 100, session: 100, start: 50),
            101: row(101, parent: 100, group: 100, session: 100),  // a member: the group's business
            102: row(102, parent: 100, group: 102, session: 100),  // setpgid: same session
            103: row(103, parent: 100, group: 103, session: 103),  // setsid, parent alive
            104: row(104, parent: 103, group: 103, session: 103),  // its child
            105: row(105, parent: 1, group: 105, session: 105),  // a stranger
            106: row(106, parent: 1, group: 106, session: 100, start: 40),  // older than the leader
            107: row(107, parent: 1, group: 107, session: 107, start: 70),  // recorded earlier
            108: row(108, parent: 1, group: 108, session: 108, start: 71),  // recorded, other start
            200: row(200, parent: 1, group: 200, session: 200),  // another server's leader
            201: row(201, parent: 200, group: 201, session: 201),  // its escapee
        ])
    }

    @Test func aHeldLeadersSessionTreeAndRecordsAttribute() {
        let finder = EscapeeFinder(leader: 100, leaderStart: 50, pipeInodes: [])
        let found = finder.find(in: table, known: [107: 70, 108: 70], otherLeaders: [100, 200])
        #expect(found == [102: 60, 103: 60, 104: 60, 107: 70])
    }

    /// Once the leader is reaped its ids may be a stranger's: only records still attribute.
    @Test func aReapedLeadersIdsAttributeNothing() {
        let finder = EscapeeFinder(leader: 100, leaderStart: 50, pipeInodes: [])
        let found = finder.find(in: table, known: [107: 70], otherLeaders: [200], leaderHeld: false)
        #expect(found == [107: 70])
    }

    /// The census's shortcut: servers whose processes all stay in their groups give no suspect;
    /// any mark `EscapeeFinder.find` could use gives one.
    @Test func aSuspectIsAnyProcessFindCouldCallAnEscapee() {
        let me = getpid()
        func row(_ pid: Int32, parent: Int32, group: Int32, session: Int32, zombie: Bool = false) -> ProcessTable.Row {
            ProcessTable.Row(pid: pid, parent: parent, group: group, session: session, startTicks: 0, isZombie: zombie)
        }
        // Two servers (100, 200) with a member each, and an unrelated host process.
        let clean: [Int32: ProcessTable.Row] = [
            100: row(100, parent: me, group: 100, session: 100), 101: row(101, parent: 100, group: 100, session: 100),
            200: row(200, parent: me, group: 200, session: 200), 201: row(201, parent: 200, group: 200, session: 200),
            500: row(500, parent: 1, group: 500, session: 500),
        ]
        let leaders: Set<Int32> = [100, 200]
        #expect(!EscapeeFinder.anySuspect(in: ProcessTable(rows: clean), leaders: leaders, known: []))
        var table = clean
        table[300] = row(300, parent: 1, group: 300, session: 100)  // setpgid: still the session
        #expect(EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: []))
        table = clean
        table[300] = row(300, parent: 101, group: 300, session: 300)  // setsid below a member
        #expect(EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: []))
        table = clean
        table[300] = row(300, parent: me, group: 300, session: 300)  // re-parented to us
        #expect(EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: []))
        table = clean
        table[300] = row(300, parent: 1, group: 300, session: 300)  // recorded before
        #expect(EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: [300]))
        #expect(!EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: []))
        table[300] = row(300, parent: me, group: 300, session: 300, zombie: true)  // a zombie is no one's
        #expect(!EscapeeFinder.anySuspect(in: ProcessTable(rows: table), leaders: leaders, known: []))
    }
}

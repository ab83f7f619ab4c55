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
        #expect(table.hasLiveMember(group: 10, except: 10))
        #expect(!table.hasLiveMember(group: 20, except: 20))
    }
}

import Testing

@testable import Gateway

@Suite struct RoutingTableTests {
    /// start new, wait ready, switch, drain old: the table's part is the switch and the drain.
    @Test func aReplacementSwitchesThenDrains() {
        var table = RoutingTable<String>()
        #expect(table.target(for: "time") == .unavailable("no server named time"))
        table.switchTo("time#1", for: "time")
        #expect(table.target(for: "time") == .instance("time#1"))
        table.switchTo("time#2", for: "time")
        #expect(table.target(for: "time") == .instance("time#2"))
        #expect(table.routes["time"]?.draining == ["time#1"])
        table.finishedDraining("time#1", for: "time")
        #expect(table.routes["time"]?.draining == [])
        // Switching to the instance already active changes nothing.
        table.switchTo("time#2", for: "time")
        #expect(table.routes["time"] == .init(active: "time#2", draining: [], unavailable: nil))
    }

    @Test func aWithdrawnServerSaysWhyAndItsInstanceDrains() {
        var table = RoutingTable<String>()
        table.switchTo("git#1", for: "git")
        table.withdraw("git", reason: "quarantined: exit 1 five times in 60s")
        #expect(table.target(for: "git") == .unavailable("quarantined: exit 1 five times in 60s"))
        #expect(table.routes["git"]?.draining == ["git#1"])
        table.withdraw("new", reason: "starting")
        #expect(table.target(for: "new") == .unavailable("starting"))
    }

    @Test func theActiveInstanceEndingLeavesTheServerUnavailable() {
        var table = RoutingTable<String>()
        table.switchTo("a#1", for: "a")
        table.finishedDraining("a#1", for: "a")
        #expect(table.target(for: "a") == .unavailable("stopped"))
        table.finishedDraining("x#1", for: "x")
        #expect(table.routes["x"] == nil)
    }

    @Test func removingAServerReturnsWhatStillRuns() {
        var table = RoutingTable<String>()
        table.switchTo("a#1", for: "a")
        table.switchTo("a#2", for: "a")
        #expect(table.remove("a") == ["a#1", "a#2"])
        #expect(table.remove("a") == [])
        #expect(table.target(for: "a") == .unavailable("no server named a"))
        table.withdraw("b", reason: "disabled")
        #expect(table.routes["b"]?.active == nil)
        #expect(table.target(for: "b") == .unavailable("disabled"))
        var empty = RoutingTable<String>()
        empty.withdraw("c", reason: "")
        empty.finishedDraining("c#9", for: "c")
        #expect(empty.target(for: "c") == .unavailable(""))
    }
}

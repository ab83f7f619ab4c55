import Desired
import JSON
import Reconciler
import Testing

@testable import Controller

/// `POST /plan`'s body and answer: what a controller accepts, and a report that survives the trip.
@Suite struct DryRunWireTests {
    private func problem(_ body: String) -> String? {
        do {
            _ = try DryRunRequest(body: Array(body.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aRequestRoundTrips() throws {
        let files: [String: [UInt8]] = ["config/default.yaml": Array("{}\n".utf8), "servers/a.yaml": Array("name: a\n".utf8)]
        let sent = DryRunRequest(root: "./repo", files: files)
        let back = try DryRunRequest(body: sent.json.renderedBytes())
        #expect(back.root == "./repo")
        #expect(back.files == files)
    }

    @Test func malformedRequestsSayWhatIsWrong() {
        #expect(problem("nope")?.hasPrefix("the body is not JSON") == true)
        #expect(problem(#"{"files": {}}"#)?.contains("\"root\" must be a string") == true)
        #expect(problem(#"{"root": "", "files": {}}"#)?.contains("\"root\" must be a string") == true)
        #expect(problem(#"{"root": "."}"#) == "\"files\" must be an object of path: text")
        #expect(problem(#"{"root": ".", "files": {"../x.yaml": "a"}}"#)?.contains("is not config/<name>.yaml") == true)
        #expect(problem(#"{"root": ".", "files": {".env": "S=1"}}"#)?.contains("is not config/<name>.yaml") == true)
        #expect(problem(#"{"root": ".", "files": {"servers/a.yaml": 1}}"#) == "\"servers/a.yaml\" must be text")
        #expect(problem(#"{"root": ".", "files": {"servers/a.yaml": "", "servers/a.yaml": ""}}"#)?.contains("duplicate key") == true)
        #expect(problem(#"{"root": ".", "files": {}}"#) == nil)
        let many = (0...WorkspaceFiles.maxSentFiles).map { "\"servers/s\($0).yaml\": \"\"" }.joined(separator: ",")
        #expect(problem("{\"root\": \".\", \"files\": {\(many)}}") == "\(WorkspaceFiles.maxSentFiles + 1) files; at most 4096")
    }

    @Test func aReportSurvivesTheTrip() throws {
        let report = PlanReport(
            changes: [
                .init(action: "start", server: "a", instance: nil, reason: "new server"),
                .init(action: "stop", server: "b", instance: "b#2", reason: "disabled"),
            ],
            others: [.init(server: "c", kind: "missing", detail: "missing C_TOKEN")])
        let back = try #require(PlanReport(json: try JSONParser.parse(report.json.rendered())))
        #expect(back == report)
        #expect(report.json["summary"]?.stringValue == "1 to start, 1 to stop; 1 missing variables")
        #expect(PlanReport(json: .object([("changes", .array([.object([("action", "start")])])), ("others", .array([]))])) == nil)
    }
}

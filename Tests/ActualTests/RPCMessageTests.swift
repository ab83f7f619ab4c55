import Desired
import JSON
import Testing

@testable import Actual

@Suite struct RPCMessageTests {
    private func parse(_ text: String) throws -> RPCMessage { try RPCMessage.parse(Array(text.utf8)) }

    @Test func classifiesEveryShape() throws {
        #expect(try parse(#"{"jsonrpc":"2.0","id":1,"result":{}}"#) == .result(id: .int(1), .object([])))
        #expect(
            try parse(#"{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"nope","data":1}}"#)
                == .error(id: .string("a"), RPCErrorObject(code: -32601, message: "nope", data: 1)))
        #expect(
            try parse(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}"#)
                == .error(id: nil, RPCErrorObject(code: -32700, message: "parse", data: nil)))
        #expect(try parse(#"{"jsonrpc":"2.0","method":"notifications/x"}"#) == .notification(method: "notifications/x", params: nil))
        #expect(try parse(#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#) == .request(id: .int(7), method: "ping", params: nil))
    }

    @Test(arguments: [
        ("not json", "invalid JSON at byte 1: expected null, got 'o'"),
        ("[]", "a batch (JSON array); MCP allows one message per line"),
        ("1", "not a JSON object"),
        (#"{"hello":"world"}"#, "\"jsonrpc\" is not \"2.0\""),
        (#"{"jsonrpc":"2.0"}"#, "neither a request, a notification nor a response"),
        (#"{"jsonrpc":"2.0","id":{},"method":"x"}"#, "request id is neither a string nor an integer"),
        (#"{"jsonrpc":"2.0","method":5}"#, "\"method\" is not a string"),
        (#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#, "error response without an integer \"code\" and a string \"message\""),
        (#"{"jsonrpc":"2.0","result":1}"#, "response without a valid id"),
        (#"{"jsonrpc":"2.0","method":"x","params":3}"#, "\"params\" is neither an object nor an array"),
    ])
    func rejectsWhatIsNotJSONRPC(line: String, reason: String) {
        #expect(throws: RPCMessageError(reason)) { try parse(line) }
    }

    @Test func rendersRequestsNotificationsAndResponses() {
        #expect(
            RPCMessage.encodeRequest(id: .int(3), method: "ping", params: nil).rendered() == #"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        #expect(
            RPCMessage.encodeNotification(method: "n", params: .object([("a", 1)])).rendered()
                == #"{"jsonrpc":"2.0","method":"n","params":{"a":1}}"#)
        #expect(
            RPCMessage.encodeResponse(id: .string("x"), error: RPCErrorObject(code: -1, message: "m", data: nil)).rendered()
                == #"{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"m"}}"#)
    }

    @Test func envelopesModernRequestsKeepingOtherMeta() {
        let params = MCPVersion.enveloped(
            .object([("name", "echo"), ("_meta", .object([("progressToken", 5), ("io.modelcontextprotocol/protocolVersion", "old")]))]),
            version: "2026-07-28")
        #expect(params["name"] == "echo")
        #expect(params["_meta"]?["progressToken"] == 5)
        #expect(params["_meta"]?["io.modelcontextprotocol/protocolVersion"] == "2026-07-28")
        #expect(params["_meta"]?["io.modelcontextprotocol/clientCapabilities"] == .object([]))
    }
}

/// One Server-Sent Event (WHATWG HTML §9.2), as `SSEParser` dispatches it and `SSEEncoder`
/// writes it.
public struct SSEEvent: Sendable, Hashable {
    /// The event type; nil for the default, `message` (an empty `event:` field reads as nil).
    public var event: String?
    /// The `data:` lines joined with `\n`, as bytes (UTF-8 as sent, not validated: see `text`).
    public var data: [UInt8]
    /// From the parser: the stream's last event ID when the event was dispatched (WHATWG's
    /// `lastEventId`: an `id:` field persists into later events; an empty one resets it to ""),
    /// nil if the stream never set one. To the encoder: the `id:` field to write, if any.
    public var id: String?
    /// The `retry:` field of this event's own lines (reconnection time, milliseconds), if any.
    public var retry: Int?

    public init(event: String? = nil, data: [UInt8], id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.init(event: event, data: Array(data.utf8), id: id, retry: retry)
    }

    /// The data decoded as UTF-8, invalid sequences replaced by U+FFFD (as WHATWG decodes).
    public var text: String { String(decoding: data, as: UTF8.self) }
}

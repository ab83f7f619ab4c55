import Metering
import Testing

@Suite struct DurationUnitsTests {
    @Test func millisecondsAndSecondsAsDoubles() {
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.microseconds(250).milliseconds == 0.25)
        #expect(Duration.seconds(3600).seconds == 3600)
        #expect(Duration.zero.milliseconds == 0 && Duration.zero.seconds == 0)
    }
}

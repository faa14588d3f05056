import XCTest
import Data

final class StopSequencesTests: XCTestCase {
    /// Streams `pieces` and returns what would be printed.
    func stream(_ pieces: [String], stops: [String]) -> (shown: String, stopped: Bool) {
        var s = StopSequences(stops)
        var out = ""
        for p in pieces {
            out += s.push(p)
            if s.stopped { break }
        }
        out += s.finish()
        return (out, s.stopped)
    }

    func testStopsBeforeTheStopStringEvenWhenItArrivesInPieces() {
        XCTAssertEqual(stream(["Hello", " wor", "ld\n", "\nmore"], stops: ["\n\n"]).shown, "Hello world")
        XCTAssertEqual(stream(["a###", "# b"], stops: ["####"]).shown, "a")
        XCTAssertTrue(stream(["x", "STOP", "y"], stops: ["STOP"]).stopped)
    }

    func testHeldBackTextIsShownWhenItTurnsOutNotToBeAStop() {
        var s = StopSequences(["END"])
        XCTAssertEqual(s.push("the E"), "the ")
        XCTAssertEqual(s.push("N"), "")
        XCTAssertEqual(s.push("d"), "ENd")
        XCTAssertEqual(s.finish(), "")
        XCTAssertEqual(stream(["ab", "E"], stops: ["END"]).shown, "abE", "a held-back prefix is printed at the end")
    }

    func testTheEarliestOfSeveralStopsWinsAndEmptyStopsAreIgnored() {
        XCTAssertEqual(stream(["one two three"], stops: ["three", "two", ""]).shown, "one ")
        XCTAssertEqual(stream(["no stop here"], stops: [""]).shown, "no stop here")
    }
}

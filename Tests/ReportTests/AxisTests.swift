import Foundation
import Report
import XCTest

final class AxisTests: XCTestCase {
    func testLinearTicksAreNiceAndCoverTheData() {
        let a = Axis(covering: [2.03, 4.2])
        XCTAssertEqual(a.ticks, [2, 2.5, 3, 3.5, 4, 4.5])
        XCTAssertEqual(a.lower, 2)
        XCTAssertEqual(a.upper, 4.5)
        XCTAssertEqual(a.position(2), 0)
        XCTAssertEqual(a.position(4.5), 1)
        XCTAssertEqual(Axis(covering: [0, 0.3]).ticks, [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
        XCTAssertEqual(Axis(covering: [0, 2000], targetTicks: 6).ticks, [0, 500, 1000, 1500, 2000])
    }

    func testNiceStepIsOneTwoOrFiveTimesAPowerOfTen() {
        XCTAssertEqual(Axis.niceStep(range: 1, targetTicks: 5), 0.2)
        XCTAssertEqual(Axis.niceStep(range: 10, targetTicks: 5), 2)
        XCTAssertEqual(Axis.niceStep(range: 37, targetTicks: 5), 10)
        XCTAssertEqual(Axis.niceStep(range: 23, targetTicks: 5), 5)
        XCTAssertEqual(Axis.niceStep(range: 9000, targetTicks: 5), 2000)
        XCTAssertEqual(Axis.niceStep(range: 0, targetTicks: 5), 1)
    }

    func testEmptyAndOnePointSeriesStillGiveAnAxis() {
        let empty = Axis(covering: [])
        XCTAssertEqual(empty.lower, 0)
        XCTAssertEqual(empty.upper, 1)
        XCTAssertFalse(empty.ticks.isEmpty)
        let one = Axis(covering: [3])
        XCTAssertLessThan(one.lower, 3)
        XCTAssertGreaterThan(one.upper, 3)
        XCTAssertEqual(one.position(3)!, 0.5, accuracy: 1e-9)
        let zero = Axis(covering: [0, 0])
        XCTAssertLessThan(zero.lower, 0)
        XCTAssertGreaterThan(zero.upper, 0)
        let logEmpty = Axis(covering: [], scale: .log)
        XCTAssertEqual(logEmpty.lower, 1)
        XCTAssertEqual(logEmpty.upper, 10)
        let logOne = Axis(covering: [5], scale: .log)
        XCTAssertLessThan(logOne.lower, 5)
        XCTAssertGreaterThan(logOne.upper, 5)
    }

    func testNonFiniteValuesDoNotStretchTheAxis() {
        let a = Axis(covering: [1, .nan, 2, .infinity, -.infinity])
        XCTAssertEqual(a.lower, 1)
        XCTAssertEqual(a.upper, 2)
        XCTAssertNil(a.position(.nan))
    }

    func testLogScaleUsesDecadesWhenTheDataSpansThem() {
        let a = Axis(covering: [0.001, 0.5, 20], scale: .log)
        XCTAssertEqual(a.lower, 0.001, accuracy: 1e-12)
        XCTAssertEqual(a.upper, 100, accuracy: 1e-9)
        XCTAssertEqual(a.ticks.count, 6)
        XCTAssertEqual(a.position(0.1)!, 0.4, accuracy: 1e-9)
        XCTAssertNil(a.position(0))
        XCTAssertNil(a.position(-1))
    }

    func testLogScaleWithinOneDecadeUsesFinerTicksAndIgnoresNonPositiveValues() {
        let a = Axis(covering: [1.9, 4.2, 0, -3], scale: .log)
        XCTAssertEqual(a.lower, 1.5, accuracy: 1e-9)
        XCTAssertEqual(a.upper, 5, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(a.ticks.count, 3)
        XCTAssertTrue(a.ticks.allSatisfy { $0 >= a.lower && $0 <= a.upper })
    }

    func testTickLabels() {
        XCTAssertEqual(Axis.label(0), "0")
        XCTAssertEqual(Axis.label(2.5), "2.5")
        XCTAssertEqual(Axis.label(0.30000000000000004), "0.3")
        XCTAssertEqual(Axis.label(1500), "1500")
        XCTAssertEqual(Axis.label(3e-5), "3e-05")
    }

    func testSeriesSkipsAndRemembersNullAndNonFiniteValues() {
        let s = Series(name: "val", x: [0, 1, 2, 3, 4], y: [4, nil, .nan, 2, .infinity])
        XCTAssertEqual(s.points, [.init(x: 0, y: 4), .init(x: 3, y: 2)])
        XCTAssertEqual(s.skippedX, [1, 2, 4])
        let log = Series(name: "lr", x: [0, 1, 2], y: [0, 1e-4, 1e-3], scale: .log)
        XCTAssertEqual(log.points.count, 2)
        XCTAssertEqual(log.skippedX, [0])
    }

    func testChartsFlagSkippedValuesAndDrawOnePointSeries() {
        let chart = LineChart(title: "Loss", xLabel: "step",
                              series: [Series(name: "a", x: [0, 1], y: [1, nil]), Series(name: "b", x: [5], y: [2])])
        let svg = chart.svg()
        XCTAssertTrue(svg.contains("1 value skipped"))
        XCTAssertTrue(svg.contains("class=\"skipped\""))
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2)
        XCTAssertFalse(chart.isEmpty)
        XCTAssertTrue(LineChart(title: "x", xLabel: "step", series: [Series(name: "a", x: [1], y: [nil])]).isEmpty)
        XCTAssertTrue(LineChart(title: "x", xLabel: "step", series: []).isEmpty)
        XCTAssertFalse(LineChart(title: "x", xLabel: "step", series: []).svg().contains("nan"))
    }

    func testSparkline() {
        XCTAssertEqual(Sparkline.line([4, 3, 2, 1]), "█▆▃▁")
        XCTAssertEqual(Sparkline.line([1, nil, .nan, 1]), "▄··▄")
        XCTAssertEqual(Sparkline.line([]), "")
        XCTAssertEqual(Sparkline.line([nil]), "·")
        XCTAssertEqual(Sparkline.line((0..<200).map(Double.init), width: 10).count, 10)
    }
}

// A line chart as inline SVG: gridlines at nice ticks, one polyline per series (colour = run, dashes =
// evaluations), a legend above the plot, and red marks under the x axis where a value was null or
// non-finite. Text is escaped; nothing is fetched, so the SVG draws offline.
import Foundation

/// Colours that stay distinguishable for common colour-vision deficiencies, one per run.
public let reportPalette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"]

public struct LineChart {
    public var title: String
    public var xLabel: String
    public var series: [Series]
    public var yScale: AxisScale
    public var width = 600
    public var height = 320

    public init(title: String, xLabel: String, series: [Series], yScale: AxisScale = .linear) {
        self.title = title; self.xLabel = xLabel; self.series = series; self.yScale = yScale
    }

    /// True when no series has a point to draw (such a chart is left out of a report).
    public var isEmpty: Bool { series.allSatisfy { $0.points.isEmpty } }
    public var skippedCount: Int { series.reduce(0) { $0 + $1.skippedX.count } }

    public func svg() -> String {
        let legendRows = legendLayout()
        let top = 30.0 + Double(legendRows.count) * 16, left = 62.0, right = 16.0, bottom = 46.0
        let w = Double(width), h = Double(height) + Double(legendRows.count) * 16
        let plotW = w - left - right, plotH = h - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) + $0.skippedX }
        let xAxis = Axis(covering: xs, scale: .linear, targetTicks: 6)
        let yAxis = Axis(covering: series.flatMap { $0.points.map(\.y) }, scale: yScale, targetTicks: 5)
        func px(_ x: Double) -> Double { left + (xAxis.position(x) ?? 0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (yAxis.position(y) ?? 0) * plotH }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" "
            + "height=\"\(Int(h))\" role=\"img\" aria-label=\"\(escapeHTML(title))\">\n"
        s += "<text x=\"\(f(left))\" y=\"18\" class=\"title\">\(escapeHTML(title))"
            + (yScale == .log ? " (log scale)" : "") + "</text>\n"
        for (row, entries) in legendRows.enumerated() {
            let y = 34.0 + Double(row) * 16
            for (x, item) in entries {
                let color = reportPalette[item.color % reportPalette.count]
                s += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 18))\" y2=\"\(f(y - 4))\" " +
                        "stroke=\"\(color)\" "
                    + "stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
                s += "<text x=\"\(f(x + 22))\" y=\"\(f(y))\" class=\"legend\">\(escapeHTML(item.name))</text>\n"
            }
        }
        // Grid and tick labels.
        for t in yAxis.ticks {
            let y = py(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" class=\"grid\"/>"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" class=\"tick\" " +
                    "text-anchor=\"end\">\(Axis.label(t))</text>\n"
        }
        for t in xAxis.ticks {
            let x = px(t)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\" class=\"grid\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 16))\" class=\"tick\" " +
                    "text-anchor=\"middle\">\(Axis.label(t))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" class=\"frame\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(h - 8))\" class=\"axis\" text-anchor=\"middle\">"
            + "\(escapeHTML(xLabel))</text>\n"
        // Series.
        for item in series where !item.points.isEmpty {
            let color = reportPalette[item.color % reportPalette.count]
            let dash = item.dashed ? " stroke-dasharray=\"5 3\"" : ""
            if item.points.count > 1 {
                let coords = item.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash)>"
                    + "<title>\(escapeHTML(item.name))</title></polyline>\n"
            }
            if item.markers || item.points.count == 1 {
                for p in item.points {
                    s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(color)\">"
                        + "<title>\(escapeHTML(item.name)) step \(Axis.label(p.x)): \(String(format: "%.5g", p.y))"
                        + "</title></circle>"
                }
                s += "\n"
            }
            for x in item.skippedX {
                let cx = px(x), y0 = top + plotH
                s += "<path d=\"M\(f(cx)) \(f(y0 - 7))l-4 7h8z\" class=\"skipped\"><title>\(escapeHTML(item.name)): "
                    + "no value at \(Axis.label(x)) (null or non-finite)</title></path>"
            }
        }
        if skippedCount > 0 {
            s += "\n<text x=\"\(f(left + plotW))\" y=\"18\" class=\"warn\" text-anchor=\"end\">\(skippedCount) "
                + "value\(skippedCount == 1 ? "" : "s") skipped (null or non-finite; red marks)</text>"
        }
        return s + "\n</svg>"
    }

    /// Legend entries placed left to right, wrapping to a new row when the width runs out.
    private func legendLayout() -> [[(Double, Series)]] {
        var rows: [[(Double, Series)]] = [[]], x = 62.0
        for item in series where !item.points.isEmpty || !item.skippedX.isEmpty {
            let itemWidth = 30 + Double(item.name.count) * 6.5
            if x + itemWidth > Double(width) - 8 && !rows[rows.count - 1].isEmpty {
                rows.append([]); x = 62
            }
            rows[rows.count - 1].append((x, item))
            x += itemWidth + 12
        }
        return rows.last?.isEmpty == true && rows.count == 1 ? [] : rows
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// Escapes text for HTML and SVG content and attribute values.
public func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

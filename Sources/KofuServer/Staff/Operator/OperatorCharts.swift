import Foundation

/// Server-drawn SVG charts of the console (no script, no chart library): bars of requests per bucket,
/// refusals stacked on top, and the latency p50/p99 as lines. The SVG scales to the width of the screen.
enum OperatorCharts {
    static func throughput(_ buckets: [OperatorConsole.Bucket], title: String, label: (Date) -> String) -> String {
        let w = 600.0, h = 180.0, left = 48.0, bottom = 22.0
        let peak = max(1, buckets.map { $0.issued + $0.refused }.max() ?? 1)
        let step = (w - left) / Double(max(buckets.count, 1))
        var svg = header(w, h, title)
        svg += axis(left: left, w: w, h: h, bottom: bottom, top: "\(peak)件")
        for (i, b) in buckets.enumerated() {
            let x = left + Double(i) * step
            let hi = (h - bottom - 10) * Double(b.issued) / Double(peak)
            let hr = (h - bottom - 10) * Double(b.refused) / Double(peak)
            svg += rect(x, h - bottom - hi, step * 0.8, hi, "#2a5b93")
            svg += rect(x, h - bottom - hi - hr, step * 0.8, hr, "#c0392b")
        }
        svg += ticks(buckets.map(\.start), left: left, step: step, h: h, label: label)
        return svg + "</svg>"
    }

    static func latency(_ buckets: [OperatorConsole.Bucket], title: String, label: (Date) -> String) -> String {
        let w = 600.0, h = 180.0, left = 48.0, bottom = 22.0
        let peak = max(0.1, buckets.compactMap(\.latencyP99).max() ?? 0.1)
        let step = (w - left) / Double(max(buckets.count, 1))
        var svg = header(w, h, title)
        svg += axis(left: left, w: w, h: h, bottom: bottom, top: String(format: "%.1f秒", peak))
        for (values, color) in [(buckets.map(\.latencyP50), "#2a5b93"), (buckets.map(\.latencyP99), "#c0392b")] {
            let points = values.enumerated().compactMap { i, v in
                v.map { String(format: "%.1f,%.1f", left + (Double(i) + 0.4) * step, h - bottom - (h - bottom - 10) * $0 / peak) }
            }
            if points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            }
            // A dot per bucket, so a lone value is seen too.
            for p in points {
                let xy = p.split(separator: ",")
                svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(color)\"/>"
            }
        }
        svg += ticks(buckets.map(\.start), left: left, step: step, h: h, label: label)
        return svg + "</svg>"
    }

    private static func header(_ w: Double, _ h: Double, _ title: String) -> String {
        "<svg class=\"chart\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(VerificationPage.escape(title))\" xmlns=\"http://www.w3.org/2000/svg\"><title>\(VerificationPage.escape(title))</title>"
    }

    private static func axis(left: Double, w: Double, h: Double, bottom: Double, top: String) -> String {
        "<line x1=\"\(left)\" y1=\"10\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"#888\"/>"
            + "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w)\" y2=\"\(h - bottom)\" stroke=\"#888\"/>"
            + "<text x=\"\(left - 2)\" y=\"16\" font-size=\"12\" text-anchor=\"end\">\(VerificationPage.escape(top))</text>"
            + "<text x=\"\(left - 2)\" y=\"\(h - bottom)\" font-size=\"12\" text-anchor=\"end\">0</text>"
    }

    private static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: String) -> String {
        h <= 0 ? "" : String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ", x, y, w, h) + "fill=\"\(color)\"/>"
    }

    /// About six time labels under the axis.
    private static func ticks(_ starts: [Date], left: Double, step: Double, h: Double, label: (Date) -> String) -> String {
        let every = max(1, starts.count / 6)
        return starts.enumerated().filter { $0.offset % every == 0 }.map { i, d in
            String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", left + Double(i) * step, h - 6) + label(d) + "</text>"
        }.joined()
    }
}

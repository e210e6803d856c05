import Foundation
import KofuTestSupport

/// A page region rasterised by poppler (`pdftoppm`), as grey (PGM) or colour (PPM) pixels, and the little image
/// maths the layout and 地紋 tests need. Pure Swift: the test machine need not have numpy.
struct Raster {
    let width: Int
    let height: Int
    /// Bytes per pixel: 1 (grey) or 3 (RGB).
    let channels: Int
    var pixels: [UInt8]

    static let mmPerInch = 25.4

    /// Page `page` of `pdf` at `dpi`, the region x/y (mm) only.
    init(_ pdf: [UInt8], page: Int = 1, dpi: Int, xMM: ClosedRange<Double>, yMM: ClosedRange<Double>,
         gray: Bool = true) throws {
        let dir = try TemporaryDirectory(prefix: "kofu-raster")
        let path = try dir.write("page.pdf", bytes: pdf)
        func px(_ mm: Double) -> Int { Int((mm / Self.mmPerInch * Double(dpi)).rounded()) }
        var args = ["-r", String(dpi), "-f", String(page), "-l", String(page),
                    "-x", String(px(xMM.lowerBound)), "-y", String(px(yMM.lowerBound)),
                    "-W", String(px(xMM.upperBound) - px(xMM.lowerBound)),
                    "-H", String(px(yMM.upperBound) - px(yMM.lowerBound)), "-singlefile"]
        if gray { args.append("-gray") }
        let out = dir.path + "/region"
        let r = try PDFTools.run("pdftoppm", args + [path, out])
        guard r.status == 0 else { throw PDFToolError.toolFailed(tool: "pdftoppm", status: r.status, stderr: r.stderr) }
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out + (gray ? ".pgm" : ".ppm"))))
        // Netpbm header: magic, width, height, maxval, each separated by whitespace, then one whitespace byte.
        var fields: [String] = []
        var i = 0
        while fields.count < 4 {
            while i < data.count, data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
            var field = ""
            while i < data.count, !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) {
                field.append(Character(Unicode.Scalar(data[i]))); i += 1
            }
            fields.append(field)
        }
        i += 1
        guard let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255",
              fields[0] == (gray ? "P5" : "P6") else {
            throw PDFToolError.unexpectedOutput(tool: "pdftoppm", output: fields.joined(separator: " "))
        }
        width = w
        height = h
        channels = gray ? 1 : 3
        pixels = Array(data[i..<i + w * h * channels])
    }

    /// The red, green, blue of pixel (x, y) of a colour raster.
    func rgb(_ x: Int, _ y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        channels = 1
        self.pixels = pixels
    }

    /// A boolean image of `predicate` on each grey pixel.
    func map(_ predicate: (UInt8) -> Bool) -> [Bool] { pixels.map(predicate) }

    /// Pixels whose whole (2r+1)² neighbourhood is set in `mask` (binary erosion, separable).
    static func erode(_ mask: [Bool], width: Int, height: Int, radius r: Int) -> [Bool] {
        var rows = [Bool](repeating: false, count: mask.count)
        for y in 0..<height {
            // Horizontal: set where no false lies within ±r.
            var falses = [Int]()
            for x in 0..<width where !mask[y * width + x] { falses.append(x) }
            var k = 0
            for x in 0..<width {
                while k < falses.count, falses[k] < x - r { k += 1 }
                rows[y * width + x] = !(k < falses.count && falses[k] <= x + r)
            }
        }
        var out = [Bool](repeating: false, count: mask.count)
        for x in 0..<width {
            var falses = [Int]()
            for y in 0..<height where !rows[y * width + x] { falses.append(y) }
            var k = 0
            for y in 0..<height {
                while k < falses.count, falses[k] < y - r { k += 1 }
                out[y * width + x] = !(k < falses.count && falses[k] <= y + r)
            }
        }
        return out
    }

    /// Separable Gaussian blur of the grey pixels (edges clamped).
    func blurred(sigma: Double) -> Raster {
        let r = Int((sigma * 3).rounded(.up))
        var kernel = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let sum = kernel.reduce(0, +)
        kernel = kernel.map { $0 / sum }
        var tmp = [Double](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                for x in 0..<width {
                    var acc = 0.0
                    for k in -r...r { acc += kernel[k + r] * Double(p[y * width + min(width - 1, max(0, x + k))]) }
                    tmp[y * width + x] = acc
                }
            }
        }
        var out = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                var acc = 0.0
                for k in -r...r { acc += kernel[k + r] * tmp[min(height - 1, max(0, y + k)) * width + x] }
                out[y * width + x] = UInt8(max(0, min(255, acc.rounded())))
            }
        }
        return Raster(width: width, height: height, pixels: out)
    }

    /// Mean ink (0 paper – 1 black) of the grey pixels where `where` is set.
    func meanInk(where set: [Bool]) -> Double {
        var total = 0.0, n = 0
        for i in 0..<pixels.count where set[i] { total += Double(255 - pixels[i]) / 255; n += 1 }
        return n == 0 ? 0 : total / Double(n)
    }

    /// Mean ink of all the grey pixels.
    func meanInk() -> Double { meanInk(where: [Bool](repeating: true, count: pixels.count)) }

    /// The fraction of pixels where `where` is set that are darker than `threshold`.
    func darkFraction(where set: [Bool], threshold: UInt8) -> Double {
        var dark = 0, n = 0
        for i in 0..<pixels.count where set[i] { n += 1; if pixels[i] < threshold { dark += 1 } }
        return n == 0 ? 0 : Double(dark) / Double(n)
    }
}

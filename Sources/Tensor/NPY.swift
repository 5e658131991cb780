import Foundation

/// An array read from or written to NumPy's `.npy` format (versions 1.0-3.0, little-endian).
///
/// Values are held in Double whatever the file's dtype, with the shape and the dtype it had.
/// Fortran-ordered files are read and returned in row-major order.
public struct NPYArray: Equatable {
    public enum DType: String, CaseIterable {
        case float32 = "<f4", float64 = "<f8", int32 = "<i4", int64 = "<i8"
        var size: Int { self == .float32 || self == .int32 ? 4 : 8 }
    }

    public var shape: [Int]
    public var values: [Double]
    public var dtype: DType

    public init(shape: [Int], values: [Double], dtype: DType = .float64) {
        precondition(shape.reduce(1, *) == values.count, "NPYArray: shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
        self.dtype = dtype
    }

    /// A float32 array from a tensor.
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, values: tensor.storage.map(Double.init), dtype: .float32)
    }

    /// The values as a Float32 tensor (rank 1-3).
    public func tensor() -> Tensor { Tensor(shape: shape.isEmpty ? [1] : shape, storage: values.map(Float.init)) }

    public var rows: Int { shape.first ?? 1 }
    public var columns: Int { shape.count >= 2 ? shape[1] : 1 }

    // MARK: Reading

    public static func read(_ url: URL) throws -> NPYArray {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RefoldError.file(url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: url.path)
    }

    public static func parse(_ data: Data, path: String = "<npy>") throws -> NPYArray {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw RefoldError.file(path, "not a .npy file: expected the magic \\x93NUMPY, got \(bytes.prefix(6).map { String(format: "%02x", $0) }.joined(separator: " "))")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw RefoldError.file(path, "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw RefoldError.file(path, "unsupported .npy version: expected 1, 2 or 3, got \(major)")
        }
        guard bytes.count >= headerStart + headerLength else { throw RefoldError.file(path, "truncated header") }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw RefoldError.file(path, "header is not text")
        }
        let descr = try headerValue(header, key: "descr", path: path)
            .trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let normalised = descr.replacingOccurrences(of: "=", with: "<").replacingOccurrences(of: "|", with: "<")
        guard let dtype = DType(rawValue: normalised) else {
            throw RefoldError.file(path, "unsupported dtype: expected one of \(DType.allCases.map(\.rawValue)), got '\(descr)'")
        }
        let fortran = try headerValue(header, key: "fortran_order", path: path).hasPrefix("True")
        let shapeText = try headerValue(header, key: "shape", path: path)
            .trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        let shape = try shapeText.split(separator: ",").map { part -> Int in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let n = Int(trimmed), n >= 0 else { throw RefoldError.file(path, "bad shape entry '\(trimmed)' in \(shapeText)") }
            return n
        }
        let count = try checkedElementCount(shape, path: path)
        let start = headerStart + headerLength
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes.count - start >= needed else {
            throw RefoldError.file(path, "data truncated: shape \(shape) of \(dtype.rawValue) needs \(overflow ? "more than Int.max" : "\(needed)") bytes, got \(bytes.count - start)")
        }
        guard bytes.count - start == needed else {
            throw RefoldError.file(path, "\(bytes.count - start - needed) bytes after the data: shape \(shape) of \(dtype.rawValue) needs exactly \(needed)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: start)
            for i in 0..<count {
                let p = base.advanced(by: i * dtype.size)
                switch dtype {
                case .float32: values[i] = Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
                case .float64: values[i] = Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                case .int32: values[i] = Double(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                case .int64: values[i] = Double(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                }
            }
        }
        if fortran && shape.count >= 2 {
            values = fortranToC(values, shape: shape)
        }
        return NPYArray(shape: shape, values: values, dtype: dtype)
    }

    /// Column-major to row-major reordering for any rank.
    private static func fortranToC(_ values: [Double], shape: [Int]) -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for d in 1..<shape.count { fortranStrides[d] = fortranStrides[d - 1] * shape[d - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        for c in 0..<values.count {
            var f = 0
            for d in 0..<shape.count { f += index[d] * fortranStrides[d] }
            out[c] = values[f]
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return out
    }

    private static func headerValue(_ header: String, key: String, path: String) throws -> String {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else {
            throw RefoldError.file(path, "header lacks '\(key)': \(header)")
        }
        var rest = header[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { throw RefoldError.file(path, "unterminated shape in header") }
            return String(rest[...close])
        }
        if let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<end] }
        return String(rest)
    }

    // MARK: Writing

    /// The file's bytes: version 1.0 (2.0 if the header needs it), C order, header padded to 64 bytes.
    public func encoded() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let version: UInt8 = header.utf8.count + 11 < 65_535 ? 1 : 2
        let prefix = version == 1 ? 10 : 12
        let padding = (64 - (prefix + header.utf8.count + 1) % 64) % 64
        header += String(repeating: " ", count: padding) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        let length = header.utf8.count
        if version == 1 {
            data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        } else {
            data.append(contentsOf: (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) })
        }
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + values.count * dtype.size)
        var body = [UInt8](repeating: 0, count: values.count * dtype.size)
        body.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                let p = raw.baseAddress!.advanced(by: i * dtype.size)
                switch dtype {
                case .float32: p.storeBytes(of: Float(v).bitPattern.littleEndian, as: UInt32.self)
                case .float64: p.storeBytes(of: v.bitPattern.littleEndian, as: UInt64.self)
                case .int32: p.storeBytes(of: Int32(v).littleEndian, as: Int32.self)
                case .int64: p.storeBytes(of: Int64(v).littleEndian, as: Int64.self)
                }
            }
        }
        data.append(contentsOf: body)
        return data
    }

    /// Writes the array atomically. An array holding NaN or inf is refused, naming the file, the
    /// element's index and value: no Refold output carries a meaningless number (issue 20).
    public func write(to url: URL) throws {
        try requireFinite(url)
        try writeAtomically(encoded(), to: url)
    }

    /// Throws, naming `url`, the first bad element's index and value and the count, when the array
    /// holds NaN or inf, or a value its dtype cannot hold (inf once stored as float32, an integer
    /// past int32/int64); a command checks all its arrays before it writes any.
    public func requireFinite(_ url: URL) throws {
        let storable: (Double) -> Bool
        switch dtype {
        case .float64: storable = { $0.isFinite }
        case .float32: storable = { Float($0).isFinite }
        case .int32: storable = { $0 >= Double(Int32.min) && $0 <= Double(Int32.max) }
        case .int64: storable = { $0 >= -0x1p63 && $0 < 0x1p63 }
        }
        guard let i = values.firstIndex(where: { !storable($0) }) else { return }
        var index = [Int](repeating: 0, count: shape.count), rest = i
        for d in shape.indices.reversed() where shape[d] > 0 { index[d] = rest % shape[d]; rest /= shape[d] }
        let count = values.lazy.filter { !storable($0) }.count
        throw RefoldError.file(url.path, "not written: element \(index) is \(values[i]) (\(count) of \(values.count) values NaN, inf or out of range of \(dtype.rawValue))")
    }
}

/// The number of elements of `shape`, refusing a negative extent or a product past Int.max (a
/// header that would make the reader allocate without bound), with an error naming `path`.
public func checkedElementCount(_ shape: [Int], path: String) throws -> Int {
    var count = 1
    for n in shape {
        guard n >= 0 else { throw RefoldError.file(path, "negative extent \(n) in shape \(shape)") }
        let (product, overflow) = count.multipliedReportingOverflow(by: n)
        guard !overflow else { throw RefoldError.file(path, "shape \(shape) has more than Int.max elements") }
        count = product
    }
    return count
}

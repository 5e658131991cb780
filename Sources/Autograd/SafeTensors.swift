import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length n, n bytes of
/// JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}
/// padded with spaces to a multiple of 8, then the raw little-endian data. Only F32 here.
public enum SafeTensors {
    /// The bytes of a file holding `tensors` in order (contiguous data) and `metadata`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * 4
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Data(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(headerBytes)
        for (_, tensor) in tensors {
            tensor.storage.withUnsafeBufferPointer { buffer in
                #if _endian(big)
                for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                #else
                data.append(UnsafeBufferPointer(start: buffer.baseAddress, count: buffer.count))
                #endif
            }
        }
        return data
    }

    /// Writes `tensors` and `metadata` to `url` atomically.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted || name == "__metadata__" {
            throw RefoldError.value("safetensors tensor name", expected: "unique names other than __metadata__", actual: name)
        }
        try writeAtomically(encode(tensors, metadata: metadata), to: url)
    }

    /// A parsed file: tensors by name, their names in data order, and the metadata.
    public struct File {
        public var tensors: [String: Tensor]
        public var names: [String]
        public var metadata: [String: String]
    }

    /// Reads a safetensors file of F32 tensors.
    public static func read(_ url: URL) throws -> File {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RefoldError.file(url.path, "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// Parses safetensors bytes (`path` names the source in errors).
    public static func decode(_ data: Data, path: String = "<data>") throws -> File {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw RefoldError.file(path, "expected at least 8 bytes of header length, got \(bytes.count) bytes") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw RefoldError.file(path, "header length \(n) exceeds the file (\(bytes.count) bytes)")
        }
        let headerLength = Int(n)
        let dataStart = 8 + headerLength
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])),
              let header = json as? [String: Any] else {
            throw RefoldError.file(path, "header is not a JSON object")
        }
        var file = File(tensors: [:], names: [], metadata: [:])
        if let meta = header["__metadata__"] {
            guard let meta = meta as? [String: Any] else { throw RefoldError.file(path, "__metadata__ is not a JSON object") }
            for (k, v) in meta {
                guard let s = v as? String else { throw RefoldError.file(path, "__metadata__[\(k)]: expected a string, got \(v)") }
                file.metadata[k] = s
            }
        }
        var entries: [(String, Int, Int, [Int])] = []
        for (name, value) in header where name != "__metadata__" {
            func integers(_ key: String) -> [Int]? {
                guard let list = entry(key) as? [Any] else { return nil }
                let values = list.compactMap { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
                return values.count == list.count ? values : nil
            }
            func entry(_ key: String) -> Any? { (value as? [String: Any])?[key] }
            guard let dtype = entry("dtype") as? String, let shape = integers("shape"), let offsets = integers("data_offsets"),
                  offsets.count == 2 else {
                throw RefoldError.file(path, "tensor \(name): expected dtype, shape and data_offsets (integers) in the header")
            }
            guard dtype == "F32" else { throw RefoldError.file(path, "tensor \(name): expected dtype F32, got \(dtype)") }
            guard shape.count <= 3 else {
                throw RefoldError.file(path, "tensor \(name): expected rank 0-3 (Refold's tensors), got shape \(shape)")
            }
            let count = try checkedElementCount(shape, path: "\(path) tensor \(name)")
            let dataBytes = bytes.count - dataStart
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataBytes,
                  offsets[1] - offsets[0] == count.multipliedReportingOverflow(by: 4).partialValue,
                  !count.multipliedReportingOverflow(by: 4).overflow else {
                throw RefoldError.file(path, "tensor \(name): data_offsets \(offsets) do not hold shape \(shape) of F32 within \(dataBytes) data bytes")
            }
            entries.append((name, offsets[0], offsets[1], shape))
        }
        entries.sort { $0.1 < $1.1 }
        for (name, begin, _, shape) in entries {
            let count = shape.reduce(1, *)
            let storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    let o = dataStart + begin + 4 * i
                    let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                    buffer[i] = Float(bitPattern: bits)
                }
                initialized = count
            }
            file.tensors[name] = Tensor(shape: shape.isEmpty ? [1] : shape, storage: storage)
            file.names.append(name)
        }
        return file
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// Checkpoints: a module's named parameters, optionally an optimizer's state, and metadata,
/// in one safetensors file (loads in PyTorch with `safetensors.torch.load_file`).
public enum Checkpoint {
    /// Metadata key of the optimizer step count.
    public static let stepKey = "optimizer.step"

    /// Saves parameters (by their names), the optimizer state and `metadata` atomically to `url`.
    public static func save(module: Module, optimizer: Optimizer? = nil, metadata: [String: String] = [:], to url: URL) throws {
        var tensors = module.parameters.map { (name: $0.name, tensor: $0.variable.value) }
        var meta = metadata
        if let optimizer {
            tensors += optimizer.state
            meta[stepKey] = String(optimizer.stepCount)
        }
        try SafeTensors.write(tensors, metadata: meta, to: url)
    }

    /// Loads parameters (and optimizer state) saved by `save`; returns the metadata. A missing
    /// name, a different shape or a non-finite weight throws an error naming the tensor and the file.
    @discardableResult
    public static func load(into module: Module, optimizer: Optimizer? = nil, from url: URL) throws -> [String: String] {
        let file = try SafeTensors.read(url)
        var values: [Tensor] = []
        for p in module.parameters {
            guard let t = file.tensors[p.name] else {
                throw RefoldError.file(url.path, "missing tensor '\(p.name)' (expected shape \(p.variable.shape))")
            }
            guard t.shape == p.variable.shape else {
                throw RefoldError.file(url.path, "tensor '\(p.name)': expected shape \(p.variable.shape), got \(t.shape)")
            }
            if let bad = t.storage.firstIndex(where: { !$0.isFinite }) {
                throw RefoldError.file(url.path, "tensor '\(p.name)' holds \(t.storage[bad]) at element \(bad): a corrupted checkpoint (training never saves non-finite weights)")
            }
            values.append(t)
        }
        if let optimizer {
            guard let step = file.metadata[stepKey].flatMap(Int.init) else {
                throw RefoldError.file(url.path, "missing metadata '\(stepKey)' (expected an optimizer checkpoint)")
            }
            do { try optimizer.loadState(file.tensors, stepCount: step) } catch let error as RefoldError {
                throw RefoldError.file(url.path, error.message)
            }
        }
        for (p, t) in zip(module.parameters, values) { p.variable.value = t }
        return file.metadata
    }
}

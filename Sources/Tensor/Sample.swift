import Foundation

/// An event sample: the one currency between generators and networks (DESIGN.md, "Formats").
///
/// On disk a folder with `meta.json` and named `.npy` arrays. A paired sample holds
/// `parton.npy` (N x D_p), `detector.npy` (N x D_d), optionally `njets.npy` (N, int32),
/// `lepton_flavour.npy` (N, int32 PDG ids) and `weights.npy` (N); a single-level sample (density toys) holds `events.npy` (N x D).
/// Column names travel in `meta.json`, so a reader never guesses the order.
public struct EventSample: Equatable {
    public enum Level: String, Equatable { case paired, single }

    /// A row-major Double matrix with named columns.
    public struct Block: Equatable {
        public var columns: [String]
        public var rows: Int
        public var values: [Double]

        public init(columns: [String], rows: Int, values: [Double]) {
            precondition(values.count == rows * columns.count,
                         "EventSample.Block: \(rows) rows x \(columns.count) columns need \(rows * columns.count) values, got \(values.count)")
            self.columns = columns
            self.rows = rows
            self.values = values
        }

        public var shape: [Int] { [rows, columns.count] }
        @inlinable public subscript(row: Int, column: Int) -> Double { values[row * columns.count + column] }
        /// The index of a named column, or nil.
        public func index(of name: String) -> Int? { columns.firstIndex(of: name) }
        /// One column as an array.
        public func column(_ j: Int) -> [Double] { (0..<rows).map { values[$0 * columns.count + j] } }
        /// The values as a Float32 tensor of shape [rows, columns].
        public func tensor() -> Tensor { Tensor(shape: shape, storage: values.map(Float.init)) }
        /// The rows at `indices`, in that order (repeats allowed).
        public func rows<S: Sequence<Int>>(_ indices: S) -> Block {
            let d = columns.count
            var selected = [Double]()
            selected.reserveCapacity(indices.underestimatedCount * d)
            var count = 0
            for i in indices {
                precondition(i >= 0 && i < rows, "EventSample.Block.rows: row \(i) of \(rows)")
                selected.append(contentsOf: values[(i * d)..<((i + 1) * d)])
                count += 1
            }
            return Block(columns: columns, rows: count, values: selected)
        }
    }

    public var generator: String
    public var level: Level
    public var seed: UInt64
    /// Generator parameters (numbers only), recorded in `meta.json`.
    public var parameters: [String: Double]
    public var units: String
    /// Accepted / generated events of the detector selection (1 without a selection).
    public var selectionEfficiency: Double
    /// Paired samples: the parton level (N x D_p) and the detector level (N x D_d).
    public var parton: Block?
    public var detector: Block?
    /// Single-level samples: the events (N x D).
    public var events: Block?
    /// Optional: jets per detector-level event, and event weights.
    public var njets: [Int]?
    public var weights: [Double]?
    /// Optional: the PDG id of each event's lepton pair (11 electrons, 13 muons): the detector's
    /// lepton resolution depends on it, so a likelihood needs it (`refold mem`).
    public var leptonFlavour: [Int]?
    /// Events the reader dropped for holding NaN or inf (`NonFiniteEvents.drop`); 0 otherwise.
    public var droppedNonFinite = 0

    /// What `read(from:nonFinite:)` does with an event holding NaN or inf in any of its values
    /// or its weight. Such an event has no meaning in any observable, and one of them turns every
    /// mean, loss and histogram it reaches into NaN, so it is never passed on.
    public enum NonFiniteEvents: Sendable {
        /// Throw, naming the file, row, column and value (the default of every command).
        case refuse
        /// Remove the event from every array of the folder alike (parton, detector, events,
        /// jet counts, flavours, weights), so pairs stay aligned, and count it in `droppedNonFinite`.
        case drop
    }

    /// A paired parton/detector sample.
    public init(generator: String, seed: UInt64, parton: Block, detector: Block, njets: [Int]? = nil,
                weights: [Double]? = nil, parameters: [String: Double] = [:], selectionEfficiency: Double = 1,
                units: String = "GeV") {
        self.generator = generator; self.level = .paired; self.seed = seed
        self.parton = parton; self.detector = detector; self.events = nil
        self.njets = njets; self.weights = weights
        self.parameters = parameters; self.selectionEfficiency = selectionEfficiency; self.units = units
    }

    /// A single-level sample (density toys).
    public init(generator: String, seed: UInt64, events: Block, weights: [Double]? = nil,
                parameters: [String: Double] = [:], selectionEfficiency: Double = 1, units: String = "GeV") {
        self.generator = generator; self.level = .single; self.seed = seed
        self.parton = nil; self.detector = nil; self.events = events
        self.njets = nil; self.weights = weights
        self.parameters = parameters; self.selectionEfficiency = selectionEfficiency; self.units = units
    }

    /// Number of events.
    public var count: Int { (level == .paired ? parton?.rows : events?.rows) ?? 0 }

    /// The named blocks with their file stems, in file order.
    public var blocks: [(name: String, block: Block)] {
        [("parton", parton), ("detector", detector), ("events", events)].compactMap { name, block in
            block.map { (name, $0) }
        }
    }

    /// Checks row counts and that the blocks match the level.
    public func validate() throws {
        switch level {
        case .paired:
            guard let parton, let detector else {
                throw RefoldError.value("paired sample", expected: "parton and detector blocks", actual: blocks.map(\.name))
            }
            guard parton.rows == detector.rows else {
                throw RefoldError.value("detector rows", expected: "\(parton.rows) (the parton rows)", actual: detector.rows)
            }
        case .single:
            guard events != nil else {
                throw RefoldError.value("single-level sample", expected: "an events block", actual: blocks.map(\.name))
            }
        }
        if let njets, njets.count != count { throw RefoldError.value("njets length", expected: "\(count)", actual: njets.count) }
        if let weights, weights.count != count { throw RefoldError.value("weights length", expected: "\(count)", actual: weights.count) }
        if let leptonFlavour, leptonFlavour.count != count {
            throw RefoldError.value("lepton_flavour length", expected: "\(count)", actual: leptonFlavour.count)
        }
    }

    // MARK: Writing

    /// Writes `meta.json` and the arrays into `folder` (each file atomically). Blocks are float64.
    public func write(to folder: URL, dtype: NPYArray.DType = .float64) throws {
        try validate()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [String: String] = [:]
        for (name, block) in blocks {
            try NPYArray(shape: block.shape, values: block.values, dtype: dtype)
                .write(to: folder.appendingPathComponent("\(name).npy"))
            files[name] = "\(name).npy"
        }
        if let njets {
            try NPYArray(shape: [njets.count], values: njets.map(Double.init), dtype: .int32)
                .write(to: folder.appendingPathComponent("njets.npy"))
            files["njets"] = "njets.npy"
        }
        if let leptonFlavour {
            try NPYArray(shape: [leptonFlavour.count], values: leptonFlavour.map(Double.init), dtype: .int32)
                .write(to: folder.appendingPathComponent("lepton_flavour.npy"))
            files["lepton_flavour"] = "lepton_flavour.npy"
        }
        if let weights {
            try NPYArray(shape: [weights.count], values: weights, dtype: .float64)
                .write(to: folder.appendingPathComponent("weights.npy"))
            files["weights"] = "weights.npy"
        }
        let columns: Any = level == .paired
            ? ["parton": parton!.columns, "detector": detector!.columns] as [String: Any]
            : events!.columns
        let meta: [String: Any] = [
            "generator": generator, "level": level.rawValue, "seed": seed, "events": count,
            "parameters": parameters, "columns": columns, "units": units,
            "selection_efficiency": selectionEfficiency, "files": files,
        ]
        let data = try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data, to: folder.appendingPathComponent("meta.json"))
    }

    /// Writes one CSV per block (`parton.csv`, `detector.csv` or `events.csv`) with a header row;
    /// `njets` and `weight` become trailing columns of every file when present.
    public func writeCSV(to folder: URL) throws {
        try validate()
        for (name, block) in blocks {
            var header = block.columns
            if njets != nil { header.append("njets") }
            if weights != nil { header.append("weight") }
            var text = header.joined(separator: ",") + "\n"
            text.reserveCapacity(block.values.count * 12)
            for i in 0..<block.rows {
                var fields = (0..<block.columns.count).map { "\(block[i, $0])" }
                if let njets { fields.append("\(njets[i])") }
                if let weights { fields.append("\(weights[i])") }
                text += fields.joined(separator: ",") + "\n"
            }
            try writeAtomically(text, to: folder.appendingPathComponent("\(name).csv"))
        }
    }

    // MARK: Reading

    /// Reads one block from a CSV file with a header row of column names (as `writeCSV` writes);
    /// errors name the file, the line, and the expected and actual field count.
    public static func readCSV(_ url: URL) throws -> Block {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw RefoldError.file(url.path, "cannot read") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first, !header.isEmpty else { throw RefoldError.file(url.path, line: 1, "expected a header row of column names") }
        let columns = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var values: [Double] = []
        values.reserveCapacity((lines.count - 1) * columns.count)
        for (n, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw RefoldError.file(url.path, line: n + 1, "expected \(columns.count) fields (header \(columns)), got \(fields.count)")
            }
            for field in fields {
                guard let v = Double(field.trimmingCharacters(in: .whitespaces)) else {
                    throw RefoldError.file(url.path, line: n + 1, "expected a number, got '\(field)'")
                }
                values.append(v)
            }
        }
        return Block(columns: columns, rows: lines.count - 1, values: values)
    }

    /// Reads and validates a sample folder: every listed file exists, row counts agree, and
    /// each array's column count matches its column names. Events holding NaN or inf are
    /// refused or dropped as `nonFinite` says.
    public static func read(from folder: URL, nonFinite: NonFiniteEvents = .refuse) throws -> EventSample {
        let metaURL = folder.appendingPathComponent("meta.json")
        guard let data = FileManager.default.contents(atPath: metaURL.path) else {
            throw RefoldError.file(metaURL.path, "missing: an event sample folder needs meta.json")
        }
        guard let meta = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw RefoldError.file(metaURL.path, "not a JSON object")
        }
        func field<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let value = meta[key] as? T else {
                throw RefoldError.file(metaURL.path, "key '\(key)': expected \(T.self), got \(meta[key].map { "\($0)" } ?? "nothing")")
            }
            return value
        }
        let levelText = try field("level", String.self)
        guard let level = Level(rawValue: levelText) else {
            throw RefoldError.file(metaURL.path, "key 'level': expected paired or single, got '\(levelText)'")
        }
        let files = try field("files", [String: String].self)
        let declared = try field("events", Int.self)
        let parameters = (meta["parameters"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
        let seed = (meta["seed"] as? NSNumber)?.uint64Value ?? 0

        func load(_ name: String) throws -> NPYArray? {
            guard let file = files[name] else { return nil }
            let url = folder.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RefoldError.file(url.path, "listed in meta.json 'files' as '\(name)' but missing")
            }
            let array = try NPYArray.read(url)
            guard array.rows == declared else {
                throw RefoldError.file(url.path, "expected \(declared) rows (meta.json 'events'), got \(array.rows)")
            }
            return array
        }
        func block(_ name: String, columns: [String]) throws -> Block? {
            guard let array = try load(name) else { return nil }
            let url = folder.appendingPathComponent(files[name]!)
            guard array.shape.count == 2, array.columns == columns.count else {
                throw RefoldError.file(url.path, "expected \(columns.count) columns (meta.json names \(columns)), got shape \(array.shape)")
            }
            return Block(columns: columns, rows: array.rows, values: array.values)
        }

        var sample: EventSample
        let generator = (meta["generator"] as? String) ?? "unknown"
        let efficiency = (meta["selection_efficiency"] as? NSNumber)?.doubleValue ?? 1
        let units = (meta["units"] as? String) ?? "GeV"
        switch level {
        case .paired:
            let columns = try field("columns", [String: [String]].self)
            guard let partonColumns = columns["parton"], let detectorColumns = columns["detector"] else {
                throw RefoldError.file(metaURL.path, "key 'columns': expected 'parton' and 'detector' lists, got \(columns.keys.sorted())")
            }
            guard let parton = try block("parton", columns: partonColumns),
                  let detector = try block("detector", columns: detectorColumns) else {
                throw RefoldError.file(metaURL.path, "key 'files': expected 'parton' and 'detector', got \(files.keys.sorted())")
            }
            sample = EventSample(generator: generator, seed: seed, parton: parton, detector: detector,
                                 parameters: parameters, selectionEfficiency: efficiency, units: units)
        case .single:
            let columns = try field("columns", [String].self)
            guard let events = try block("events", columns: columns) else {
                throw RefoldError.file(metaURL.path, "key 'files': expected 'events', got \(files.keys.sorted())")
            }
            sample = EventSample(generator: generator, seed: seed, events: events,
                                 parameters: parameters, selectionEfficiency: efficiency, units: units)
        }
        if let array = try load("njets") {
            let url = folder.appendingPathComponent(files["njets"]!)
            sample.njets = try array.values.enumerated().map { row, value in
                guard value >= 0, value <= 1_000, value == value.rounded() else {
                    throw RefoldError.file(url.path, "row \(row): expected a jet count (an integer in 0...1000), got \(value)")
                }
                return Int(value)
            }
        }
        if let array = try load("lepton_flavour") {
            let url = folder.appendingPathComponent(files["lepton_flavour"]!)
            sample.leptonFlavour = try array.values.enumerated().map { row, value in
                guard abs(value) <= 1e9, value == value.rounded() else {
                    throw RefoldError.file(url.path, "row \(row): expected an integer PDG id, got \(value)")
                }
                return Int(value)
            }
        }
        sample.weights = try load("weights")?.values
        switch nonFinite {
        case .refuse: try sample.checkFinite(folder: folder, files: files)
        case .drop: sample.dropNonFinite()
        }
        return sample
    }

    /// The events (rows) with a NaN or infinite value in any block or weight, ascending.
    public var nonFiniteRows: [Int] {
        var bad = Set<Int>()
        for (_, block) in blocks {
            let d = block.columns.count
            for (i, value) in block.values.enumerated() where !value.isFinite { bad.insert(i / d) }
        }
        for (i, weight) in (weights ?? []).enumerated() where !weight.isFinite { bad.insert(i) }
        return bad.sorted()
    }

    /// Removes the events of `nonFiniteRows` from every array alike and adds their number to
    /// `droppedNonFinite`.
    mutating func dropNonFinite() {
        let bad = Set(nonFiniteRows)
        guard !bad.isEmpty else { return }
        let kept = (0..<count).filter { !bad.contains($0) }
        parton = parton?.rows(kept); detector = detector?.rows(kept); events = events?.rows(kept)
        njets = njets.map { values in kept.map { values[$0] } }
        leptonFlavour = leptonFlavour.map { values in kept.map { values[$0] } }
        weights = weights.map { values in kept.map { values[$0] } }
        droppedNonFinite += bad.count
    }

    /// Refuses NaN or infinite event values and weights (the policy of README "Formats": non-finite
    /// values in event data are an error unless dropped on request, never silently propagated),
    /// naming the file, row and column.
    func checkFinite(folder: URL, files: [String: String]) throws {
        for (name, block) in blocks {
            guard let i = block.values.firstIndex(where: { !$0.isFinite }) else { continue }
            let path = folder.appendingPathComponent(files[name] ?? "\(name).npy").path
            throw RefoldError.file(path, "row \(i / block.columns.count), column \(block.columns[i % block.columns.count]): expected a finite value, got \(block.values[i])")
        }
        if let weights, let i = weights.firstIndex(where: { !$0.isFinite }) {
            throw RefoldError.file(folder.appendingPathComponent(files["weights"] ?? "weights.npy").path, "row \(i): expected a finite weight, got \(weights[i])")
        }
    }
}

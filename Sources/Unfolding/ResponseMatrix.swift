import Tensor

/// The detector response R_ij = P(measured bin i | truth bin j), eq. 5.1: rows = measured bins,
/// columns = truth bins, row-major. A column sums to the efficiency epsilon_j <= 1.
public struct ResponseMatrix: Equatable {
    public let measuredBins: Int
    public let truthBins: Int
    /// `entries[i * truthBins + j]` = R_ij.
    public let entries: [Double]

    public init(measuredBins: Int, truthBins: Int, entries: [Double]) throws {
        guard measuredBins > 0, truthBins > 0 else {
            throw RefoldError.value("ResponseMatrix bins", expected: "positive counts", actual: "\(measuredBins) x \(truthBins)")
        }
        guard entries.count == measuredBins * truthBins else {
            throw RefoldError.shape("ResponseMatrix entries", expected: [measuredBins * truthBins], actual: [entries.count])
        }
        if let bad = entries.firstIndex(where: { !(0...1).contains($0) }) {
            throw RefoldError.value("ResponseMatrix entry (\(bad / truthBins), \(bad % truthBins))",
                                    expected: "a probability in [0, 1]", actual: entries[bad])
        }
        self.measuredBins = measuredBins
        self.truthBins = truthBins
        self.entries = entries
        if let j = efficiency.firstIndex(where: { $0 > 1 + 1e-9 }) {
            throw RefoldError.value("ResponseMatrix column \(j) sum (efficiency)", expected: "<= 1", actual: efficiency[j])
        }
    }

    /// From rows (measured bin i -> [R_i0, R_i1, ...]).
    public init(rows: [[Double]]) throws {
        let columns = rows.first?.count ?? 0
        if let ragged = rows.firstIndex(where: { $0.count != columns }) {
            throw RefoldError.value("ResponseMatrix row \(ragged)", expected: "\(columns) columns", actual: rows[ragged].count)
        }
        try self.init(measuredBins: rows.count, truthBins: columns, entries: rows.flatMap { $0 })
    }

    public subscript(measured i: Int, truth j: Int) -> Double { entries[i * truthBins + j] }

    /// epsilon_j = sum_i R_ij.
    public var efficiency: [Double] {
        (0..<truthBins).map { j in (0..<measuredBins).reduce(0) { $0 + entries[$1 * truthBins + j] } }
    }

    /// Rows as nested arrays (measured bin i -> [R_i0, R_i1, ...]).
    public var rows: [[Double]] { (0..<measuredBins).map { Array(entries[$0 * truthBins..<($0 + 1) * truthBins]) } }

    /// The expected measured spectrum sum_j R_ij t_j + b_i (eq. 5.1; b: fakes/background, optional).
    public func fold(_ truth: [Double], background: [Double]? = nil) throws -> [Double] {
        guard truth.count == truthBins else { throw RefoldError.shape("fold truth", expected: [truthBins], actual: [truth.count]) }
        if let background, background.count != measuredBins {
            throw RefoldError.shape("fold background", expected: [measuredBins], actual: [background.count])
        }
        return (0..<measuredBins).map { i in
            var sum = background?[i] ?? 0
            for j in 0..<truthBins { sum += entries[i * truthBins + j] * truth[j] }
            return sum
        }
    }

    /// One pseudo-measurement: Poisson counts around the folded spectrum.
    public func fold(_ truth: [Double], background: [Double]? = nil, rng: RNGStream) throws -> [Double] {
        try fold(truth, background: background).map { Double(rng.poisson(mean: $0)) }
    }
}

/// The classical unfolding methods.
public enum UnfoldingMethod: String, CaseIterable, Sendable {
    case invert, ibu, svd, binByBin = "binbybin"
}

/// An unfolded truth spectrum with its uncertainties.
public struct UnfoldingResult {
    public let method: UnfoldingMethod
    public let values: [Double]
    /// Square roots of the covariance diagonal.
    public var errors: [Double] { (0..<values.count).map { covariance[$0 * values.count + $0].squareRoot() } }
    /// n x n row-major covariance (diagonal for bin-by-bin).
    public let covariance: [Double]
    /// Largest over smallest singular value of the (weighted) response (inversion and SVD).
    public let conditionNumber: Double?
    /// Iterative Bayes: relative change sum |t_k - t_{k-1}| / sum t_k after each iteration.
    public let convergence: [Double]

    /// The largest condition number an unregularised inversion accepts (about 1/sqrt(machine epsilon)).
    public static let maximumCondition = 1e8

    /// Throws unless the result is meaningful: an unregularised result (`regularised` false) of a
    /// response whose condition number exceeds `maximumCondition` amplifies the data's noise by up
    /// to that factor and is refused, naming `source`; any non-finite value is refused.
    public func requireMeaningful(regularised: Bool, source: String) throws {
        if let condition = conditionNumber, !regularised, !(condition <= Self.maximumCondition) {
            throw RefoldError.file(source, "the response's condition number \(condition) exceeds \(Self.maximumCondition): unregularised \(method.rawValue) would amplify the data's noise by up to that factor; regularise (svd with tau > 0) or use ibu")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw RefoldError.file(source, "\(method.rawValue) unfolding gave \(values[bad]) in bin \(bad): expected finite values")
        }
    }

    public init(method: UnfoldingMethod, values: [Double], covariance: [Double], conditionNumber: Double? = nil, convergence: [Double] = []) {
        precondition(covariance.count == values.count * values.count, "UnfoldingResult: covariance needs \(values.count * values.count) entries, got \(covariance.count)")
        self.method = method; self.values = values; self.covariance = covariance
        self.conditionNumber = conditionNumber; self.convergence = convergence
    }
}

func checkCounts(_ name: String, _ values: [Double], expected count: Int) throws {
    guard values.count == count else { throw RefoldError.shape(name, expected: [count], actual: [values.count]) }
    if let bad = values.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
        throw RefoldError.value("\(name)[\(bad)]", expected: "a finite count >= 0", actual: values[bad])
    }
}

import XCTest
import TestSupport
@testable import GAN

/// The residual generator's fixed skip: its affine map, its checks, and that a residual GAN adds
/// it to the generator output while a plain one does not.
final class DetectorSkipTests: XCTestCase {
    func testAppliesAffinePerColumnAndZeroWithoutSource() throws {
        let skip = try DetectorSkip(sources: [2, nil, 0], scales: [2, 5, -1], shifts: [0.5, 7, 1])
        let x = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        let y = skip.apply(x)
        XCTAssertEqual(y.shape, [2, 3])
        let expected: [Float] = [6.5, 0, 0, 12.5, 0, -3]  // 2 x_2 + 0.5, 0, 1 - x_0 per row
        XCTAssertEqual(y.storage, expected)
        XCTAssertEqual(skip.linkedOutputs, 2)
    }

    func testChecksNameTheProblem() throws {
        XCTAssertThrowsError(try DetectorSkip(sources: [0, 1], scales: [1], shifts: [0, 0])) { error in
            XCTAssertTrue("\(error)".contains("equal length"), "\(error)")
        }
        let skip = try DetectorSkip(sources: [0, 4], scales: [1, 1], shifts: [0, 0])
        XCTAssertThrowsError(try skip.check(partonDimension: 2, detectorDimension: 4)) { error in
            XCTAssertTrue("\(error)".contains("< 4 (D_d)") && "\(error)".contains("got 4"), "\(error)")
        }
        var residual = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 4, noiseDimension: 1)
        residual.residual = true
        XCTAssertThrowsError(try FullyConditionalGAN(partonDimension: 2, detectorDimension: 5, config: residual, rng: RNGStream(seed: 1))) { error in
            XCTAssertTrue("\(error)".contains("residual"), "\(error)")
        }
        let plain = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 4)
        XCTAssertThrowsError(try NaiveGAN(partonDimension: 2, detectorDimension: 5, config: plain, skip: skip, rng: RNGStream(seed: 1)))
        var response = plain
        response.discriminatorResponse = true
        XCTAssertThrowsError(try NaiveGAN(partonDimension: 2, detectorDimension: 4, config: response, skip: skip, rng: RNGStream(seed: 1))) { error in
            XCTAssertTrue("\(error)".contains("naive GAN discriminatorResponse"), "\(error)")
        }
    }

    /// discriminatorResponse: the FCGAN discriminator input is x_p ⊕ x_d ⊕ (x_p - skip(x_d)), and
    /// the generator stays plain (no skip added) unless residual is set too.
    func testDiscriminatorSeesTheResponse() throws {
        let skip = try DetectorSkip(sources: [1, nil], scales: [2, 0], shifts: [0.5, 0])
        var config = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8, noiseDimension: 1)
        let plain = try FullyConditionalGAN(partonDimension: 2, detectorDimension: 3, config: config, rng: RNGStream(seed: 4))
        config.discriminatorResponse = true
        let gan = try FullyConditionalGAN(partonDimension: 2, detectorDimension: 3, config: config, skip: skip, rng: RNGStream(seed: 4))
        let xp = Tensor(shape: [2, 2], storage: [1, 2, 3, 4]), xd = Tensor(shape: [2, 3], storage: [5, 6, 7, 8, 9, 10])
        let input = gan.discriminatorInput(partonLevel: Variable(xp), detectorLevel: Variable(xd)).value
        XCTAssertEqual(input.shape, [2, 7])
        let expected: [Float] = [1, 2, 5, 6, 7, 1 - 12.5, 2, 3, 4, 8, 9, 10, 3 - 18.5, 4]
        XCTAssertEqual(input.storage, expected)
        let x = Tensor.normal([5, 3], rng: RNGStream(seed: 2))
        let a = try plain.sample(detectorLevel: x, count: 2, rng: RNGStream(seed: 9))
        let b = try gan.sample(detectorLevel: x, count: 2, rng: RNGStream(seed: 9))
        XCTAssertEqual(a.storage, b.storage, "the generator is the same network with the same noise and no skip")
        config.discriminatorResponse = nil
        XCTAssertThrowsError(try FullyConditionalGAN(partonDimension: 2, detectorDimension: 3, config: config, skip: skip, rng: RNGStream(seed: 4)))
    }

    /// Same weights (same seed), one residual and one plain: the residual sample is the plain one
    /// plus skip(x_d), exactly, for the naive GAN and for the FCGAN (same noise stream).
    func testResidualAddsTheSkipToTheGeneratorOutput() throws {
        let skip = try DetectorSkip(sources: [1, nil, 3], scales: [0.5, 0, 2], shifts: [1, 0, -1])
        let x = Tensor.normal([7, 4], rng: RNGStream(seed: 2))
        for noise in [nil, 2] as [Int?] {
            var plainConfig = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8, noiseDimension: noise)
            var residualConfig = plainConfig
            residualConfig.residual = true
            plainConfig.residual = nil
            let plain: any AdversarialUnfolding, residual: any AdversarialUnfolding
            if noise == nil {
                plain = try NaiveGAN(partonDimension: 3, detectorDimension: 4, config: plainConfig, rng: RNGStream(seed: 5))
                residual = try NaiveGAN(partonDimension: 3, detectorDimension: 4, config: residualConfig, skip: skip, rng: RNGStream(seed: 5))
            } else {
                plain = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: plainConfig, rng: RNGStream(seed: 5))
                residual = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: residualConfig, skip: skip, rng: RNGStream(seed: 5))
            }
            let a = try plain.sample(detectorLevel: x, count: 3, rng: RNGStream(seed: 9))
            let b = try residual.sample(detectorLevel: x, count: 3, rng: RNGStream(seed: 9))
            let s = skip.apply(x)
            for i in 0..<7 {
                for k in 0..<3 {
                    for j in 0..<3 {
                        let index = (i * 3 + k) * 3 + j
                        XCTAssertEqual(b.storage[index], a.storage[index] + s.storage[i * 3 + j], accuracy: 1e-6,
                                       "noise \(String(describing: noise)): event \(i) sample \(k) column \(j)")
                    }
                }
            }
        }
    }
}

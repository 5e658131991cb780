/// The regularised Jensen-Shannon discriminator loss on one batch (differentiable total and the
/// values of its parts).
public struct DiscriminatorLoss {
    /// L_D^(reg), eq. 4.3 / 4.10.
    public var total: Variable
    /// L_D, eq. 4.2 / 4.9: <-log D>_real + <-log(1 - D)>_fake.
    public var crossEntropy: Float
    /// The unweighted penalty <(1 - D)^2 |grad phi|^2>_real + <D^2 |grad phi|^2>_fake.
    public var gradientPenalty: Float
    /// <D> on real and on generated events (1 and 0 for a perfect discriminator, 1/2 at equilibrium).
    public var meanReal: Float
    public var meanFake: Float
}

/// The generator loss on one batch.
public struct GeneratorLoss {
    /// L_G (eq. 4.4 / 4.11) + lambda_G MMD.
    public var total: Variable
    /// L_G = <-log D>_fake.
    public var adversarial: Float
    /// The unweighted observable MMD (eq. 4.5), nil without observables.
    public var mmd: Float?
}

/// The regularised Jensen-Shannon GAN loss of Roth et al. 2017 (thesis eq. 4.2, 4.3; eq. 4.9,
/// 4.10 with the condition in the input), with D = sigmoid(phi) and phi = log D / (1 - D) the
/// discriminator's logit:
///
///     L_D^(reg) = <-log D>_real + <-log(1 - D)>_fake
///               + lambda_D <(1 - D)^2 |grad_x phi|^2>_real + lambda_D <D^2 |grad_x phi|^2>_fake
///
/// `real` [N, D_in] and `fake` [M, D_in] are discriminator inputs (x_p, or x_p ⊕ x_d for the
/// FCGAN, where the gradient runs over the whole input); `fake` must not carry a generator graph.
/// `logit` maps [K, D_in] to [K, 1]. The penalty is differentiated through D and grad phi (double
/// backward), as in the reference implementation. -log D = softplus(-phi) and -log(1 - D) =
/// softplus(phi) keep the loss finite for saturated discriminators. Needs grad mode.
/// `fakeWeights` [M, 1] (summing to one) replace the fake rows' uniform 1/M in both fake terms
/// and in <D>_fake: the fake side is then a weighted mixture of samples (event subtraction).
public func regularizedDiscriminatorLoss(real: Tensor, fake: Tensor, lambda: Float, fakeWeights: Tensor? = nil,
                                         logit: (Variable) -> Variable) -> DiscriminatorLoss {
    precondition(real.rank == 2 && fake.rank == 2 && real.columns == fake.columns,
                 "regularizedDiscriminatorLoss: expected [N, D] and [M, D], got \(real.shape) and \(fake.shape)")
    precondition(fakeWeights.map { $0.shape == [fake.rows, 1] } ?? true,
                 "regularizedDiscriminatorLoss: expected fake weights [\(fake.rows), 1], got \(fakeWeights?.shape ?? [])")
    precondition(GradMode.isEnabled, "regularizedDiscriminatorLoss: the gradient penalty needs grad mode")
    let n = real.rows, m = fake.rows
    // One pass over real and generated rows together: larger matrix products, one double backward.
    let input = Variable(concat([real, fake], axis: 0), requiresGrad: true)
    let phi = logit(input)
    precondition(phi.shape == [n + m, 1], "regularizedDiscriminatorLoss: expected logits [\(n + m), 1], got \(phi.shape)")
    let phiReal = sliceRows(phi, start: 0, count: n), phiFake = sliceRows(phi, start: n, count: m)
    let weights = fakeWeights.map { Variable($0) }
    func fakeMean(_ x: Variable) -> Variable { weights.map { sum(x * $0) } ?? mean(x) }
    let crossEntropy = mean(softplus(-phiReal)) + fakeMean(softplus(phiFake))
    // Each phi_i depends on row i only, so d(sum phi)/d input holds every row's grad_x phi_i.
    let gradPhi = gradients(of: sum(phi), withRespectTo: [input], createGraph: true)[0]
    let squaredNorm = sum(square(gradPhi), axis: 1)
    let oneMinusDReal = sigmoid(-phiReal), dFake = sigmoid(phiFake)
    let penalty = mean(square(oneMinusDReal) * sliceRows(squaredNorm, start: 0, count: n))
        + fakeMean(square(dFake) * sliceRows(squaredNorm, start: n, count: m))
    return DiscriminatorLoss(total: crossEntropy + lambda * penalty, crossEntropy: crossEntropy.scalar,
                             gradientPenalty: penalty.scalar, meanReal: 1 - mean(oneMinusDReal.value).scalar,
                             meanFake: withNoGrad { fakeMean(Variable(dFake.value)) }.scalar)
}

/// L_G = <-log D(x)>_{x ~ P_G} = <softplus(-phi)> (eq. 4.4 / 4.11) from the logits of generated events.
public func generatorAdversarialLoss(fakeLogits phi: Variable) -> Variable {
    mean(softplus(-phi))
}

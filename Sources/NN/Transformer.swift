// A transformer encoder over a variable number of objects per event (Vaswani et al. 2017,
// pre-LN as Xiong et al. 2020), pooled to a fixed-size condition.
//
// Layout (docs/transformer.md): a batch is a token matrix [N*T, F] (row n*T + t = slot t of
// event n) with a `TokenMask` saying which slots are real. Linear layers, layer norms and
// GELUs act row by row; only attention (per event, per head) and pooling look across rows.
// No positional encoding: the layer is permutation-equivariant in the tokens, the pooled
// output permutation-invariant, and padding never reaches a real token.

/// Layer normalisation over the feature axis (Ba, Kiros & Hinton 2016) with learnable gain
/// and bias. Parameters "weight" [F] (ones) and "bias" [F] (zeros), as PyTorch's LayerNorm.
public final class LayerNorm: Module {
    public let weight: Variable
    public let bias: Variable
    public let epsilon: Float

    public init(features: Int, epsilon: Float = 1e-5) {
        precondition(features > 0 && epsilon > 0, "LayerNorm: expected features > 0 and epsilon > 0, got \(features) and \(epsilon)")
        weight = Variable(Tensor.ones([features]), requiresGrad: true, name: "weight")
        bias = Variable(Tensor(shape: [features]), requiresGrad: true, name: "bias")
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Variable) -> Variable { layerNorm(x, gain: weight, bias: bias, epsilon: epsilon) }

    public var parameters: [(name: String, variable: Variable)] { [("weight", weight), ("bias", bias)] }
}

/// Multi-head self-attention over the tokens of each event:
/// out = concat_h softmax(Q_h K_h^T / sqrt(dk) + padding mask) V_h W_o^T + b_o with Q, K, V
/// linear in the tokens and dk = D / heads. Padded keys get weight exactly zero.
/// Parameters "query", "key", "value", "output" (each a Dense D -> D, Glorot-uniform).
public final class MultiHeadSelfAttention: Module {
    public let heads: Int
    public let query: Dense, key: Dense, value: Dense, output: Dense

    /// `rng` children "query", "key", "value", "output".
    public init(modelDimension: Int, heads: Int, rng: RNGStream) {
        precondition(heads > 0 && modelDimension > 0 && modelDimension % heads == 0,
                     "MultiHeadSelfAttention: model dimension \(modelDimension) must split into \(heads) heads")
        self.heads = heads
        query = Dense(inputs: modelDimension, outputs: modelDimension, initializer: .xavierUniform, rng: rng.child("query"))
        key = Dense(inputs: modelDimension, outputs: modelDimension, initializer: .xavierUniform, rng: rng.child("key"))
        value = Dense(inputs: modelDimension, outputs: modelDimension, initializer: .xavierUniform, rng: rng.child("value"))
        output = Dense(inputs: modelDimension, outputs: modelDimension, initializer: .xavierUniform, rng: rng.child("output"))
    }

    public var modelDimension: Int { query.inputs }

    /// Tokens x [N*T, D] under `mask` -> [N*T, D].
    public func callAsFunction(_ x: Variable, mask: TokenMask) -> Variable {
        output(multiHeadAttention(query: query(x), key: key(x), value: value(x), mask: mask, heads: heads))
    }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("query", query) + prefixed("key", key) + prefixed("value", value) + prefixed("output", output)
    }
}

/// Sizes of a `TransformerEncoder`.
public struct TransformerConfig: Codable, Equatable {
    /// D, the width of every token inside the encoder.
    public var modelDimension: Int
    public var heads: Int
    public var layers: Int
    /// Hidden width of each layer's feed-forward block.
    public var feedForwardDimension: Int
    /// Width of the pooled output (the condition handed to a flow or a regression head).
    public var conditionDimension: Int

    public init(modelDimension: Int, heads: Int, layers: Int, feedForwardDimension: Int, conditionDimension: Int) {
        self.modelDimension = modelDimension; self.heads = heads; self.layers = layers
        self.feedForwardDimension = feedForwardDimension; self.conditionDimension = conditionDimension
    }

    /// D 32, 4 heads, 2 layers, feed-forward 64, condition 16.
    public static let quick = TransformerConfig(modelDimension: 32, heads: 4, layers: 2, feedForwardDimension: 64, conditionDimension: 16)
    /// D 64, 4 heads, 4 layers, feed-forward 128, condition 16.
    public static let paper = TransformerConfig(modelDimension: 64, heads: 4, layers: 4, feedForwardDimension: 128, conditionDimension: 16)
}

/// One pre-LN encoder layer (Xiong et al. 2020):
///
///     h = x + Attention(LN1(x)),   y = h + W2 GELU(W1 LN2(h) + b1) + b2.
///
/// Pre-LN keeps an identity path from every layer to the output, so gradients at
/// initialisation do not grow with depth and training needs no learning-rate warm-up (post-LN
/// does). Parameters "norm1", "attention", "norm2", "linear1", "linear2" (as PyTorch's layer).
public final class TransformerEncoderLayer: Module {
    public let norm1: LayerNorm, attention: MultiHeadSelfAttention, norm2: LayerNorm
    public let linear1: Dense, linear2: Dense

    /// `rng` children "attention", "linear1", "linear2".
    public init(modelDimension: Int, heads: Int, feedForwardDimension: Int, rng: RNGStream) {
        precondition(feedForwardDimension > 0, "TransformerEncoderLayer: expected a positive feed-forward width, got \(feedForwardDimension)")
        norm1 = LayerNorm(features: modelDimension)
        attention = MultiHeadSelfAttention(modelDimension: modelDimension, heads: heads, rng: rng.child("attention"))
        norm2 = LayerNorm(features: modelDimension)
        linear1 = Dense(inputs: modelDimension, outputs: feedForwardDimension, initializer: .kaimingUniform, rng: rng.child("linear1"))
        linear2 = Dense(inputs: feedForwardDimension, outputs: modelDimension, initializer: .xavierUniform, rng: rng.child("linear2"))
    }

    /// Tokens x [N*T, D] under `mask` -> [N*T, D].
    public func callAsFunction(_ x: Variable, mask: TokenMask) -> Variable {
        let h = x + attention(norm1(x), mask: mask)
        return h + linear2(gelu(linear1(norm2(h))))
    }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("norm1", norm1) + prefixed("attention", attention) + prefixed("norm2", norm2)
            + prefixed("linear1", linear1) + prefixed("linear2", linear2)
    }
}

/// Variable-length sets of objects -> a fixed-size condition:
///
///     e = Embed(mask(x)),  h = Layer_L(...Layer_1(e)),  c = Head(MaskedMean(LN(h))).
///
/// The input mask replaces padded rows by zeros first, so whatever the padded slots hold
/// (even inf or NaN) the output is bit-for-bit the same; without positional encoding, the output
/// does not depend on the order of the tokens (up to float round-off of the sums).
/// Parameters "embedding", "layer0" ... "layer{L-1}", "norm", "head".
public final class TransformerEncoder: Module {
    public let config: TransformerConfig
    public let embedding: Dense
    public let layers: [TransformerEncoderLayer]
    public let norm: LayerNorm
    public let head: Dense

    /// `rng` children "embedding", "head" and `child(index: i)` for layer i.
    public init(inputFeatures: Int, config: TransformerConfig, rng: RNGStream) {
        precondition(inputFeatures > 0 && config.layers >= 0 && config.conditionDimension > 0,
                     "TransformerEncoder: expected positive input features and condition width, got \(inputFeatures) and \(config.conditionDimension)")
        self.config = config
        let d = config.modelDimension
        embedding = Dense(inputs: inputFeatures, outputs: d, initializer: .xavierUniform, rng: rng.child("embedding"))
        layers = (0..<config.layers).map {
            TransformerEncoderLayer(modelDimension: d, heads: config.heads, feedForwardDimension: config.feedForwardDimension,
                                    rng: rng.child(index: $0))
        }
        norm = LayerNorm(features: d)
        head = Dense(inputs: d, outputs: config.conditionDimension, initializer: .xavierUniform, rng: rng.child("head"))
    }

    public var inputFeatures: Int { embedding.inputs }

    /// Tokens [N*T, F] under `mask` -> per-token features [N*T, D] after the final layer norm.
    public func encode(_ tokens: Variable, mask: TokenMask) -> Variable {
        precondition(tokens.value.rank == 2 && tokens.value.rows == mask.rows && tokens.value.columns == inputFeatures,
                     "TransformerEncoder: tokens \(tokens.shape) need shape [\(mask.rows), \(inputFeatures)] (\(mask.events) events x \(mask.tokens) slots)")
        var h = embedding(maskTokens(tokens, mask: mask))
        for layer in layers { h = layer(h, mask: mask) }
        return norm(h)
    }

    /// Tokens [N*T, F] under `mask` -> condition [N, C].
    public func callAsFunction(_ tokens: Variable, mask: TokenMask) -> Variable {
        head(maskedMeanPool(encode(tokens, mask: mask), mask: mask))
    }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("embedding", embedding) + layers.enumerated().flatMap { prefixed("layer\($0.offset)", $0.element) }
            + prefixed("norm", norm) + prefixed("head", head)
    }
}

using NativeAlign.Backends;
using NativeAlign.Tensors;
using static NativeAlign.Tensors.EncoderTensorNames;

namespace NativeAlign.Models;

/// <summary>
/// The BERT / XLM-R encoder stack bound to one backend: embeddings (word + position + token type, layer norm), then
/// post-LN transformer layers (self-attention with padding mask, residual, layer norm, feed-forward, residual, layer
/// norm). Which family and every size come from <see cref="EncoderConfig"/>; the weights are validated by name and
/// shape when the encoder is built. Immutable after construction and safe to run from several threads.
/// </summary>
internal sealed class TransformerEncoder : IDisposable
{
    private readonly IComputeBackend _backend;
    private readonly List<BackendWeight> _owned = [];
    private readonly BackendWeight _words, _positions, _embeddingNormGain, _embeddingNormBias;
    private readonly BackendWeight? _types;
    private readonly Layer[] _layers;
    private readonly ActivationKind _activation;

    private TransformerEncoder(EncoderConfig config, IModelWeights weights, IComputeBackend backend, string? source)
    {
        Config = config;
        _backend = backend;
        Source = source;
        int h = config.HiddenSize, inter = config.IntermediateSize;
        _activation = config.HiddenActivation switch
        {
            "gelu" => ActivationKind.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" => ActivationKind.GeluTanh,
            "relu" => ActivationKind.Relu,
            _ => throw new ModelFormatException(source, "hidden_act", $"unsupported activation '{config.HiddenActivation}'"),
        };

        _words = Bind(weights, EncoderTensorNames.WordEmbeddings, BackendOp.EmbeddingSum, config.VocabularySize, h);
        _positions = Bind(weights, EncoderTensorNames.PositionEmbeddings, BackendOp.EmbeddingSum, config.MaxPositions, h);

        // XLM-R checkpoints carry a one-row token type table too; it is added like BERT's, every token being type 0.
        _types = weights.TryGet(EncoderTensorNames.TokenTypeEmbeddings, out _)
            ? Bind(weights, EncoderTensorNames.TokenTypeEmbeddings, BackendOp.EmbeddingSum, config.TypeVocabularySize, h)
            : null;
        _embeddingNormGain = Bind(weights, EncoderTensorNames.EmbeddingsNormWeight, BackendOp.LayerNorm, 1, h);
        _embeddingNormBias = Bind(weights, EncoderTensorNames.EmbeddingsNormBias, BackendOp.LayerNorm, 1, h);
        _layers = new Layer[config.LayerCount];
        for (int l = 0; l < config.LayerCount; l++)
        {
            _layers[l] = new Layer(
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.QueryWeight), BackendOp.Linear, h, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.QueryBias), BackendOp.Linear, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.KeyWeight), BackendOp.Linear, h, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.KeyBias), BackendOp.Linear, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.ValueWeight), BackendOp.Linear, h, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.ValueBias), BackendOp.Linear, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.AttentionOutputWeight), BackendOp.Linear, h, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.AttentionOutputBias), BackendOp.Linear, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.AttentionNormWeight), BackendOp.LayerNorm, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.AttentionNormBias), BackendOp.LayerNorm, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.IntermediateWeight), BackendOp.Linear, inter, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.IntermediateBias), BackendOp.Linear, 1, inter),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.OutputWeight), BackendOp.Linear, h, inter),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.OutputBias), BackendOp.Linear, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.OutputNormWeight), BackendOp.LayerNorm, 1, h),
                Bind(weights, EncoderTensorNames.Layer(l, LayerSuffix.OutputNormBias), BackendOp.LayerNorm, 1, h));
        }

        // The weightless ops too, so that a backend without a kernel for this model's shape fails here, at load.
        backend.Require(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = config.HeadSize });
        backend.Require(new OpSpec(BackendOp.Linear, WeightType.F32) { Activation = _activation });

        if (weights.TryGet(EncoderTensorNames.PoolerWeight, out _) && weights.TryGet(EncoderTensorNames.PoolerBias, out _))
        {
            PoolerWeight = Bind(weights, EncoderTensorNames.PoolerWeight, BackendOp.Linear, h, h);
            PoolerBias = Bind(weights, EncoderTensorNames.PoolerBias, BackendOp.Linear, 1, h);
        }
    }

    /// <summary>The model's shape.</summary>
    public EncoderConfig Config { get; }

    /// <summary>Where the weights came from, for error messages.</summary>
    public string? Source { get; }

    /// <summary>The backend the encoder runs on.</summary>
    public IComputeBackend Backend => _backend;

    /// <summary>BERT's pooler dense weight, when the checkpoint has one.</summary>
    public BackendWeight? PoolerWeight { get; }

    /// <summary>BERT's pooler dense bias, when the checkpoint has one.</summary>
    public BackendWeight? PoolerBias { get; }

    /// <summary>Binds every tensor the configuration calls for; a missing or misshaped tensor is a <see cref="ModelFormatException"/> naming it.</summary>
    public static TransformerEncoder Create(EncoderConfig config, IModelWeights weights, IComputeBackend backend, string? source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(backend);
        return new TransformerEncoder(config, weights, backend, source);
    }

    /// <summary>Maps a user layer index (0 = embeddings, L = last, negative counts from the end: −1 = last) to 0…L.</summary>
    public int ResolveLayer(int layer)
    {
        int count = Config.LayerCount;
        int resolved = layer < 0 ? count + 1 + layer : layer;
        if (resolved < 0 || resolved > count)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"layer {layer} does not exist: the model has {count} layers (0 = embeddings … {count} = last, or −1 … −{count + 1})");
        }

        return resolved;
    }

    /// <summary>
    /// Runs a batch padded to its longest sequence and returns the hidden states after <paramref name="layer"/>
    /// (0…L, see <see cref="ResolveLayer"/>) as a [Batch·T × Hidden] backend matrix; rows of padding are undefined.
    /// Every sequence must already fit <see cref="EncoderConfig.MaxSequenceLength"/>. Every activation, the result too, is
    /// leased from <paramref name="workspace"/> and valid until it is reset. <paramref name="cancellationToken"/> is
    /// checked before each layer: one layer of a large batch is the longest a cancelled run keeps computing.
    /// </summary>
    public BackendMatrix Forward(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?>? typeIds, int layer, ActivationWorkspace workspace, out int paddedLength, CancellationToken cancellationToken = default)
    {
        int batch = ids.Count, h = Config.HiddenSize;
        int t = 0;
        foreach (var seq in ids)
        {
            t = Math.Max(t, seq.Length);
        }

        if (t > Config.MaxSequenceLength)
        {
            throw new ArgumentException($"a sequence of {t} tokens exceeds the position table ({Config.MaxSequenceLength}); truncate first");
        }

        paddedLength = t;
        int rows = batch * t;
        var flatIds = new int[rows];
        var positions = new int[rows];
        var types = new int[rows];
        var lengths = new int[batch];
        bool xlmr = Config.Architecture == EncoderArchitecture.XlmRoberta;
        for (int b = 0; b < batch; b++)
        {
            var seq = ids[b];
            lengths[b] = seq.Length;
            var seqTypes = typeIds?[b];
            for (int i = 0; i < t; i++)
            {
                int r = (b * t) + i;
                bool real = i < seq.Length;
                flatIds[r] = real ? seq[i] : Config.PadTokenId;

                // XLM-R numbers real tokens from padding_idx + 1 and gives padding the padding index itself.
                positions[r] = xlmr ? (real ? Config.PadTokenId + 1 + i : Config.PadTokenId) : i;
                types[r] = real && seqTypes is not null ? seqTypes[i] : 0;
            }
        }

        var x = workspace.Lease(rows, h);
        _backend.EmbeddingSum(flatIds, positions, types, _words, _positions, _types, x);
        _backend.LayerNorm(x, _embeddingNormGain, _embeddingNormBias, Config.LayerNormEpsilon, x);
        if (layer == 0 || rows == 0)
        {
            return x;
        }

        var q = workspace.Lease(rows, h);
        var k = workspace.Lease(rows, h);
        var v = workspace.Lease(rows, h);
        var context = workspace.Lease(rows, h);
        var attended = workspace.Lease(rows, h);
        var intermediate = workspace.Lease(rows, Config.IntermediateSize);
        var shape = new AttentionShape(batch, t, Config.HeadCount, Config.HeadSize);
        float eps = Config.LayerNormEpsilon;
        for (int l = 0; l < layer; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var w = _layers[l];
            _backend.Linear(x, w.Query, w.QueryBias, ActivationKind.None, null, q);
            _backend.Linear(x, w.Key, w.KeyBias, ActivationKind.None, null, k);
            _backend.Linear(x, w.Value, w.ValueBias, ActivationKind.None, null, v);
            _backend.Attention(q, k, v, shape, lengths, context);
            _backend.Linear(context, w.AttentionOut, w.AttentionOutBias, ActivationKind.None, x, attended);
            _backend.LayerNorm(attended, w.AttentionNormGain, w.AttentionNormBias, eps, attended);
            _backend.Linear(attended, w.Intermediate, w.IntermediateBias, _activation, null, intermediate);
            _backend.Linear(intermediate, w.Output, w.OutputBias, ActivationKind.None, attended, x);
            _backend.LayerNorm(x, w.OutputNormGain, w.OutputNormBias, eps, x);
        }

        return x;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _owned)
        {
            w.Dispose();
        }

        _owned.Clear();
    }

    private BackendWeight Bind(IModelWeights weights, string name, BackendOp op, int rows, int columns)
    {
        if (!weights.TryGet(name, out var tensor))
        {
            string shape = rows == 1 ? $"[{columns}]" : $"[{rows}, {columns}]";
            throw new ModelFormatException(Source, name, $"missing tensor (expected shape {shape} for this {Config.Architecture} configuration)");
        }

        bool shapeOk = rows == 1
            ? (tensor.Shape.Length == 1 && tensor.Shape[0] == columns) || (tensor.Shape.Length == 2 && tensor.Shape[0] == 1 && tensor.Shape[1] == columns)
            : tensor.Shape.Length == 2 && tensor.Shape[0] == rows && tensor.Shape[1] == columns;
        if (!shapeOk)
        {
            string expected = rows == 1 ? $"[{columns}]" : $"[{rows}, {columns}]";
            throw new ModelFormatException(Source, name, $"has shape [{string.Join(", ", tensor.Shape)}], expected {expected} from config.json");
        }

        _backend.Require(new OpSpec(op, tensor.Type, rows, columns) { BlockSize = tensor.Q4?.BlockSize ?? 0 }, name);

        var prepared = _backend.PrepareWeight(tensor);
        _owned.Add(prepared);
        return prepared;
    }

    private sealed record Layer(
        BackendWeight Query, BackendWeight QueryBias,
        BackendWeight Key, BackendWeight KeyBias,
        BackendWeight Value, BackendWeight ValueBias,
        BackendWeight AttentionOut, BackendWeight AttentionOutBias,
        BackendWeight AttentionNormGain, BackendWeight AttentionNormBias,
        BackendWeight Intermediate, BackendWeight IntermediateBias,
        BackendWeight Output, BackendWeight OutputBias,
        BackendWeight OutputNormGain, BackendWeight OutputNormBias);
}

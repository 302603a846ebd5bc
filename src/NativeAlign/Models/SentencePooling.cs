using NativeAlign.Backends;

namespace NativeAlign.Models;

/// <summary>How token states become one sentence vector.</summary>
public enum PoolingMode
{
    /// <summary>Mean over the real (unpadded) tokens.</summary>
    Mean,

    /// <summary>The first token's state ([CLS] / &lt;s&gt;).</summary>
    Cls,

    /// <summary>The first token through BERT's pooler: tanh(W·h + b).</summary>
    ClsPooler,
}

/// <summary>A sentence-transformers <c>Dense</c> module: y = act(W·x + b), W [out, in].</summary>
/// <param name="Weight">The linear weight [out, in].</param>
/// <param name="Bias">The bias [out], or null.</param>
/// <param name="Activation">The activation (LaBSE's is tanh).</param>
public sealed record DenseModule(WeightTensor Weight, WeightTensor? Bias, ActivationKind Activation);

/// <summary>The steps after the encoder, in the order a sentence-transformers folder lists them.</summary>
/// <param name="Pooling">Pooling of the token states.</param>
/// <param name="Dense">Dense modules applied after pooling, in order.</param>
/// <param name="Normalize">Whether a final L2 normalisation runs.</param>
public sealed record SentenceHeadSpec(PoolingMode Pooling, IReadOnlyList<DenseModule> Dense, bool Normalize);

/// <summary>Pooling, Dense modules and normalisation bound to a backend.</summary>
internal sealed class SentenceHead : IDisposable
{
    private readonly IComputeBackend _backend;
    private readonly (BackendWeight Weight, BackendWeight? Bias, ActivationKind Activation)[] _dense;

    public SentenceHead(SentenceHeadSpec spec, TransformerEncoder encoder)
    {
        Spec = spec;
        _backend = encoder.Backend;
        if (spec.Pooling == PoolingMode.ClsPooler && encoder.PoolerWeight is null)
        {
            throw new ModelFormatException(encoder.Source, "pooler.dense.weight", "missing tensor: CLS + pooler pooling needs pooler.dense.weight and pooler.dense.bias");
        }

        int width = encoder.Config.HiddenSize;
        _dense = new (BackendWeight, BackendWeight?, ActivationKind)[spec.Dense.Count];
        for (int i = 0; i < spec.Dense.Count; i++)
        {
            var d = spec.Dense[i];
            if (d.Weight.Shape.Length != 2 || d.Weight.Shape[1] != width)
            {
                throw new ModelFormatException(null, d.Weight.Name, $"Dense module {i} has shape [{string.Join(", ", d.Weight.Shape)}], expected [out, {width}]");
            }

            if (d.Bias is not null && d.Bias.ElementCount != d.Weight.Shape[0])
            {
                throw new ModelFormatException(null, d.Bias.Name, $"Dense module {i} bias has {d.Bias.ElementCount} values, expected {d.Weight.Shape[0]}");
            }

            _dense[i] = (_backend.PrepareWeight(d.Weight), d.Bias is null ? null : _backend.PrepareWeight(d.Bias), d.Activation);
            width = d.Weight.Shape[0];
        }

        Dimension = width;
        PoolerWeight = encoder.PoolerWeight;
        PoolerBias = encoder.PoolerBias;
    }

    public SentenceHeadSpec Spec { get; }

    /// <summary>Width of the final embedding.</summary>
    public int Dimension { get; }

    private BackendWeight? PoolerWeight { get; }

    private BackendWeight? PoolerBias { get; }

    /// <summary>Pools a [B·T × H] batch of hidden states into [B × Dimension].</summary>
    public BackendMatrix Apply(BackendMatrix hidden, int sequenceLength, int[] lengths)
    {
        int batch = lengths.Length;
        var pooled = _backend.Allocate(batch, hidden.Columns);
        switch (Spec.Pooling)
        {
            case PoolingMode.Mean:
                _backend.MeanPool(hidden, sequenceLength, lengths, pooled);
                break;
            case PoolingMode.Cls:
                _backend.ClsPool(hidden, sequenceLength, pooled);
                break;
            case PoolingMode.ClsPooler:
                var cls = _backend.Allocate(batch, hidden.Columns);
                _backend.ClsPool(hidden, sequenceLength, cls);
                _backend.Linear(cls, PoolerWeight!, PoolerBias, ActivationKind.Tanh, null, pooled);
                break;
        }

        foreach (var (weight, bias, activation) in _dense)
        {
            var next = _backend.Allocate(batch, weight.Rows);
            _backend.Linear(pooled, weight, bias, activation, null, next);
            pooled = next;
        }

        if (Spec.Normalize)
        {
            _backend.L2Normalize(pooled, pooled);
        }

        return pooled;
    }

    public void Dispose()
    {
        foreach (var (weight, bias, _) in _dense)
        {
            weight.Dispose();
            bias?.Dispose();
        }
    }
}

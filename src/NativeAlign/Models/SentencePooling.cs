using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Models;

/// <summary>The steps after the encoder: pooling (or CLS through BERT's pooler), Dense layers in order, then L2 normalisation.</summary>
/// <param name="Modes">Pooling modes; several are concatenated in the order given (sentence-transformers' convention).</param>
/// <param name="Pooler">CLS through BERT's pooler (tanh(W·h + b)) instead of <paramref name="Modes"/>.</param>
/// <param name="Dense">Dense layers applied after pooling, in order.</param>
/// <param name="Normalize">Whether a final L2 normalisation runs.</param>
public sealed record SentenceHeadSpec(IReadOnlyList<SentencePoolingMode> Modes, bool Pooler, IReadOnlyList<DenseStep> Dense, bool Normalize)
{
    /// <summary>Mean pooling, nothing else (what sentence-transformers does for a folder without <c>modules.json</c>).</summary>
    public static SentenceHeadSpec MeanOnly { get; } = new([SentencePoolingMode.Mean], false, [], false);

    /// <summary>The head a sentence-transformers pipeline declares (pooling modes, Dense steps, Normalize).</summary>
    public static SentenceHeadSpec FromPipeline(SentencePipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var modes = pipeline.Pooling?.Modes ?? [SentencePoolingMode.Mean];
        return new SentenceHeadSpec(modes, false, pipeline.Steps.OfType<DenseStep>().ToArray(), pipeline.Normalizes);
    }
}

/// <summary>Pooling, Dense layers and normalisation bound to a backend.</summary>
internal sealed class SentenceHead : IDisposable
{
    private readonly IComputeBackend _backend;
    private readonly (BackendWeight Weight, BackendWeight? Bias, ActivationKind Activation)[] _dense;
    private readonly BackendWeight? _poolerWeight;
    private readonly BackendWeight? _poolerBias;

    public SentenceHead(SentenceHeadSpec spec, TransformerEncoder encoder)
    {
        Spec = spec;
        _backend = encoder.Backend;
        if (spec.Pooler && encoder.PoolerWeight is null)
        {
            throw new ModelFormatException(encoder.Source, "pooler.dense.weight", "missing tensor: CLS + pooler pooling needs pooler.dense.weight and pooler.dense.bias");
        }

        if (!spec.Pooler && spec.Modes.Count == 0)
        {
            throw new NativeAlignException(ErrorKind.Usage, "no pooling mode given");
        }

        // Every op the head will run is asked for at load, as the encoder's are.
        if (spec.Pooler)
        {
            _backend.Require(new OpSpec(BackendOp.ClsPool, WeightType.F32));
            _backend.Require(new OpSpec(BackendOp.Linear, WeightType.F32) { Activation = ActivationKind.Tanh });
        }

        // Max and mean-sqrt-length pooling have no backend op: they run on the downloaded hidden states.
        foreach (var mode in spec.Modes.Where(m => m is SentencePoolingMode.Cls or SentencePoolingMode.Mean))
        {
            _backend.Require(new OpSpec(mode == SentencePoolingMode.Cls ? BackendOp.ClsPool : BackendOp.MeanPool, WeightType.F32));
        }

        if (spec.Normalize)
        {
            _backend.Require(new OpSpec(BackendOp.L2Normalize, WeightType.F32));
        }

        _poolerWeight = encoder.PoolerWeight;
        _poolerBias = encoder.PoolerBias;
        int hidden = encoder.Config.HiddenSize;
        int width = spec.Pooler ? hidden : hidden * spec.Modes.Count;
        _dense = new (BackendWeight, BackendWeight?, ActivationKind)[spec.Dense.Count];
        for (int i = 0; i < spec.Dense.Count; i++)
        {
            var d = spec.Dense[i];
            if (d.Weight.Shape.Length != 2 || d.Weight.Shape[1] != width)
            {
                throw new ModelFormatException(null, d.Weight.Name, $"Dense layer {i} has shape [{string.Join(", ", d.Weight.Shape)}], expected [out, {width}] after pooling");
            }

            if (d.Bias is not null && d.Bias.ElementCount != d.Weight.Shape[0])
            {
                throw new ModelFormatException(null, d.Bias.Name, $"Dense layer {i} bias has {d.Bias.ElementCount} values, expected {d.Weight.Shape[0]}");
            }

            var activation = d.Activation switch
            {
                SentenceDenseActivation.Identity => ActivationKind.None,
                SentenceDenseActivation.Tanh => ActivationKind.Tanh,
                SentenceDenseActivation.Relu => ActivationKind.Relu,
                SentenceDenseActivation.Sigmoid => ActivationKind.Sigmoid,
                SentenceDenseActivation.Gelu => ActivationKind.Gelu,
                _ => throw new ModelFormatException(null, d.Weight.Name, $"unsupported Dense activation {d.Activation}"),
            };
            _backend.Require(new OpSpec(BackendOp.Linear, d.Weight.Type, d.Weight.Shape[0], d.Weight.Shape[1]) { Activation = activation, BlockSize = d.Weight.Q4?.BlockSize ?? 0 }, d.Weight.Name);
            _dense[i] = (_backend.PrepareWeight(d.Weight), d.Bias is null ? null : _backend.PrepareWeight(d.Bias), activation);
            width = d.Weight.Shape[0];
        }

        Dimension = width;
    }

    public SentenceHeadSpec Spec { get; }

    /// <summary>Width of the final embedding.</summary>
    public int Dimension { get; }

    /// <summary>Pools a [B·T × H] batch of hidden states into [B × Dimension], leasing every matrix from <paramref name="workspace"/>.</summary>
    public BackendMatrix Apply(BackendMatrix hidden, int sequenceLength, int[] lengths, ActivationWorkspace workspace)
    {
        int batch = lengths.Length, h = hidden.Columns;
        BackendMatrix pooled;
        if (Spec.Pooler)
        {
            var cls = workspace.Lease(batch, h);
            _backend.ClsPool(hidden, sequenceLength, cls);
            pooled = workspace.Lease(batch, h);
            _backend.Linear(cls, _poolerWeight!, _poolerBias, ActivationKind.Tanh, null, pooled);
        }
        else if (Spec.Modes.Count == 1 && Spec.Modes[0] is SentencePoolingMode.Mean or SentencePoolingMode.Cls)
        {
            pooled = workspace.Lease(batch, h);
            if (Spec.Modes[0] == SentencePoolingMode.Mean)
            {
                _backend.MeanPool(hidden, sequenceLength, lengths, pooled);
            }
            else
            {
                _backend.ClsPool(hidden, sequenceLength, pooled);
            }
        }
        else
        {
            pooled = PoolOnHost(hidden, sequenceLength, lengths, workspace);
        }

        foreach (var (weight, bias, activation) in _dense)
        {
            var next = workspace.Lease(batch, weight.Rows);
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

    /// <summary>
    /// The rarer sentence-transformers modes (max, mean·√n, position-weighted mean, last token) and concatenations of
    /// several, computed in float64 on the host: they run once per sentence, so no backend op is worth having for them.
    /// </summary>
    private BackendMatrix PoolOnHost(BackendMatrix hidden, int t, int[] lengths, ActivationWorkspace workspace)
    {
        int batch = lengths.Length, h = hidden.Columns, modes = Spec.Modes.Count;
        var states = new float[hidden.Rows * h];
        _backend.Download(hidden, states);
        var result = new float[batch * h * modes];
        for (int b = 0; b < batch; b++)
        {
            int len = lengths[b];
            for (int m = 0; m < modes; m++)
            {
                var output = result.AsSpan((b * h * modes) + (m * h), h);
                for (int c = 0; c < h; c++)
                {
                    double value = 0;
                    switch (Spec.Modes[m])
                    {
                        case SentencePoolingMode.Cls:
                            value = states[(b * t * h) + c];
                            break;
                        case SentencePoolingMode.LastToken:
                            value = len == 0 ? 0 : states[(((b * t) + len - 1) * h) + c];
                            break;
                        case SentencePoolingMode.Max:
                            value = len == 0 ? 0 : double.NegativeInfinity;
                            for (int i = 0; i < len; i++)
                            {
                                value = Math.Max(value, states[(((b * t) + i) * h) + c]);
                            }

                            break;
                        case SentencePoolingMode.Mean or SentencePoolingMode.MeanSqrtLength:
                            for (int i = 0; i < len; i++)
                            {
                                value += states[(((b * t) + i) * h) + c];
                            }

                            value = len == 0 ? 0 : value / (Spec.Modes[m] == SentencePoolingMode.Mean ? len : Math.Sqrt(len));
                            break;
                        case SentencePoolingMode.WeightedMean:
                            double weights = 0;
                            for (int i = 0; i < len; i++)
                            {
                                value += (i + 1) * (double)states[(((b * t) + i) * h) + c];
                                weights += i + 1;
                            }

                            value = len == 0 ? 0 : value / weights;
                            break;
                        default:
                            throw new NativeAlignException(ErrorKind.Usage, $"unsupported pooling mode {Spec.Modes[m]}");
                    }

                    output[c] = (float)value;
                }
            }
        }

        var pooled = workspace.Lease(batch, h * modes);
        _backend.Upload(result, pooled);
        return pooled;
    }
}

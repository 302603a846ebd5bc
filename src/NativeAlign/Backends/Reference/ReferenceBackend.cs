using NativeAlign.Tensors;

namespace NativeAlign.Backends.Reference;

/// <summary>
/// Plain scalar code computing every op in float64 and rounding once to float32 at the end: the oracle the fast
/// backends are tested against. Slow on purpose; nothing here is clever.
/// </summary>
public sealed class ReferenceBackend : IComputeBackend
{
    private const string BackendName = "reference";

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public string? Unsupported(OpSpec op) => null;

    /// <inheritdoc />
    public BackendMatrix Allocate(int rows, int columns) => HostBackend.Allocate(rows, columns);

    /// <inheritdoc />
    public OpCounts Counts { get; } = new();

    /// <inheritdoc />
    public BackendMatrix View(BackendMatrix storage, int rows, int columns) => HostBackend.View(storage, rows, columns, BackendName);

    /// <inheritdoc />
    public BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns) => HostBackend.Borrow(data, rows, columns);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, BackendMatrix destination) => HostBackend.Upload(source, destination, BackendName);

    /// <inheritdoc />
    public void Download(BackendMatrix source, Span<float> destination) => HostBackend.Download(source, destination, BackendName);

    /// <inheritdoc />
    public BackendWeight PrepareWeight(WeightTensor weight)
    {
        var (rows, columns) = HostBackend.MatrixShape(weight);
        var values = weight.ToFloat32();
        var wide = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            wide[i] = values[i];
        }

        return new ReferenceWeight(weight.Name, rows, columns, weight.Type, wide);
    }

    /// <inheritdoc />
    public void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
    {
        HostBackend.CheckEmbedding(ids, positionIds, typeIds, words, positions, types, output);
        var o = Host(output);
        int h = o.Columns;
        var w = W(words);
        var p = W(positions);
        var t = types is null ? null : W(types);
        for (int i = 0; i < ids.Length; i++)
        {
            for (int j = 0; j < h; j++)
            {
                double s = w[(ids[i] * h) + j] + p[(positionIds[i] * h) + j];
                if (t is not null)
                {
                    s += t[(typeIds[i] * h) + j];
                }

                o.Span[(i * h) + j] = (float)s;
            }
        }
    }

    /// <inheritdoc />
    public void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output)
    {
        HostBackend.CheckLinear(input, weight, bias, residual, output);
        var x = Host(input).Span;
        var y = Host(output).Span;
        var r = residual is null ? default : Host(residual).Span;
        var w = W(weight);
        var b = bias is null ? null : W(bias);
        int m = input.Rows, n = weight.Rows, k = weight.Columns;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = b is null ? 0 : b[j];
                for (int p = 0; p < k; p++)
                {
                    s += (double)x[(i * k) + p] * w[((long)j * k) + p];
                }

                s = Activate(s, activation);
                if (residual is not null)
                {
                    s += r[(i * n) + j];
                }

                y[(i * n) + j] = (float)s;
            }
        }
    }

    /// <inheritdoc />
    public void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "layer norm");
        var x = Host(input);
        var y = Host(output);
        var g = W(gain);
        var b = W(bias);
        int h = x.Columns;
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i);
            double mean = 0;
            foreach (float v in row)
            {
                mean += v;
            }

            mean /= h;
            double variance = 0;
            foreach (float v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= h;
            double inv = 1 / Math.Sqrt(variance + epsilon);
            var outRow = y.Row(i);
            for (int j = 0; j < h; j++)
            {
                outRow[j] = (float)(((row[j] - mean) * inv * g[j]) + b[j]);
            }
        }
    }

    /// <inheritdoc />
    public void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "activation");
        var x = Host(input).Span;
        var y = Host(output).Span;
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = (float)Activate(x[i], activation);
        }
    }

    /// <inheritdoc />
    public void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckAttention(q, k, v, shape, lengths, output);
        var qs = Host(q);
        var ks = Host(k);
        var vs = Host(v);
        var o = Host(output);
        int t = shape.SequenceLength, d = shape.HeadSize;
        double scale = 1 / Math.Sqrt(d);
        for (int b = 0; b < shape.Batch; b++)
        {
            int len = lengths[b];
            var scores = new double[len];
            for (int h = 0; h < shape.Heads; h++)
            {
                for (int i = 0; i < t; i++)
                {
                    var outRow = o.Row((b * t) + i).Slice(h * d, d);
                    if (i >= len)
                    {
                        outRow.Clear();
                        continue;
                    }

                    var qRow = qs.Row((b * t) + i).Slice(h * d, d);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < len; j++)
                    {
                        var kRow = ks.Row((b * t) + j).Slice(h * d, d);
                        double s = 0;
                        for (int c = 0; c < d; c++)
                        {
                            s += (double)qRow[c] * kRow[c];
                        }

                        scores[j] = s * scale;
                        max = Math.Max(max, scores[j]);
                    }

                    double sum = 0;
                    for (int j = 0; j < len; j++)
                    {
                        scores[j] = Math.Exp(scores[j] - max);
                        sum += scores[j];
                    }

                    for (int c = 0; c < d; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < len; j++)
                        {
                            acc += scores[j] * vs.Row((b * t) + j)[(h * d) + c];
                        }

                        outRow[c] = (float)(acc / sum);
                    }
                }
            }
        }
    }

    /// <inheritdoc />
    public void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, lengths.Length, output);
        var x = Host(input);
        var y = Host(output);
        for (int b = 0; b < lengths.Length; b++)
        {
            for (int c = 0; c < x.Columns; c++)
            {
                double s = 0;
                for (int i = 0; i < lengths[b]; i++)
                {
                    s += x.Row((b * sequenceLength) + i)[c];
                }

                y.Row(b)[c] = lengths[b] == 0 ? 0 : (float)(s / lengths[b]);
            }
        }
    }

    /// <inheritdoc />
    public void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, output.Rows, output);
        var x = Host(input);
        var y = Host(output);
        for (int b = 0; b < output.Rows; b++)
        {
            x.Row(b * sequenceLength).CopyTo(y.Row(b));
        }
    }

    /// <inheritdoc />
    public void L2Normalize(BackendMatrix input, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "normalize");
        var x = Host(input);
        var y = Host(output);
        for (int i = 0; i < x.Rows; i++)
        {
            double s = 0;
            foreach (float v in x.Row(i))
            {
                s += (double)v * v;
            }

            double inv = 1 / Math.Max(Math.Sqrt(s), 1e-12);
            for (int j = 0; j < x.Columns; j++)
            {
                y.Row(i)[j] = (float)(x.Row(i)[j] * inv);
            }
        }
    }

    /// <inheritdoc />
    public void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores)
    {
        var q = Host(queries);
        var c = Host(corpus);
        int k = TopKLists.Check(q, c, bias, indices, scores, BackendName);
        var row = new float[c.Rows];
        for (int i = 0; i < q.Rows && k > 0; i++)
        {
            for (int r = 0; r < c.Rows; r++)
            {
                double dot = 0;
                for (int d = 0; d < q.Columns; d++)
                {
                    dot += (double)q.Row(i)[d] * c.Row(r)[d];
                }

                row[r] = (float)((scale * dot) - (bias.IsEmpty ? 0 : bias[r]));
            }

            TopKLists.MergeRow(row, firstIndex, indices.Slice(i * k, k), scores.Slice(i * k, k));
        }

        Counts.Add(BackendOp.TopK, (long)q.Rows * c.Rows);
    }

    /// <inheritdoc />
    public void Sinkhorn(SinkhornBatch batch, SinkhornOptions options)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ReferenceSinkhorn.SolveBatch(batch, options);
        Counts.Add(BackendOp.Sinkhorn, batch.Count);
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>The activation in float64; erf from <see cref="Erf(double)"/>.</summary>
    internal static double Activate(double x, ActivationKind kind) => kind switch
    {
        ActivationKind.None => x,
        ActivationKind.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        ActivationKind.GeluTanh => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))),
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>erf to about 1e-15: Taylor series below 2.5, a continued fraction for erfc above.</summary>
    internal static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 80; n++)
            {
                term *= -x2 / n;
                double add = term / ((2 * n) + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }

            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 80; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }

            r = 1 - (Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f));
        }

        return x < 0 ? -r : r;
    }

    private static HostMatrix Host(BackendMatrix m) => HostBackend.Host(m, BackendName);

    private static double[] W(BackendWeight w) =>
        (w as ReferenceWeight ?? throw new BackendException($"weight '{w.Name}' was prepared by another backend")).Values;

    private sealed class ReferenceWeight(string name, int rows, int columns, WeightType type, double[] values)
        : BackendWeight(name, rows, columns, type)
    {
        public double[] Values { get; } = values;
    }
}

using NativeAlign.Backends;
using NativeAlign.Tests.Backends.Cpu;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// Every op written out from its definition in float64, with C# semantics throughout (Math.Max propagates NaN, so a NaN
/// input reaches exactly the outputs that depend on it). Independent of the product: no product kernel or reference
/// backend is called; erf is the test project's own series (<see cref="GemmTestSupport.Erf"/>).
/// </summary>
internal static class Float64Oracle
{
    public static double Activate(double x, ActivationKind kind) => kind switch
    {
        ActivationKind.None => x,
        ActivationKind.Gelu => 0.5 * x * (1 + GemmTestSupport.Erf(x / Math.Sqrt(2))),
        ActivationKind.GeluTanh => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))),
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static double[] Activate(float[] x, ActivationKind kind) => [.. x.Select(v => Activate(v, kind))];

    /// <summary>y[i, j] = act(Σ_p x[i, p]·w[j, p] + bias[j]) + residual[i, j], with W [n, k].</summary>
    public static double[] Linear(float[] x, int m, int k, double[] w, int n, double[]? bias, ActivationKind activation, float[]? residual)
    {
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = bias?[j] ?? 0;
                for (int p = 0; p < k; p++)
                {
                    s += x[(i * k) + p] * w[(j * k) + p];
                }

                s = Activate(s, activation);
                y[(i * n) + j] = residual is null ? s : s + residual[(i * n) + j];
            }
        }

        return y;
    }

    /// <summary>Per row (x − mean)/√(var + eps)·gain + bias, with the population variance.</summary>
    public static double[] LayerNorm(float[] x, int rows, int columns, double[] gain, double[] bias, float epsilon)
    {
        var y = new double[rows * columns];
        for (int i = 0; i < rows; i++)
        {
            var row = x.AsSpan(i * columns, columns);
            double mean = 0;
            foreach (float v in row)
            {
                mean += v;
            }

            mean /= columns;
            double variance = 0;
            foreach (float v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= columns;
            double inv = 1 / Math.Sqrt(variance + epsilon);
            for (int j = 0; j < columns; j++)
            {
                y[(i * columns) + j] = ((row[j] - mean) * inv * gain[j]) + bias[j];
            }
        }

        return y;
    }

    /// <summary>softmax(q·kᵀ/√d over the valid keys)·v per sequence and head; padding query rows are zero.</summary>
    public static double[] Attention(float[] q, float[] k, float[] v, AttentionShape shape, int[] lengths)
    {
        int t = shape.SequenceLength, d = shape.HeadSize, width = shape.Heads * d;
        var y = new double[shape.Batch * t * width];
        double scale = 1 / Math.Sqrt(d);
        for (int b = 0; b < shape.Batch; b++)
        {
            int len = lengths[b];
            var p = new double[len];
            for (int h = 0; h < shape.Heads; h++)
            {
                for (int i = 0; i < len; i++)
                {
                    int qRow = (((b * t) + i) * width) + (h * d);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < len; j++)
                    {
                        int kRow = (((b * t) + j) * width) + (h * d);
                        double s = 0;
                        for (int c = 0; c < d; c++)
                        {
                            s += (double)q[qRow + c] * k[kRow + c];
                        }

                        p[j] = s * scale;
                        max = Math.Max(max, p[j]);
                    }

                    double sum = 0;
                    for (int j = 0; j < len; j++)
                    {
                        p[j] = Math.Exp(p[j] - max);
                        sum += p[j];
                    }

                    for (int c = 0; c < d; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < len; j++)
                        {
                            acc += p[j] * v[(((b * t) + j) * width) + (h * d) + c];
                        }

                        y[qRow + c] = acc / sum;
                    }
                }
            }
        }

        return y;
    }

    /// <summary>Mean over the first lengths[b] rows of each sequence of <paramref name="sequenceLength"/> rows; zeros for length 0.</summary>
    public static double[] MeanPool(float[] x, int sequenceLength, int[] lengths, int columns)
    {
        var y = new double[lengths.Length * columns];
        for (int b = 0; b < lengths.Length; b++)
        {
            for (int c = 0; c < columns; c++)
            {
                double s = 0;
                for (int i = 0; i < lengths[b]; i++)
                {
                    s += x[(((b * sequenceLength) + i) * columns) + c];
                }

                y[(b * columns) + c] = lengths[b] == 0 ? 0 : s / lengths[b];
            }
        }

        return y;
    }

    /// <summary>Row b·T of each sequence, exactly.</summary>
    public static double[] ClsPool(float[] x, int batch, int sequenceLength, int columns)
    {
        var y = new double[batch * columns];
        for (int b = 0; b < batch; b++)
        {
            for (int c = 0; c < columns; c++)
            {
                y[(b * columns) + c] = x[(b * sequenceLength * columns) + c];
            }
        }

        return y;
    }

    /// <summary>Per row x / max(‖x‖₂, 1e-12).</summary>
    public static double[] L2Normalize(float[] x, int rows, int columns)
    {
        var y = new double[rows * columns];
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int j = 0; j < columns; j++)
            {
                s += (double)x[(i * columns) + j] * x[(i * columns) + j];
            }

            double norm = Math.Max(Math.Sqrt(s), 1e-12);
            for (int j = 0; j < columns; j++)
            {
                y[(i * columns) + j] = x[(i * columns) + j] / norm;
            }
        }

        return y;
    }

    /// <summary>words[ids[i]] + positions[positionIds[i]] (+ types[typeIds[i]]).</summary>
    public static double[] EmbeddingSum(int[] ids, int[] positionIds, int[]? typeIds, double[] words, double[] positions, double[]? types, int hidden)
    {
        var y = new double[ids.Length * hidden];
        for (int i = 0; i < ids.Length; i++)
        {
            for (int c = 0; c < hidden; c++)
            {
                double s = words[(ids[i] * hidden) + c] + positions[(positionIds[i] * hidden) + c];
                if (types is not null)
                {
                    s += types[(typeIds![i] * hidden) + c];
                }

                y[(i * hidden) + c] = s;
            }
        }

        return y;
    }
}

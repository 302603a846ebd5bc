using ILGPU;
using ILGPU.Algorithms;

namespace NativeAlign.Backends.ILGpu;

/// <summary>The scalar arguments of a product kernel, passed as one struct to keep the kernel signatures short.</summary>
/// <param name="M">Rows of the input.</param>
/// <param name="N">Output features (weight rows).</param>
/// <param name="K">Input features (weight columns).</param>
/// <param name="HasBias">1 when the bias view is real.</param>
/// <param name="Activation">An <see cref="ActivationKind"/> as an int.</param>
/// <param name="HasResidual">1 when the residual view is real.</param>
/// <param name="BlockSize">4-bit weights: values per quantisation block (0 otherwise).</param>
/// <param name="HasZeroPoints">4-bit weights: 1 when the zero-point view is real (else every zero point is 8).</param>
/// <param name="Stride">Threads launched (see <see cref="ILGpuKernels"/> on grid-stride loops).</param>
internal readonly record struct LinearArgs(int M, int N, int K, int HasBias, int Activation, int HasResidual, int BlockSize, int HasZeroPoints, int Stride);

/// <summary>The scalar arguments of the attention kernel.</summary>
/// <param name="SequenceLength">Padded length T.</param>
/// <param name="Heads">Heads H.</param>
/// <param name="HeadSize">Head width D.</param>
/// <param name="Scale">1/√D.</param>
/// <param name="Total">Query rows × heads: the work items.</param>
/// <param name="Stride">Threads launched.</param>
internal readonly record struct AttentionArgs(int SequenceLength, int Heads, int HeadSize, float Scale, int Total, int Stride);

/// <summary>
/// The ILGPU kernels of the encoder ops, written directly for ILGPU (plain C# over <see cref="ArrayView{T}"/>): ILGPU
/// compiles them to PTX for CUDA, to OpenCL C 2.0 or runs them on its CPU accelerator. They are the straightforward
/// form of each op, one thread per output element or per row, accumulating in float32 with no shared-memory tiling:
/// correct on every accelerator first, fast later. They are not yet generated from the [Kernel] sources in kernels/
/// (the OpenCL path's single source); that is the follow-up the design asks for.
/// </summary>
/// <remarks>
/// Every kernel is a grid-stride loop: thread i handles work items i, i + stride, … below the total, stride being the
/// number of threads launched. On a GPU the backend launches one thread per item (the loop runs once); on ILGPU's CPU
/// accelerator, where every emulated thread costs microseconds of scheduling, it launches a few hundred, which made the
/// whole encoder about ten times faster there.
/// </remarks>
internal static class ILGpuKernels
{
    /// <summary>output[t, j] = words[ids[t], j] + positions[positionIds[t], j] (+ types[typeIds[t], j]); one work item per element.</summary>
    public static void EmbeddingSum(
        Index1D index, ArrayView<int> ids, ArrayView<int> positionIds, ArrayView<int> typeIds, ArrayView<float> words,
        ArrayView<float> positions, ArrayView<float> types, ArrayView<float> output, int hidden, int hasTypes, int total, int stride)
    {
        for (int e = index; e < total; e += stride)
        {
            int t = e / hidden, j = e - (t * hidden);
            float s = words[((long)ids[t] * hidden) + j] + positions[((long)positionIds[t] * hidden) + j];
            if (hasTypes != 0)
            {
                s += types[((long)typeIds[t] * hidden) + j];
            }

            output[e] = s;
        }
    }

    /// <summary>y[i, j] = act(Σₚ x[i, p]·w[j, p] + b[j]) + r[i, j] for a float32 weight; one work item per output element.</summary>
    public static void LinearF32(
        Index1D index, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, LinearArgs a)
    {
        int total = a.M * a.N;
        for (int e = index; e < total; e += a.Stride)
        {
            int i = e / a.N, j = e - (i * a.N);
            long xRow = (long)i * a.K, wRow = (long)j * a.K;
            float s = 0f;
            for (int p = 0; p < a.K; p++)
            {
                s += x[xRow + p] * w[wRow + p];
            }

            y[e] = Epilogue(s, j, e, bias, residual, a);
        }
    }

    /// <summary>
    /// The same product with a 4-bit weight in the MatMulNBits layout (<see cref="Tensors.Q4Matrix"/>), dequantised in
    /// registers: value = (nibble − zero)·scale per block of <see cref="LinearArgs.BlockSize"/> values along K.
    /// </summary>
    public static void LinearQ4(
        Index1D index, ArrayView<float> x, ArrayView<byte> packed, ArrayView<float> scales, ArrayView<byte> zeroPoints,
        ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, LinearArgs a)
    {
        int blocks = (a.K + a.BlockSize - 1) / a.BlockSize;
        int half = a.BlockSize / 2;
        int total = a.M * a.N;
        for (int e = index; e < total; e += a.Stride)
        {
            int i = e / a.N, j = e - (i * a.N);
            long xRow = (long)i * a.K;
            float s = 0f;
            for (int blk = 0; blk < blocks; blk++)
            {
                long block = ((long)j * blocks) + blk;
                float scale = scales[block];
                int zero = 8;
                if (a.HasZeroPoints != 0)
                {
                    int z = zeroPoints[((long)j * ((blocks + 1) / 2)) + (blk >> 1)];
                    zero = (blk & 1) == 0 ? z & 0x0F : z >> 4;
                }

                int first = blk * a.BlockSize;
                int count = XMath.Min(a.BlockSize, a.K - first);
                float part = 0f;
                for (int c = 0; c < count; c++)
                {
                    int b = packed[(block * half) + (c >> 1)];
                    int q = (c & 1) == 0 ? b & 0x0F : b >> 4;
                    part += x[xRow + first + c] * (q - zero);
                }

                s += part * scale;
            }

            y[e] = Epilogue(s, j, e, bias, residual, a);
        }
    }

    /// <summary>Per-row (x − mean)/√(var + eps)·gain + bias, two passes over the row; one work item per row.</summary>
    public static void LayerNorm(Index1D index, ArrayView<float> x, ArrayView<float> gain, ArrayView<float> bias, ArrayView<float> y, int columns, float epsilon, int rows, int stride)
    {
        for (int row = index; row < rows; row += stride)
        {
            long start = (long)row * columns;
            float mean = 0f;
            for (int j = 0; j < columns; j++)
            {
                mean += x[start + j];
            }

            mean /= columns;
            float variance = 0f;
            for (int j = 0; j < columns; j++)
            {
                float d = x[start + j] - mean;
                variance += d * d;
            }

            float inv = XMath.Rsqrt((variance / columns) + epsilon);
            for (int j = 0; j < columns; j++)
            {
                y[start + j] = ((x[start + j] - mean) * inv * gain[j]) + bias[j];
            }
        }
    }

    /// <summary>Elementwise activation; one work item per element.</summary>
    public static void Activate(Index1D index, ArrayView<float> x, ArrayView<float> y, int activation, int total, int stride)
    {
        for (int e = index; e < total; e += stride)
        {
            y[e] = Apply(x[e], activation);
        }
    }

    /// <summary>
    /// Fused attention with an online softmax, one thread per (sequence, head, query): the running maximum and sum are
    /// kept in registers and the weighted sum of values in the query's own output row (rescaled as the maximum grows),
    /// so no score matrix is ever stored and any head size runs. Padding queries get zeros.
    /// </summary>
    public static void Attention(Index1D index, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<int> lengths, ArrayView<float> output, AttentionArgs a)
    {
        for (int e = index; e < a.Total; e += a.Stride)
        {
            int t = a.SequenceLength, d = a.HeadSize;
            int query = e % t;
            int bh = e / t;
            int head = bh % a.Heads, b = bh / a.Heads;
            int width = a.Heads * d;
            long outRow = (((long)b * t) + query) * width + ((long)head * d);
            int length = lengths[b];
            if (query >= length)
            {
                for (int c = 0; c < d; c++)
                {
                    output[outRow + c] = 0f;
                }

                continue;
            }

            float max = float.NegativeInfinity, sum = 0f;
            for (int key = 0; key < length; key++)
            {
                long keyRow = (((long)b * t) + key) * width + ((long)head * d);
                float score = 0f;
                for (int c = 0; c < d; c++)
                {
                    score += q[outRow + c] * k[keyRow + c];
                }

                score *= a.Scale;
                float newMax = XMath.Max(max, score);
                float correction = XMath.Exp(max - newMax);
                float p = XMath.Exp(score - newMax);
                sum = (sum * correction) + p;
                for (int c = 0; c < d; c++)
                {
                    float previous = key == 0 ? 0f : output[outRow + c];
                    output[outRow + c] = (previous * correction) + (p * v[keyRow + c]);
                }

                max = newMax;
            }

            float inv = 1f / sum;
            for (int c = 0; c < d; c++)
            {
                output[outRow + c] *= inv;
            }
        }
    }

    /// <summary>output[b, c] = mean of the first lengths[b] rows of sequence b (0 when empty); one work item per element.</summary>
    public static void MeanPool(Index1D index, ArrayView<float> x, ArrayView<int> lengths, ArrayView<float> output, int sequenceLength, int columns, int total, int stride)
    {
        for (int e = index; e < total; e += stride)
        {
            int b = e / columns, c = e - (b * columns);
            int length = lengths[b];
            float s = 0f;
            for (int i = 0; i < length; i++)
            {
                s += x[((((long)b * sequenceLength) + i) * columns) + c];
            }

            output[e] = length == 0 ? 0f : s / length;
        }
    }

    /// <summary>output[b, c] = x[b·T, c]; one work item per element.</summary>
    public static void ClsPool(Index1D index, ArrayView<float> x, ArrayView<float> output, int sequenceLength, int columns, int total, int stride)
    {
        for (int e = index; e < total; e += stride)
        {
            int b = e / columns, c = e - (b * columns);
            output[e] = x[((long)b * sequenceLength * columns) + c];
        }
    }

    /// <summary>Per-row x/max(‖x‖₂, 1e-12); one work item per row.</summary>
    public static void L2Normalize(Index1D index, ArrayView<float> x, ArrayView<float> y, int columns, int rows, int stride)
    {
        for (int row = index; row < rows; row += stride)
        {
            long start = (long)row * columns;
            float s = 0f;
            for (int j = 0; j < columns; j++)
            {
                s += x[start + j] * x[start + j];
            }

            float inv = 1f / XMath.Max(XMath.Sqrt(s), 1e-12f);
            for (int j = 0; j < columns; j++)
            {
                y[start + j] = x[start + j] * inv;
            }
        }
    }

    /// <summary>
    /// scores[i, j] = scale·(queries[i] · corpus[j]) − bias[j] (bias when <paramref name="hasBias"/> is 1), the similarity
    /// block a top-k search merges from; one work item per score.
    /// </summary>
    public static void Scores(
        Index1D index, ArrayView<float> queries, ArrayView<float> corpus, ArrayView<float> bias, ArrayView<float> scores,
        int corpusRows, int width, float scale, int hasBias, int total, int stride)
    {
        for (int e = index; e < total; e += stride)
        {
            int i = e / corpusRows, j = e - (i * corpusRows);
            long qRow = (long)i * width, cRow = (long)j * width;
            float s = 0f;
            for (int p = 0; p < width; p++)
            {
                s += queries[qRow + p] * corpus[cRow + p];
            }

            s *= scale;
            if (hasBias != 0)
            {
                s -= bias[j];
            }

            scores[e] = s;
        }
    }

    private static float Epilogue(float s, int column, int index, ArrayView<float> bias, ArrayView<float> residual, LinearArgs a)
    {
        if (a.HasBias != 0)
        {
            s += bias[column];
        }

        s = Apply(s, a.Activation);
        if (a.HasResidual != 0)
        {
            s += residual[index];
        }

        return s;
    }

    /// <summary>The activations of <see cref="ActivationKind"/> (by value) in float32.</summary>
    internal static float Apply(float x, int activation)
    {
        switch (activation)
        {
            case (int)ActivationKind.Gelu:
                return 0.5f * x * (1f + Erf(x * 0.70710678118654752f));
            case (int)ActivationKind.GeluTanh:
                return 0.5f * x * (1f + XMath.Tanh(0.79788456080286536f * (x + (0.044715f * x * x * x))));
            case (int)ActivationKind.Relu:
                return XMath.Max(x, 0f);
            case (int)ActivationKind.Tanh:
                return XMath.Tanh(x);
            case (int)ActivationKind.Sigmoid:
                return 1f / (1f + XMath.Exp(-x));
            default:
                return x;
        }
    }

    /// <summary>
    /// erf through the Chebyshev-fitted erfc of Press et al. (Numerical Recipes, erfcc: fractional error below 1.2e-7
    /// everywhere), since ILGPU has no erf intrinsic on every target. The fit is evaluated in float32.
    /// </summary>
    internal static float Erf(float x)
    {
        float z = XMath.Abs(x);
        float t = 1f / (1f + (0.5f * z));
        float poly = -1.26551223f + (t * (1.00002368f + (t * (0.37409196f + (t * (0.09678418f + (t * (-0.18628806f
            + (t * (0.27886807f + (t * (-1.13520398f + (t * (1.48851587f + (t * (-0.82215223f + (t * 0.17087277f)))))))))))))))));
        float erfc = t * XMath.Exp((-z * z) + poly);
        float r = 1f - erfc;
        return x < 0f ? -r : r;
    }
}

namespace NativeAlign.Kernels.Rows;

/// <summary>
/// Row-wise reductions over a row-major [rows, columns] matrix: one work-group of <see cref="GroupSize"/> work-items per
/// row: launch <c>rows · GroupSize</c> work-items. Each work-item strides over the row, then the group combines the
/// partial results in local memory with a tree reduction, which needs the power-of-two group size.
/// </summary>
/// <remarks>
/// Surplus groups are clamped to the last row (they rewrite identical values) rather than returning early: a
/// work-group-uniform return before a barrier is valid OpenCL, but PoCL 3.1 (Debian 12) crashes on it with a
/// segmentation fault when some work-items also skip the strided loops (rows shorter than the group).
/// </remarks>
public static partial class RowKernels
{
    /// <summary>Work-items per row; the reductions assume a power of two.</summary>
    public const int GroupSize = 64;

    /// <summary>Numerically stable softmax of each row: <c>y = exp(x - max) / Σ exp(x - max)</c>.</summary>
    /// <param name="x">Input, rows × columns.</param>
    /// <param name="y">Output, rows × columns (may not alias <paramref name="x"/>).</param>
    /// <param name="scratch">Local memory of <see cref="GroupSize"/> floats.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Row length.</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void SoftmaxRows(ReadOnlyGlobalBuffer<float> x, GlobalBuffer<float> y, LocalBuffer<float> scratch, int rows, int columns)
    {
        int row = Math.Min(WorkItem.GroupId(0), rows - 1);
        int lane = WorkItem.LocalId(0);
        int offset = row * columns;
        float max = float.NegativeInfinity;
        for (int c = lane; c < columns; c += GroupSize)
        {
            max = MathF.Max(max, x[offset + c]);
        }

        max = ReduceMax(scratch, lane, max);
        float sum = 0f;
        for (int c = lane; c < columns; c += GroupSize)
        {
            sum += MathF.Exp(x[offset + c] - max);
        }

        float inverse = 1f / ReduceSum(scratch, lane, sum);
        for (int c = lane; c < columns; c += GroupSize)
        {
            y[offset + c] = MathF.Exp(x[offset + c] - max) * inverse;
        }
    }

    /// <summary>
    /// Layer normalisation of each row: <c>y = (x - mean) / sqrt(var + epsilon) · gamma + beta</c> with the biased
    /// variance, computed in two passes (mean first) to avoid the cancellation of E[x²] - E[x]². Variants are compiled
    /// for the hidden sizes of the supported encoders.
    /// </summary>
    /// <param name="x">Input, rows × columns.</param>
    /// <param name="gamma">Scale, columns.</param>
    /// <param name="beta">Shift, columns.</param>
    /// <param name="y">Output, rows × columns (may alias <paramref name="x"/>: each element is read before it is written by the same work-item).</param>
    /// <param name="scratch">Local memory of <see cref="GroupSize"/> floats.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Row length (hidden size).</param>
    /// <param name="epsilon">Added to the variance.</param>
    [Kernel(LocalSizeX = GroupSize)]
    [Specialize("columns", 384, 768, 1024)]
    public static void LayerNormRows(
        ReadOnlyGlobalBuffer<float> x, ReadOnlyGlobalBuffer<float> gamma, ReadOnlyGlobalBuffer<float> beta, GlobalBuffer<float> y,
        LocalBuffer<float> scratch, int rows, int columns, float epsilon)
    {
        int row = Math.Min(WorkItem.GroupId(0), rows - 1);
        int lane = WorkItem.LocalId(0);
        int offset = row * columns;
        float sum = 0f;
        for (int c = lane; c < columns; c += GroupSize)
        {
            sum += x[offset + c];
        }

        float mean = ReduceSum(scratch, lane, sum) / (float)columns;
        float squares = 0f;
        for (int c = lane; c < columns; c += GroupSize)
        {
            float d = x[offset + c] - mean;
            squares += d * d;
        }

        float inverseDeviation = 1f / MathF.Sqrt((ReduceSum(scratch, lane, squares) / (float)columns) + epsilon);
        for (int c = lane; c < columns; c += GroupSize)
        {
            y[offset + c] = ((x[offset + c] - mean) * inverseDeviation * gamma[c]) + beta[c];
        }
    }

    /// <summary>
    /// L2 normalisation of each row: <c>y = x / max(‖x‖₂, 1e-12)</c> (sentence-transformers' Normalize module).
    /// </summary>
    /// <param name="x">Input, rows × columns.</param>
    /// <param name="y">Output, rows × columns (may alias <paramref name="x"/>: every read of the row precedes the reduction's barriers, every write follows them).</param>
    /// <param name="scratch">Local memory of <see cref="GroupSize"/> floats.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="columns">Row length.</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void L2NormalizeRows(ReadOnlyGlobalBuffer<float> x, GlobalBuffer<float> y, LocalBuffer<float> scratch, int rows, int columns)
    {
        int row = Math.Min(WorkItem.GroupId(0), rows - 1);
        int lane = WorkItem.LocalId(0);
        int offset = row * columns;
        float squares = 0f;
        for (int c = lane; c < columns; c += GroupSize)
        {
            float v = x[offset + c];
            squares += v * v;
        }

        float inverseNorm = 1f / MathF.Max(MathF.Sqrt(ReduceSum(scratch, lane, squares)), 1e-12f);
        for (int c = lane; c < columns; c += GroupSize)
        {
            y[offset + c] = x[offset + c] * inverseNorm;
        }
    }

    /// <summary>Sum of <paramref name="value"/> over the work-group; every work-item gets the total.</summary>
    private static float ReduceSum(LocalBuffer<float> scratch, int lane, float value)
    {
        scratch[lane] = value;
        WorkItem.Barrier();
        for (int stride = GroupSize / 2; stride > 0; stride /= 2)
        {
            if (lane < stride)
            {
                scratch[lane] = scratch[lane] + scratch[lane + stride];
            }

            WorkItem.Barrier();
        }

        float total = scratch[0];

        // scratch is reused by the next reduction: nobody may overwrite slot 0 before everyone has read it.
        WorkItem.Barrier();
        return total;
    }

    /// <summary>Maximum of <paramref name="value"/> over the work-group; every work-item gets it.</summary>
    private static float ReduceMax(LocalBuffer<float> scratch, int lane, float value)
    {
        scratch[lane] = value;
        WorkItem.Barrier();
        for (int stride = GroupSize / 2; stride > 0; stride /= 2)
        {
            if (lane < stride)
            {
                scratch[lane] = MathF.Max(scratch[lane], scratch[lane + stride]);
            }

            WorkItem.Barrier();
        }

        float total = scratch[0];
        WorkItem.Barrier();
        return total;
    }
}

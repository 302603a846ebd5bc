using System.Diagnostics;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Elementwise;
using NativeAlign.Kernels.Gemm;
using NativeAlign.Kernels.Rows;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.OpenCl;

/// <summary>One kernel's outcome in <see cref="OpenClKernelCheck"/>.</summary>
/// <param name="Kernel">The kernel and the shape it ran on.</param>
/// <param name="NormalisedMse">Σ(device − oracle)² / Σ oracle², against a float64 oracle.</param>
/// <param name="Bound">The largest normalised MSE accepted for this op.</param>
/// <param name="Milliseconds">Wall time of build (or cache load), launch and read-back; a smoke figure, not a benchmark.</param>
public sealed record KernelCheckResult(string Kernel, double NormalisedMse, double Bound, double Milliseconds)
{
    /// <summary>Whether the device result is within the bound (NaN never is).</summary>
    public bool Passed => NormalisedMse <= Bound;
}

/// <summary>
/// Runs every generated kernel once on an OpenCL device against a float64 oracle computed here from the op's
/// definition: a quick answer to "do the C# kernels work on this device?", also from a NativeAOT binary.
/// </summary>
public static class OpenClKernelCheck
{
    private const double ElementwiseBound = 1e-7;
    private const double GemmBound = 5e-4;

    /// <summary>Runs the checks on <paramref name="context"/>'s device.</summary>
    /// <exception cref="BackendException">A kernel failed to build or launch.</exception>
    public static IReadOnlyList<KernelCheckResult> Run(OpenClContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var random = new Random(20261122);
        return
        [
            VectorAdd(context, random, 1000),
            Gelu(context, random, 1000),
            Softmax(context, random, 4, 100),
            LayerNorm(context, random, 3, 384),
            Gemm(context, random, 33, 40, 50),
        ];
    }

    private static KernelCheckResult VectorAdd(OpenClContext context, Random random, int n)
    {
        var a = Values(random, n, 1);
        var b = Values(random, n, 1);
        var clock = Stopwatch.StartNew();
        using var da = context.Upload<float>(a);
        using var db = context.Upload<float>(b);
        using var dc = context.Allocate<float>(n);
        context.Run(new ElementwiseKernels.VectorAddKernel(da, db, dc, n), new NDRange(n));
        var c = dc.ToArray();
        var oracle = new double[n];
        for (int i = 0; i < n; i++)
        {
            oracle[i] = (double)a[i] + b[i];
        }

        return Result($"VectorAdd n={n}", c, oracle, ElementwiseBound, clock);
    }

    private static KernelCheckResult Gelu(OpenClContext context, Random random, int n)
    {
        var x = Values(random, n, 3);
        var clock = Stopwatch.StartNew();
        using var dx = context.Upload<float>(x);
        using var dy = context.Allocate<float>(n);
        context.Run(new ElementwiseKernels.GeluKernel(dx, dy, n), new NDRange(n));
        var y = dy.ToArray();
        var oracle = x.Select(v => 0.5 * v * (1 + DeviceMath.Erf(v / Math.Sqrt(2)))).ToArray();
        return Result($"Gelu n={n}", y, oracle, ElementwiseBound, clock);
    }

    private static KernelCheckResult Softmax(OpenClContext context, Random random, int rows, int columns)
    {
        var x = Values(random, rows * columns, 10);
        var clock = Stopwatch.StartNew();
        using var dx = context.Upload<float>(x);
        using var dy = context.Allocate<float>(rows * columns);
        context.Run(new RowKernels.SoftmaxRowsKernel(dx, dy, RowKernels.GroupSize, rows, columns), new NDRange(rows * RowKernels.GroupSize));
        var y = dy.ToArray();
        var oracle = new double[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * columns, columns);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in row)
            {
                max = Math.Max(max, v);
            }

            foreach (float v in row)
            {
                sum += Math.Exp(v - max);
            }

            for (int c = 0; c < columns; c++)
            {
                oracle[(r * columns) + c] = Math.Exp(row[c] - max) / sum;
            }
        }

        return Result($"SoftmaxRows {rows}x{columns}", y, oracle, ElementwiseBound, clock);
    }

    private static KernelCheckResult LayerNorm(OpenClContext context, Random random, int rows, int columns)
    {
        const float epsilon = 1e-12f;
        var x = Values(random, rows * columns, 4);
        var gamma = Values(random, columns, 1);
        var beta = Values(random, columns, 1);
        var clock = Stopwatch.StartNew();
        using var dx = context.Upload<float>(x);
        using var dg = context.Upload<float>(gamma);
        using var db = context.Upload<float>(beta);
        using var dy = context.Allocate<float>(rows * columns);
        var kernel = new RowKernels.LayerNormRowsKernel(dx, dg, db, dy, RowKernels.GroupSize, rows, columns, epsilon);
        context.Run(kernel, new NDRange(rows * RowKernels.GroupSize));
        var y = dy.ToArray();
        var oracle = new double[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * columns, columns);
            double mean = 0, variance = 0;
            foreach (float v in row)
            {
                mean += v;
            }

            mean /= columns;
            foreach (float v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= columns;
            for (int c = 0; c < columns; c++)
            {
                oracle[(r * columns) + c] = ((row[c] - mean) / Math.Sqrt(variance + epsilon) * gamma[c]) + beta[c];
            }
        }

        return Result($"LayerNormRows {rows}x{columns} ({RowKernels.LayerNormRowsKernel.SelectEntryPoint(kernel)})", y, oracle, ElementwiseBound, clock);
    }

    private static KernelCheckResult Gemm(OpenClContext context, Random random, int m, int n, int k)
    {
        var a = Values(random, m * k, 1);
        var b = Values(random, n * k, 1);
        var clock = Stopwatch.StartNew();
        using var da = context.Upload<float>(a);
        using var db = context.Upload<float>(b);
        using var dc = context.Allocate<float>(m * n);
        context.Run(new GemmKernels.MatMulTransposedBKernel(da, db, dc, m, n, k), GemmKernels.LaunchRange(m, n));
        var c = dc.ToArray();
        var oracle = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int q = 0; q < k; q++)
                {
                    sum += (double)a[(i * k) + q] * b[(j * k) + q];
                }

                oracle[(i * n) + j] = sum;
            }
        }

        return Result($"MatMulTransposedB {m}x{n}x{k}", c, oracle, GemmBound, clock);
    }

    private static float[] Values(Random random, int count, double scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * 2 * scale);
        }

        return values;
    }

    private static KernelCheckResult Result(string kernel, float[] actual, double[] oracle, double bound, Stopwatch clock)
    {
        double nmse = ErrorMetric.NormalisedMse(actual, oracle);
        return new KernelCheckResult(kernel, double.IsNaN(nmse) ? double.PositiveInfinity : nmse, bound, clock.Elapsed.TotalMilliseconds);
    }
}

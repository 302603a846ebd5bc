using NativeAlign.Kernels;
using NativeAlign.Kernels.Elementwise;
using NativeAlign.Kernels.Gemm;
using NativeAlign.Kernels.Rows;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Each C# kernel on the OpenCL device (and, where noted, through the CPU reference runner) against a float64 oracle
/// written here from the op's definition, with the per-op bounds of the project: normalised MSE 1e-7 elementwise and
/// row-wise, 5e-4 for GEMM.
/// </summary>
[TestFixture]
public sealed class KernelOpTests
{
    private const double ElementwiseBound = 1e-7;
    private const double GemmBound = 5e-4;

    /// <summary>The oracle's erf against Abramowitz &amp; Stegun, Table 7.1 (and erf(-x) = -erf(x)).</summary>
    [TestCase(0.1, 0.112462916018285)]
    [TestCase(0.5, 0.520499877813047)]
    [TestCase(1.0, 0.842700792949715)]
    [TestCase(1.5, 0.966105146475311)]
    [TestCase(2.0, 0.995322265018953)]
    [TestCase(2.5, 0.999593047982555)]
    [TestCase(3.0, 0.999977909503001)]
    [TestCase(3.5, 0.999999256901628)]
    [TestCase(4.0, 0.999999984582742)]
    public void Erf_Double_MatchesPublishedTable(double x, double expected)
    {
        Assert.That(DeviceMath.Erf(x), Is.EqualTo(expected).Within(2e-15));
        Assert.That(DeviceMath.Erf(-x), Is.EqualTo(-expected).Within(2e-15));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(4099)]
    public void Gelu_DeviceAndCpuReference_MatchFloat64Oracle(int n)
    {
        var random = new Random(n + 3);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = i switch { 0 => 0f, 1 => -10f, 2 => 10f, 3 => -0.5f, _ => (float)(Gaussian(random) * 3) };
        }

        var oracle = x.Select(v => 0.5 * v * (1 + DeviceMath.Erf(v / Math.Sqrt(2)))).ToArray();

        var cpu = new float[n];
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(64), () => ElementwiseKernels.Gelu(new(x), new(cpu), n));
        ErrorMetrics.AssertClose(cpu, oracle, ElementwiseBound, "CPU reference");

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dy = device.Context.Allocate<float>(n);
        device.Context.Run(new ElementwiseKernels.GeluKernel(dx, dy, n), new NDRange(n));
        ErrorMetrics.AssertClose(dy.ToArray(), oracle, ElementwiseBound, "device");
    }

    [TestCase(1)]
    [TestCase(333)]
    public void ResidualAdd_InPlace_MatchesFloat64Oracle(int n)
    {
        var random = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)Gaussian(random)).ToArray();
        var r = Enumerable.Range(0, n).Select(_ => (float)Gaussian(random)).ToArray();
        var oracle = x.Zip(r, (a, b) => (double)a + b).ToArray();

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dr = device.Context.Upload<float>(r);
        device.Context.Run(new ElementwiseKernels.ResidualAddKernel(dx, dr, n), new NDRange(n));
        ErrorMetrics.AssertClose(dx.ToArray(), oracle, ElementwiseBound, "device");
    }

    [TestCase(3, 1)]
    [TestCase(4, 7)]
    [TestCase(2, 64)]
    [TestCase(5, 100)]
    [TestCase(3, 384)]
    public void SoftmaxRows_Device_MatchesFloat64Oracle(int rows, int columns)
    {
        var random = new Random((rows * 1000) + columns);

        // Large logits (±30): without the max subtraction exp would overflow float.
        var x = Enumerable.Range(0, rows * columns).Select(_ => (float)((random.NextDouble() - 0.5) * 60 + 50)).ToArray();
        var oracle = new double[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < columns; c++)
            {
                max = Math.Max(max, x[(r * columns) + c]);
            }

            double sum = 0;
            for (int c = 0; c < columns; c++)
            {
                sum += Math.Exp(x[(r * columns) + c] - max);
            }

            for (int c = 0; c < columns; c++)
            {
                oracle[(r * columns) + c] = Math.Exp(x[(r * columns) + c] - max) / sum;
            }
        }

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dy = device.Context.Allocate<float>(rows * columns);
        device.Context.Run(new RowKernels.SoftmaxRowsKernel(dx, dy, RowKernels.GroupSize, rows, columns), new NDRange(rows * RowKernels.GroupSize));
        ErrorMetrics.AssertClose(dy.ToArray(), oracle, ElementwiseBound, "device");
    }

    [Test]
    public void SoftmaxRows_CooperativeCpuReference_MatchesDevice()
    {
        const int rows = 2, columns = 100;
        var random = new Random(5);
        var x = Enumerable.Range(0, rows * columns).Select(_ => (float)Gaussian(random)).ToArray();
        var cpu = new float[rows * columns];
        var scratch = new LocalBuffer<float>(RowKernels.GroupSize);
        CpuReferenceRunner.RunCooperative(new NDRange(rows * RowKernels.GroupSize), new NDRange(RowKernels.GroupSize),
            () => RowKernels.SoftmaxRows(new(x), new(cpu), scratch, rows, columns));

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dy = device.Context.Allocate<float>(rows * columns);
        device.Context.Run(new RowKernels.SoftmaxRowsKernel(dx, dy, RowKernels.GroupSize, rows, columns), new NDRange(rows * RowKernels.GroupSize));
        ErrorMetrics.AssertClose(dy.ToArray(), cpu.Select(v => (double)v).ToArray(), ElementwiseBound, "device vs CPU reference");
    }

    /// <summary>Hidden sizes with a compiled variant (384, 768) and without (1, 100), which take the generic kernel.</summary>
    [TestCase(3, 1, "LayerNormRows")]
    [TestCase(4, 100, "LayerNormRows")]
    [TestCase(3, 384, "LayerNormRows_columns384")]
    [TestCase(2, 768, "LayerNormRows_columns768")]
    public void LayerNormRows_Device_MatchesFloat64Oracle_ThroughTheRightVariant(int rows, int columns, string entryPoint)
    {
        const float epsilon = 1e-12f;
        var random = new Random(columns);
        var x = Enumerable.Range(0, rows * columns).Select(_ => (float)(Gaussian(random) * 4 + 1.5)).ToArray();
        var gamma = Enumerable.Range(0, columns).Select(_ => (float)(1 + (Gaussian(random) * 0.1))).ToArray();
        var beta = Enumerable.Range(0, columns).Select(_ => (float)(Gaussian(random) * 0.1)).ToArray();
        var oracle = new double[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * columns, columns).ToArray();
            double mean = row.Average(v => (double)v);
            double variance = row.Average(v => (v - mean) * (v - mean));
            for (int c = 0; c < columns; c++)
            {
                oracle[(r * columns) + c] = ((row[c] - mean) / Math.Sqrt(variance + epsilon) * gamma[c]) + beta[c];
            }
        }

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dg = device.Context.Upload<float>(gamma);
        using var db = device.Context.Upload<float>(beta);
        using var dy = device.Context.Allocate<float>(rows * columns);
        var kernel = new RowKernels.LayerNormRowsKernel(dx, dg, db, dy, RowKernels.GroupSize, rows, columns, epsilon);
        Assert.That(RowKernels.LayerNormRowsKernel.SelectEntryPoint(kernel), Is.EqualTo(entryPoint));
        device.Context.Run(kernel, new NDRange(rows * RowKernels.GroupSize));
        ErrorMetrics.AssertClose(dy.ToArray(), oracle, ElementwiseBound, "device");
    }

    [TestCase(1, 1, 1)]
    [TestCase(17, 33, 20)]
    [TestCase(64, 64, 64)]
    [TestCase(50, 384, 384)]
    public void MatMulTransposedB_Device_MatchesFloat64Oracle(int m, int n, int k)
    {
        var random = new Random((m * 31) + (n * 7) + k);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)Gaussian(random)).ToArray();
        var b = Enumerable.Range(0, n * k).Select(_ => (float)(Gaussian(random) * 0.05)).ToArray();
        var oracle = Oracle(a, b, m, n, k);

        using var device = OpenClTestDevice.Open();
        using var da = device.Context.Upload<float>(a);
        using var db = device.Context.Upload<float>(b);
        const float sentinel = 777f;
        using var dc = device.Context.Upload<float>(Enumerable.Repeat(sentinel, (m * n) + 300).ToArray());
        device.Context.Run(new GemmKernels.MatMulTransposedBKernel(da, db, dc, m, n, k), GemmKernels.LaunchRange(m, n));
        var c = dc.ToArray();
        ErrorMetrics.AssertClose(c.AsSpan(0, m * n), oracle, GemmBound, "device");
        Assert.That(c.AsSpan(m * n).ToArray(), Is.All.EqualTo(sentinel), "wrote past m·n");
    }

    [Test]
    public void MatMulTransposedB_CpuReference_MatchesFloat64Oracle()
    {
        const int m = 17, n = 20, k = 19;
        var random = new Random(99);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)Gaussian(random)).ToArray();
        var b = Enumerable.Range(0, n * k).Select(_ => (float)Gaussian(random)).ToArray();
        var c = new float[m * n];
        CpuReferenceRunner.Run(GemmKernels.LaunchRange(m, n), new NDRange(GemmKernels.GroupEdge, GemmKernels.GroupEdge),
            () => GemmKernels.MatMulTransposedB(new(a), new(b), new(c), m, n, k));
        ErrorMetrics.AssertClose(c, Oracle(a, b, m, n, k), GemmBound, "CPU reference");
    }

    private static double[] Oracle(float[] a, float[] b, int m, int n, int k)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int q = 0; q < k; q++)
                {
                    sum += (double)a[(i * k) + q] * b[(j * k) + q];
                }

                c[(i * n) + j] = sum;
            }
        }

        return c;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

using NativeAlign.Backends.Cpu;
using static NativeAlign.Tests.Backends.Cpu.GemmTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>Every GEMM f32 path against a float64 oracle, with guarded outputs.</summary>
/// <remarks>Non-parallelizable: one test switches the driver's schedule thresholds, which are process-wide.</remarks>
[TestFixture]
[NonParallelizable]
public class GemmF32Tests
{
    private static readonly int[] SizeSweep =
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 23, 24, 25, 29, 31, 32, 33, 37, 47, 48, 49, 61, 63, 64, 65, 97, 127, 128, 129, 191, 211, 239, 240, 241, 251, 255, 256, 257];

    private static IEnumerable<TestCaseData> PathsAndLayouts()
    {
        foreach (GemmKernelPath path in Paths)
        {
            yield return new TestCaseData(path.ToString(), true).SetArgDisplayNames(path.ToString(), "transposeB");
            yield return new TestCaseData(path.ToString(), false).SetArgDisplayNames(path.ToString(), "plainB");
        }
    }

    private static IEnumerable<TestCaseData> PathCases() => Paths.Select(p => new TestCaseData(p.ToString()).SetArgDisplayNames(p.ToString()));

    /// <summary>Runs one GEMM with padded leading dimensions and checks it; returns the NMSE.</summary>
    private static double Check(
        GemmKernelPath path, int threads, int m, int n, int k, bool transposeB, int seed,
        bool bias = false, GemmActivation activation = GemmActivation.None, bool residual = false, int pad = 3)
    {
        var random = new Random(seed);
        int lda = k + pad, ldb = (transposeB ? k : n) + pad + 2, ldc = n + pad + 4;
        float[] a = RandomArray(random, Math.Max(0, (m * lda) - pad));
        int bRows = transposeB ? n : k;
        float[] b = RandomArray(random, Math.Max(0, (bRows * ldb) - pad - 2));
        float[]? biasArray = bias ? RandomArray(random, n) : null;
        float[]? residualArray = residual ? RandomArray(random, Math.Max(0, (m * ldc) - pad - 4)) : null;
        float[] guarded = GuardedOutput(m, n, ldc);
        GemmF32.Compute(
            path, threads, m, n, k, a, lda, b, ldb, transposeB, Window(guarded), ldc,
            new GemmEpilogue { Bias = biasArray, Activation = activation, Residual = residualArray });

        double[] expected = Reference(
            m, n, k, a, lda, transposeB ? (p, j) => b[(j * ldb) + p] : (p, j) => b[(p * ldb) + j], biasArray, activation, residualArray, ldc);
        return AssertMatches(expected, guarded, m, n, ldc, $"{path} threads={threads} {m}x{n}x{k} transB={transposeB} bias={bias} act={activation} res={residual}");
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void SweepsEachDimensionThroughEveryTail(string pathName, bool transposeB)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;
        foreach (int s in SizeSweep)
        {
            worst = Math.Max(worst, Check(path, 0, s, 19, 23, transposeB, s));
            worst = Math.Max(worst, Check(path, 0, 17, s, 29, transposeB, s + 1000));
            worst = Math.Max(worst, Check(path, 0, 5, 13, s, transposeB, s + 2000));
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void SquareShapesOnOneAndTwoThreads(string pathName, bool transposeB)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;
        foreach (int s in new[] { 1, 7, 31, 33, 97, 127, 200, 241, 255, 256, 257 })
        {
            worst = Math.Max(worst, Check(path, 1, s, s, s, transposeB, s));
            worst = Math.Max(worst, Check(path, 2, s, s, s, transposeB, s + 7));
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void CrossesEveryBlockingBoundary(string pathName, bool transposeB)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;

        // Depth blocks of at most CopyKC = 768 for f32 B (equal, multiples of 32), row blocks of MC = 240 (shared-B
        // schedule, M >= 1024), column chunks of at most NC = 256 at depth 384 and 144 at depth 768 (shared-A schedule,
        // M < 1024); every thread split; a short last depth block.
        (int M, int N, int K)[] shapes =
        [
            (13, 35, 255), (13, 35, 256), (13, 35, 257), (13, 35, 383), (13, 35, 384), (13, 35, 385), (9, 40, 513),
            (13, 35, 767), (13, 35, 768), (7, 33, 769), (5, 17, 1153), (9, 300, 800), (6, 145, 1537), (1030, 50, 800),
            (239, 37, 41), (240, 37, 41), (241, 37, 41), (481, 19, 300),
            (3, 255, 17), (3, 256, 17), (3, 257, 17), (3, 511, 17), (3, 512, 17), (5, 513, 19), (4, 1025, 33), (3, 2049, 19), (2, 4100, 9), (1030, 40, 50), (1200, 70, 390),
            (300, 70, 260), (70, 300, 260), (250, 250, 520),
        ];
        foreach ((int m, int n, int k) in shapes)
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                worst = Math.Max(worst, Check(path, threads, m, n, k, transposeB, m + n + k + threads));
            }
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void BothSchedulesOnTheirRarerShapes(string pathName, bool transposeB)
    {
        // The default sends few rows to the shared-A schedule and many rows to the shared-B one; force each onto the
        // other's shapes (and with nothing packed whole, the shared-A one runs in bands of MR rows).
        GemmKernelPath path = RequirePath(pathName);
        RunWithSchedule(path, transposeB, sharedMinRows: 0, maxSharedFloats: 1L << 24);
        RunWithSchedule(path, transposeB, sharedMinRows: int.MaxValue, maxSharedFloats: 0);
    }

    private static void RunWithSchedule(GemmKernelPath path, bool transposeB, int sharedMinRows, long maxSharedFloats)
    {
        long savedFloats = GemmDriver.MaxSharedPackedFloats;
        int savedRows = GemmDriver.SharedScheduleMinRows;
        GemmDriver.MaxSharedPackedFloats = maxSharedFloats;
        GemmDriver.SharedScheduleMinRows = sharedMinRows;
        try
        {
            double worst = 0;
            (int M, int N, int K)[] shapes =
                [(1, 1, 1), (13, 35, 257), (241, 37, 41), (3, 2049, 19), (300, 70, 260), (70, 300, 260), (481, 33, 385), (1100, 45, 70)];
            foreach ((int m, int n, int k) in shapes)
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    worst = Math.Max(worst, Check(path, threads, m, n, k, transposeB, m + n + k, bias: true, GemmActivation.Gelu, residual: true));
                    worst = Math.Max(worst, Check(path, threads, m, n, k, transposeB, m + n + k + 1));
                }
            }

            TestContext.Out.WriteLine($"shared from {sharedMinRows} rows: worst NMSE {worst:E2}");
        }
        finally
        {
            GemmDriver.MaxSharedPackedFloats = savedFloats;
            GemmDriver.SharedScheduleMinRows = savedRows;
        }
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void FusedEpilogues(string pathName, bool transposeB)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;
        (int M, int N, int K)[] shapes = [(1, 1, 1), (5, 7, 3), (13, 33, 29), (37, 70, 300), (130, 97, 64), (4, 5, 0)];
        foreach ((int m, int n, int k) in shapes)
        {
            foreach (bool bias in new[] { false, true })
            {
                foreach (GemmActivation act in new[] { GemmActivation.None, GemmActivation.Gelu })
                {
                    foreach (bool residual in new[] { false, true })
                    {
                        worst = Math.Max(worst, Check(path, 0, m, n, k, transposeB, m * n + k, bias, act, residual));
                    }
                }
            }
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathCases))]
    public void GeluSpansTheWholeErfRange(string pathName)
    {
        // A 1×n×1 product with A = 1 and B = x gives C = x exactly, so the epilogue alone is measured on x in [-12, 12].
        GemmKernelPath path = RequirePath(pathName);
        int n = 4801;
        float[] x = new float[n];
        for (int j = 0; j < n; j++)
        {
            x[j] = -12f + (24f * j / (n - 1));
        }

        float[] guarded = GuardedOutput(1, n, n);
        GemmF32.Compute(path, 1, 1, n, 1, [1f], 1, x, n, false, Window(guarded), n, new GemmEpilogue { Activation = GemmActivation.Gelu });
        Span<float> c = Window(guarded);
        double maxAbs = 0;
        for (int j = 0; j < n; j++)
        {
            double e = 0.5 * x[j] * (1 + Erf(x[j] / Math.Sqrt(2)));
            maxAbs = Math.Max(maxAbs, Math.Abs(c[j] - e) / Math.Max(1, Math.Abs(e)));
        }

        TestContext.Out.WriteLine($"max GELU error {maxAbs:E2}");
        Assert.That(maxAbs, Is.LessThan(1e-6));
    }

    [TestCaseSource(nameof(PathsAndLayouts))]
    public void ResidualMayBeCItself(string pathName, bool transposeB)
    {
        GemmKernelPath path = RequirePath(pathName);
        var random = new Random(5);
        int m = 37, n = 45, k = 300, ldc = n + 3;
        float[] a = RandomArray(random, m * k);
        float[] b = RandomArray(random, n * k);
        float[] bias = RandomArray(random, n);
        float[] guarded = GuardedOutput(m, n, ldc);
        float[] residual = RandomArray(random, guarded.Length - (2 * Guard));
        for (int i = 0; i < m; i++)
        {
            residual.AsSpan(i * ldc, n).CopyTo(Window(guarded)[(i * ldc)..]);
        }

        GemmF32.Compute(path, 0, m, n, k, a, k, b, transposeB ? k : n, transposeB, Window(guarded), ldc, new GemmEpilogue { Bias = bias, Residual = Window(guarded) });
        double[] expected = Reference(m, n, k, a, k, transposeB ? (p, j) => b[(j * k) + p] : (p, j) => b[(p * n) + j], bias, GemmActivation.None, residual, ldc);
        AssertMatches(expected, guarded, m, n, ldc, "in-place residual");
    }

    [Test]
    public void PublicEntryPointUsesTheFastestPath()
    {
        var random = new Random(11);
        int m = 130, n = 200, k = 70;
        float[] a = RandomArray(random, m * k), b = RandomArray(random, n * k);
        float[] guarded = GuardedOutput(m, n, n);
        GemmF32.Compute(m, n, k, a, k, b, k, true, Window(guarded), n);
        AssertMatches(Reference(m, n, k, a, k, (p, j) => b[(j * k) + p], null, GemmActivation.None, null, n), guarded, m, n, n, "public");
    }

    [Test]
    public void RejectsInconsistentArguments()
    {
        float[] buffer = new float[100];
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer.AsSpan(0, 15), 4, buffer, 4, true, new float[16], 4));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 3, buffer, 4, true, new float[16], 4));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer.AsSpan(0, 10), 4, false, new float[16], 4));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer, 4, true, new float[15], 4));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(-1, 4, 4, buffer, 4, buffer, 4, true, new float[16], 4));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer, 4, true, new float[16], 4, new GemmEpilogue { Bias = new float[3] }));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer, 4, true, new float[16], 4, new GemmEpilogue { Residual = new float[15] }));
        float[] c = new float[20];
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer, 4, true, c.AsSpan(0, 16), 4, new GemmEpilogue { Residual = c.AsSpan(4, 16) }));
        Assert.Throws<ArgumentException>(() => GemmF32.Compute(4, 4, 4, buffer, 4, buffer, 4, true, c.AsSpan(0, 16), 4, new GemmEpilogue { Residual = c.AsSpan(0, 16), Activation = GemmActivation.Gelu }));
    }

    [Test]
    public void OracleErfMatchesPublishedValues()
    {
        // Abramowitz & Stegun, Table 7.1 (and NIST DLMF 7.2): erf to 15 digits.
        Assert.That(Erf(0.1), Is.EqualTo(0.1124629160182849).Within(1e-14));
        Assert.That(Erf(0.5), Is.EqualTo(0.5204998778130465).Within(1e-14));
        Assert.That(Erf(1.0), Is.EqualTo(0.8427007929497149).Within(1e-14));
        Assert.That(Erf(2.0), Is.EqualTo(0.9953222650189527).Within(1e-14));
        Assert.That(Erf(2.5), Is.EqualTo(0.9995930479825550).Within(1e-14));
        Assert.That(Erf(3.0), Is.EqualTo(0.9999779095030014).Within(1e-14));
        Assert.That(Erf(-1.5), Is.EqualTo(-0.9661051464753108).Within(1e-14));
    }
}

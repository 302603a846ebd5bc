using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.Cpu.GemmTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>
/// The row-group 4-bit product on both panel layouts, every path, against the float64 oracle: float activations
/// (pairs) and activations quantised to int8 (octets). The int8 product is held to the GEMM bound too, and besides,
/// element by element, to the error its quantisation can make: Σ over chunks of (scale / 2) · Σ|w|.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
public class GemmQ4RowsTests(bool int8)
{
    private readonly Q4PanelLayout _layout = int8 ? Q4PanelLayout.Octets : Q4PanelLayout.Pairs;

    private static IEnumerable<TestCaseData> PathCases() => Paths.Select(p => new TestCaseData(p.ToString()).SetArgDisplayNames(p.ToString()));

    private double Check(
        GemmKernelPath path, int threads, int m, int n, int k, int blockSize, bool zeroPoints, int seed,
        bool bias = false, GemmActivation activation = GemmActivation.None, bool residual = false)
    {
        var random = new Random(seed);
        Q4Matrix w = RandomQ4(random, n, k, blockSize, zeroPoints);
        int lda = k + 5, ldc = n + 3;
        float[] a = RandomArray(random, Math.Max(0, (m * lda) - 5));
        float[]? biasArray = bias ? RandomArray(random, n) : null;
        float[]? residualArray = residual ? RandomArray(random, Math.Max(0, (m * ldc) - 3)) : null;
        float[] guarded = GuardedOutput(m, n, ldc);
        GemmQ4Rows.Compute(path, threads, m, a, lda, Q4Panels.From(w, _layout), Window(guarded), ldc,
            new GemmEpilogue { Bias = biasArray, Activation = activation, Residual = residualArray });
        double[] wd = DequantizeDouble(w);
        double[] expected = Reference(m, n, k, a, lda, (p, j) => wd[((long)j * k) + p], biasArray, activation, residualArray, ldc);
        string what = $"{_layout} {path} t={threads} {m}x{n}x{k} bs={blockSize} zp={zeroPoints} bias={bias} act={activation} res={residual}";
        if (int8 && activation == GemmActivation.None)
        {
            AssertWithinQuantisationBound(expected, guarded, m, n, k, w, a, lda, wd, ldc, what);
        }

        return AssertMatches(expected, guarded, m, n, ldc, what);
    }

    /// <summary>
    /// Each output within what quantising A can change: per chunk of min(32, block) values, |x − x̂·s| ≤ s/2 with
    /// s = max|x| / 127, so |Δc| ≤ Σ_chunks (s/2)·Σ|w|; plus float32 rounding of the sums, 1e-5 of Σ 30·|σ|·|x|
    /// (the two terms q·σ and −zero·σ of a weight, each at most 15·|σ|, are summed apart and cancel only at the end).
    /// </summary>
    private static void AssertWithinQuantisationBound(double[] expected, float[] guarded, int m, int n, int k, Q4Matrix w, float[] a, int lda, double[] wd, int ldc, string what)
    {
        int chunk = Math.Min(32, w.BlockSize);
        Span<float> c = Window(guarded);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double bound = 0, magnitude = 0;
                for (int start = 0; start < k; start += chunk)
                {
                    int end = Math.Min(k, start + chunk);
                    double max = 0, weights = 0;
                    for (int p = start; p < end; p++)
                    {
                        max = Math.Max(max, Math.Abs(a[(i * lda) + p]));
                        weights += Math.Abs(wd[((long)j * k) + p]);
                        magnitude += 30 * Math.Abs(w.Scales[(j * w.BlocksPerRow) + (p / w.BlockSize)] * a[(i * lda) + p]);
                    }

                    bound += max / 127 / 2 * weights;
                }

                double error = Math.Abs(c[(i * ldc) + j] - expected[((long)i * n) + j]);
                double allowed = (bound * 1.0001) + (1e-5 * magnitude) + (1e-6 * Math.Abs(expected[((long)i * n) + j]));
                if (!(error <= allowed))
                {
                    Assert.Fail($"{what}: C[{i},{j}] = {c[(i * ldc) + j]} is {error:E3} from the oracle {expected[((long)i * n) + j]:E6}, beyond the quantisation bound {allowed:E3}");
                }
            }
        }
    }

    [TestCaseSource(nameof(PathCases))]
    public void EveryRowGroupShapeAndBlockSizeMatchesTheOracle(string pathName)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;

        // Every row count a group can have (1…16), splits into several groups (17…48) and more than the backend uses.
        int[] ms = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 31, 33, 48, 70];
        (int N, int K)[] nk = [(1, 1), (3, 31), (16, 32), (17, 33), (33, 64), (40, 95), (15, 257), (48, 384)];
        foreach (int blockSize in new[] { 16, 32, 64, 128 })
        {
            foreach ((int n, int k) in nk)
            {
                foreach (int m in ms)
                {
                    worst = Math.Max(worst, Check(path, 1, m, n, k, blockSize, (m + n) % 2 == 0, m + n + k + blockSize));
                }
            }
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathCases))]
    public void SweepsKAndNThroughEveryTailAndThreadSplit(string pathName)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;
        for (int s = 1; s <= 257; s += s < 40 ? 1 : 13)
        {
            worst = Math.Max(worst, Check(path, 0, 13, 23, s, 32, s % 2 == 0, s));
            worst = Math.Max(worst, Check(path, 0, 3, s, 70, 32, s % 2 == 1, s + 1));
        }

        foreach (int threads in new[] { 0, 1, 2, 3 })
        {
            worst = Math.Max(worst, Check(path, threads, 13, 1536, 384, 32, false, threads));
            worst = Math.Max(worst, Check(path, threads, 5, 384, 1536, 32, true, threads));
            worst = Math.Max(worst, Check(path, threads, 40, 300, 520, 64, true, threads));
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathCases))]
    public void FusedEpilogues(string pathName)
    {
        GemmKernelPath path = RequirePath(pathName);
        foreach (int m in new[] { 1, 3, 9, 20 })
        {
            foreach (bool bias in new[] { false, true })
            {
                foreach (GemmActivation act in new[] { GemmActivation.None, GemmActivation.Gelu })
                {
                    foreach (bool residual in new[] { false, true })
                    {
                        Check(path, 0, m, 45, 96, 32, true, m * 7, bias, act, residual);
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(PathCases))]
    public void ResidualAsOutputIsAddedInPlace(string pathName)
    {
        // The encoder passes the residual as C itself (x = x + W·h): the product must be added to what C holds.
        GemmKernelPath path = RequirePath(pathName);
        var random = new Random(5);
        int m = 13, n = 40, k = 96;
        Q4Matrix w = RandomQ4(random, n, k, 32, true);
        float[] a = RandomArray(random, m * k);
        float[] bias = RandomArray(random, n);
        float[] c = RandomArray(random, m * n);
        float[] before = (float[])c.Clone();
        GemmQ4Rows.Compute(path, 0, m, a, k, Q4Panels.From(w, _layout), c, n, new GemmEpilogue { Bias = bias, Residual = c });
        double[] wd = DequantizeDouble(w);
        double[] expected = Reference(m, n, k, a, k, (p, j) => wd[((long)j * k) + p], bias, GemmActivation.None, before, n);
        float[] guarded = GuardedOutput(m, n, n);
        c.CopyTo(Window(guarded));
        AssertMatches(expected, guarded, m, n, n, $"{path} residual as C");
    }

    [Test]
    public void ConcurrentCallersGetTheSequentialResultBitForBit()
    {
        // Eight threads share the worker team (one region runs at a time, the others run alone): each output panel is
        // computed by the same code whoever runs it, so results must be identical to a single-threaded run.
        var random = new Random(11);
        int m = 13, n = 384, k = 384;
        Q4Panels w = Q4Panels.From(RandomQ4(random, n, k, 32, true), _layout);
        float[][] inputs = Enumerable.Range(0, 8).Select(_ => RandomArray(random, m * k)).ToArray();
        float[][] expected = inputs.Select(a =>
        {
            var c = new float[m * n];
            GemmQ4Rows.Compute(GemmKernelPath.Auto, 1, m, a, k, w, c, n);
            return c;
        }).ToArray();
        int mismatches = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var c = new float[m * n];
            for (int i = 0; i < 500; i++)
            {
                GemmQ4Rows.Compute(GemmKernelPath.Auto, 0, m, inputs[t], k, w, c, n);
                if (!c.AsSpan().SequenceEqual(expected[t]))
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        });
        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    public void NonFiniteActivationsReachTheOutput()
    {
        var random = new Random(3);
        int m = 3, n = 20, k = 70;
        Q4Panels w = Q4Panels.From(RandomQ4(random, n, k, 32, true), _layout);
        foreach (GemmKernelPath path in Paths.Where(GemmPaths.IsSupported))
        {
            float[] a = RandomArray(random, m * k);
            a[k + 40] = float.NaN;
            a[(2 * k) + 5] = float.PositiveInfinity;
            var c = new float[m * n];
            GemmQ4Rows.Compute(path, 1, m, a, k, w, c, n);
            Assert.That(c.AsSpan(0, n).ToArray().All(float.IsFinite), Is.True, $"{path}: row 0 is finite");
            Assert.That(c.AsSpan(n, n).ToArray().All(float.IsNaN), Is.True, $"{path}: a NaN in row 1 reaches all its outputs");
            Assert.That(c.AsSpan(2 * n, n).ToArray().Any(v => !float.IsFinite(v)), Is.True, $"{path}: an infinity in row 2 is not lost");
        }
    }
}

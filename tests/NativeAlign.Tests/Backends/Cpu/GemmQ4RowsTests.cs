using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.Cpu.GemmTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>The few-row 4-bit product on the interleaved panel layout, every path, against the float64 oracle.</summary>
[TestFixture]
public class GemmQ4RowsTests
{
    private static IEnumerable<TestCaseData> PathCases() => Paths.Select(p => new TestCaseData(p.ToString()).SetArgDisplayNames(p.ToString()));

    private static double Check(
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
        GemmQ4Rows.Compute(path, threads, m, a, lda, Q4Panels.From(w), Window(guarded), ldc,
            new GemmEpilogue { Bias = biasArray, Activation = activation, Residual = residualArray });
        double[] wd = DequantizeDouble(w);
        double[] expected = Reference(m, n, k, a, lda, (p, j) => wd[((long)j * k) + p], biasArray, activation, residualArray, ldc);
        return AssertMatches(expected, guarded, m, n, ldc, $"{path} t={threads} {m}x{n}x{k} bs={blockSize} zp={zeroPoints} bias={bias} act={activation} res={residual}");
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
        GemmQ4Rows.Compute(path, 0, m, a, k, Q4Panels.From(w), c, n, new GemmEpilogue { Bias = bias, Residual = c });
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
        Q4Panels w = Q4Panels.From(RandomQ4(random, n, k, 32, true));
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
}

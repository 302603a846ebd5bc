using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.Cpu.GemmTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>Every 4-bit packed-GEMM path against a float64 dequantisation of the MatMulNBits layout.</summary>
[TestFixture]
public class GemmQ4Tests
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
        GemmQ4.Compute(path, threads, m, a, lda, w, Window(guarded), ldc,
            new GemmEpilogue { Bias = biasArray, Activation = activation, Residual = residualArray });
        double[] wd = DequantizeDouble(w);
        double[] expected = Reference(m, n, k, a, lda, (p, j) => wd[((long)j * k) + p], biasArray, activation, residualArray, ldc);
        return AssertMatches(expected, guarded, m, n, ldc, $"{path} t={threads} {m}x{n}x{k} bs={blockSize} zp={zeroPoints} bias={bias} act={activation} res={residual}");
    }

    [TestCaseSource(nameof(PathCases))]
    public void PackedGemmAgreesWithTheOracleOverShapesAndBlockSizes(string pathName)
    {
        GemmKernelPath path = RequirePath(pathName);
        double worst = 0;
        int[] ms = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 33];
        (int N, int K)[] nk = [(1, 1), (3, 31), (7, 32), (13, 33), (33, 64), (40, 95), (17, 257), (65, 384), (31, 129)];
        foreach (int blockSize in new[] { 16, 32, 64, 128 })
        {
            foreach ((int n, int k) in nk)
            {
                foreach (int m in ms)
                {
                    bool zp = (m + n) % 2 == 0;

                    worst = Math.Max(worst, Check(path, 0, m, n, k, blockSize, zp, m + n + k + blockSize));
                    worst = Math.Max(worst, Check(path, 0, m, n, k, blockSize, !zp, m + n + k + blockSize + 1));
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
            worst = Math.Max(worst, Check(path, 0, 1, 23, s, 32, s % 2 == 0, s));
            worst = Math.Max(worst, Check(path, 0, 3, s, 70, 32, s % 2 == 1, s + 1));
            worst = Math.Max(worst, Check(path, 0, 11, s, 45, 16, true, s + 2));
        }

        foreach (int threads in new[] { 1, 2, 3 })
        {
            worst = Math.Max(worst, Check(path, threads, 1, 1536, 384, 32, false, threads));
            worst = Math.Max(worst, Check(path, threads, 5, 384, 1536, 32, true, threads));
            worst = Math.Max(worst, Check(path, threads, 130, 300, 520, 64, true, threads));
        }

        TestContext.Out.WriteLine($"worst NMSE {worst:E2}");
    }

    [TestCaseSource(nameof(PathCases))]
    public void FusedEpilogues(string pathName)
    {
        GemmKernelPath path = RequirePath(pathName);
        foreach (int m in new[] { 1, 3, 4, 6, 20 })
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

    [Test]
    public void RejectsInconsistentArguments()
    {
        Q4Matrix w = RandomQ4(new Random(1), 8, 64, 32, false);
        Assert.Throws<ArgumentException>(() => GemmQ4.Compute(2, new float[100], 64, w, new float[16], 8));
        Assert.Throws<ArgumentException>(() => GemmQ4.Compute(2, new float[128], 63, w, new float[16], 8));
        Assert.Throws<ArgumentException>(() => GemmQ4.Compute(2, new float[128], 64, w, new float[15], 8));
        Assert.Throws<ArgumentException>(() => GemmQ4.Compute(2, new float[128], 64, w, new float[16], 8, new GemmEpilogue { Bias = new float[7] }));
        Assert.Throws<ArgumentNullException>(() => GemmQ4.Compute(2, new float[128], 64, null!, new float[16], 8));
    }
}

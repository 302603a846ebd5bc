using NativeAlign.Backends.Cpu;
using static NativeAlign.Tests.Backends.OpTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>
/// Each generated attention tile called directly against a float64 softmax, with guarded output and scratch. The
/// backend's attention on each forced path (tiles and generic loop, padding, large scores, NaN) is the conformance
/// suite's (Conformance/).
/// </summary>
[TestFixture]
public sealed class AttentionTileTests
{
    private const double Bound = 5e-4;

    private static IEnumerable<TestCaseData> Tiles()
    {
        yield return Tile<Attention512x32>(GemmKernelPath.Vector512);
        yield return Tile<Attention512x64>(GemmKernelPath.Vector512);
        yield return Tile<Attention512x128>(GemmKernelPath.Vector512);
        yield return Tile<Attention256x32>(GemmKernelPath.Vector256);
        yield return Tile<AttentionScalar32>(GemmKernelPath.Scalar);
        yield return Tile<AttentionScalar64>(GemmKernelPath.Scalar);
        yield return Tile<AttentionScalar128>(GemmKernelPath.Scalar);
    }

    private static TestCaseData Tile<TTile>(GemmKernelPath path)
        where TTile : struct, IAttentionMicroKernel =>
        new TestCaseData(path.ToString(), (Action<string>)RowsAgainstFloat64<TTile>).SetArgDisplayNames(typeof(TTile).Name);

    /// <summary>Each generated tile on unaligned rows a wide stride apart, every length around the vector and block edges.</summary>
    [TestCaseSource(nameof(Tiles))]
    public void GeneratedTile_Rows_MatchFloat64Softmax(string pathName, Action<string> check)
    {
        GemmTestSupport.RequirePath(pathName);
        check(pathName);
    }

    private static unsafe void RowsAgainstFloat64<TTile>(string what)
        where TTile : struct, IAttentionMicroKernel
    {
        int d = TTile.HeadSize, block = TTile.KeyBlock, stride = (3 * d) + 5;
        var rng = new Random(d + block);
        foreach (int length in new[] { 1, 2, 15, 16, 17, 63, 64, 65, 128, 129, 257 })
        {
            // Rows start one float in, so no load is vector-aligned.
            var k = Random(rng, 1 + (length * stride), 2);
            var v = Random(rng, 1 + (length * stride));
            var q = Random(rng, 1 + d, 2);
            var scores = new float[block + Guard];
            scores.AsSpan(block).Fill(Sentinel);
            var output = new float[Guard + d + Guard];
            output.AsSpan().Fill(Sentinel);
            float scale = 1 / MathF.Sqrt(d);
            fixed (float* pq = q, pk = k, pv = v, ps = scores, po = output)
            {
                TTile.AttendRow(pq + 1, pk + 1, pv + 1, stride, length, scale, ps, po + Guard);
            }

            // float64 softmax(q·Kᵀ·scale)·V.
            var weights = new double[length];
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < length; j++)
            {
                double s = 0;
                for (int c = 0; c < d; c++)
                {
                    s += (double)q[1 + c] * k[1 + (j * stride) + c];
                }

                weights[j] = s * scale;
                max = Math.Max(max, weights[j]);
            }

            for (int j = 0; j < length; j++)
            {
                weights[j] = Math.Exp(weights[j] - max);
                sum += weights[j];
            }

            var expected = new float[d];
            for (int c = 0; c < d; c++)
            {
                double acc = 0;
                for (int j = 0; j < length; j++)
                {
                    acc += weights[j] * v[1 + (j * stride) + c];
                }

                expected[c] = (float)(acc / sum);
            }

            string at = $"{what} {typeof(TTile).Name} length {length}";
            AssertClose(output.AsSpan(Guard, d), expected, Bound, at);
            Assert.That(output.AsSpan(0, Guard).ToArray().Concat(output.AsSpan(Guard + d).ToArray()), Is.All.EqualTo(Sentinel), $"{at}: write outside the output row");
            Assert.That(scores.AsSpan(block).ToArray(), Is.All.EqualTo(Sentinel), $"{at}: write past the {block}-float scratch");
        }
    }
}

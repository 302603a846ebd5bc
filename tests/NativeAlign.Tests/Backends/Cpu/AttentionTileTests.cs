using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.Reference;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.OpTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>
/// CPU attention on each forced instruction-set path, through the generated register tiles (head sizes 32, 64, 128)
/// and the generic fallback (48), against the float64 reference backend; and each generated tile called directly
/// against a float64 softmax, with guarded output and scratch.
/// </summary>
[TestFixture]
public sealed class AttentionTileTests
{
    private const double Bound = 5e-4;

    private static readonly int[] SequenceLengths = [1, 63, 64, 65, 257];

    private readonly ReferenceBackend _reference = new();

    private static IEnumerable<TestCaseData> PathsAndHeads()
    {
        foreach (GemmKernelPath path in GemmTestSupport.Paths)
        {
            foreach (int d in new[] { 32, 64, 128, 48 })
            {
                yield return new TestCaseData(path.ToString(), d).SetArgDisplayNames(path.ToString(), "d" + d);
            }
        }
    }

    private static IEnumerable<TestCaseData> PathCases() =>
        GemmTestSupport.Paths.Select(p => new TestCaseData(p.ToString()).SetArgDisplayNames(p.ToString()));

    /// <summary>A padded batch (full, about half, one and no valid tokens) over the sequence-length sweep.</summary>
    [TestCaseSource(nameof(PathsAndHeads))]
    public void Attention_PaddedBatches_MatchFloat64Reference(string pathName, int d)
    {
        var cpu = new CpuBackend { AttentionPath = GemmTestSupport.RequirePath(pathName) };
        var rng = new Random(d * 31 + pathName.Length);
        foreach (int t in SequenceLengths)
        {
            int[] lengths = [t, (t + 1) / 2, 1, 0, Math.Max(1, t - 1)];
            Compare(cpu, new AttentionShape(lengths.Length, t, 2, d), lengths, rng, scale: 2, $"{pathName} d={d} t={t}");
        }
    }

    /// <summary>Scores of several hundred over several key blocks: the online softmax must rescale instead of overflowing exp.</summary>
    [TestCaseSource(nameof(PathsAndHeads))]
    public void Attention_LargeScores_StayFiniteAndMatch(string pathName, int d)
    {
        var cpu = new CpuBackend { AttentionPath = GemmTestSupport.RequirePath(pathName) };
        Compare(cpu, new AttentionShape(2, 200, 1, d), [200, 131], new Random(d), scale: 12, $"{pathName} d={d} large scores");
    }

    /// <summary>A NaN in a valid key reaches every output of its head; one in a padded key is masked out.</summary>
    [TestCaseSource(nameof(PathCases))]
    public void Attention_NaNInValidKey_Propagates_NaNInPaddedKey_IsMasked(string pathName)
    {
        var cpu = new CpuBackend { AttentionPath = GemmTestSupport.RequirePath(pathName) };
        foreach (int d in new[] { 32, 64, 128 })
        {
            int t = 70, heads = 2, width = heads * d;
            var shape = new AttentionShape(1, t, heads, d);
            var rng = new Random(d);
            var q = Random(rng, t * width);
            var v = Random(rng, t * width);
            foreach (bool padded in new[] { false, true })
            {
                var k = Random(rng, t * width);
                int len = 66, nanRow = padded ? 68 : 65; // key 65 is in the second key block
                k[(nanRow * width) + d + 3] = float.NaN; // head 1
                var output = new HostMatrix(t, width);
                cpu.Attention(Matrix(t, width, q), Matrix(t, width, k), Matrix(t, width, v), shape, [len], output);
                for (int i = 0; i < len; i++)
                {
                    var head0 = output.Row(i)[..d];
                    var head1 = output.Row(i)[d..];
                    Assert.That(head0.ToArray().All(float.IsFinite), $"{pathName} d={d}: head 0 row {i} has no NaN key");
                    Assert.That(padded ? head1.ToArray().All(float.IsFinite) : head1.ToArray().All(float.IsNaN), $"{pathName} d={d} padded={padded}: head 1 row {i}");
                }
            }
        }
    }

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

    private void Compare(CpuBackend cpu, AttentionShape shape, int[] lengths, Random rng, float scale, string what)
    {
        int rows = shape.Batch * shape.SequenceLength, width = shape.Heads * shape.HeadSize;
        var q = Random(rng, rows * width, scale);
        var k = Random(rng, rows * width, scale);
        var v = Random(rng, rows * width);
        var (got, storage) = Guarded(rows, width);
        var want = new HostMatrix(rows, width);
        got.Span.Fill(1e6f); // padded rows must be written (zeroed), not left as they were
        cpu.Attention(Matrix(rows, width, q), Matrix(rows, width, k), Matrix(rows, width, v), shape, lengths, got);
        _reference.Attention(Matrix(rows, width, q), Matrix(rows, width, k), Matrix(rows, width, v), shape, lengths, want);
        AssertClose(got.Span, want.Span, Bound, what);
        AssertGuardIntact(storage, rows * width, what);
    }
}

using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Backends.Reference;
using NativeAlign.Tensors;
using NativeAlign.Tests.Backends.OpenCl;

namespace NativeAlign.Tests.Backends;

/// <summary>
/// The top-k op on every backend against a float64 oracle written here: all scores, sorted by (score descending, index
/// ascending), NaN dropped. Lists are compared as ordered sets of indices (exact ties are built in, so the tie rule is
/// checked, not assumed) and scores to float32 rounding of a dot product.
/// </summary>
public sealed class TopKOpTests
{
    private static IComputeBackend Create(string name, out OpenClTestDevice? device)
    {
        device = name == "opencl" ? OpenClTestDevice.Open() : null;
        return name switch
        {
            "cpu" => new CpuBackend(),
            "reference" => new ReferenceBackend(),
            _ => OpenClBackend.Create(device!.Context),
        };
    }

    private static float[] RandomRows(Random rng, int rows, int dim)
    {
        var x = new float[rows * dim];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() - 0.5);
        }

        return x;
    }

    /// <summary>The oracle: every corpus row scored in float64, NaN dropped, sorted by (score desc, index asc), first k.</summary>
    private static (long Index, double Score)[] Oracle(float[] q, int query, float[] corpus, int rows, int dim, float[]? bias, float scale, int k)
    {
        var all = new List<(long Index, double Score)>();
        for (int c = 0; c < rows; c++)
        {
            double dot = 0;
            for (int d = 0; d < dim; d++)
            {
                dot += (double)q[(query * dim) + d] * corpus[(c * dim) + d];
            }

            double score = (scale * dot) - (bias is null ? 0 : bias[c]);
            if (!double.IsNaN(score))
            {
                all.Add((c, score));
            }
        }

        return [.. all.OrderByDescending(e => e.Score).ThenBy(e => e.Index).Take(k)];
    }

    [Test]
    public void StreamedChunks_GiveTheOracleLists_WithTiesAndNaN([Values("cpu", "reference", "opencl")] string backendName, [Values(1, 4, 16)] int k)
    {
        using var backend = Create(backendName, out var device);
        using var _ = device;
        var rng = new Random(11 + k);
        const int queries = 37, rows = 301, dim = 24;
        var q = RandomRows(rng, queries, dim);
        var corpus = RandomRows(rng, rows, dim);

        // Exact ties: rows 250.. repeat rows 10.., and query 3 equals row 40 (whose copy is row 280).
        for (int c = 250; c < rows; c++)
        {
            Array.Copy(corpus, (c - 240) * dim, corpus, c * dim, dim);
        }

        Array.Copy(corpus, 40 * dim, q, 3 * dim, dim);

        // A NaN row is never selected; an all-zero row scores exactly 0.
        corpus[77 * dim] = float.NaN;
        Array.Clear(corpus, 90 * dim, dim);
        var bias = new float[rows];
        for (int c = 0; c < rows; c++)
        {
            bias[c] = c % 3 == 0 ? 0.25f : 0f;
        }

        foreach (var (useBias, scale) in new[] { (false, 1f), (true, 2f) })
        {
            var indices = new long[queries * k];
            var scores = new float[queries * k];
            Array.Fill(indices, -1);
            Array.Fill(scores, float.NegativeInfinity);
            using var qm = backend.Borrow(q, queries, dim);

            // Uneven chunks, so ties straddle chunk borders.
            for (int c0 = 0, chunk = 64; c0 < rows; c0 += chunk, chunk = chunk == 64 ? 97 : 64)
            {
                int n = Math.Min(chunk, rows - c0);
                using var cm = backend.Borrow(corpus.AsMemory(c0 * dim, n * dim), n, dim);
                backend.TopK(qm, cm, c0, useBias ? bias.AsSpan(c0, n) : default, scale, indices, scores);
            }

            for (int i = 0; i < queries; i++)
            {
                var expected = Oracle(q, i, corpus, rows, dim, useBias ? bias : null, scale, k);
                Assert.That(indices.AsSpan(i * k, k).ToArray(), Is.EqualTo(expected.Select(e => e.Index).ToArray()), $"{backendName} query {i}, bias {useBias}");
                for (int r = 0; r < k; r++)
                {
                    Assert.That(scores[(i * k) + r], Is.EqualTo(expected[r].Score).Within(2e-6), $"{backendName} query {i} rank {r}");
                }
            }

            Assert.That(indices[3 * k], Is.EqualTo(40), "a query equal to a row finds it first (its duplicate, row 280, after it)");
        }

        Assert.That(backend.Counts.Calls(BackendOp.TopK), Is.EqualTo(8));
    }

    [Test]
    public void MoreSlotsThanRows_AreEmpty([Values("cpu", "reference", "opencl")] string backendName)
    {
        using var backend = Create(backendName, out var device);
        using var _ = device;
        var rng = new Random(3);
        var q = RandomRows(rng, 2, 8);
        var corpus = RandomRows(rng, 3, 8);
        var indices = new long[2 * 5];
        var scores = new float[2 * 5];
        Array.Fill(indices, -1);
        Array.Fill(scores, float.NegativeInfinity);
        using var qm = backend.Borrow(q, 2, 8);
        using var cm = backend.Borrow(corpus, 3, 8);
        backend.TopK(qm, cm, 0, default, 1f, indices, scores);
        for (int i = 0; i < 2; i++)
        {
            Assert.That(indices.AsSpan((i * 5) + 3, 2).ToArray(), Is.EqualTo(new long[] { -1, -1 }));
            Assert.That(scores.AsSpan((i * 5) + 3, 2).ToArray(), Is.All.EqualTo(float.NegativeInfinity));
            Assert.That(indices.AsSpan(i * 5, 3).ToArray(), Is.EquivalentTo(new long[] { 0, 1, 2 }));
        }
    }

    [Test]
    public void OpenCl_RefusesKBeyondItsKernel_AtBindTime()
    {
        using var device = OpenClTestDevice.Open();
        using var backend = OpenClBackend.Create(device.Context);
        var ex = Assert.Throws<BackendException>(() => backend.Require(new OpSpec(BackendOp.TopK, WeightType.F32, 0, 384) { K = 17 }));
        Assert.That(ex!.Message, Does.Contain("opencl").And.Contain("k 17"));
    }
}

using System.Runtime.InteropServices;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Alignment.Transport;
using NativeAlign.Tensors;
using NativeAlign.Alignment.Words;
using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Load: one loaded encoder shared by 8 threads gives, call for call, bit-for-bit the results of the same calls made
/// sequentially (10,000 calls on the tiny fixture model; fewer on the default model, with text and word alignment).
/// Numerics: no NaN or infinity from empty sentences, padding-heavy batches, identical or zero vectors, ε → 0.
/// </summary>
public sealed class EncoderLoadAndNumericsTests
{
    private const int Threads = 8;

    private static string TinyModel => Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Models", "Fixtures", "encoder-bert");

    private static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));

    /// <summary>Runs <paramref name="calls"/> calls on <see cref="Threads"/> threads at once; returns the indices whose result differs from the sequential one.</summary>
    private static List<string> RunConcurrently(int calls, Func<int, float[]> call, float[][] expected)
    {
        var mismatches = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int next = -1;
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int c = Interlocked.Increment(ref next); c < calls; c = Interlocked.Increment(ref next))
            {
                var result = call(c);
                if (!SameBits(result, expected[c % expected.Length]) && mismatches.Count < 10)
                {
                    mismatches.Enqueue($"call {c} (input {c % expected.Length})");
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return [.. mismatches];
    }

    [Test]
    public void EightThreadsTenThousandCallsMatchSequentialBitForBit()
    {
        using var encoder = SentenceEncoder.Load(TinyModel);
        var random = new Random(FuzzSupport.Seed);
        int vocab = encoder.Config.VocabularySize;
        int maxLength = Math.Min(encoder.Config.MaxSequenceLength, 40);

        // 64 distinct requests: single inputs and small batches of mixed lengths (so padding is in play).
        var requests = Enumerable.Range(0, 64).Select(r => Enumerable.Range(0, 1 + (r % 4 == 0 ? random.Next(1, 6) : 0))
            .Select(_ => Enumerable.Range(0, random.Next(1, maxLength)).Select(_ => random.Next(vocab)).ToArray()).ToArray()).ToArray();
        var expected = requests.Select(r => encoder.EmbedIds(r).Data).ToArray();
        Assert.That(expected.SelectMany(e => e).All(float.IsFinite), Is.True);

        int calls = Math.Max(10_000, FuzzSupport.Iterations(10_000));
        var mismatches = RunConcurrently(calls, c => encoder.EmbedIds(requests[c % requests.Length]).Data, expected);
        TestContext.Out.WriteLine($"LOAD tiny encoder: {calls} EmbedIds calls on {Threads} threads, {mismatches.Count} differing from the sequential result");
        Assert.That(mismatches, Is.Empty);
    }

    [Test]
    public void DefaultModelEmbeddingAndAligningOnEightThreadsMatchSequential()
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel(), new SentenceEncoderOptions { Normalize = true });
        string[] texts =
        [
            "The cat sits on the mat.", "Le chat est assis sur le tapis.", "", "A considerably longer sentence, with commas, numbers (42) and Ünïcödé.",
            "東京は日本の首都です。", "short", "Two sentences. In one line!", "   ",
        ];
        var expectedEmbeddings = texts.Select(t => encoder.Embed([t]).Data).ToArray();
        var tokensA = encoder.EncodeTokens(texts[0]);
        var tokensB = encoder.EncodeTokens(texts[1]);
        var options = new WordAlignerOptions { Method = WordAlignmentMethod.Ot };

        float[] AlignOnce()
        {
            var a = encoder.EncodeTokens(texts[0]);
            var b = encoder.EncodeTokens(texts[1]);
            int n = a.Tokens.Count, m = b.Tokens.Count, d = a.Dimension;
            var similarity = new float[n * m];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    similarity[i * m + j] = Cosine(a[i], b[j]);
                }
            }

            return [.. WordAligner.Align(similarity, n, m, options).SelectMany(l => new[] { l.Source, l.Target, l.Score })];
        }

        var expectedAlignment = AlignOnce();
        var expected = expectedEmbeddings.Append(expectedAlignment).ToArray();
        int calls = 400;
        var mismatches = RunConcurrently(calls, c => c % expected.Length == texts.Length ? AlignOnce() : encoder.Embed([texts[c % expected.Length]]).Data, expected);
        TestContext.Out.WriteLine($"LOAD default model: {calls} Embed/EncodeTokens+Align calls on {Threads} threads, {mismatches.Count} differing from the sequential result");
        Assert.That(mismatches, Is.Empty);
        Assert.That(tokensA.Tokens.Count, Is.GreaterThan(2));
        Assert.That(tokensB.Tokens.Count, Is.GreaterThan(2));
    }

    private static float Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += x[i] * y[i];
            nx += x[i] * x[i];
            ny += y[i] * y[i];
        }

        return nx == 0 || ny == 0 ? 0 : (float)(dot / Math.Sqrt(nx * ny));
    }

    [TestCase(null)]
    [TestCase(true)]
    public void EmptyAndBlankSentencesGiveFiniteEmbeddings(bool? normalize)
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel(), new SentenceEncoderOptions { Normalize = normalize });
        string[] texts = ["", " ", "\t\r", "\u200b\u200d\ufeff", "[PAD] [PAD] [PAD]", "\0", new string('.', 2000), "a"];
        var e = encoder.Embed(texts);
        Assert.That(e.Count, Is.EqualTo(texts.Length));
        Assert.That(e.Data.All(float.IsFinite), Is.True, "no NaN or infinity");
    }

    /// <summary>A one-token input batched with a 100-token one: the padding rows must not leak into it, nor make anything non-finite.</summary>
    [TestCase("mean")]
    [TestCase("cls")]
    [TestCase("max")]
    public void PaddingHeavyBatchesStayFiniteAndMatchUnbatched(string pooling)
    {
        using var encoder = SentenceEncoder.Load(TinyModel, pooling switch
        {
            "cls" => new SentenceEncoderOptions { Pooling = SentencePoolingMode.Cls },
            "max" => new SentenceEncoderOptions { Pooling = SentencePoolingMode.Max },
            _ => new SentenceEncoderOptions { Pooling = SentencePoolingMode.Mean },
        });
        int length = Math.Min(100, encoder.Config.MaxSequenceLength);
        int[] shortInput = [1];
        int[] longInput = [.. Enumerable.Range(0, length).Select(i => i % encoder.Config.VocabularySize)];
        var alone = encoder.EmbedIds([shortInput]).Data;
        var batched = encoder.EmbedIds([longInput, shortInput, shortInput]);
        Assert.That(batched.Data.All(float.IsFinite), Is.True);
        Assert.That(batched[1].ToArray(), Is.EqualTo(alone).Within(1e-4f), "padding must not change a short input's embedding");
    }

    [Test]
    public void EmptyTokenListIsATypedErrorOrFinite()
    {
        using var encoder = SentenceEncoder.Load(TinyModel);
        try
        {
            var e = encoder.EmbedIds([Array.Empty<int>(), [1, 2]]);
            Assert.That(e.Data.All(float.IsFinite), Is.True, "an input of no tokens must not pool to 0/0");
        }
        catch (NativeAlignException)
        {
            // A typed refusal is as good as a finite result.
        }
    }

    [Test]
    public void MiningIdenticalAndZeroVectorsGivesFiniteScores()
    {
        const int dim = 8;
        var rows = new float[6 * dim];
        for (int r = 0; r < 3; r++)
        {
            rows[r * dim] = 1; // three identical unit vectors
        }

        // rows 3..5 stay zero vectors
        var pairs = MarginMiner.Mine(rows, 6, rows, 6, dim, new MiningOptions { K = 2 });
        Assert.That(pairs.Select(p => p.Score).All(float.IsFinite), Is.True, "margins over identical and zero vectors");
        var csls = Csls.Retrieve(rows, 6, rows, 6, dim, k: 3, neighbours: 2);
        Assert.That(csls, Is.Not.Null);
    }

    [TestCase(1e-3f)]
    [TestCase(1e-6f)]
    [TestCase(1e-12f)]
    [TestCase(float.Epsilon)]
    public void SinkhornWithVanishingEpsilonIsFiniteOrRefused(float epsilon)
    {
        const int n = 5, m = 7;
        var random = new Random(FuzzSupport.Seed);
        var cost = Enumerable.Range(0, n * m).Select(_ => (float)random.NextDouble()).ToArray();
        var a = Enumerable.Repeat(1f / n, n).ToArray();
        var b = Enumerable.Repeat(1f / m, m).ToArray();
        var plan = new float[n * m];
        foreach (var kind in Enum.GetValues<TransportKind>())
        {
            try
            {
                SinkhornSolver.Solve(cost, n, m, a, b, plan, new SinkhornOptions { Kind = kind, Epsilon = epsilon, MaxIterations = 200, TransportedMass = kind == TransportKind.Partial ? 0.5f : null });
                Assert.That(plan.All(float.IsFinite), Is.True, $"{kind}, ε = {epsilon}: the plan holds NaN or infinity");
            }
            catch (NativeAlignException)
            {
                // Refusing a degenerate ε with a typed error is acceptable; a NaN plan is not.
            }
        }

        foreach (var method in new[] { WordAlignmentMethod.Ot, WordAlignmentMethod.Uot, WordAlignmentMethod.Pot })
        {
            var identical = Enumerable.Repeat(0.5f, n * m).ToArray();
            try
            {
                var links = WordAligner.Align(identical, n, m, new WordAlignerOptions { Method = method, Epsilon = epsilon });
                Assert.That(links.All(l => float.IsFinite(l.Score)), Is.True, $"{method}, ε = {epsilon}");
            }
            catch (NativeAlignException)
            {
            }
        }
    }
}

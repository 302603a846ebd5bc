using NativeAlign.Alignment.Sentences;
using NativeAlign.IO;

namespace NativeAlign.Tests.Alignment;

/// <summary>Streaming top-k, CSLS and margin mining against full-matrix numpy transcriptions (peers/margin.py), run live.</summary>
public sealed class SentenceMiningTests
{
    private static float[] RandomUnit(Random rng, int n, int dim, float[]? near = null)
    {
        var v = new float[n * dim];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1);
            if (near is not null && i < near.Length)
            {
                // Half of the targets are noisy copies of sources, so mining has true pairs to find.
                v[i] = (1.2f * near[i]) + (0.6f * v[i]);
            }
        }

        TopKSearch.Normalize(v, n, dim);
        return v;
    }

    [Test]
    public void TopKCslsAndEveryMarginStrategyMatchNumpy()
    {
        var rng = new Random(42);
        const int ns = 57, nt = 71, dim = 24;
        var x = RandomUnit(rng, ns, dim);
        var y = RandomUnit(rng, nt, dim, near: x.AsSpan(0, 30 * dim).ToArray());
        const float threshold = 0.0f;
        var json = PythonPeer.Json(w =>
        {
            w.WriteStartObject();
            PythonPeer.WriteMatrix(w, "x", x, ns, dim);
            PythonPeer.WriteMatrix(w, "y", y, nt, dim);
            w.WriteNumber("k", 4);
            w.WriteNumber("threshold", threshold);
            w.WriteNumber("csls_k", 10);
            w.WriteNumber("topk", 5);
            w.WriteEndObject();
        });
        using var doc = PythonPeer.Run("margin.py", json);
        var root = doc.RootElement;

        // Exact top-k, streamed in chunks of 7 rows so every merge path runs.
        var top = TopKSearch.Search(x, ns, y, nt, dim, 5, chunkRows: 7);
        var pIdx = PythonPeer.Flatten(root.GetProperty("topk").GetProperty("idx"));
        var pSc = PythonPeer.Flatten(root.GetProperty("topk").GetProperty("score"));
        for (int p = 0; p < pIdx.Length; p++)
        {
            Assert.That(top.Indices[p], Is.EqualTo((long)pIdx[p]), $"top-k index {p}");
            Assert.That(top.Scores[p], Is.EqualTo(pSc[p]).Within(1e-5), $"top-k score {p}");
        }

        var csls = Csls.Retrieve(x, ns, y, nt, dim, k: 10, neighbours: 1, chunkRows: 13);
        var cIdx = PythonPeer.Flatten(root.GetProperty("csls").GetProperty("idx"));
        var cSc = PythonPeer.Flatten(root.GetProperty("csls").GetProperty("score"));
        for (int q = 0; q < ns; q++)
        {
            Assert.That(csls.Indices[q], Is.EqualTo((long)cIdx[q]), $"CSLS best of {q}");
            Assert.That(csls.Scores[q], Is.EqualTo(cSc[q]).Within(1e-5), $"CSLS score of {q}");
        }

        // The same mining streamed from spill files, in query blocks of 5 rows against corpus chunks of 7 rows, so
        // every block boundary, a short last block and a short last chunk occur on both sides.
        string dir = Directory.CreateTempSubdirectory("na-spill-").FullName;
        try
        {
            using var xs = SpillFile.Create(Path.Combine(dir, "out.tsv"), "source", dim);
            using var ys = SpillFile.Create(Path.Combine(dir, "out.tsv"), "target", dim);
            Assert.That(Directory.GetFiles(dir), Is.Empty, "spill files are unlinked as soon as they are open");
            xs.Append(x.AsSpan(0, 20 * dim), 20);
            xs.Append(x.AsSpan(20 * dim), ns - 20);
            ys.Append(y, nt);
            var reported = new List<MiningProgress>();
            int total = 0;
            foreach (var margin in Enum.GetValues<MarginKind>())
            {
                foreach (var strategy in Enum.GetValues<CandidateStrategy>())
                {
                    var options = new MiningOptions { K = 4, Margin = margin, Strategy = strategy, Threshold = threshold, ChunkRows = 16 };
                    var ours = MarginMiner.Mine(x, ns, y, nt, dim, options);
                    var streamed = MarginMiner.Mine(xs, ys, options with { QueryBlockRows = 5, ChunkRows = 7 }, new SyncProgress(reported.Add));
                    var key = $"{margin.ToString().ToLowerInvariant()}/{strategy.ToString().ToLowerInvariant()}";
                    var peer = root.GetProperty("mine").GetProperty(key).EnumerateArray().Select(e => (I: e[0].GetInt64(), J: e[1].GetInt64(), S: e[2].GetDouble())).ToList();
                    Assert.That(ours.Select(p => (p.Source, p.Target)), Is.EqualTo(peer.Select(p => (p.I, p.J))), key);
                    Assert.That(streamed.Select(p => (p.Source, p.Target)), Is.EqualTo(peer.Select(p => (p.I, p.J))), key + " streamed");
                    for (int p = 0; p < peer.Count; p++)
                    {
                        Assert.That(ours[p].Score, Is.EqualTo(peer[p].S).Within(1e-5), $"{key} pair {p}");
                        Assert.That(streamed[p].Score, Is.EqualTo(peer[p].S).Within(1e-5), $"{key} pair {p} streamed");
                    }

                    total += peer.Count;
                }
            }

            Assert.That(total, Is.GreaterThan(100));
            Assert.That(reported.Where(r => !r.Backward).Max(r => r.Done), Is.EqualTo(ns), "forward search reaches every source row");
            Assert.That(reported.Where(r => r.Backward).Max(r => r.Done), Is.EqualTo(nt), "backward search reaches every target row");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class SyncProgress(Action<MiningProgress> report) : IProgress<MiningProgress>
    {
        public void Report(MiningProgress value) => report(value);
    }

    [Test]
    public void StreamingHandlesCorpusSmallerThanKAndEmptyInputs()
    {
        var q = new float[] { 1, 0, 0, 1 };
        var c = new float[] { 0.6f, 0.8f };
        var r = TopKSearch.Search(q, 2, c, 1, 2, k: 3);
        Assert.That(r.IndicesOf(0).ToArray(), Is.EqualTo(new long[] { 0, -1, -1 }));
        Assert.That(r.ScoresOf(1)[0], Is.EqualTo(0.8f).Within(1e-7));
        Assert.That(MarginMiner.Mine(q, 2, [], 0, 2, new MiningOptions()), Is.Empty);
        Assert.Throws<NativeAlignException>(() => TopKSearch.Search(q, 3, c, 1, 2, 1));
    }
}

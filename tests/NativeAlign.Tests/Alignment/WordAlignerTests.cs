using NativeAlign.Alignment.Words;

namespace NativeAlign.Tests.Alignment;

/// <summary>Every extraction method against a numpy/scipy/POT transcription of its paper (peers/word_methods.py), run live.</summary>
public sealed class WordAlignerTests
{
    private static (float[] Cos, float[] Dot, float[] NormA, float[] NormB) RandomPair(Random rng, int n, int m, int dim)
    {
        // Vectors share a hidden permutation plus noise so the matrices have real structure, as encoder outputs do.
        var a = new float[n * dim];
        var b = new float[m * dim];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        for (int j = 0; j < m; j++)
        {
            int src = rng.Next(n);
            for (int d = 0; d < dim; d++)
            {
                b[(j * dim) + d] = (0.7f * a[(src * dim) + d]) + (float)((rng.NextDouble() * 2) - 1);
            }
        }

        return (SubwordPooling.CosineSimilarity(a, n, b, m, dim), SubwordPooling.DotProducts(a, n, b, m, dim), SubwordPooling.Norms(a, n, dim), SubwordPooling.Norms(b, m, dim));
    }

    private static readonly string[] Methods = ["argmax", "itermax", "match", "softmax", "ot", "uot", "pot"];

    [Test]
    public void EveryMethodMatchesThePaperTranscription([Values(0f, 0.5f)] float distortion)
    {
        var rng = new Random(distortion == 0 ? 1 : 2);
        var cases = new List<(string Method, int N, int M, float[] Cos, float[] Dot, float[] Na, float[] Nb, WordAlignerOptions Options)>();
        for (int t = 0; t < 70; t++)
        {
            string method = Methods[t % Methods.Length];
            int n = rng.Next(1, 25), m = rng.Next(1, 25);
            var (cos, dot, na, nb) = RandomPair(rng, n, m, 16);
            var kind = Enum.Parse<WordAlignmentMethod>(method, ignoreCase: true);
            var options = new WordAlignerOptions
            {
                Method = kind,
                Distortion = distortion,
                Mass = t % 2 == 0 ? WordMassKind.Uniform : WordMassKind.Norm,
                TransportThreshold = 0.2f,
                Epsilon = 0.1f,
                MaxIterations = 200,
                Tolerance = 0,
                MarginalRelaxation = 0.5f,
                PartialMassFraction = 0.7f,
                SoftmaxThreshold = 0.05f,
            };
            cases.Add((method, n, m, cos, dot, na, nb, options));
        }

        var json = PythonPeer.Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("cases");
            foreach (var c in cases)
            {
                w.WriteStartObject();
                w.WriteString("method", c.Method);
                PythonPeer.WriteMatrix(w, "sim", c.Cos, c.N, c.M);
                PythonPeer.WriteMatrix(w, "dot", c.Dot, c.N, c.M);
                w.WriteNumber("distortion", c.Options.Distortion);
                w.WriteNumber("alpha", c.Options.IterMaxAlpha);
                w.WriteNumber("iters_max", c.Options.IterMaxIterations);
                w.WriteNumber("threshold", c.Method == "softmax" ? c.Options.SoftmaxThreshold : c.Options.TransportThreshold);
                w.WriteNumber("reg", c.Options.Epsilon);
                w.WriteNumber("reg_m", c.Options.MarginalRelaxation);
                w.WriteNumber("fraction", c.Options.PartialMassFraction);
                w.WriteNumber("sinkhorn_iters", c.Options.MaxIterations);
                if (c.Options.Mass == WordMassKind.Norm)
                {
                    PythonPeer.WriteVector(w, "mass_a", c.Na);
                    PythonPeer.WriteVector(w, "mass_b", c.Nb);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var doc = PythonPeer.Run("word_methods.py", json);
        var expected = doc.RootElement.GetProperty("links").EnumerateArray().ToList();
        int nonEmpty = 0;
        for (int t = 0; t < cases.Count; t++)
        {
            var c = cases[t];
            var input = c.Method == "softmax" ? c.Dot : c.Cos;
            var ours = WordAligner.Align(input, c.N, c.M, c.Options, c.Na, c.Nb).Select(l => $"{l.Source}-{l.Target}").ToList();
            var peer = expected[t].EnumerateArray().Select(p => $"{p[0].GetInt32()}-{p[1].GetInt32()}").ToList();
            Assert.That(ours, Is.EquivalentTo(peer), $"case {t}: {c.Method} on {c.N}×{c.M} ({c.Options.Mass})");
            nonEmpty += peer.Count > 0 ? 1 : 0;
        }

        Assert.That(nonEmpty, Is.GreaterThan(cases.Count / 2), "the cases must produce links to test anything");

        // The batch entry point (one SolveBatch call for all transport problems of a method) against the same peer.
        foreach (var group in Enumerable.Range(0, cases.Count).GroupBy(t => (cases[t].Method, cases[t].Options.Mass)))
        {
            var ids = group.ToList();
            var first = cases[ids[0]].Options;
            var batch = WordAligner.AlignBatch(
                [.. ids.Select(t => cases[t].Method == "softmax" ? cases[t].Dot : cases[t].Cos)],
                [.. ids.Select(t => (cases[t].N, cases[t].M))],
                first,
                [.. ids.Select(t => cases[t].Na)],
                [.. ids.Select(t => cases[t].Nb)]);
            for (int q = 0; q < ids.Count; q++)
            {
                var peer = expected[ids[q]].EnumerateArray().Select(p => $"{p[0].GetInt32()}-{p[1].GetInt32()}").ToList();
                Assert.That(batch[q].Select(l => $"{l.Source}-{l.Target}"), Is.EquivalentTo(peer), $"batch case {ids[q]}: {group.Key}");
            }
        }
    }

    [Test]
    public void EmptySentencesGiveNoLinksAndBadShapesAreTypedErrors()
    {
        foreach (WordAlignmentMethod method in Enum.GetValues<WordAlignmentMethod>())
        {
            Assert.That(WordAligner.Align([], 0, 5, new WordAlignerOptions { Method = method }), Is.Empty);
            Assert.That(WordAligner.Align([], 3, 0, new WordAlignerOptions { Method = method }), Is.Empty);
        }

        Assert.Throws<NativeAlignException>(() => WordAligner.Align([1f, 2f], 2, 2, new WordAlignerOptions()));
        Assert.Throws<NativeAlignException>(() => WordAligner.Align([float.NaN], 1, 1, new WordAlignerOptions()));
        Assert.Throws<NativeAlignException>(() => WordAligner.Align([0.5f], 1, 1, new WordAlignerOptions { Method = WordAlignmentMethod.Ot, Mass = WordMassKind.Norm }));
    }

    [Test]
    public void PoolingAveragesOrTakesFirstSubwordAndMapsOffsetsToWhitespaceWords()
    {
        // "un-believable ok": tokens [CLS] un - believ able ok [SEP]; whitespace words: "un-believable", "ok".
        var text = "un-believable ok";
        var tok = new NativeAlign.Tokenizers.TokenizedText
        {
            Ids = [0, 1, 2, 3, 4, 5, 6],
            Tokens = ["[CLS]", "un", "-", "##believ", "##able", "ok", "[SEP]"],
            TypeIds = new int[7],
            Offsets = [new(0, 0), new(0, 2), new(2, 3), new(3, 9), new(9, 13), new(14, 16), new(0, 0)],
            WordIds = [-1, 0, 1, 2, 2, 3, -1],
        };
        var map = SubwordPooling.TokenToWord(tok, text);
        Assert.That(map, Is.EqualTo(new[] { -1, 0, 0, 0, 0, 1, -1 }));
        var vectors = new float[] { 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 9, 9 };
        var avg = new float[4];
        SubwordPooling.Pool(vectors, 7, 2, map, 2, SubwordPoolingMode.Average, avg);
        Assert.That(avg, Is.EqualTo(new[] { 4f, 5f, 10f, 20f }));
        var first = new float[4];
        SubwordPooling.Pool(vectors, 7, 2, map, 2, SubwordPoolingMode.First, first);
        Assert.That(first, Is.EqualTo(new[] { 1f, 2f, 10f, 20f }));
    }
}

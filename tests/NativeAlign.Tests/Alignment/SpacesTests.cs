using NativeAlign.Alignment.Spaces;

namespace NativeAlign.Tests.Alignment;

/// <summary>SVD, Procrustes, whitening, outlier dimensions, CKA, ANC and BLI against numpy transcriptions (peers/spaces.py).</summary>
public sealed class SpacesTests
{
    private static float[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1))];

    [TestCase(9, 6)]
    [TestCase(6, 9)]
    [TestCase(20, 20)]
    public void EverySpaceOperationMatchesNumpy(int rows, int cols)
    {
        var rng = new Random(rows * 31 + cols);
        const int n = 80, d = 12;
        var a = Random(rng, rows * cols).Select(v => (double)v).ToArray();
        var x = Random(rng, n * d);

        // Y is a rotated, noisy X so Procrustes, CKA and ANC have structure to find.
        var rot = OrthogonalMap.Fit(Random(rng, n * d), Random(rng, n * d), n, d);
        var y = rot.Apply(x, n);
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += 0.1f * (float)((rng.NextDouble() * 2) - 1);
        }

        var outlier = Random(rng, n * d);
        for (int r = 0; r < n; r++)
        {
            outlier[(r * d) + 5] += 6f;
        }

        // BLI: 40 source and 50 target words; target t_i is a noisy image of s_i under `rot` for i < 40.
        int ns = 40, nt = 50;
        var sv = Random(rng, ns * d);
        var tv = Random(rng, nt * d);
        var img = rot.Apply(sv, ns);
        for (int i = 0; i < ns * d; i++)
        {
            tv[i] = img[i] + (0.9f * tv[i]);
        }

        var srcWords = Enumerable.Range(0, ns).Select(i => $"s{i}").ToList();
        var tgtWords = Enumerable.Range(0, nt).Select(i => $"t{i}").ToList();
        var dict = Enumerable.Range(0, ns).Select(i => ($"s{i}", $"t{i}")).Concat([("s3", "t45"), ("s7", "t1"), ("oov", "t2"), ("s9", "oov")]).ToList();
        var mappedSrc = OrthogonalMap.Fit(sv, tv.AsSpan(0, ns * d), ns, d).Apply(sv, ns);

        var json = PythonPeer.Json(w =>
        {
            w.WriteStartObject();
            PythonPeer.WriteMatrix(w, "a", a.Select(v => (float)v).ToArray(), rows, cols);
            PythonPeer.WriteMatrix(w, "x", x, n, d);
            PythonPeer.WriteMatrix(w, "y", y, n, d);
            PythonPeer.WriteMatrix(w, "outlier", outlier, n, d);
            w.WriteNumber("eps", 1e-8);
            w.WriteStartArray("src_words");
            srcWords.ForEach(w.WriteStringValue);
            w.WriteEndArray();
            w.WriteStartArray("tgt_words");
            tgtWords.ForEach(w.WriteStringValue);
            w.WriteEndArray();
            PythonPeer.WriteMatrix(w, "src_vecs", mappedSrc, ns, d);
            PythonPeer.WriteMatrix(w, "tgt_vecs", tv, nt, d);
            w.WriteStartArray("dict");
            foreach (var (s, t) in dict)
            {
                w.WriteStartArray();
                w.WriteStringValue(s);
                w.WriteStringValue(t);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var doc = PythonPeer.Run("spaces.py", json);
        var root = doc.RootElement;

        // SVD: singular values, and singular vectors up to the sign of each pair.
        var svd = Svd.Decompose(a.Select(v => (double)(float)v).ToArray(), rows, cols);
        int k = Math.Min(rows, cols);
        var s = PythonPeer.Flatten(root.GetProperty("svd").GetProperty("s"));
        var u = PythonPeer.Flatten(root.GetProperty("svd").GetProperty("u"));
        var v = PythonPeer.Flatten(root.GetProperty("svd").GetProperty("v"));
        for (int c = 0; c < k; c++)
        {
            Assert.That(svd.S[c], Is.EqualTo(s[c]).Within(1e-10), $"σ{c}");
            double sign = Math.Sign(svd.V[c]) == Math.Sign(v[c]) ? 1 : -1;
            for (int r = 0; r < rows; r++)
            {
                Assert.That(sign * svd.U[(r * k) + c], Is.EqualTo(u[(r * k) + c]).Within(1e-9), $"U[{r},{c}]");
            }

            for (int r = 0; r < cols; r++)
            {
                Assert.That(sign * svd.V[(r * k) + c], Is.EqualTo(v[(r * k) + c]).Within(1e-9), $"V[{r},{c}]");
            }
        }

        var w = OrthogonalMap.Fit(x, y, n, d).Weights;
        var pw = PythonPeer.Flatten(root.GetProperty("procrustes"));
        for (int i = 0; i < w.Length; i++)
        {
            Assert.That(w[i], Is.EqualTo(pw[i]).Within(1e-9), $"W[{i}]");
        }

        var (_, zca) = SpaceTransforms.FitZca(x, n, d, 1e-8);
        var pz = PythonPeer.Flatten(root.GetProperty("zca"));
        for (int i = 0; i < zca.Length; i++)
        {
            Assert.That(zca[i], Is.EqualTo(pz[i]).Within(1e-8 * Math.Max(1, Math.Abs(pz[i]))), $"ZCA[{i}]");
        }

        var outliers = SpaceTransforms.OutlierDimensions(outlier, n, d);
        Assert.That(outliers, Is.EqualTo(root.GetProperty("outliers").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        Assert.That(outliers, Does.Contain(5));
        Assert.That(SpaceTransforms.RemoveDimensions(outlier, n, d, outliers), Has.Length.EqualTo(n * (d - outliers.Length)));

        Assert.That(SpaceSimilarity.LinearCka(x, y, n, d, d), Is.EqualTo(root.GetProperty("cka").GetDouble()).Within(1e-9));
        Assert.That(SpaceSimilarity.AverageNeuronCorrelation(x, y, n, d), Is.EqualTo(root.GetProperty("anc").GetDouble()).Within(1e-9));

        foreach (var (retrieval, key) in new[] { (LexiconRetrieval.Cosine, "cosine"), (LexiconRetrieval.Csls, "csls") })
        {
            var ours = LexiconInduction.Evaluate(srcWords, mappedSrc, tgtWords, tv, d, dict, retrieval);
            var p = root.GetProperty("bli").GetProperty(key);
            Assert.That(ours.PrecisionAt1, Is.EqualTo(p[0].GetDouble()).Within(1e-12), $"{key} P@1");
            Assert.That(ours.PrecisionAt5, Is.EqualTo(p[1].GetDouble()).Within(1e-12), $"{key} P@5");
            Assert.That(ours.Evaluated, Is.EqualTo(p[2].GetInt32()));
            Assert.That(ours.Skipped, Is.EqualTo(1), "'oov' is the only source word without any usable pair");
        }
    }

    [Test]
    public void MeanCenteringZeroesTheMeanAndWhiteningGivesIdentityCovariance()
    {
        var rng = new Random(3);
        const int n = 200, d = 6;
        var x = Random(rng, n * d);
        for (int r = 0; r < n; r++)
        {
            x[(r * d) + 1] = (3 * x[r * d]) + 0.5f + (0.2f * x[(r * d) + 1]);
        }

        var c = (float[])x.Clone();
        SpaceTransforms.MeanCenter(c, n, d);
        Assert.That(SpaceTransforms.Mean(c, n, d), Is.All.EqualTo(0).Within(1e-6));
        var (mean, w) = SpaceTransforms.FitZca(x, n, d, 0);
        var white = SpaceTransforms.ApplyAffine(x, n, d, mean, w);
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double cov = 0;
                for (int r = 0; r < n; r++)
                {
                    cov += (double)white[(r * d) + i] * white[(r * d) + j];
                }

                Assert.That(cov / n, Is.EqualTo(i == j ? 1.0 : 0.0).Within(2e-3), $"cov[{i},{j}]");
            }
        }
    }
}

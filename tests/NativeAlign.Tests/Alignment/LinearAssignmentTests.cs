using NativeAlign.Alignment.Words;

namespace NativeAlign.Tests.Alignment;

/// <summary>The maximum-weight matching against scipy's <c>linear_sum_assignment(maximize=True)</c>, run live.</summary>
public sealed class LinearAssignmentTests
{
    [Test]
    public void MatchesScipyOnRandomRectangularMatricesWithAndWithoutTies()
    {
        var rng = new Random(123);
        var mats = new List<(int N, int M, float[] W, bool Ties)>();
        for (int t = 0; t < 60; t++)
        {
            int n = rng.Next(1, 40), m = rng.Next(1, 40);
            bool ties = t % 2 == 1;
            var w = new float[n * m];
            for (int i = 0; i < w.Length; i++)
            {
                // Tied matrices draw from 4 levels so many optimal matchings share the best total.
                w[i] = ties ? rng.Next(4) * 0.25f : (float)rng.NextDouble();
            }

            mats.Add((n, m, w, ties));
        }

        var json = PythonPeer.Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("matrices");
            foreach (var (n, m, mat, _) in mats)
            {
                w.WriteStartArray();
                for (int i = 0; i < n; i++)
                {
                    w.WriteStartArray();
                    for (int j = 0; j < m; j++)
                    {
                        w.WriteNumberValue(mat[(i * m) + j]);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var doc = PythonPeer.Run("scipy_assignment.py", json);
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
        for (int t = 0; t < mats.Count; t++)
        {
            var (n, m, w, ties) = mats[t];
            var ours = LinearAssignment.Maximize(w, n, m);
            var used = new HashSet<int>();
            double total = 0;
            int matched = 0;
            for (int i = 0; i < n; i++)
            {
                if (ours[i] < 0)
                {
                    continue;
                }

                Assert.That(ours[i], Is.InRange(0, m - 1));
                Assert.That(used.Add(ours[i]), Is.True, $"matrix {t}: column {ours[i]} used twice");
                total += w[(i * m) + ours[i]];
                matched++;
            }

            Assert.That(matched, Is.EqualTo(Math.Min(n, m)), $"matrix {t}: matching size");
            double scipyTotal = results[t].GetProperty("total").GetDouble();
            Assert.That(total, Is.EqualTo(scipyTotal).Within(1e-4), $"matrix {t} ({n}×{m}, ties {ties}): total weight");
            if (!ties)
            {
                var scipyCols = results[t].GetProperty("cols").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                Assert.That(ours, Is.EqualTo(scipyCols), $"matrix {t} ({n}×{m}): without ties the optimum is unique");
            }
        }
    }

    [Test]
    public void NonFiniteWeightsAndBadShapesAreTypedErrors()
    {
        Assert.Throws<NativeAlignException>(() => LinearAssignment.Maximize([1f, float.NaN], 1, 2));
        Assert.Throws<NativeAlignException>(() => LinearAssignment.Maximize([1f, 2f, 3f], 2, 2));
        Assert.That(LinearAssignment.Maximize([], 0, 3), Is.Empty);
        Assert.That(LinearAssignment.Maximize([], 2, 0), Is.EqualTo(new[] { -1, -1 }));
    }
}

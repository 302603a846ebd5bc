using NativeAlign.Kernels;
using NativeAlign.Kernels.Retrieval;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>Cosine top-k on the OpenCL device against a float64 brute force; neighbours compared as sets.</summary>
[TestFixture]
public sealed class RetrievalKernelTests
{
    [TestCase(5, 300, 24, 5)]
    [TestCase(3, 1000, 64, 16)]
    [TestCase(2, 3, 8, 5)]
    [TestCase(1, 40, 16, 20)]
    public void CosineTopK_Device_FindsTheFloat64NeighbourSets(int queryCount, int candidateCount, int dimension, int k)
    {
        var random = new Random(queryCount + candidateCount + dimension + k);
        var queries = Enumerable.Range(0, queryCount * dimension).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var candidates = Enumerable.Range(0, candidateCount * dimension).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();

        using var device = OpenClTestDevice.Open();
        using var dq = device.Context.Upload<float>(queries);
        using var dc = device.Context.Upload<float>(candidates);
        using var dIndices = device.Context.Allocate<int>(queryCount * k);
        using var dScores = device.Context.Allocate<float>(queryCount * k);
        device.Context.Run(
            new RetrievalKernels.CosineTopKKernel(dq, dc, dIndices, dScores, queryCount, candidateCount, dimension, k),
            new NDRange(queryCount * RetrievalKernels.GroupSize));
        var indices = dIndices.ToArray();
        var scores = dScores.ToArray();

        int found = Math.Min(Math.Min(k, RetrievalKernels.MaxK), candidateCount);
        for (int q = 0; q < queryCount; q++)
        {
            var cosines = Enumerable.Range(0, candidateCount).Select(c => Cosine(queries, q, candidates, c, dimension)).ToArray();
            var expected = Enumerable.Range(0, candidateCount).OrderByDescending(c => cosines[c]).Take(found).ToArray();
            var actual = indices.AsSpan(q * k, found).ToArray();
            Assert.That(actual, Is.EquivalentTo(expected), $"query {q}: neighbour set");
            for (int r = 0; r < found; r++)
            {
                Assert.That(scores[(q * k) + r], Is.EqualTo(cosines[actual[r]]).Within(1e-5), $"query {q} rank {r}: score");
                if (r > 0)
                {
                    Assert.That(scores[(q * k) + r], Is.LessThanOrEqualTo(scores[(q * k) + r - 1]), "best first");
                }
            }

            for (int r = found; r < k; r++)
            {
                Assert.That(indices[(q * k) + r], Is.EqualTo(-1), "empty slot");
                Assert.That(float.IsNegativeInfinity(scores[(q * k) + r]), "empty slot score");
            }
        }
    }

    private static double Cosine(float[] a, int i, float[] b, int j, int dimension)
    {
        double dot = 0, na = 0, nb = 0;
        for (int d = 0; d < dimension; d++)
        {
            double x = a[(i * dimension) + d], y = b[(j * dimension) + d];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }

        return dot / Math.Sqrt(na * nb);
    }
}

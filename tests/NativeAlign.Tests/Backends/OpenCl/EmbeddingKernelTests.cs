using NativeAlign.Kernels;
using NativeAlign.Kernels.Embeddings;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>Embedding lookup and mean pooling on the OpenCL device against float64 oracles (elementwise bound 1e-7).</summary>
[TestFixture]
public sealed class EmbeddingKernelTests
{
    [TestCase(1, 1, 1)]
    [TestCase(13, 70, 50)]
    public void EmbeddingGather_Device_CopiesTheRowsAndZeroesBadIds(int tokens, int hidden, int vocabulary)
    {
        var random = new Random(tokens + hidden);
        var table = Enumerable.Range(0, vocabulary * hidden).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var ids = Enumerable.Range(0, tokens).Select(t => t switch { 3 => -1, 5 => vocabulary, _ => random.Next(vocabulary) }).ToArray();
        var oracle = new double[tokens * hidden];
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < hidden; h++)
            {
                oracle[(t * hidden) + h] = ids[t] >= 0 && ids[t] < vocabulary ? table[(ids[t] * hidden) + h] : 0;
            }
        }

        using var device = OpenClTestDevice.Open();
        using var dIds = device.Context.Upload<int>(ids);
        using var dTable = device.Context.Upload<float>(table);
        using var dy = device.Context.Allocate<float>(tokens * hidden);
        device.Context.Run(new EmbeddingKernels.EmbeddingGatherKernel(dIds, dTable, dy, tokens, hidden, vocabulary), new NDRange(hidden, tokens));
        var y = dy.ToArray();
        Assert.That(y, Is.EqualTo(oracle.Select(v => (float)v).ToArray()), "a gather copies values exactly");
    }

    [TestCase(1, 1, 1)]
    [TestCase(4, 9, 70)]
    public void MeanPooling_Device_MatchesFloat64Oracle(int sentences, int sequence, int hidden)
    {
        var random = new Random(sentences + sequence + hidden);
        var x = Enumerable.Range(0, sentences * sequence * hidden).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();

        // Sentence s has s·2 + 1 real tokens (capped), the last sentence of the larger case none.
        var mask = new int[sentences * sequence];
        for (int s = 0; s < sentences; s++)
        {
            int length = sentences > 1 && s == sentences - 1 ? 0 : Math.Min(sequence, (s * 2) + 1);
            for (int t = 0; t < length; t++)
            {
                mask[(s * sequence) + t] = 1;
            }
        }

        var oracle = new double[sentences * hidden];
        for (int s = 0; s < sentences; s++)
        {
            int count = 0;
            for (int t = 0; t < sequence; t++)
            {
                if (mask[(s * sequence) + t] == 0)
                {
                    continue;
                }

                count++;
                for (int h = 0; h < hidden; h++)
                {
                    oracle[(s * hidden) + h] += x[(((s * sequence) + t) * hidden) + h];
                }
            }

            for (int h = 0; h < hidden; h++)
            {
                oracle[(s * hidden) + h] /= Math.Max(count, 1);
            }
        }

        using var device = OpenClTestDevice.Open();
        using var dx = device.Context.Upload<float>(x);
        using var dMask = device.Context.Upload<int>(mask);
        using var dPooled = device.Context.Allocate<float>(sentences * hidden);
        device.Context.Run(new EmbeddingKernels.MeanPoolingKernel(dx, dMask, dPooled, sentences, sequence, hidden), new NDRange(hidden, sentences));
        ErrorMetrics.AssertClose(dPooled.ToArray(), oracle, 1e-7, "device");
    }
}

using System.Runtime.InteropServices;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends;

/// <summary>Random inputs, the sentinel and the normalised-MSE comparison the kernel-level CPU tests share.</summary>
internal static class OpTestSupport
{
    public const float Sentinel = -7.77e30f;
    public const int Guard = 19;

    public static float[] Random(Random rng, int count, float scale = 1f)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
        }

        return x;
    }

    /// <summary>Σ(a − b)² / Σb², with NaN anywhere failing.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double bound, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            if (float.IsNaN(actual[i]) || float.IsNaN(expected[i]))
            {
                Assert.Fail($"{what}: NaN at {i} (actual {actual[i]}, expected {expected[i]})");
            }
        }

        double nmse = ErrorMetric.NormalisedMse(actual, expected);
        Assert.That(nmse, Is.LessThanOrEqualTo(bound), $"{what}: normalised MSE {nmse:E3} above {bound:E1}");
    }

    public static WeightTensor F32Weight(string name, int rows, int columns, float[] values) =>
        new(name, rows == 1 ? [columns] : [rows, columns], WeightType.F32, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A random 4-bit matrix in the packed layout (random nibbles, scales and, optionally, zero points).</summary>
    public static Q4Matrix RandomQ4(string name, int rows, int columns, int blockSize, Random rng, bool zeroPoints = true)
    {
        int blocks = (columns + blockSize - 1) / blockSize;
        var packed = new byte[rows * blocks * blockSize / 2];
        rng.NextBytes(packed);
        var scales = Random(rng, rows * blocks, 0.05f);
        byte[]? zeros = null;
        if (zeroPoints)
        {
            zeros = new byte[rows * ((blocks + 1) / 2)];
            rng.NextBytes(zeros);
        }

        return new Q4Matrix(rows, columns, blockSize, packed, scales, zeros, name);
    }
}

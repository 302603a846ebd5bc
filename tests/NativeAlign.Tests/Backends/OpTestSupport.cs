using System.Runtime.InteropServices;
using NativeAlign.Backends;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends;

/// <summary>Random inputs, guarded output buffers and the normalised-MSE comparison the op tests share.</summary>
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

    /// <summary>A matrix over an array with <see cref="Guard"/> sentinel floats after it, to catch writes past the end.</summary>
    public static (HostMatrix Matrix, float[] Storage) Guarded(int rows, int columns)
    {
        var storage = new float[(rows * columns) + Guard];
        storage.AsSpan(rows * columns).Fill(Sentinel);
        return (new HostMatrix(rows, columns, storage.AsMemory(0, rows * columns)), storage);
    }

    public static void AssertGuardIntact(float[] storage, int used, string what)
    {
        for (int i = used; i < storage.Length; i++)
        {
            Assert.That(storage[i], Is.EqualTo(Sentinel), $"{what}: write past the end of the output at +{i - used}");
        }
    }

    public static HostMatrix Matrix(int rows, int columns, float[] data) => new(rows, columns, data);

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

    public static WeightTensor Weight(string name, int rows, int columns, float[] values, WeightType type, Random rng)
    {
        switch (type)
        {
            case WeightType.F32:
                return F32Weight(name, rows, columns, values);
            case WeightType.F16:
                var halves = values.Select(v => (Half)v).ToArray();
                return new WeightTensor(name, [rows, columns], type, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
            case WeightType.BF16:
                var raw = values.Select(v => (ushort)(BitConverter.SingleToInt32Bits(v) >>> 16)).ToArray();
                return new WeightTensor(name, [rows, columns], type, MemoryMarshal.AsBytes(raw.AsSpan()).ToArray());
            case WeightType.Q4:
                return new WeightTensor(name, RandomQ4(name, rows, columns, 32, rng));
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

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

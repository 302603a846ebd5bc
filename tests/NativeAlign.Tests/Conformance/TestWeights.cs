using System.Runtime.InteropServices;
using NativeAlign.Tensors;
using NativeAlign.Tests.Backends.Cpu;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// Weights for the cases: stored in the requested type, and the stored values read back to float64 here, from the
/// formats' definitions (IEEE half, the top 16 bits of a float, <see cref="GemmTestSupport.DequantizeDouble"/> for
/// 4-bit), not through <see cref="WeightTensor.ToFloat32"/>.
/// </summary>
internal static class TestWeights
{
    public static float[] Uniform(Random rng, int count, float scale = 1f, float offset = 0f)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = offset + (float)(((rng.NextDouble() * 2) - 1) * scale);
        }

        return x;
    }

    /// <summary>A [rows, columns] weight ([columns] when rows is 1) of <paramref name="type"/> and its stored values in float64.</summary>
    public static (WeightTensor Tensor, double[] Values) Make(string name, int rows, int columns, WeightType type, Random rng, float scale = 1f, int blockSize = 32, bool zeroPoints = true)
    {
        int[] shape = rows == 1 && type != WeightType.Q4 ? [columns] : [rows, columns];
        var values = Uniform(rng, rows * columns, scale);
        switch (type)
        {
            case WeightType.F32:
                return (new WeightTensor(name, shape, type, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()), [.. values.Select(v => (double)v)]);
            case WeightType.F16:
                var halves = values.Select(v => BitConverter.HalfToUInt16Bits((Half)v)).ToArray();
                return (new WeightTensor(name, shape, type, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray()), [.. halves.Select(h => (double)BitConverter.UInt16BitsToHalf(h))]);
            case WeightType.BF16:
                var raw = values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
                return (new WeightTensor(name, shape, type, MemoryMarshal.AsBytes(raw.AsSpan()).ToArray()), [.. raw.Select(r => (double)BitConverter.UInt32BitsToSingle((uint)r << 16))]);
            case WeightType.Q4:
                var q4 = GemmTestSupport.RandomQ4(rng, rows, columns, blockSize, zeroPoints);
                return (new WeightTensor(name, q4), GemmTestSupport.DequantizeDouble(q4));
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }
}

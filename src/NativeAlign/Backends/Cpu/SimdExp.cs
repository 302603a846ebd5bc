using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The one exp of the CPU code: attention softmax, Sinkhorn's Gibbs kernels and the alignment extractors all use it.
/// It flushes results below FLT_MIN to zero: .NET has no FTZ/DAZ switch, and subnormal operands make the FMAs that
/// consume them ~100× slower, so a softmax or a transport plan full of tiny weights would otherwise crawl.
/// </summary>
internal static class SimdExp
{
    /// <summary>ln(FLT_MIN): below it exp(x) is subnormal, and subnormal operands make FMAs ~100× slower.</summary>
    public const float LnFloatMin = -87.33654f;

    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float ExpMax = 88.0f;

    /// <summary>exp(x), or 0 when x is below <paramref name="floor"/> (never a subnormal when floor ≥ ln(FLT_MIN)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x, float floor = LnFloatMin) => x < floor ? 0f : MathF.Exp(MathF.Min(x, ExpMax));

    /// <summary>exp of each lane, 0 where the lane is below <paramref name="floor"/>; a degree-6 polynomial after range reduction (≤ 2 ulp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x, Vector512<float> floor)
    {
        var below = Vector512.LessThan(x, floor);
        var xc = Vector512.Min(Vector512.Max(x, Vector512.Create(LnFloatMin)), Vector512.Create(ExpMax));
        var n = Vector512.Floor(Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.Create(1f / 720f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        var result = p * scale.AsSingle();
        return Vector512.ConditionalSelect(below, Vector512<float>.Zero, result);
    }

    /// <summary>exp of each lane, 0 where the lane is below <paramref name="floor"/> (the 256-bit form of the 512-bit overload).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x, Vector256<float> floor)
    {
        var below = Vector256.LessThan(x, floor);
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(LnFloatMin)), Vector256.Create(ExpMax));
        var n = Vector256.Floor(Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.Create(1f / 720f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        var result = p * scale.AsSingle();
        return Vector256.ConditionalSelect(below, Vector256<float>.Zero, result);
    }
}

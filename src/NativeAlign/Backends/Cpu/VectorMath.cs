using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// Small vector kernels shared by the transport solvers and the alignment extractors: axpy, max and shifted exp-sums
/// (over <see cref="SimdExp"/>). Each has a Vector512, a Vector256 and a scalar path.
/// </summary>
internal static class VectorMath
{
    /// <summary>dst[j] = exp(scale·(add[j] − src[j]) + bias) with the floor applied; builds one row of a Gibbs kernel.</summary>
    public static void ExpAffine(ReadOnlySpan<float> src, ReadOnlySpan<float> add, float scale, float bias, Span<float> dst, float floor)
    {
        int n = dst.Length;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(scale);
            var vb = Vector512.Create(bias);
            var vf = Vector512.Create(floor);
            for (; j <= n - 16; j += 16)
            {
                var x = Vector512.FusedMultiplyAdd(Vector512.Create(add.Slice(j, 16)) - Vector512.Create(src.Slice(j, 16)), vs, vb);
                SimdExp.Exp(x, vf).CopyTo(dst.Slice(j, 16));
            }
        }

        if (Vector512.IsHardwareAccelerated && j < n && n >= 16)
        {
            // One overlapping last vector instead of a scalar tail: exp is pure, so recomputing a few lanes is harmless
            // and much cheaper than up to 15 scalar exps.
            int t = n - 16;
            var x = Vector512.FusedMultiplyAdd(Vector512.Create(add.Slice(t, 16)) - Vector512.Create(src.Slice(t, 16)), Vector512.Create(scale), Vector512.Create(bias));
            SimdExp.Exp(x, Vector512.Create(floor)).CopyTo(dst.Slice(t, 16));
            return;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(scale);
            var vb = Vector256.Create(bias);
            var vf = Vector256.Create(floor);
            for (; j <= n - 8; j += 8)
            {
                var x = Vector256.FusedMultiplyAdd(Vector256.Create(add.Slice(j, 8)) - Vector256.Create(src.Slice(j, 8)), vs, vb);
                SimdExp.Exp(x, vf).CopyTo(dst.Slice(j, 8));
            }

            if (j < n && n >= 8)
            {
                int t = n - 8;
                var x = Vector256.FusedMultiplyAdd(Vector256.Create(add.Slice(t, 8)) - Vector256.Create(src.Slice(t, 8)), vs, vb);
                SimdExp.Exp(x, vf).CopyTo(dst.Slice(t, 8));
                return;
            }
        }

        for (; j < n; j++)
        {
            dst[j] = SimdExp.Exp(MathF.FusedMultiplyAdd(add[j] - src[j], scale, bias), floor);
        }
    }

    /// <summary>acc += s · x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(Span<float> acc, ReadOnlySpan<float> x, float s)
    {
        int n = acc.Length;
        int j = 0;
        ref float a = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(acc);
        ref float b = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; j <= n - 16; j += 16)
            {
                var r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref b, (nuint)j), vs, Vector512.LoadUnsafe(ref a, (nuint)j));
                r.StoreUnsafe(ref a, (nuint)j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; j <= n - 8; j += 8)
            {
                var r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref b, (nuint)j), vs, Vector256.LoadUnsafe(ref a, (nuint)j));
                r.StoreUnsafe(ref a, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref a, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref b, j), s, Unsafe.Add(ref a, j));
        }
    }

    /// <summary>max over j of (add[j] − scale·c[j]); −∞ for an empty span.</summary>
    public static float MaxAffine(ReadOnlySpan<float> c, ReadOnlySpan<float> add, float scale)
    {
        int n = c.Length;
        int j = 0;
        float m = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var vm = Vector256.Create(float.NegativeInfinity);
            var vs = Vector256.Create(-scale);
            for (; j <= n - 8; j += 8)
            {
                vm = Vector256.Max(vm, Vector256.FusedMultiplyAdd(Vector256.Create(c.Slice(j, 8)), vs, Vector256.Create(add.Slice(j, 8))));
            }

            if (j < n)
            {
                // max is idempotent, so an overlapping last vector needs no mask.
                vm = Vector256.Max(vm, Vector256.FusedMultiplyAdd(Vector256.Create(c.Slice(n - 8, 8)), vs, Vector256.Create(add.Slice(n - 8, 8))));
                j = n;
            }

            for (int l = 0; l < 8; l++)
            {
                m = MathF.Max(m, vm[l]);
            }
        }

        for (; j < n; j++)
        {
            m = MathF.Max(m, MathF.FusedMultiplyAdd(c[j], -scale, add[j]));
        }

        return m;
    }

    /// <summary>Σ_j exp(add[j] − scale·c[j] − shift), exp floored at ln(FLT_MIN).</summary>
    public static float SumExpAffine(ReadOnlySpan<float> c, ReadOnlySpan<float> add, float scale, float shift)
    {
        int n = c.Length;
        int j = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            var vs = Vector512.Create(-scale);
            var vsh = Vector512.Create(shift);
            var vf = Vector512.Create(SimdExp.LnFloatMin);
            for (; j <= n - 16; j += 16)
            {
                var x = Vector512.FusedMultiplyAdd(Vector512.Create(c.Slice(j, 16)), vs, Vector512.Create(add.Slice(j, 16))) - vsh;
                acc += SimdExp.Exp(x, vf);
            }

            if (j < n)
            {
                // Overlapping last vector with the lanes already summed masked out.
                int t = n - 16;
                var x = Vector512.FusedMultiplyAdd(Vector512.Create(c.Slice(t, 16)), vs, Vector512.Create(add.Slice(t, 16))) - vsh;
                var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                var fresh = Vector512.GreaterThanOrEqual(lane, Vector512.Create(j - t)).AsSingle();
                acc += SimdExp.Exp(x, vf) & fresh;
                j = n;
            }

            sum += Vector512.Sum(acc);
        }

        if (Vector256.IsHardwareAccelerated && n - j >= 8)
        {
            var acc = Vector256<float>.Zero;
            var vs = Vector256.Create(-scale);
            var vsh = Vector256.Create(shift);
            var vf = Vector256.Create(SimdExp.LnFloatMin);
            for (; j <= n - 8; j += 8)
            {
                var x = Vector256.FusedMultiplyAdd(Vector256.Create(c.Slice(j, 8)), vs, Vector256.Create(add.Slice(j, 8))) - vsh;
                acc += SimdExp.Exp(x, vf);
            }

            sum += Vector256.Sum(acc);
        }

        for (; j < n; j++)
        {
            sum += SimdExp.Exp(MathF.FusedMultiplyAdd(c[j], -scale, add[j]) - shift);
        }

        return sum;
    }

    /// <summary>log Σ_j exp(add[j] − scale·c[j]), stable (max-shifted); −∞ when every term is −∞.</summary>
    public static float LogSumExpAffine(ReadOnlySpan<float> c, ReadOnlySpan<float> add, float scale)
    {
        float m = MaxAffine(c, add, scale);
        if (float.IsNegativeInfinity(m))
        {
            return m;
        }

        return m + MathF.Log(SumExpAffine(c, add, scale, m));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The row-level float32 kernels of the CPU backend: Vector512 where the hardware accelerates it, else Vector256,
/// with scalar tails. Accuracy targets: GELU within 1e-6 of exact, everything else a few float ulps.
/// </summary>
internal static class CpuKernels
{
    private const float InvSqrt2 = 0.70710678118654752f;

    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc0 = Vector512<float>.Zero;
            var acc1 = Vector512<float>.Zero;
            for (; i <= n - 32; i += 32)
            {
                acc0 = Fma512(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), acc0);
                acc1 = Fma512(Vector512.LoadUnsafe(ref px, (nuint)(i + 16)), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), acc1);
            }

            for (; i <= n - 16; i += 16)
            {
                acc0 = Fma512(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), acc0);
            }

            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                acc0 = Fma256(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i), acc0);
                acc1 = Fma256(Vector256.LoadUnsafe(ref px, (nuint)(i + 8)), Vector256.LoadUnsafe(ref py, (nuint)(i + 8)), acc1);
            }

            for (; i <= n - 8; i += 8)
            {
                acc0 = Fma256(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i), acc0);
            }

            sum = Vector256.Sum(acc0 + acc1);
        }

        for (; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>y += alpha·x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            for (; i <= n - 16; i += 16)
            {
                Fma512(va, Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            for (; i <= n - 8; i += 8)
            {
                Fma256(va, Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>x *= alpha.</summary>
    public static void Scale(Span<float> x, float alpha)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            for (; i <= n - 8; i += 8)
            {
                (Vector256.LoadUnsafe(ref px, (nuint)i) * va).StoreUnsafe(ref px, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            x[i] *= alpha;
        }
    }

    /// <summary>y = a + b (y may alias either).</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int n = a.Length, i = 0;
        ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
        ref float pb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                (Vector512.LoadUnsafe(ref pa, (nuint)i) + Vector512.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                (Vector256.LoadUnsafe(ref pa, (nuint)i) + Vector256.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = a[i] + b[i];
        }
    }

    public static float Sum(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
            {
                acc += Vector256.LoadUnsafe(ref px, (nuint)i);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += x[i];
        }

        return sum;
    }

    public static float Max(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256.Create(float.NegativeInfinity);
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref px, (nuint)i);

                // Max that lets a NaN through, so a NaN input is never silently dropped.
                acc = Vector256.ConditionalSelect(Vector256.Equals(v, v), Vector256.Max(acc, v), v);
            }

            for (int j = 0; j < 8; j++)
            {
                max = MaxPropagateNaN(max, acc[j]);
            }
        }

        for (; i < n; i++)
        {
            max = MaxPropagateNaN(max, x[i]);
        }

        return max;
    }

    private static float MaxPropagateNaN(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : Math.Max(a, b);

    /// <summary>y = exp(x − shift) elementwise (flushed to 0 below FLT_MIN, <see cref="SimdExp"/>); returns the sum of y.</summary>
    public static float ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var vs = Vector256.Create(shift);
            var floor = Vector256.Create(SimdExp.LnFloatMin);
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var e = SimdExp.Exp(Vector256.LoadUnsafe(ref px, (nuint)i) - vs, floor);
                e.StoreUnsafe(ref py, (nuint)i);
                acc += e;
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            y[i] = SimdExp.Exp(x[i] - shift);
            sum += y[i];
        }

        return sum;
    }

    /// <summary>Layer norm of one row: y = (x − mean)/√(var + eps)·g + b; y may alias x.</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, float epsilon, Span<float> y)
    {
        int n = x.Length;
        float mean = Sum(x) / n;

        // Two passes (mean, then squared deviations) rather than E[x²] − mean²: no cancellation for large offsets.
        float variance = 0;
        int i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var vm = Vector256.Create(mean);
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var d = Vector256.LoadUnsafe(ref px, (nuint)i) - vm;
                acc = Fma256(d, d, acc);
            }

            variance = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            float d = x[i] - mean;
            variance += d * d;
        }

        float inv = 1 / MathF.Sqrt((variance / n) + epsilon);
        i = 0;
        ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gain);
        ref float pb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bias);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
        {
            var vm = Vector256.Create(mean);
            var vi = Vector256.Create(inv);
            for (; i <= n - 8; i += 8)
            {
                var v = (Vector256.LoadUnsafe(ref px, (nuint)i) - vm) * vi;
                Fma256(v, Vector256.LoadUnsafe(ref pg, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = ((x[i] - mean) * inv * gain[i]) + bias[i];
        }
    }

    /// <summary>Applies an activation elementwise; y may alias x.</summary>
    public static void Activate(ReadOnlySpan<float> x, ActivationKind kind, Span<float> y)
    {
        switch (kind)
        {
            case ActivationKind.None:
                if (!Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y)))
                {
                    x.CopyTo(y);
                }

                return;
            case ActivationKind.Gelu:
                Gelu(x, y);
                return;
            case ActivationKind.GeluTanh:
                GeluTanh(x, y);
                return;
            case ActivationKind.Relu:
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = x[i] > 0 ? x[i] : x[i] == 0 || x[i] < 0 ? 0 : x[i];
                }

                return;
            case ActivationKind.Tanh:
                Tanh(x, y);
                return;
            case ActivationKind.Sigmoid:
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = 1 / (1 + MathF.Exp(-x[i]));
                }

                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>
    /// Exact GELU x·Φ(x) through erfc(|x|/√2) ≈ t·exp(−z² + P(t)), t = 1/(1 + z/2) (a Chebyshev fit with relative
    /// error below 1.2e-7 for every z): for x ≤ 0, GELU = ½x·erfc; for x &gt; 0, GELU = x − ½x·erfc. Both branches keep
    /// the error relative to the small term, so the result is within 1e-6 of exact everywhere.
    /// </summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref px, (nuint)i);
                var z = Vector256.Abs(v) * Vector256.Create(InvSqrt2);
                var t = Vector256<float>.One / (Vector256<float>.One + (Vector256.Create(0.5f) * z));
                var p = Vector256.Create(0.17087277f);
                p = Fma256(p, t, Vector256.Create(-0.82215223f));
                p = Fma256(p, t, Vector256.Create(1.48851587f));
                p = Fma256(p, t, Vector256.Create(-1.13520398f));
                p = Fma256(p, t, Vector256.Create(0.27886807f));
                p = Fma256(p, t, Vector256.Create(-0.18628806f));
                p = Fma256(p, t, Vector256.Create(0.09678418f));
                p = Fma256(p, t, Vector256.Create(0.37409196f));
                p = Fma256(p, t, Vector256.Create(1.00002368f));
                p = Fma256(p, t, Vector256.Create(-1.26551223f));
                var erfc = t * Vector256.Exp(p - (z * z));
                var half = Vector256.Create(0.5f) * v * erfc;
                var r = Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v - half, half);
                r.StoreUnsafe(ref py, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = GeluScalar(x[i]);
        }
    }

    public static float GeluScalar(float v)
    {
        float z = MathF.Abs(v) * InvSqrt2;
        float t = 1 / (1 + (0.5f * z));
        float p = -1.26551223f + (t * (1.00002368f + (t * (0.37409196f + (t * (0.09678418f + (t * (-0.18628806f + (t * (0.27886807f + (t * (-1.13520398f + (t * (1.48851587f + (t * (-0.82215223f + (t * 0.17087277f)))))))))))))))));
        float half = 0.5f * v * t * MathF.Exp(p - (z * z));
        return v > 0 ? v - half : half;
    }

    /// <summary>½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y)
    {
        const float c = 0.7978845608028654f;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = 0.5f * v * (1 + MathF.Tanh(c * (v + (0.044715f * v * v * v))));
        }
    }

    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = MathF.Tanh(x[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma256(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma512(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : (a * b) + c;
}

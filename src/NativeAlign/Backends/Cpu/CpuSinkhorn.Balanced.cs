using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

internal static partial class CpuSinkhorn
{
    // The balanced solver keeps K (n × pad(m)) and Kᵀ (m × pad(n)) with zero padding, so both matrix–vector products
    // are column-blocked broadcast-FMA loops over whole Vector512 blocks: for a 30×30 problem one product is 60 FMAs
    // with no bounds checks or tails, which is what makes thousands of small problems per second possible.
    private static SinkhornResult Balanced(
        ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions o, float[] work, bool parallel)
    {
        float eps = o.Epsilon, invEps = 1f / eps;
        int np = Pad(n), mp = Pad(m);
        int off = 0;
        Span<float> Take(int len)
        {
            var s = work.AsSpan(off, len);
            off += len;
            return s;
        }

        var costT = Take(n * m);
        var k = Take(n * mp);
        var kT = Take(m * np);
        var f = Take(n);
        var g = Take(m);
        var fs = Take(n);
        var gs = Take(m);
        var u = Take(np);
        var v = Take(mp);
        var accN = Take(np);
        var accM = Take(mp);
        var aP = Take(np);
        var bP = Take(mp);
        u.Clear();
        v.Clear();
        aP.Clear();
        bP.Clear();
        a.CopyTo(aP);
        b.CopyTo(bP);
        Transpose(cost, n, m, costT);

        // POT starts from u = 1/n; in potential form f = ε·ln(1/n). The first half-step is exact in the log domain: it
        // fixes g so that no column of the kernel is empty however large C/ε is.
        f.Fill(eps * MathF.Log(1f / n));
        LogStepG(costT, n, m, b, f, g, fs, invEps, eps);
        RebuildPadded(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
        int it = 0;
        bool converged = false;
        bool skipV = true;
        for (; it < o.MaxIterations; it++)
        {
            if (!skipV)
            {
                // v = b / (Kᵀu)
                MatTVecPadded(k, n, mp, u, accM, parallel);
                if (!RescalePadded(bP, accM, v, m))
                {
                    Absorb(f, u[..n], eps);
                    Absorb(g, v[..m], eps);
                    LogStepG(costT, n, m, b, f, g, fs, invEps, eps);
                    RebuildPadded(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
                }
            }

            skipV = false;

            // u = a / (K v)
            MatTVecPadded(kT, m, np, v, accN, parallel);
            if (!RescalePadded(aP, accN, u, n))
            {
                Absorb(f, u[..n], eps);
                Absorb(g, v[..m], eps);
                LogStepF(cost, n, m, a, f, g, gs, invEps, eps);
                RebuildPadded(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
            }

            if (it % 10 == 0)
            {
                // POT's check: ‖v ∘ (Kᵀu) − b‖₂.
                MatTVecPadded(k, n, mp, u, accM, parallel);
                double err = 0;
                for (int j = 0; j < m; j++)
                {
                    double d = ((double)v[j] * accM[j]) - b[j];
                    err += d * d;
                }

                if (Math.Sqrt(err) < o.Tolerance)
                {
                    it++;
                    converged = true;
                    break;
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            var row = plan.Slice(i * m, m);
            var kr = k.Slice(i * mp, m);
            float ui = u[i];
            for (int j = 0; j < m; j++)
            {
                row[j] = ui * kr[j] * v[j];
            }
        }

        return new SinkhornResult(it, converged);
    }

    /// <summary>scale = target / acc over padded vectors (zero-mass and padding lanes give 0); false when a live scaling leaves [e^-20, e^20].</summary>
    private static bool RescalePadded(Span<float> target, Span<float> acc, Span<float> scale, int live)
    {
        ref float t = ref MemoryMarshal.GetReference(target);
        ref float c = ref MemoryMarshal.GetReference(acc);
        ref float s = ref MemoryMarshal.GetReference(scale);
        int len = scale.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var bad = Vector512<float>.Zero;
            var hi = Vector512.Create(ScaleMax);
            var lo = Vector512.Create(ScaleMin);
            for (int i = 0; i < len; i += 16)
            {
                var tv = Vector512.LoadUnsafe(ref t, (nuint)i);
                var q = tv / Vector512.LoadUnsafe(ref c, (nuint)i);
                var zero = Vector512.Equals(tv, Vector512<float>.Zero);
                q = Vector512.ConditionalSelect(zero, Vector512<float>.Zero, q);
                q.StoreUnsafe(ref s, (nuint)i);

                // NaN and ±∞ fail both comparisons, so they count as out of range too.
                var ok = Vector512.BitwiseAnd(Vector512.LessThanOrEqual(q, hi), Vector512.GreaterThanOrEqual(q, lo));
                bad |= Vector512.AndNot(~zero, ok);
            }

            return bad == Vector512<float>.Zero;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var bad = Vector256<float>.Zero;
            var hi = Vector256.Create(ScaleMax);
            var lo = Vector256.Create(ScaleMin);
            for (int i = 0; i < len; i += 8)
            {
                var tv = Vector256.LoadUnsafe(ref t, (nuint)i);
                var q = tv / Vector256.LoadUnsafe(ref c, (nuint)i);
                var zero = Vector256.Equals(tv, Vector256<float>.Zero);
                q = Vector256.ConditionalSelect(zero, Vector256<float>.Zero, q);
                q.StoreUnsafe(ref s, (nuint)i);
                var ok = Vector256.BitwiseAnd(Vector256.LessThanOrEqual(q, hi), Vector256.GreaterThanOrEqual(q, lo));
                bad |= Vector256.AndNot(~zero, ok);
            }

            return bad == Vector256<float>.Zero;
        }

        bool good = true;
        for (int i = 0; i < live; i++)
        {
            float tv = target[i];
            if (tv == 0f)
            {
                scale[i] = 0f;
                continue;
            }

            float q = tv / acc[i];
            scale[i] = q;
            good &= q <= ScaleMax && q >= ScaleMin;
        }

        return good;
    }

    /// <summary>acc[0..stride) = Σ_i x_i · mat[i, 0..stride) for a rows×stride zero-padded matrix (stride a multiple of 16).</summary>
    private static void MatTVecPadded(Span<float> mat, int rows, int stride, Span<float> x, Span<float> acc, bool parallel)
    {
        if (parallel && stride >= 64)
        {
            unsafe
            {
                fixed (float* pm = mat, px = x, pa = acc)
                {
                    nint mP = (nint)pm, xP = (nint)px, aP = (nint)pa;
                    int blocks = stride / 16;
                    int chunks = Math.Min(blocks, Environment.ProcessorCount * 4);
                    Parallel.For(0, chunks, ch =>
                    {
                        int b0 = blocks * ch / chunks, b1 = blocks * (ch + 1) / chunks;
                        MatTVecBlocks(ref Unsafe.AsRef<float>((float*)mP), rows, stride, ref Unsafe.AsRef<float>((float*)xP), ref Unsafe.AsRef<float>((float*)aP), b0 * 16, b1 * 16);
                    });
                }
            }

            return;
        }

        MatTVecBlocks(ref MemoryMarshal.GetReference(mat), rows, stride, ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(acc), 0, stride);
    }

    private static void MatTVecBlocks(ref float mat, int rows, int stride, ref float x, ref float acc, int c0, int c1)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            int c = c0;

            // Two column blocks at once: four independent FMA chains hide the FMA latency on ~30-wide problems.
            for (; c + 32 <= c1; c += 32)
            {
                var s0 = Vector512<float>.Zero;
                var s1 = Vector512<float>.Zero;
                var t0 = Vector512<float>.Zero;
                var t1 = Vector512<float>.Zero;
                int i = 0;
                for (; i + 1 < rows; i += 2)
                {
                    var x0 = Vector512.Create(Unsafe.Add(ref x, i));
                    var x1 = Vector512.Create(Unsafe.Add(ref x, i + 1));
                    nuint r0 = (nuint)((i * stride) + c), r1 = (nuint)(((i + 1) * stride) + c);
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r0), x0, s0);
                    t0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r0 + 16), x0, t0);
                    s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r1), x1, s1);
                    t1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r1 + 16), x1, t1);
                }

                if (i < rows)
                {
                    var x0 = Vector512.Create(Unsafe.Add(ref x, i));
                    nuint r0 = (nuint)((i * stride) + c);
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r0), x0, s0);
                    t0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, r0 + 16), x0, t0);
                }

                (s0 + s1).StoreUnsafe(ref acc, (nuint)c);
                (t0 + t1).StoreUnsafe(ref acc, (nuint)(c + 16));
            }

            for (; c < c1; c += 16)
            {
                // Two accumulators over even and odd rows halve the FMA dependency chain.
                var s0 = Vector512<float>.Zero;
                var s1 = Vector512<float>.Zero;
                int i = 0;
                for (; i + 1 < rows; i += 2)
                {
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, (nuint)((i * stride) + c)), Vector512.Create(Unsafe.Add(ref x, i)), s0);
                    s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, (nuint)(((i + 1) * stride) + c)), Vector512.Create(Unsafe.Add(ref x, i + 1)), s1);
                }

                if (i < rows)
                {
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref mat, (nuint)((i * stride) + c)), Vector512.Create(Unsafe.Add(ref x, i)), s0);
                }

                (s0 + s1).StoreUnsafe(ref acc, (nuint)c);
            }

            return;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (int c = c0; c < c1; c += 8)
            {
                var s0 = Vector256<float>.Zero;
                var s1 = Vector256<float>.Zero;
                int i = 0;
                for (; i + 1 < rows; i += 2)
                {
                    s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref mat, (nuint)((i * stride) + c)), Vector256.Create(Unsafe.Add(ref x, i)), s0);
                    s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref mat, (nuint)(((i + 1) * stride) + c)), Vector256.Create(Unsafe.Add(ref x, i + 1)), s1);
                }

                if (i < rows)
                {
                    s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref mat, (nuint)((i * stride) + c)), Vector256.Create(Unsafe.Add(ref x, i)), s0);
                }

                (s0 + s1).StoreUnsafe(ref acc, (nuint)c);
            }

            return;
        }

        for (int c = c0; c < c1; c++)
        {
            float s = 0;
            for (int i = 0; i < rows; i++)
            {
                s = MathF.FusedMultiplyAdd(Unsafe.Add(ref mat, (i * stride) + c), Unsafe.Add(ref x, i), s);
            }

            Unsafe.Add(ref acc, c) = s;
        }
    }

    private static void Absorb(Span<float> potential, Span<float> scale, float eps)
    {
        for (int i = 0; i < potential.Length; i++)
        {
            float s = scale[i];

            // A zero scaling belongs to a zero-mass point; its potential stays -∞ (set by the exact step).
            potential[i] = s > 0f ? potential[i] + (eps * MathF.Log(s)) : float.NegativeInfinity;
            scale[i] = 1f;
        }
    }

    /// <summary>Exact g-update: g_j = ε ln b_j − ε LSE_i((f_i − C_ij)/ε).</summary>
    private static void LogStepG(ReadOnlySpan<float> costT, int n, int m, ReadOnlySpan<float> b, ReadOnlySpan<float> f, Span<float> g, Span<float> fs, float invEps, float eps)
    {
        for (int i = 0; i < n; i++)
        {
            fs[i] = f[i] * invEps;
        }

        for (int j = 0; j < m; j++)
        {
            float lse = VectorMath.LogSumExpAffine(costT.Slice(j * n, n), fs, invEps);
            g[j] = b[j] == 0f ? float.NegativeInfinity : eps * (MathF.Log(b[j]) - lse);
        }
    }

    /// <summary>Exact f-update: f_i = ε ln a_i − ε LSE_j((g_j − C_ij)/ε).</summary>
    private static void LogStepF(ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, Span<float> f, ReadOnlySpan<float> g, Span<float> gs, float invEps, float eps)
    {
        for (int j = 0; j < m; j++)
        {
            gs[j] = g[j] * invEps;
        }

        for (int i = 0; i < n; i++)
        {
            float lse = VectorMath.LogSumExpAffine(cost.Slice(i * m, m), gs, invEps);
            f[i] = a[i] == 0f ? float.NegativeInfinity : eps * (MathF.Log(a[i]) - lse);
        }
    }

    /// <summary>K_ij = exp((f_i + g_j − C_ij)/ε) and its transpose, floored, zero-padded; live scalings reset to 1, padding to 0.</summary>
    private static void RebuildPadded(
        ReadOnlySpan<float> cost, ReadOnlySpan<float> costT, int n, int m, ReadOnlySpan<float> f, ReadOnlySpan<float> g,
        Span<float> k, Span<float> kT, Span<float> u, Span<float> v, float invEps, bool parallel)
    {
        int np = Pad(n), mp = Pad(m);
        if (parallel)
        {
            unsafe
            {
                fixed (float* pc = cost, pct = costT, pf = f, pg = g, pk = k, pkt = kT)
                {
                    nint c = (nint)pc, ct = (nint)pct, fp = (nint)pf, gp = (nint)pg, kp = (nint)pk, ktp = (nint)pkt;
                    Parallel.For(0, n + m, r =>
                    {
                        var fSpan = new ReadOnlySpan<float>((float*)fp, n);
                        var gSpan = new ReadOnlySpan<float>((float*)gp, m);
                        if (r < n)
                        {
                            var dst = new Span<float>((float*)kp + ((long)r * mp), mp);
                            VectorMath.ExpAffine(new ReadOnlySpan<float>((float*)c + ((long)r * m), m), gSpan, invEps, fSpan[r] * invEps, dst[..m], KernelFloor);
                            dst[m..].Clear();
                        }
                        else
                        {
                            int j = r - n;
                            var dst = new Span<float>((float*)ktp + ((long)j * np), np);
                            VectorMath.ExpAffine(new ReadOnlySpan<float>((float*)ct + ((long)j * n), n), fSpan, invEps, gSpan[j] * invEps, dst[..n], KernelFloor);
                            dst[n..].Clear();
                        }
                    });
                }
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                var dst = k.Slice(i * mp, mp);
                VectorMath.ExpAffine(cost.Slice(i * m, m), g, invEps, f[i] * invEps, dst[..m], KernelFloor);
                dst[m..].Clear();
            }

            for (int j = 0; j < m; j++)
            {
                var dst = kT.Slice(j * np, np);
                VectorMath.ExpAffine(costT.Slice(j * n, n), f, invEps, g[j] * invEps, dst[..n], KernelFloor);
                dst[n..].Clear();
            }
        }

        u[..n].Fill(1f);
        u[n..].Clear();
        v[..m].Fill(1f);
        v[m..].Clear();
    }
}

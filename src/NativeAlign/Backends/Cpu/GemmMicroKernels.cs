using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeAlign.Backends.Cpu;

// Register tiles of the packed GEMM. Each computes C[MR×NR] (+)= Apanel[MR×kc] · Bpanel[kc×NR] where the A panel is
// packed column-major in MR-row slivers (pa[p*MR + i]) and the B panel row-major in NR-wide slivers (pb[p*NR + j]),
// so the inner loop reads both strictly sequentially. The tiles are unrolled by hand (one accumulator per register):
// the JIT neither unrolls nor scalar-replaces arrays of vectors, and a spilled accumulator halves the FMA rate.

/// <summary>A register-tiled GEMM micro-kernel over packed panels.</summary>
internal interface IGemmMicroKernel
{
    /// <summary>Rows of C per tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile.</summary>
    static abstract int NR { get; }

    /// <summary>C[MR×NR] = (accumulate ? C : 0) + Apanel · Bpanel over <paramref name="kc"/> steps.</summary>
    static abstract unsafe void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate);
}

/// <summary>AVX-512 tile, 12×32: 24 zmm accumulators + 2 B vectors + 1 broadcast of the 32 registers; 12 broadcasts and 2 loads feed 24 FMAs per k step.</summary>
internal readonly unsafe struct GemmKernel512x12x32 : IGemmMicroKernel
{
    public static int MR => 12;

    public static int NR => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default, c8_0 = default, c8_1 = default, c9_0 = default, c9_1 = default, c10_0 = default, c10_1 = default, c11_0 = default, c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(pb + 0);
            Vector512<float> b1 = Vector512.Load(pb + 16);
            Vector512<float> a0 = Vector512.Create(pa[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            Vector512<float> a1 = Vector512.Create(pa[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            Vector512<float> a2 = Vector512.Create(pa[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            Vector512<float> a3 = Vector512.Create(pa[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            Vector512<float> a4 = Vector512.Create(pa[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            Vector512<float> a5 = Vector512.Create(pa[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            Vector512<float> a6 = Vector512.Create(pa[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            Vector512<float> a7 = Vector512.Create(pa[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            Vector512<float> a8 = Vector512.Create(pa[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a8, b1, c8_1);
            Vector512<float> a9 = Vector512.Create(pa[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a9, b1, c9_1);
            Vector512<float> a10 = Vector512.Create(pa[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a10, b1, c10_1);
            Vector512<float> a11 = Vector512.Create(pa[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a11, b1, c11_1);
            pa += 12;
            pb += 32;
        }

        if (accumulate)
        {
            c0_0 += Vector512.Load(c + (0 * ldc) + 0);
            c0_1 += Vector512.Load(c + (0 * ldc) + 16);
            c1_0 += Vector512.Load(c + (1 * ldc) + 0);
            c1_1 += Vector512.Load(c + (1 * ldc) + 16);
            c2_0 += Vector512.Load(c + (2 * ldc) + 0);
            c2_1 += Vector512.Load(c + (2 * ldc) + 16);
            c3_0 += Vector512.Load(c + (3 * ldc) + 0);
            c3_1 += Vector512.Load(c + (3 * ldc) + 16);
            c4_0 += Vector512.Load(c + (4 * ldc) + 0);
            c4_1 += Vector512.Load(c + (4 * ldc) + 16);
            c5_0 += Vector512.Load(c + (5 * ldc) + 0);
            c5_1 += Vector512.Load(c + (5 * ldc) + 16);
            c6_0 += Vector512.Load(c + (6 * ldc) + 0);
            c6_1 += Vector512.Load(c + (6 * ldc) + 16);
            c7_0 += Vector512.Load(c + (7 * ldc) + 0);
            c7_1 += Vector512.Load(c + (7 * ldc) + 16);
            c8_0 += Vector512.Load(c + (8 * ldc) + 0);
            c8_1 += Vector512.Load(c + (8 * ldc) + 16);
            c9_0 += Vector512.Load(c + (9 * ldc) + 0);
            c9_1 += Vector512.Load(c + (9 * ldc) + 16);
            c10_0 += Vector512.Load(c + (10 * ldc) + 0);
            c10_1 += Vector512.Load(c + (10 * ldc) + 16);
            c11_0 += Vector512.Load(c + (11 * ldc) + 0);
            c11_1 += Vector512.Load(c + (11 * ldc) + 16);
        }

        c0_0.Store(c + (0 * ldc) + 0);
        c0_1.Store(c + (0 * ldc) + 16);
        c1_0.Store(c + (1 * ldc) + 0);
        c1_1.Store(c + (1 * ldc) + 16);
        c2_0.Store(c + (2 * ldc) + 0);
        c2_1.Store(c + (2 * ldc) + 16);
        c3_0.Store(c + (3 * ldc) + 0);
        c3_1.Store(c + (3 * ldc) + 16);
        c4_0.Store(c + (4 * ldc) + 0);
        c4_1.Store(c + (4 * ldc) + 16);
        c5_0.Store(c + (5 * ldc) + 0);
        c5_1.Store(c + (5 * ldc) + 16);
        c6_0.Store(c + (6 * ldc) + 0);
        c6_1.Store(c + (6 * ldc) + 16);
        c7_0.Store(c + (7 * ldc) + 0);
        c7_1.Store(c + (7 * ldc) + 16);
        c8_0.Store(c + (8 * ldc) + 0);
        c8_1.Store(c + (8 * ldc) + 16);
        c9_0.Store(c + (9 * ldc) + 0);
        c9_1.Store(c + (9 * ldc) + 16);
        c10_0.Store(c + (10 * ldc) + 0);
        c10_1.Store(c + (10 * ldc) + 16);
        c11_0.Store(c + (11 * ldc) + 0);
        c11_1.Store(c + (11 * ldc) + 16);
    }
}

/// <summary>AVX2 tile, 6×16: 12 ymm accumulators + 2 B vectors + 1 broadcast fit the 16 registers AVX2 machines have.</summary>
internal readonly unsafe struct GemmKernel256x6x16 : IGemmMicroKernel
{
    public static int MR => 6;

    public static int NR => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(pb + 0);
            Vector256<float> b1 = Vector256.Load(pb + 8);
            Vector256<float> a0 = Vector256.Create(pa[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1);
            Vector256<float> a1 = Vector256.Create(pa[1]);
            c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1);
            Vector256<float> a2 = Vector256.Create(pa[2]);
            c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1);
            Vector256<float> a3 = Vector256.Create(pa[3]);
            c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1);
            Vector256<float> a4 = Vector256.Create(pa[4]);
            c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1);
            Vector256<float> a5 = Vector256.Create(pa[5]);
            c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector256.FusedMultiplyAdd(a5, b1, c5_1);
            pa += 6;
            pb += 16;
        }

        if (accumulate)
        {
            c0_0 += Vector256.Load(c + (0 * ldc) + 0);
            c0_1 += Vector256.Load(c + (0 * ldc) + 8);
            c1_0 += Vector256.Load(c + (1 * ldc) + 0);
            c1_1 += Vector256.Load(c + (1 * ldc) + 8);
            c2_0 += Vector256.Load(c + (2 * ldc) + 0);
            c2_1 += Vector256.Load(c + (2 * ldc) + 8);
            c3_0 += Vector256.Load(c + (3 * ldc) + 0);
            c3_1 += Vector256.Load(c + (3 * ldc) + 8);
            c4_0 += Vector256.Load(c + (4 * ldc) + 0);
            c4_1 += Vector256.Load(c + (4 * ldc) + 8);
            c5_0 += Vector256.Load(c + (5 * ldc) + 0);
            c5_1 += Vector256.Load(c + (5 * ldc) + 8);
        }

        c0_0.Store(c + (0 * ldc) + 0);
        c0_1.Store(c + (0 * ldc) + 8);
        c1_0.Store(c + (1 * ldc) + 0);
        c1_1.Store(c + (1 * ldc) + 8);
        c2_0.Store(c + (2 * ldc) + 0);
        c2_1.Store(c + (2 * ldc) + 8);
        c3_0.Store(c + (3 * ldc) + 0);
        c3_1.Store(c + (3 * ldc) + 8);
        c4_0.Store(c + (4 * ldc) + 0);
        c4_1.Store(c + (4 * ldc) + 8);
        c5_0.Store(c + (5 * ldc) + 0);
        c5_1.Store(c + (5 * ldc) + 8);
    }
}

/// <summary>Portable scalar tile, 4×4: sixteen accumulators fit the sixteen x64 scalar registers.</summary>
internal readonly unsafe struct GemmKernelScalar4x4 : IGemmMicroKernel
{
    public static int MR => 4;

    public static int NR => 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate)
    {
        float c0_0 = 0, c0_1 = 0, c0_2 = 0, c0_3 = 0, c1_0 = 0, c1_1 = 0, c1_2 = 0, c1_3 = 0, c2_0 = 0, c2_1 = 0, c2_2 = 0, c2_3 = 0, c3_0 = 0, c3_1 = 0, c3_2 = 0, c3_3 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = pb[0];
            float b1 = pb[1];
            float b2 = pb[2];
            float b3 = pb[3];
            float a0 = pa[0];
            c0_0 = MathF.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = MathF.FusedMultiplyAdd(a0, b1, c0_1);
            c0_2 = MathF.FusedMultiplyAdd(a0, b2, c0_2);
            c0_3 = MathF.FusedMultiplyAdd(a0, b3, c0_3);
            float a1 = pa[1];
            c1_0 = MathF.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = MathF.FusedMultiplyAdd(a1, b1, c1_1);
            c1_2 = MathF.FusedMultiplyAdd(a1, b2, c1_2);
            c1_3 = MathF.FusedMultiplyAdd(a1, b3, c1_3);
            float a2 = pa[2];
            c2_0 = MathF.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = MathF.FusedMultiplyAdd(a2, b1, c2_1);
            c2_2 = MathF.FusedMultiplyAdd(a2, b2, c2_2);
            c2_3 = MathF.FusedMultiplyAdd(a2, b3, c2_3);
            float a3 = pa[3];
            c3_0 = MathF.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = MathF.FusedMultiplyAdd(a3, b1, c3_1);
            c3_2 = MathF.FusedMultiplyAdd(a3, b2, c3_2);
            c3_3 = MathF.FusedMultiplyAdd(a3, b3, c3_3);
            pa += 4;
            pb += 4;
        }

        if (accumulate)
        {
            c0_0 += c[(0 * ldc) + 0];
            c0_1 += c[(0 * ldc) + 1];
            c0_2 += c[(0 * ldc) + 2];
            c0_3 += c[(0 * ldc) + 3];
            c1_0 += c[(1 * ldc) + 0];
            c1_1 += c[(1 * ldc) + 1];
            c1_2 += c[(1 * ldc) + 2];
            c1_3 += c[(1 * ldc) + 3];
            c2_0 += c[(2 * ldc) + 0];
            c2_1 += c[(2 * ldc) + 1];
            c2_2 += c[(2 * ldc) + 2];
            c2_3 += c[(2 * ldc) + 3];
            c3_0 += c[(3 * ldc) + 0];
            c3_1 += c[(3 * ldc) + 1];
            c3_2 += c[(3 * ldc) + 2];
            c3_3 += c[(3 * ldc) + 3];
        }

        c[(0 * ldc) + 0] = c0_0;
        c[(0 * ldc) + 1] = c0_1;
        c[(0 * ldc) + 2] = c0_2;
        c[(0 * ldc) + 3] = c0_3;
        c[(1 * ldc) + 0] = c1_0;
        c[(1 * ldc) + 1] = c1_1;
        c[(1 * ldc) + 2] = c1_2;
        c[(1 * ldc) + 3] = c1_3;
        c[(2 * ldc) + 0] = c2_0;
        c[(2 * ldc) + 1] = c2_1;
        c[(2 * ldc) + 2] = c2_2;
        c[(2 * ldc) + 3] = c2_3;
        c[(3 * ldc) + 0] = c3_0;
        c[(3 * ldc) + 1] = c3_1;
        c[(3 * ldc) + 2] = c3_2;
        c[(3 * ldc) + 3] = c3_3;
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeAlign.Backends.Cpu;

/// <summary>Packs a KC×NC block of op(B) into NR-wide, kc-deep micro-panels, zero-padding the last panel.</summary>
internal interface IGemmPanelPacker
{
    /// <summary>
    /// Writes ceil(<paramref name="nc"/>/<paramref name="nr"/>) panels of <paramref name="kc"/>×<paramref name="nr"/> floats
    /// to <paramref name="dst"/>: panel q holds op(B)[k0 + p, j0 + q·nr + j] at dst[q·kc·nr + p·nr + j].
    /// </summary>
    unsafe void Pack(int j0, int nc, int k0, int kc, int nr, float* dst);
}

/// <summary>Packs an f32 B given as [k×n] (row-major, op(B) = B).</summary>
internal readonly unsafe struct GemmF32RowPacker(float* b, nint ldb) : IGemmPanelPacker
{
    public void Pack(int j0, int nc, int k0, int kc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            float* src = b + (k0 * ldb) + j0 + jr;
            if (width == nr && (nr & 7) == 0 && Vector256.IsHardwareAccelerated)
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += nr)
                {
                    for (int j = 0; j < nr; j += 8)
                    {
                        Vector256.Store(Vector256.Load(src + j), dst + j);
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += nr)
                {
                    int j = 0;
                    for (; j < width; j++)
                    {
                        dst[j] = src[j];
                    }

                    for (; j < nr; j++)
                    {
                        dst[j] = 0;
                    }
                }
            }
        }
    }
}

/// <summary>Packs an f32 B given as [n×k] (a Linear weight, op(B) = Bᵀ): a transpose into the panel layout.</summary>
internal readonly unsafe struct GemmF32TransposedPacker(float* b, nint ldb) : IGemmPanelPacker
{
    public void Pack(int j0, int nc, int k0, int kc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            int j = 0;
            if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
            {
                // 8 rows of B at a time become 8 consecutive floats of each panel row: one 8×8 transpose per 8 k steps.
                for (; j + 8 <= width; j += 8)
                {
                    float* src = b + ((nint)(j0 + jr + j) * ldb) + k0;
                    float* d = dst + j;
                    int p = 0;
                    for (; p + 8 <= kc; p += 8)
                    {
                        Transpose8x8(src + p, ldb, d + (p * nr), nr);
                    }

                    for (; p < kc; p++)
                    {
                        for (int t = 0; t < 8; t++)
                        {
                            d[(p * nr) + t] = src[(t * ldb) + p];
                        }
                    }
                }
            }

            for (; j < width; j++)
            {
                float* src = b + ((nint)(j0 + jr + j) * ldb) + k0;
                for (int p = 0; p < kc; p++)
                {
                    dst[(p * nr) + j] = src[p];
                }
            }

            for (; j < nr; j++)
            {
                for (int p = 0; p < kc; p++)
                {
                    dst[(p * nr) + j] = 0;
                }
            }

            dst += kc * nr;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        Vector256<float> r0 = Vector256.Load(src);
        Vector256<float> r1 = Vector256.Load(src + lds);
        Vector256<float> r2 = Vector256.Load(src + (2 * lds));
        Vector256<float> r3 = Vector256.Load(src + (3 * lds));
        Vector256<float> r4 = Vector256.Load(src + (4 * lds));
        Vector256<float> r5 = Vector256.Load(src + (5 * lds));
        Vector256<float> r6 = Vector256.Load(src + (6 * lds));
        Vector256<float> r7 = Vector256.Load(src + (7 * lds));

        // Unpack pairs, then 64-bit pairs, then swap 128-bit halves: the classic three-stage AVX transpose.
        Vector256<float> t0 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r6, r7);

        Vector256<float> s0 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> s1 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> s3 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> s5 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> s7 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0xEE);

        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s0, s4, 0x20), dst);
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s1, s5, 0x20), dst + ldd);
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s2, s6, 0x20), dst + (2 * ldd));
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s3, s7, 0x20), dst + (3 * ldd));
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s0, s4, 0x31), dst + (4 * ldd));
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s1, s5, 0x31), dst + (5 * ldd));
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s2, s6, 0x31), dst + (6 * ldd));
        Vector256.Store(System.Runtime.Intrinsics.X86.Avx.Permute2x128(s3, s7, 0x31), dst + (7 * ldd));
    }
}

/// <summary>
/// The BLIS loop nest around a register tile: jc (NC columns) → pc (KC depth, B block packed) → ic (MC rows, A block
/// packed) → jr (NR) → ir (MR) → micro-kernel. The B micro-panel (KC×NR) stays in L1 across the ir loop, the A block
/// (MC×KC) in L2 across the jr loop. Threads split C into disjoint column (or row) ranges, each packing its own operands,
/// so one fork/join per call is the only synchronisation.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Depth of a packed block: a 12×32 tile reads KC·(12+32)·4 bytes per call; KC=256 keeps the B micro-panel at 32 KiB (L1).</summary>
    internal const int KC = 256;

    /// <summary>Rows of a packed A block (rounded to MR): 240×256×4 = 240 KiB sits well inside a 1 MiB L2 next to B traffic.</summary>
    internal const int MC = 240;

    /// <summary>Columns of a packed B block: KC×NC×4 = 2 MiB per thread at most, streamed from L3 once per A block.</summary>
    internal const int NC = 2048;

    /// <summary>Below this many multiply-adds a second thread costs more to wake than it saves.</summary>
    internal const long ParallelThreshold = 1L << 18;

    /// <summary>Runs the whole GEMM C = epilogue(A · op(B)) with the given tile and packer.</summary>
    public static void Run<TKernel, TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int maxThreads)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            // The product is all zeros; only the epilogue remains.
            for (int i = 0; i < m; i++)
            {
                if (!epilogue.AccumulateIntoC)
                {
                    new Span<float>(c + (i * ldc), n).Clear();
                }
            }

            epilogue.Apply(path, c, ldc, 0, 0, m, n);
            return;
        }

        int threads = maxThreads <= 0 ? GemmPaths.MaxThreads : maxThreads;
        long work = (long)m * n * k;
        if (work < ParallelThreshold)
        {
            threads = 1;
        }

        int mr = TKernel.MR, nr = TKernel.NR;
        int colPanels = (n + nr - 1) / nr;
        int rowSlivers = (m + mr - 1) / mr;

        // Splitting columns duplicates the packing of A in every thread, splitting rows duplicates B: duplicate the smaller.
        bool splitRows = ((long)m > n && rowSlivers >= threads) || colPanels < threads;
        threads = Math.Min(threads, splitRows ? rowSlivers : colPanels);

        var job = new Job<TPacker>(path, m, n, k, a, lda, packer, c, ldc, epilogue, threads, splitRows);
        if (threads == 1)
        {
            RunRange<TKernel, TPacker>(in job, 0, m, 0, n);
            return;
        }

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            if (job.SplitRows)
            {
                int s = rowSlivers * t / job.Threads, e = rowSlivers * (t + 1) / job.Threads;
                RunRange<TKernel, TPacker>(in job, s * mr, Math.Min(job.M, e * mr), 0, job.N);
            }
            else
            {
                int s = colPanels * t / job.Threads, e = colPanels * (t + 1) / job.Threads;
                RunRange<TKernel, TPacker>(in job, 0, job.M, s * nr, Math.Min(job.N, e * nr));
            }
        });
    }

    private readonly struct Job<TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int threads, bool splitRows)
        where TPacker : struct, IGemmPanelPacker
    {
        public readonly GemmKernelPath Path = path;
        public readonly int M = m, N = n, K = k, Threads = threads;
        public readonly bool SplitRows = splitRows;
        public readonly float* A = a, C = c;
        public readonly nint Lda = lda, Ldc = ldc;
        public readonly TPacker Packer = packer;
        public readonly GemmEpilogueArgs Epilogue = epilogue;
    }

    private static void RunRange<TKernel, TPacker>(in Job<TPacker> job, int row0, int row1, int col0, int col1)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int mcMax = Math.Max(mr, MC / mr * mr);
        int ncMax = Math.Max(nr, NC / nr * nr);
        int kcMax = Math.Min(KC, job.K);
        int ncAlloc = Math.Min(ncMax, ((col1 - col0 + nr - 1) / nr) * nr);
        int mcAlloc = Math.Min(mcMax, ((row1 - row0 + mr - 1) / mr) * mr);

        // Pooled, so a steady stream of GEMMs allocates nothing; 64 floats of slack let the packed blocks start on a
        // cache line.
        float[] bBuffer = ArrayPool<float>.Shared.Rent((kcMax * ncAlloc) + 16);
        float[] aBuffer = ArrayPool<float>.Shared.Rent((kcMax * mcAlloc) + 16);
        float* tile = stackalloc float[(TKernel.MR * TKernel.NR) + 16];
        try
        {
            fixed (float* bRaw = bBuffer, aRaw = aBuffer)
            {
                float* pb = AlignTo64(bRaw);
                float* pa = AlignTo64(aRaw);
                float* tileAligned = AlignTo64(tile);
                GemmEpilogueArgs ep = job.Epilogue;
                for (int jc = col0; jc < col1; jc += ncMax)
                {
                    int nc = Math.Min(ncMax, col1 - jc);
                    for (int pc = 0; pc < job.K; pc += KC)
                    {
                        int kc = Math.Min(KC, job.K - pc);
                        bool first = pc == 0, last = pc + kc == job.K;
                        bool accumulate = !first || ep.AccumulateIntoC;
                        job.Packer.Pack(jc, nc, pc, kc, nr, pb);
                        for (int ic = row0; ic < row1; ic += mcMax)
                        {
                            int mc = Math.Min(mcMax, row1 - ic);
                            PackA(job.A + (ic * job.Lda) + pc, job.Lda, mc, kc, mr, pa);
                            for (int jr = 0; jr < nc; jr += nr)
                            {
                                int nw = Math.Min(nr, nc - jr);
                                float* bPanel = pb + (jr * kc);
                                for (int ir = 0; ir < mc; ir += mr)
                                {
                                    int mw = Math.Min(mr, mc - ir);
                                    float* cTile = job.C + ((ic + ir) * job.Ldc) + jc + jr;
                                    float* aPanel = pa + (ir * kc);
                                    if (mw == mr && nw == nr)
                                    {
                                        TKernel.Multiply(aPanel, bPanel, kc, cTile, job.Ldc, accumulate);
                                    }
                                    else
                                    {
                                        EdgeTile<TKernel>(aPanel, bPanel, kc, cTile, job.Ldc, mw, nw, accumulate, tileAligned);
                                    }

                                    if (last)
                                    {
                                        ep.Apply(job.Path, cTile, job.Ldc, ic + ir, jc + jr, mw, nw);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aBuffer);
            ArrayPool<float>.Shared.Return(bBuffer);
        }
    }

    /// <summary>A partial tile at the bottom or right edge: computed into a scratch tile so C is never written out of bounds.</summary>
    private static void EdgeTile<TKernel>(float* aPanel, float* bPanel, int kc, float* cTile, nint ldc, int mw, int nw, bool accumulate, float* scratch)
        where TKernel : IGemmMicroKernel
    {
        int nr = TKernel.NR;
        if (accumulate)
        {
            for (int i = 0; i < mw; i++)
            {
                for (int j = 0; j < nw; j++)
                {
                    scratch[(i * nr) + j] = cTile[(i * ldc) + j];
                }
            }
        }

        TKernel.Multiply(aPanel, bPanel, kc, scratch, nr, accumulate);
        for (int i = 0; i < mw; i++)
        {
            for (int j = 0; j < nw; j++)
            {
                cTile[(i * ldc) + j] = scratch[(i * nr) + j];
            }
        }
    }

    /// <summary>Packs A[mc×kc] into MR-row slivers, pa[s·MR·kc + p·MR + i] = A[s·MR + i, p], zero rows past mc.</summary>
    private static void PackA(float* a, nint lda, int mc, int kc, int mr, float* pa)
    {
        for (int i0 = 0; i0 < mc; i0 += mr)
        {
            int rows = Math.Min(mr, mc - i0);
            for (int i = 0; i < rows; i++)
            {
                float* src = a + ((i0 + i) * lda);
                float* d = pa + i;
                for (int p = 0; p < kc; p++)
                {
                    d[p * mr] = src[p];
                }
            }

            for (int i = rows; i < mr; i++)
            {
                for (int p = 0; p < kc; p++)
                {
                    pa[(p * mr) + i] = 0;
                }
            }

            pa += mr * kc;
        }
    }

    private static float* AlignTo64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int j0, int nc, int k0, int kc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            int j = 0;
            if (Avx.IsSupported)
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
    internal static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
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
        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);

        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> s7 = Avx.Shuffle(t5, t7, 0xEE);

        Vector256.Store(Avx.Permute2x128(s0, s4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(s1, s5, 0x20), dst + ldd);
        Vector256.Store(Avx.Permute2x128(s2, s6, 0x20), dst + (2 * ldd));
        Vector256.Store(Avx.Permute2x128(s3, s7, 0x20), dst + (3 * ldd));
        Vector256.Store(Avx.Permute2x128(s0, s4, 0x31), dst + (4 * ldd));
        Vector256.Store(Avx.Permute2x128(s1, s5, 0x31), dst + (5 * ldd));
        Vector256.Store(Avx.Permute2x128(s2, s6, 0x31), dst + (6 * ldd));
        Vector256.Store(Avx.Permute2x128(s3, s7, 0x31), dst + (7 * ldd));
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
    /// <summary>
    /// Largest depth of a packed block. K is cut into equal blocks of at most KC (multiples of 32, see
    /// <see cref="DepthStep"/>), so K = 384 is one block rather than 256 + 128 and C is read back once less.
    /// A 12×32 tile then streams at most 384·32·4 = 48 KiB of B panel and 18 KiB of A sliver per call.
    /// </summary>
    internal const int KC = 384;

    /// <summary>The depth of every packed block but the last for a product of depth <paramref name="k"/>.</summary>
    /// <remarks>A multiple of 32 so that block starts are even and 16-column 4-bit chunks never straddle a quantisation block.</remarks>
    internal static int DepthStep(int k)
    {
        int blocks = Math.Max(1, (k + KC - 1) / KC);
        return Math.Min(KC, (((k + blocks - 1) / blocks) + 31) / 32 * 32);
    }

    /// <summary>Rows of a packed A block (rounded to MR): 240×256×4 = 240 KiB sits well inside a 1 MiB L2 next to B traffic.</summary>
    internal const int MC = 240;

    /// <summary>Columns of a packed B block in the per-thread schedule: KC×NC×4 = 768 KiB, so it stays in L2 while every A block uses it.</summary>
    internal const int NC = 512;

    /// <summary>
    /// Fewer rows than this take the per-thread schedule: with few rows, packing all of B up front and reading it back
    /// from L3 costs more than packing L2-sized blocks that are consumed at once (measured: ~1.2–1.4× more work done
    /// per CPU-second at M = 128). From here on both do the same work per CPU-second and the shared schedule balances
    /// better when the OS takes a core away. Settable for tests.
    /// </summary>
    internal static int SharedScheduleMinRows { get; set; } = 1024;

    /// <summary>Largest op(B) packed whole (64 MiB); bigger ones fall back to per-thread blocks so memory stays bounded.</summary>
    /// <remarks>Settable so that tests can push small problems through the per-thread schedule.</remarks>
    internal static long MaxSharedPackedFloats { get; set; } = 1L << 24;

    /// <summary>Below this many multiply-adds a second thread costs more to wake than it saves.</summary>
    internal const long ParallelThreshold = 1L << 18;

    /// <summary>Runs the whole GEMM C = epilogue(A · op(B)) with the given tile and packer.</summary>
    public static void Run<TKernel, TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int maxThreads, bool packWholeB)
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

        if (packWholeB && m >= SharedScheduleMinRows && (long)k * (n + TKernel.NR) <= MaxSharedPackedFloats)
        {
            RunSharedB<TKernel, TPacker>(path, m, n, k, a, lda, packer, c, ldc, epilogue, threads);
            return;
        }

        int mr = TKernel.MR, nr = TKernel.NR;
        int colPanels = (n + nr - 1) / nr;
        int rowSlivers = (m + mr - 1) / mr;

        // Columns are split so that each thread packs (for 4-bit weights: decodes) only its own part of B; only A, the
        // cheap operand to pack, is packed by every thread. Rows only when there are too few columns.
        bool splitRows = colPanels < threads;
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

    /// <summary>C[mc×nc] (+)= packed A block · packed B block, then the epilogue on each finished tile while it is in L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock<TKernel>(
        GemmKernelPath path, float* pa, float* pb, int kc, int mc, int nc, float* c, nint ldc, int row0, int col0, bool accumulate, bool last,
        in GemmEpilogueArgs ep, float* scratch)
        where TKernel : IGemmMicroKernel
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nw = Math.Min(nr, nc - jr);
            float* bPanel = pb + (jr * kc);
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mw = Math.Min(mr, mc - ir);
                float* cTile = c + (ir * ldc) + jr;
                float* aPanel = pa + (ir * kc);
                if (mw == mr && nw == nr)
                {
                    TKernel.Multiply(aPanel, bPanel, kc, cTile, ldc, accumulate);
                }
                else
                {
                    EdgeTile<TKernel>(aPanel, bPanel, kc, cTile, ldc, mw, nw, accumulate, scratch);
                }

                if (last)
                {
                    ep.Apply(path, cTile, ldc, row0 + ir, col0 + jr, mw, nw);
                }
            }
        }
    }

    /// <summary>
    /// The f32 schedule: op(B) is packed once, whole, by all threads (phase 1), then C is cut into tasks of (row block ×
    /// column range) that the threads take dynamically (phase 2), each packing the A rows it needs. Nothing is packed
    /// twice except A across column ranges, and a thread that the OS deschedules only delays the tasks it holds: the
    /// caller of Parallel.For runs any task no other thread has taken.
    /// </summary>
    private static void RunSharedB<TKernel, TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int threads)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int panels = (n + nr - 1) / nr;
        int nPadded = panels * nr;
        int depthStep = DepthStep(k);
        int depthBlocks = (k + depthStep - 1) / depthStep;

        // Row blocks of at most MC rows (the packed A block stays in L2), as many as a multiple of the thread count so
        // the last round of tasks is even, with MR-row slivers dealt out evenly. Few rows (M <= MC) are split by columns
        // instead: every task then reuses each B micro-panel across all of its rows, at the price of packing A once
        // per column range. About two tasks per thread overall.
        int rowSlivers = (m + mr - 1) / mr;
        int targetTasks = threads == 1 ? 1 : threads * 2;
        int rowBlocks = (m + MC - 1) / MC;
        if (rowBlocks > 1)
        {
            rowBlocks = Math.Min(rowSlivers, (rowBlocks + threads - 1) / threads * threads);
        }

        int colRanges = Math.Clamp((targetTasks + rowBlocks - 1) / rowBlocks, 1, panels);
        int mcTask = ((rowSlivers + rowBlocks - 1) / rowBlocks) * mr;
        int tasks = rowBlocks * colRanges;

        float[] bBuffer = ArrayPool<float>.Shared.Rent((k * nPadded) + 16);
        try
        {
            fixed (float* bRaw = bBuffer)
            {
                var job = new SharedJob<TPacker>(path, m, n, k, a, lda, packer, c, ldc, epilogue, AlignTo64(bRaw), nPadded, mcTask, rowBlocks, colRanges, panels);

                // Phase 1 packs op(B) in (depth block × panel group) pieces, phase 2 computes the tasks. Both are claimed
                // from shared counters inside a single fork/join: a thread that starts late (or never, on a loaded
                // machine) just finds less left to claim, and the only wait is for pieces already being packed.
                int panelGroups = Math.Max(1, Math.Min(panels, threads * 2));
                var schedule = new SharedSchedule(depthBlocks * panelGroups, tasks);
                if (threads == 1)
                {
                    Work<TKernel, TPacker>(in job, schedule, panelGroups);
                }
                else
                {
                    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Work<TKernel, TPacker>(in job, schedule, panelGroups));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bBuffer);
        }
    }

    /// <summary>Claim counters of one shared-B GEMM.</summary>
    private sealed class SharedSchedule(int pieces, int tasks)
    {
        public readonly int Pieces = pieces, Tasks = tasks;
        public int NextPiece, PackedPieces, NextTask;
    }

    private static void Work<TKernel, TPacker>(in SharedJob<TPacker> job, SharedSchedule schedule, int panelGroups)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int piece;
        while ((piece = Interlocked.Increment(ref schedule.NextPiece) - 1) < schedule.Pieces)
        {
            PackPiece(in job, piece, panelGroups);
            Interlocked.Increment(ref schedule.PackedPieces);
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref schedule.PackedPieces) < schedule.Pieces)
        {
            spin.SpinOnce();
        }

        int task;
        while ((task = Interlocked.Increment(ref schedule.NextTask) - 1) < schedule.Tasks)
        {
            ComputeTask<TKernel, TPacker>(in job, task);
        }
    }

    private readonly struct SharedJob<TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue,
        float* packedB, int nPadded, int mcTask, int rowBlocks, int colRanges, int panels)
        where TPacker : struct, IGemmPanelPacker
    {
        public readonly GemmKernelPath Path = path;
        public readonly int M = m, N = n, K = k, NPadded = nPadded, McTask = mcTask, RowBlocks = rowBlocks, ColRanges = colRanges, Panels = panels;
        public readonly float* A = a, C = c, PackedB = packedB;
        public readonly nint Lda = lda, Ldc = ldc;
        public readonly TPacker Packer = packer;
        public readonly GemmEpilogueArgs Epilogue = epilogue;
    }

    /// <summary>Packs one (depth block × panel group) piece; depth block q starts at q·KC·NPadded in the shared buffer.</summary>
    private static void PackPiece<TPacker>(in SharedJob<TPacker> job, int piece, int panelGroups)
        where TPacker : struct, IGemmPanelPacker
    {
        int q = piece / panelGroups, g = piece % panelGroups;
        int step = DepthStep(job.K);
        int pc = q * step, kc = Math.Min(step, job.K - pc);
        int p0 = job.Panels * g / panelGroups, p1 = job.Panels * (g + 1) / panelGroups;
        if (p1 <= p0)
        {
            return;
        }

        int nr = job.NPadded / job.Panels;
        int j0 = p0 * nr, j1 = Math.Min(job.N, p1 * nr);
        job.Packer.Pack(j0, j1 - j0, pc, kc, nr, job.PackedB + ((nint)pc * job.NPadded) + ((nint)j0 * kc));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeTask<TKernel, TPacker>(in SharedJob<TPacker> job, int task)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int rb = task / job.ColRanges, cr = task % job.ColRanges;
        int slivers = (job.M + mr - 1) / mr;
        int row0 = slivers * rb / job.RowBlocks * mr;
        int mc = Math.Min(job.M, slivers * (rb + 1) / job.RowBlocks * mr) - row0;
        int p0 = job.Panels * cr / job.ColRanges, p1 = job.Panels * (cr + 1) / job.ColRanges;
        int col0 = p0 * nr, nc = Math.Min(job.N, p1 * nr) - col0;
        if (mc <= 0 || nc <= 0)
        {
            return;
        }

        float[] aBuffer = ArrayPool<float>.Shared.Rent((KC * job.McTask) + 16);
        float* tile = stackalloc float[(TKernel.MR * TKernel.NR) + 16];
        try
        {
            fixed (float* aRaw = aBuffer)
            {
                float* pa = AlignTo64(aRaw);
                float* scratch = AlignTo64(tile);
                GemmEpilogueArgs ep = job.Epilogue;
                int step = DepthStep(job.K);
                for (int pc = 0; pc < job.K; pc += step)
                {
                    int kc = Math.Min(step, job.K - pc);
                    bool last = pc + kc == job.K;
                    bool accumulate = pc != 0 || ep.AccumulateIntoC;
                    PackA(job.A + (row0 * job.Lda) + pc, job.Lda, mc, kc, mr, pa);
                    float* pb = job.PackedB + ((nint)pc * job.NPadded) + ((nint)col0 * kc);
                    ComputeBlock<TKernel>(job.Path, pa, pb, kc, mc, nc, job.C + (row0 * job.Ldc) + col0, job.Ldc, row0, col0, accumulate, last, in ep, scratch);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aBuffer);
        }
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                    int step = DepthStep(job.K);
                    for (int pc = 0; pc < job.K; pc += step)
                    {
                        int kc = Math.Min(step, job.K - pc);
                        bool first = pc == 0, last = pc + kc == job.K;
                        bool accumulate = !first || ep.AccumulateIntoC;
                        job.Packer.Pack(jc, nc, pc, kc, nr, pb);
                        for (int ic = row0; ic < row1; ic += mcMax)
                        {
                            int mc = Math.Min(mcMax, row1 - ic);
                            PackA(job.A + (ic * job.Lda) + pc, job.Lda, mc, kc, mr, pa);
                            ComputeBlock<TKernel>(job.Path, pa, pb, kc, mc, nc, job.C + (ic * job.Ldc) + jc, job.Ldc, ic, jc, accumulate, last, in ep, tileAligned);
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(float* a, nint lda, int mc, int kc, int mr, float* pa)
    {
        for (int i0 = 0; i0 < mc; i0 += mr)
        {
            int rows = Math.Min(mr, mc - i0);
            int i = 0;
            if (Avx.IsSupported)
            {
                // Groups of 8 and then 4 rows go through register transposes (8 or 4 k steps at a time); the
                // strided scalar stores they replace cost more than the whole micro-kernel at small N.
                for (; i + 8 <= rows; i += 8)
                {
                    float* src = a + ((i0 + i) * lda);
                    int p = 0;
                    for (; p + 8 <= kc; p += 8)
                    {
                        GemmF32TransposedPacker.Transpose8x8(src + p, lda, pa + (p * mr) + i, mr);
                    }

                    for (; p < kc; p++)
                    {
                        for (int t = 0; t < 8; t++)
                        {
                            pa[(p * mr) + i + t] = src[(t * lda) + p];
                        }
                    }
                }

                for (; i + 4 <= rows; i += 4)
                {
                    float* src = a + ((i0 + i) * lda);
                    int p = 0;
                    for (; p + 4 <= kc; p += 4)
                    {
                        Transpose4x4(src + p, lda, pa + (p * mr) + i, mr);
                    }

                    for (; p < kc; p++)
                    {
                        for (int t = 0; t < 4; t++)
                        {
                            pa[(p * mr) + i + t] = src[(t * lda) + p];
                        }
                    }
                }
            }

            for (; i < rows; i++)
            {
                float* src = a + ((i0 + i) * lda);
                float* d = pa + i;
                for (int p = 0; p < kc; p++)
                {
                    d[p * mr] = src[p];
                }
            }

            for (i = rows; i < mr; i++)
            {
                for (int p = 0; p < kc; p++)
                {
                    pa[(p * mr) + i] = 0;
                }
            }

            pa += mr * kc;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(float* src, nint lds, float* dst, nint ldd)
    {
        Vector128<float> r0 = Vector128.Load(src);
        Vector128<float> r1 = Vector128.Load(src + lds);
        Vector128<float> r2 = Vector128.Load(src + (2 * lds));
        Vector128<float> r3 = Vector128.Load(src + (3 * lds));
        Vector128<float> t0 = Sse.UnpackLow(r0, r1);
        Vector128<float> t1 = Sse.UnpackLow(r2, r3);
        Vector128<float> t2 = Sse.UnpackHigh(r0, r1);
        Vector128<float> t3 = Sse.UnpackHigh(r2, r3);
        Vector128.Store(Sse.MoveLowToHigh(t0, t1), dst);
        Vector128.Store(Sse.MoveHighToLow(t1, t0), dst + ldd);
        Vector128.Store(Sse.MoveLowToHigh(t2, t3), dst + (2 * ldd));
        Vector128.Store(Sse.MoveHighToLow(t3, t2), dst + (3 * ldd));
    }

    private static float* AlignTo64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>Packs a KC×NC block of op(B) into NR-wide, kc-deep micro-panels, zero-padding the last panel.</summary>
internal interface IGemmPanelPacker
{
    /// <summary>Largest depth <c>kc</c> the driver asks this packer for (see <see cref="GemmDriver.DepthStep"/>).</summary>
    static virtual int MaxDepth => GemmDriver.KC;

    /// <summary>
    /// Writes ceil(<paramref name="nc"/>/<paramref name="nr"/>) panels of <paramref name="kc"/>×<paramref name="nr"/> floats
    /// to <paramref name="dst"/>: panel q holds op(B)[k0 + p, j0 + q·nr + j] at dst[q·kc·nr + p·nr + j].
    /// </summary>
    unsafe void Pack(int j0, int nc, int k0, int kc, int nr, float* dst);
}

/// <summary>Packs an f32 B given as [k×n] (row-major, op(B) = B).</summary>
internal readonly unsafe struct GemmF32RowPacker(float* b, nint ldb) : IGemmPanelPacker
{
    /// <inheritdoc/>
    public static int MaxDepth => GemmDriver.CopyKC;

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
    /// <inheritdoc/>
    public static int MaxDepth => GemmDriver.CopyKC;

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
                        PrefetchRowsAhead(src, ldb, p);
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

    /// <summary>
    /// Once per 16 columns, prefetches the 8 rows at <paramref name="src"/> 128 floats (8 cache lines) past column
    /// <paramref name="p"/>. The packer reads 8 rows of B side by side, 32 bytes at a time, from L3 or memory; measured on
    /// one thread at M = 128 this gained 5–15% of the whole product (the same in PackA gained nothing at M = 2048).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRowsAhead(float* src, nint ld, int p)
    {
        if ((p & 15) == 0)
        {
            for (int t = 0; t < 8; t++)
            {
                Sse.Prefetch0(src + (t * ld) + p + 128);
            }
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
/// The BLIS loop nest around a register tile, in two schedules that both pack each operand once per call and hand out
/// work through shared claim counters, so a thread that starts late (thread-pool wake-up, a busy machine) only does less
/// of the work instead of leaving half of it for the end. Few rows: A is packed whole, and tasks are column chunks of
/// C, each packing its own L2-sized block of op(B) (<see cref="RunSharedA{TKernel, TPacker}"/>). Many rows and a
/// single-pass packable B: op(B) is packed whole, tasks are row blocks (<see cref="RunSharedB{TKernel, TPacker}"/>).
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>
    /// Largest depth of a packed block for packers that decode (the 4-bit weights, whose packer is sized for it). K is
    /// cut into equal blocks of at most the packer's <see cref="IGemmPanelPacker.MaxDepth"/> (multiples of 32, see
    /// <see cref="DepthStep"/>), so K = 384 is one block rather than 256 + 128 and C is read back once less.
    /// The 8×48 tile then reads a 12 KiB A sliver and a 72 KiB B panel per call.
    /// </summary>
    internal const int KC = 384;

    /// <summary>
    /// Largest depth of a packed block for the f32 packers, which only copy: K = 768 is one block and K = 3072 four,
    /// so C is read back and rewritten half as often as with <see cref="KC"/>, and the 8×48 tile's A sliver (24 KiB)
    /// still stays in L1 while it sweeps the B panels. Measured with two threads against 384 (interleaved runs, medians):
    /// +4–7% at 2048×3072×768, 2048×768×3072 and 512×768×3072, the same within noise on the other K ≥ 768 shapes.
    /// </summary>
    internal const int CopyKC = 768;

    /// <summary>The depth of every packed block but the last for a product of depth <paramref name="k"/> with blocks of at most <paramref name="maxDepth"/>.</summary>
    /// <remarks>A multiple of 32 so that block starts are even and 16-column 4-bit chunks never straddle a quantisation block.</remarks>
    internal static int DepthStep(int k, int maxDepth)
    {
        int blocks = Math.Max(1, (k + maxDepth - 1) / maxDepth);
        return Math.Min(maxDepth, (((k + blocks - 1) / blocks) + 31) / 32 * 32);
    }

    /// <summary>
    /// Rows of a packed A block in the shared-B schedule (rounded to MR): 240×768×4 = 720 KiB stays in a 1 MiB L2 next
    /// to the B panel being streamed (144 KiB); 120 rows measured the same.
    /// </summary>
    internal const int MC = 240;

    /// <summary>
    /// Most columns of a task in the shared-A schedule at depth <see cref="KC"/> (rounded down to whole panels, 240 with
    /// 48-wide ones): its packed op(B) block, at most KC×NC×4 = 384 KiB, stays in a 1 MiB L2 while every A sliver
    /// (12 KiB, in L1) sweeps it, next to the C rows being written. On one thread 256 did as well as or better than 384
    /// and 512. Deeper blocks get proportionally fewer columns (<see cref="ChunkPanels"/>).
    /// </summary>
    internal const int NC = 256;

    /// <summary>
    /// Panels per column chunk of the shared-A schedule for blocks of depth <paramref name="step"/>: the KC×NC budget of
    /// op(B) in L2, rounded to the nearest whole panel, at most NC columns (3 panels of 48 at depth 768, 432 KiB).
    /// </summary>
    internal static int ChunkPanels(int step, int nr)
        => Math.Clamp(((2 * KC * NC) + (step * nr)) / (2 * step * nr), 1, Math.Max(1, NC / nr));

    /// <summary>
    /// From this many rows on, with a B that may be packed whole, the shared-B schedule runs; below it the shared-A one.
    /// At M = 2048 shared-B did ~10% more work per CPU-second (one thread): its tasks keep their A block in L2, while
    /// shared-A streams all of A (M×KC) from L3 once per column chunk. Settable for tests.
    /// </summary>
    internal static int SharedScheduleMinRows { get; set; } = 1024;

    /// <summary>Largest operand packed whole (64 MiB); a larger A is processed in row bands, a larger B goes to the shared-A schedule.</summary>
    /// <remarks>Settable so that tests can push small problems through the banded and fallback paths.</remarks>
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

        // A packed whole must stay bounded too: a taller A is done in bands of rows, each a complete shared-A GEMM.
        int mr = TKernel.MR;
        int band = (int)Math.Min(m, Math.Max(mr, MaxSharedPackedFloats / k / mr * mr));
        for (int row0 = 0; row0 < m; row0 += band)
        {
            RunSharedA<TKernel, TPacker>(path, row0, Math.Min(band, m - row0), n, k, a, lda, packer, c, ldc, epilogue, threads);
        }
    }

    /// <summary>
    /// C[mc×nc] (+)= packed A block · packed B block, then the epilogue on each finished tile while it is in L1. The
    /// columns are taken in groups of <paramref name="colBlock"/>: within a group every A sliver passes over the group's
    /// B panels. One panel per group keeps a B panel in cache across all slivers (the A block then streams from L2);
    /// all columns in one group keep each A sliver in L1 while the B block streams from L2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock<TKernel>(
        GemmKernelPath path, float* pa, float* pb, int kc, int mc, int nc, int colBlock, float* c, nint ldc, int row0, int col0, bool accumulate, bool last,
        in GemmEpilogueArgs ep, float* scratch)
        where TKernel : IGemmMicroKernel
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        for (int js = 0; js < nc; js += colBlock)
        {
            int je = Math.Min(nc, js + colBlock);
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mw = Math.Min(mr, mc - ir);
                float* aPanel = pa + (ir * kc);
                for (int jr = js; jr < je; jr += nr)
                {
                    int nw = Math.Min(nr, nc - jr);
                    float* bPanel = pb + (jr * kc);
                    float* cTile = c + (ir * ldc) + jr;
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
    }

    /// <summary>
    /// The few-rows schedule over rows [<paramref name="rowBase"/>, +<paramref name="m"/>): A is packed once, whole, by
    /// all threads (phase 1), then C is cut into column chunks of at most <see cref="NC"/> columns (and row ranges when
    /// there are too few columns) that the threads claim (phase 2). A task packs its own block of op(B) (KC×NC, in L2;
    /// for 4-bit weights it decodes it) and sweeps every A sliver over it. With few rows, packing B in blocks consumed
    /// at once beats packing it whole and reading it back from L3.
    /// </summary>
    private static void RunSharedA<TKernel, TPacker>(
        GemmKernelPath path, int rowBase, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int threads)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int panels = (n + nr - 1) / nr;
        int slivers = (m + mr - 1) / mr;
        int step = DepthStep(k, TPacker.MaxDepth);
        int depthBlocks = (k + step - 1) / step;

        // At least two chunks per thread and a multiple of the thread count, so that the last round of tasks is even
        // and a late thread still finds work; rows are split only when there are too few column panels for that.
        int chunkPanels = ChunkPanels(step, nr);
        int colChunks = (panels + chunkPanels - 1) / chunkPanels;
        int rowRanges = 1;
        if (threads > 1)
        {
            colChunks = Math.Min(panels, (Math.Max(colChunks, 2 * threads) + threads - 1) / threads * threads);
            rowRanges = Math.Clamp(((2 * threads) + colChunks - 1) / colChunks, 1, slivers);
        }

        int aGroups = Math.Max(1, Math.Min(slivers, threads * 2));
        float[] aBuffer = ArrayPool<float>.Shared.Rent((k * slivers * mr) + 16);
        try
        {
            fixed (float* aRaw = aBuffer)
            {
                var job = new SharedAJob<TPacker>(
                    path, rowBase, m, n, k, a + (rowBase * lda), lda, packer, c + (rowBase * ldc), ldc, epilogue, AlignTo64(aRaw), slivers, panels, colChunks, rowRanges, aGroups);
                var schedule = new SharedSchedule(depthBlocks * aGroups, colChunks * rowRanges);
                if (threads == 1)
                {
                    WorkSharedA<TKernel, TPacker>(in job, schedule);
                }
                else
                {
                    var run = new Participants<SharedAJob<TPacker>>(job, schedule);
                    WorkerTeam.Shared.Run(&WorkSharedA<TKernel, TPacker>, Unsafe.AsPointer(ref run), threads);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aBuffer);
        }
    }

    private readonly struct SharedAJob<TPacker>(
        GemmKernelPath path, int rowBase, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue,
        float* packedA, int slivers, int panels, int colChunks, int rowRanges, int aGroups)
        where TPacker : struct, IGemmPanelPacker
    {
        public readonly GemmKernelPath Path = path;
        public readonly int RowBase = rowBase, M = m, N = n, K = k, Slivers = slivers, Panels = panels, ColChunks = colChunks, RowRanges = rowRanges, AGroups = aGroups;
        public readonly float* A = a, C = c, PackedA = packedA;
        public readonly nint Lda = lda, Ldc = ldc;
        public readonly TPacker Packer = packer;
        public readonly GemmEpilogueArgs Epilogue = epilogue;
    }

    private static void WorkSharedA<TKernel, TPacker>(in SharedAJob<TPacker> job, SharedSchedule schedule)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int step = DepthStep(job.K, TPacker.MaxDepth);
        nint mPadded = (nint)job.Slivers * mr;
        int piece;
        while ((piece = Interlocked.Increment(ref schedule.NextPiece) - 1) < schedule.Pieces)
        {
            // Piece (depth block q, sliver group g): depth block q starts at q·step·MPadded, sliver s within it at s·MR·kc.
            int q = piece / job.AGroups, g = piece % job.AGroups;
            int pc = q * step, kc = Math.Min(step, job.K - pc);
            int s0 = job.Slivers * g / job.AGroups, s1 = job.Slivers * (g + 1) / job.AGroups;
            if (s1 > s0)
            {
                int row0 = s0 * mr;
                PackA(job.A + (row0 * job.Lda) + pc, job.Lda, Math.Min(job.M, s1 * mr) - row0, kc, mr, job.PackedA + (pc * mPadded) + ((nint)row0 * kc));
            }

            Interlocked.Increment(ref schedule.PackedPieces);
        }

        schedule.WaitUntilPacked();

        if (Volatile.Read(ref schedule.NextTask) >= schedule.Tasks)
        {
            return;
        }

        int maxPanels = (job.Panels + job.ColChunks - 1) / job.ColChunks;
        float[] bBuffer = ArrayPool<float>.Shared.Rent((step * maxPanels * nr) + 16);
        float* tile = stackalloc float[(TKernel.MR * TKernel.NR) + 16];
        try
        {
            fixed (float* bRaw = bBuffer)
            {
                float* pb = AlignTo64(bRaw);
                float* scratch = AlignTo64(tile);
                GemmEpilogueArgs ep = job.Epilogue;
                int task;
                while ((task = Interlocked.Increment(ref schedule.NextTask) - 1) < schedule.Tasks)
                {
                    int cc = task % job.ColChunks, rr = task / job.ColChunks;
                    int p0 = job.Panels * cc / job.ColChunks, p1 = job.Panels * (cc + 1) / job.ColChunks;
                    int s0 = job.Slivers * rr / job.RowRanges, s1 = job.Slivers * (rr + 1) / job.RowRanges;
                    int col0 = p0 * nr, nc = Math.Min(job.N, p1 * nr) - col0;
                    int row0 = s0 * mr, mc = Math.Min(job.M, s1 * mr) - row0;
                    for (int pc = 0; pc < job.K; pc += step)
                    {
                        int kc = Math.Min(step, job.K - pc);
                        bool accumulate = pc != 0 || ep.AccumulateIntoC;
                        job.Packer.Pack(col0, nc, pc, kc, nr, pb);
                        float* pa = job.PackedA + (pc * mPadded) + ((nint)row0 * kc);
                        ComputeBlock<TKernel>(
                            job.Path, pa, pb, kc, mc, nc, nc, job.C + (row0 * job.Ldc) + col0, job.Ldc, job.RowBase + row0, col0, accumulate, pc + kc == job.K, in ep, scratch);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bBuffer);
        }
    }

    /// <summary>
    /// The f32 schedule: op(B) is packed once, whole, by all threads (phase 1), then C is cut into tasks of (row block ×
    /// column range) that the threads take dynamically (phase 2), each packing the A rows it needs. Nothing is packed
    /// twice except A across column ranges, and a thread that the OS deschedules only delays the tasks it holds: the
    /// caller runs any task no other thread has taken.
    /// </summary>
    private static void RunSharedB<TKernel, TPacker>(
        GemmKernelPath path, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs epilogue, int threads)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int panels = (n + nr - 1) / nr;
        int nPadded = panels * nr;
        int depthStep = DepthStep(k, TPacker.MaxDepth);
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
                    var run = new Participants<SharedJob<TPacker>>(job, schedule, panelGroups);
                    WorkerTeam.Shared.Run(&Work<TKernel, TPacker>, Unsafe.AsPointer(ref run), threads);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bBuffer);
        }
    }

    /// <summary>Claim counters of one shared-B GEMM.</summary>
    /// <summary>
    /// One fork of a shared schedule on the worker team: each participant (the caller, a helper) runs the claiming loop
    /// once. The team's helpers are already spinning during a forward pass, where handing each product to the thread
    /// pool made the second thread start late (or, measured under load, not at all) on most small products.
    /// </summary>
    private struct Participants<TJob>(TJob job, SharedSchedule schedule, int panelGroups = 0)
        where TJob : struct
    {
        public TJob Job = job;
        public readonly SharedSchedule Schedule = schedule;
        public readonly int PanelGroups = panelGroups;
    }

    private static void WorkSharedA<TKernel, TPacker>(void* context, int participant)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        ref var run = ref Unsafe.AsRef<Participants<SharedAJob<TPacker>>>(context);
        WorkSharedA<TKernel, TPacker>(in run.Job, run.Schedule);
    }

    private static void Work<TKernel, TPacker>(void* context, int participant)
        where TKernel : IGemmMicroKernel
        where TPacker : struct, IGemmPanelPacker
    {
        ref var run = ref Unsafe.AsRef<Participants<SharedJob<TPacker>>>(context);
        Work<TKernel, TPacker>(in run.Job, run.Schedule, run.PanelGroups);
    }

    private sealed class SharedSchedule(int pieces, int tasks)
    {
        public readonly int Pieces = pieces, Tasks = tasks;
        public int NextPiece, PackedPieces, NextTask;

        /// <summary>
        /// Waits for the pieces other threads are still packing. The wait is one piece long (tens of microseconds), so it
        /// spins and yields but never sleeps: SpinWait's default Thread.Sleep(1) would cost more than a whole product.
        /// </summary>
        public void WaitUntilPacked()
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref PackedPieces) < Pieces)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
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

        schedule.WaitUntilPacked();

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

    /// <summary>Packs one (depth block × panel group) piece; depth block q starts at q·step·NPadded in the shared buffer.</summary>
    private static void PackPiece<TPacker>(in SharedJob<TPacker> job, int piece, int panelGroups)
        where TPacker : struct, IGemmPanelPacker
    {
        int q = piece / panelGroups, g = piece % panelGroups;
        int step = DepthStep(job.K, TPacker.MaxDepth);
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

        float[] aBuffer = ArrayPool<float>.Shared.Rent((TPacker.MaxDepth * job.McTask) + 16);
        float* tile = stackalloc float[(TKernel.MR * TKernel.NR) + 16];
        try
        {
            fixed (float* aRaw = aBuffer)
            {
                float* pa = AlignTo64(aRaw);
                float* scratch = AlignTo64(tile);
                GemmEpilogueArgs ep = job.Epilogue;
                int step = DepthStep(job.K, TPacker.MaxDepth);
                for (int pc = 0; pc < job.K; pc += step)
                {
                    int kc = Math.Min(step, job.K - pc);
                    bool last = pc + kc == job.K;
                    bool accumulate = pc != 0 || ep.AccumulateIntoC;
                    PackA(job.A + (row0 * job.Lda) + pc, job.Lda, mc, kc, mr, pa);
                    float* pb = job.PackedB + ((nint)pc * job.NPadded) + ((nint)col0 * kc);
                    ComputeBlock<TKernel>(job.Path, pa, pb, kc, mc, nc, nr, job.C + (row0 * job.Ldc) + col0, job.Ldc, row0, col0, accumulate, last, in ep, scratch);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aBuffer);
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

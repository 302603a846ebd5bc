using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// C[m×N] = A[m×K] · Wᵀ for a 4-bit weight in <see cref="Q4Panels"/> layout and few rows of A (one or two sentences);
/// on the <see cref="Q4PanelLayout.Octets"/> layout with A quantised to int8 (GemmQ4Rows.Int8.cs), for any number of rows.
/// </summary>
/// <remarks>
/// With a dozen rows the packed GEMM wastes most of its 12-row tiles and decodes the weight into memory only to read it
/// back once; a dot product per output pays a horizontal sum per output. This path keeps a group of up to 16 rows
/// (8 on AVX2) of one 16-output panel in accumulator registers, decodes two k of the panel per step into two vectors
/// (nibble → float → one FMA with the block's scale and offset) and feeds every row from them with broadcast A values:
/// per k-pair, 2·rows FMAs against 7 decode instructions, and the weight is read once per row group.
/// </remarks>
internal static unsafe partial class GemmQ4Rows
{
    /// <summary>Up to this many rows of A the backend prefers this path over the packed GEMM (measured crossover).</summary>
    public const int MaxRows = 48;

    /// <summary>Below this many multiply-adds the product stays on the calling thread.</summary>
    private const long ParallelWork = 1L << 17;

    private const int ChunksPerThread = 4;

    /// <summary>C = epilogue(A · Wᵀ) on <paramref name="path"/> with up to <paramref name="maxThreads"/> threads (0 = all cores).</summary>
    public static void Compute(
        GemmKernelPath path, int maxThreads, int m, ReadOnlySpan<float> a, int lda, Q4Panels w, Span<float> c, int ldc, GemmEpilogue epilogue = default)
    {
        ArgumentNullException.ThrowIfNull(w);
        GemmKernelPath resolved = GemmPaths.Resolve(path);
        int n = w.Rows, k = w.Columns;
        bool accumulateIntoC = GemmF32.ValidateWeightProduct(m, n, k, a, lda, c, ldc, epilogue);
        if (m == 0)
        {
            return;
        }

        // Int8 activations: A is quantised once per call, before the panels fork (QuantizedRows owns pooled buffers).
        using QuantizedRows? quantized = w.Layout == Q4PanelLayout.Octets ? QuantizedRows.From(resolved, m, a, lda, k, w.Int8Chunk) : null;
        fixed (float* pa = a, pc = c, pBias = epilogue.Bias, pRes = epilogue.Residual, pScales = w.ScaleOffsets)
        fixed (byte* pNibbles = w.Nibbles)
        fixed (sbyte* pq = quantized is null ? default : quantized.Values)
        fixed (float* pqs = quantized is null ? default : quantized.Scales)
        {
            var job = new Job(
                resolved, m, n, k, w.BlockSize, pa, lda, pNibbles, pScales, pc, ldc,
                new GemmEpilogueArgs(pBias, epilogue.Activation, accumulateIntoC ? null : pRes, ldc, accumulateIntoC))
            {
                Quantized = pq,
                QuantizedScales = pqs,
                QuantizedStride = quantized?.Stride ?? 0,
                Int8Chunk = w.Int8Chunk,
                Octets = w.Octets,
            };
            int panels = w.PanelCount;
            int threads = maxThreads <= 0 ? WorkerTeam.Shared.Threads : Math.Min(maxThreads, WorkerTeam.Shared.Threads);
            if ((long)m * n * k < ParallelWork)
            {
                threads = 1;
            }

            // A few chunks per thread, so that a thread the OS takes away leaves little for the other to wait on.
            job.Chunks = Math.Min(panels, threads == 1 ? 1 : threads * ChunksPerThread);
            if (job.Chunks == 1)
            {
                RunPanels(in job, 0, panels);
                return;
            }

            WorkerTeam.Shared.Run(&RunChunk, &job, job.Chunks);
        }
    }

    private static void RunChunk(void* context, int chunk)
    {
        ref readonly Job job = ref *(Job*)context;
        int panels = (job.N + Q4Panels.Width - 1) / Q4Panels.Width;
        RunPanels(in job, panels * chunk / job.Chunks, panels * (chunk + 1) / job.Chunks);
    }

    private struct Job(
        GemmKernelPath path, int m, int n, int k, int blockSize, float* a, nint lda, byte* nibbles, float* scaleOffsets, float* c, nint ldc, GemmEpilogueArgs epilogue)
    {
        public readonly GemmKernelPath Path = path;
        public readonly int M = m, N = n, K = k, BlockSize = blockSize;
        public readonly float* A = a, ScaleOffsets = scaleOffsets, C = c;
        public readonly byte* Nibbles = nibbles;
        public readonly nint Lda = lda, Ldc = ldc;
        public readonly GemmEpilogueArgs Epilogue = epilogue;

        /// <summary>How many chunks of panels the region is cut into.</summary>
        public int Chunks;

        /// <summary>A quantised to int8 (<see cref="Q4PanelLayout.Octets"/> panels), or null for float A.</summary>
        public sbyte* Quantized;

        /// <summary>Per row and chunk of quantised A: its scale, then scale × the sum of its values.</summary>
        public float* QuantizedScales;

        /// <summary>Bytes between rows of <see cref="Quantized"/>.</summary>
        public nint QuantizedStride;

        /// <summary>Values per quantisation chunk (<see cref="Q4Panels.Int8Chunk"/>).</summary>
        public int Int8Chunk;

        /// <summary>k-octets per panel of the octet layout (<see cref="Q4Panels.Octets"/>).</summary>
        public int Octets;
    }

    private static void RunPanels(in Job job, int panel0, int panel1)
    {
        if (job.Quantized != null)
        {
            RunInt8Panels(in job, panel0, panel1);
            return;
        }

        int groupMax = job.Path switch
        {
            GemmKernelPath.Vector512 => 16,
            GemmKernelPath.Vector256 => 8,
            _ => 4,
        };

        // Row groups of near-equal size: 20 rows run as 10 + 10, not 16 + 4, so no group is latency-bound.
        int groups = (job.M + groupMax - 1) / groupMax;
        int pairs = (job.K + 1) / 2, blocks = (job.K + job.BlockSize - 1) / job.BlockSize;
        float* tile = stackalloc float[groupMax * Q4Panels.Width];

        // Groups outside, panels inside: a group's rows of A (16 × K floats) stay in L1 while the chunk's panels stream
        // past them from L2, instead of every panel re-reading all of A.
        for (int g = 0; g < groups; g++)
        {
            int r0 = job.M * g / groups, rows = (job.M * (g + 1) / groups) - r0;
            float* a = job.A + (r0 * job.Lda);
            for (int p = panel0; p < panel1; p++)
            {
                byte* nibbles = job.Nibbles + ((nint)p * pairs * Q4Panels.Width);
                float* scaleOffsets = job.ScaleOffsets + ((nint)p * blocks * 2 * Q4Panels.Width);
                switch (job.Path)
                {
                    case GemmKernelPath.Vector512:
                        Panel512(rows, a, job.Lda, nibbles, scaleOffsets, job.K, job.BlockSize, tile);
                        break;
                    case GemmKernelPath.Vector256:
                        Panel256(rows, a, job.Lda, nibbles, scaleOffsets, job.K, job.BlockSize, tile);
                        break;
                    default:
                        PanelScalar(rows, a, job.Lda, nibbles, scaleOffsets, job.K, job.BlockSize, tile);
                        break;
                }

                Finish(in job, tile, r0, rows, p * Q4Panels.Width);
            }
        }
    }

    /// <summary>Moves a finished rows × 16 tile into C (adding to it when C holds the residual), then the epilogue.</summary>
    private static void Finish(in Job job, float* tile, int r0, int rows, int col0)
    {
        int cols = Math.Min(Q4Panels.Width, job.N - col0);
        float* c = job.C + (r0 * job.Ldc) + col0;
        for (int i = 0; i < rows; i++)
        {
            float* src = tile + (i * Q4Panels.Width);
            float* dst = c + (i * job.Ldc);
            if (cols == Q4Panels.Width && job.Path == GemmKernelPath.Vector512)
            {
                var v = Vector512.Load(src);
                (job.Epilogue.AccumulateIntoC ? v + Vector512.Load(dst) : v).Store(dst);
                continue;
            }

            for (int j = 0; j < cols; j++)
            {
                dst[j] = job.Epilogue.AccumulateIntoC ? dst[j] + src[j] : src[j];
            }
        }

        job.Epilogue.Apply(job.Path, c, job.Ldc, r0, col0, rows, cols);
    }

    private static void Panel512(int rows, float* a, nint lda, byte* nibbles, float* scaleOffsets, int k, int blockSize, float* tile)
    {
        switch (rows)
        {
            case 1: Panel512<R1>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 2: Panel512<R2>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 3: Panel512<R3>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 4: Panel512<R4>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 5: Panel512<R5>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 6: Panel512<R6>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 7: Panel512<R7>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 8: Panel512<R8>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 9: Panel512<R9>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 10: Panel512<R10>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 11: Panel512<R11>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 12: Panel512<R12>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 13: Panel512<R13>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 14: Panel512<R14>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            case 15: Panel512<R15>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
            default: Panel512<R16>(a, lda, nibbles, scaleOffsets, k, blockSize, tile); break;
        }
    }

    private static void Panel256(int rows, float* a, nint lda, byte* nibbles, float* scaleOffsets, int k, int blockSize, float* tile)
    {
        // A 16-output panel is two 8-lane halves; each half keeps its own row group in the sixteen ymm registers.
        for (int half = 0; half < 2; half++)
        {
            int lane0 = half * 8;
            switch (rows)
            {
                case 1: Panel256<R1>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 2: Panel256<R2>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 3: Panel256<R3>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 4: Panel256<R4>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 5: Panel256<R5>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 6: Panel256<R6>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                case 7: Panel256<R7>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
                default: Panel256<R8>(a, lda, nibbles, scaleOffsets, k, blockSize, lane0, tile); break;
            }
        }
    }

    /// <summary>
    /// One row group × one panel on AVX-512. The row count is a type parameter so that the JIT compiles one body per
    /// count with the unused accumulators gone (each <c>TRows.Count &gt; i</c> test is a constant): sixteen locals stay
    /// in registers where an array of vectors would live in memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel512<TRows>(float* a, nint lda, byte* nibbles, float* scaleOffsets, int k, int blockSize, float* tile)
        where TRows : struct, IRowCount
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        Vector512<int> low = Vector512.Create(0x0F);
        int fullPairs = k / 2, pairsPerBlock = blockSize / 2;
        for (int j0 = 0, block = 0; j0 < fullPairs; j0 += pairsPerBlock, block++)
        {
            Vector512<float> scale = Vector512.Load(scaleOffsets + (block * 32));
            Vector512<float> offset = Vector512.Load(scaleOffsets + (block * 32) + 16);
            int j1 = Math.Min(j0 + pairsPerBlock, fullPairs);
            for (int j = j0; j < j1; j++)
            {
                Vector512<int> bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(nibbles + (j * 16)));
                Vector512<float> w0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(bytes & low), scale, offset);
                Vector512<float> w1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(bytes >>> 4), scale, offset);
                float* ak = a + (2 * j);
                if (TRows.Count <= 8)
                {
                    // Few rows: even k into c0…c7, odd k into c8…c15, two independent chains per row instead
                    // of one chain of two dependent FMAs, which would leave the FMA units idle.
                    c0 = Single(ak, w0, c0);
                    c8 = Single(ak + 1, w1, c8);
                    if (TRows.Count > 1) { c1 = Single(ak + lda, w0, c1); c9 = Single(ak + lda + 1, w1, c9); }
                    if (TRows.Count > 2) { c2 = Single(ak + (2 * lda), w0, c2); c10 = Single(ak + (2 * lda) + 1, w1, c10); }
                    if (TRows.Count > 3) { c3 = Single(ak + (3 * lda), w0, c3); c11 = Single(ak + (3 * lda) + 1, w1, c11); }
                    if (TRows.Count > 4) { c4 = Single(ak + (4 * lda), w0, c4); c12 = Single(ak + (4 * lda) + 1, w1, c12); }
                    if (TRows.Count > 5) { c5 = Single(ak + (5 * lda), w0, c5); c13 = Single(ak + (5 * lda) + 1, w1, c13); }
                    if (TRows.Count > 6) { c6 = Single(ak + (6 * lda), w0, c6); c14 = Single(ak + (6 * lda) + 1, w1, c14); }
                    if (TRows.Count > 7) { c7 = Single(ak + (7 * lda), w0, c7); c15 = Single(ak + (7 * lda) + 1, w1, c15); }
                }
                else
                {
                    c0 = Pair(ak, w0, w1, c0);
                    if (TRows.Count > 1) { c1 = Pair(ak + lda, w0, w1, c1); }
                    if (TRows.Count > 2) { c2 = Pair(ak + (2 * lda), w0, w1, c2); }
                    if (TRows.Count > 3) { c3 = Pair(ak + (3 * lda), w0, w1, c3); }
                    if (TRows.Count > 4) { c4 = Pair(ak + (4 * lda), w0, w1, c4); }
                    if (TRows.Count > 5) { c5 = Pair(ak + (5 * lda), w0, w1, c5); }
                    if (TRows.Count > 6) { c6 = Pair(ak + (6 * lda), w0, w1, c6); }
                    if (TRows.Count > 7) { c7 = Pair(ak + (7 * lda), w0, w1, c7); }
                    if (TRows.Count > 8) { c8 = Pair(ak + (8 * lda), w0, w1, c8); }
                    if (TRows.Count > 9) { c9 = Pair(ak + (9 * lda), w0, w1, c9); }
                    if (TRows.Count > 10) { c10 = Pair(ak + (10 * lda), w0, w1, c10); }
                    if (TRows.Count > 11) { c11 = Pair(ak + (11 * lda), w0, w1, c11); }
                    if (TRows.Count > 12) { c12 = Pair(ak + (12 * lda), w0, w1, c12); }
                    if (TRows.Count > 13) { c13 = Pair(ak + (13 * lda), w0, w1, c13); }
                    if (TRows.Count > 14) { c14 = Pair(ak + (14 * lda), w0, w1, c14); }
                    if (TRows.Count > 15) { c15 = Pair(ak + (15 * lda), w0, w1, c15); }
                }
            }
        }

        if ((k & 1) != 0)
        {
            // Odd K: the last pair has only its even k (A has no column K), so only the low nibbles count.
            int j = fullPairs, block = (2 * j) / blockSize;
            Vector512<int> bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(nibbles + (j * 16)));
            Vector512<float> w0 = Avx512F.FusedMultiplyAdd(
                Avx512F.ConvertToVector512Single(bytes & low), Vector512.Load(scaleOffsets + (block * 32)), Vector512.Load(scaleOffsets + (block * 32) + 16));
            float* ak = a + (2 * j);
            c0 = Single(ak, w0, c0);
            if (TRows.Count > 1) { c1 = Single(ak + lda, w0, c1); }
            if (TRows.Count > 2) { c2 = Single(ak + (2 * lda), w0, c2); }
            if (TRows.Count > 3) { c3 = Single(ak + (3 * lda), w0, c3); }
            if (TRows.Count > 4) { c4 = Single(ak + (4 * lda), w0, c4); }
            if (TRows.Count > 5) { c5 = Single(ak + (5 * lda), w0, c5); }
            if (TRows.Count > 6) { c6 = Single(ak + (6 * lda), w0, c6); }
            if (TRows.Count > 7) { c7 = Single(ak + (7 * lda), w0, c7); }
            if (TRows.Count > 8) { c8 = Single(ak + (8 * lda), w0, c8); }
            if (TRows.Count > 9) { c9 = Single(ak + (9 * lda), w0, c9); }
            if (TRows.Count > 10) { c10 = Single(ak + (10 * lda), w0, c10); }
            if (TRows.Count > 11) { c11 = Single(ak + (11 * lda), w0, c11); }
            if (TRows.Count > 12) { c12 = Single(ak + (12 * lda), w0, c12); }
            if (TRows.Count > 13) { c13 = Single(ak + (13 * lda), w0, c13); }
            if (TRows.Count > 14) { c14 = Single(ak + (14 * lda), w0, c14); }
            if (TRows.Count > 15) { c15 = Single(ak + (15 * lda), w0, c15); }
        }

        if (TRows.Count <= 8)
        {
            c0 += c8;
            c1 += c9;
            c2 += c10;
            c3 += c11;
            c4 += c12;
            c5 += c13;
            c6 += c14;
            c7 += c15;
        }

        StoreTile<TRows>(tile, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
    }

    /// <summary>Stores the first <typeparamref name="TRows"/> of sixteen 16-float accumulators as rows of a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile<TRows>(
        float* tile, Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3, Vector512<float> c4, Vector512<float> c5,
        Vector512<float> c6, Vector512<float> c7, Vector512<float> c8, Vector512<float> c9, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c12, Vector512<float> c13, Vector512<float> c14, Vector512<float> c15)
        where TRows : struct, IRowCount
    {
        c0.Store(tile);
        if (TRows.Count > 1) { c1.Store(tile + 16); }
        if (TRows.Count > 2) { c2.Store(tile + 32); }
        if (TRows.Count > 3) { c3.Store(tile + 48); }
        if (TRows.Count > 4) { c4.Store(tile + 64); }
        if (TRows.Count > 5) { c5.Store(tile + 80); }
        if (TRows.Count > 6) { c6.Store(tile + 96); }
        if (TRows.Count > 7) { c7.Store(tile + 112); }
        if (TRows.Count > 8) { c8.Store(tile + 128); }
        if (TRows.Count > 9) { c9.Store(tile + 144); }
        if (TRows.Count > 10) { c10.Store(tile + 160); }
        if (TRows.Count > 11) { c11.Store(tile + 176); }
        if (TRows.Count > 12) { c12.Store(tile + 192); }
        if (TRows.Count > 13) { c13.Store(tile + 208); }
        if (TRows.Count > 14) { c14.Store(tile + 224); }
        if (TRows.Count > 15) { c15.Store(tile + 240); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(float* ak, Vector512<float> w0, Vector512<float> w1, Vector512<float> acc)
        => Avx512F.FusedMultiplyAdd(Vector512.Create(ak[1]), w1, Avx512F.FusedMultiplyAdd(Vector512.Create(ak[0]), w0, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Single(float* ak, Vector512<float> w0, Vector512<float> acc)
        => Avx512F.FusedMultiplyAdd(Vector512.Create(ak[0]), w0, acc);

    /// <summary>One row group × one 8-lane half panel on AVX2 (rows ≤ 8: 8 accumulators + decode registers fit 16 ymm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel256<TRows>(float* a, nint lda, byte* nibbles, float* scaleOffsets, int k, int blockSize, int lane0, float* tile)
        where TRows : struct, IRowCount
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector256<int> low = Vector256.Create(0x0F);
        int fullPairs = k / 2, pairsPerBlock = blockSize / 2;
        for (int j0 = 0, block = 0; j0 < fullPairs; j0 += pairsPerBlock, block++)
        {
            Vector256<float> scale = Vector256.Load(scaleOffsets + (block * 32) + lane0);
            Vector256<float> offset = Vector256.Load(scaleOffsets + (block * 32) + 16 + lane0);
            int j1 = Math.Min(j0 + pairsPerBlock, fullPairs);
            for (int j = j0; j < j1; j++)
            {
                Vector256<int> bytes = Avx2.ConvertToVector256Int32(nibbles + (j * 16) + lane0);
                Vector256<float> w0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(bytes & low), scale, offset);
                Vector256<float> w1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ShiftRightLogical(bytes, 4)), scale, offset);
                float* ak = a + (2 * j);
                c0 = Pair(ak, w0, w1, c0);
                if (TRows.Count > 1) { c1 = Pair(ak + lda, w0, w1, c1); }
                if (TRows.Count > 2) { c2 = Pair(ak + (2 * lda), w0, w1, c2); }
                if (TRows.Count > 3) { c3 = Pair(ak + (3 * lda), w0, w1, c3); }
                if (TRows.Count > 4) { c4 = Pair(ak + (4 * lda), w0, w1, c4); }
                if (TRows.Count > 5) { c5 = Pair(ak + (5 * lda), w0, w1, c5); }
                if (TRows.Count > 6) { c6 = Pair(ak + (6 * lda), w0, w1, c6); }
                if (TRows.Count > 7) { c7 = Pair(ak + (7 * lda), w0, w1, c7); }
            }
        }

        if ((k & 1) != 0)
        {
            // Odd K, after the loop as on AVX-512: the last pair's high nibble has no A column.
            int j = fullPairs, block = (2 * j) / blockSize;
            Vector256<int> bytes = Avx2.ConvertToVector256Int32(nibbles + (j * 16) + lane0);
            Vector256<float> w0 = Fma.MultiplyAdd(
                Avx.ConvertToVector256Single(bytes & low), Vector256.Load(scaleOffsets + (block * 32) + lane0), Vector256.Load(scaleOffsets + (block * 32) + 16 + lane0));
            float* ak = a + (2 * j);
            c0 = Single(ak, w0, c0);
            if (TRows.Count > 1) { c1 = Single(ak + lda, w0, c1); }
            if (TRows.Count > 2) { c2 = Single(ak + (2 * lda), w0, c2); }
            if (TRows.Count > 3) { c3 = Single(ak + (3 * lda), w0, c3); }
            if (TRows.Count > 4) { c4 = Single(ak + (4 * lda), w0, c4); }
            if (TRows.Count > 5) { c5 = Single(ak + (5 * lda), w0, c5); }
            if (TRows.Count > 6) { c6 = Single(ak + (6 * lda), w0, c6); }
            if (TRows.Count > 7) { c7 = Single(ak + (7 * lda), w0, c7); }
        }

        float* t = tile + lane0;
        c0.Store(t);
        if (TRows.Count > 1) { c1.Store(t + 16); }
        if (TRows.Count > 2) { c2.Store(t + 32); }
        if (TRows.Count > 3) { c3.Store(t + 48); }
        if (TRows.Count > 4) { c4.Store(t + 64); }
        if (TRows.Count > 5) { c5.Store(t + 80); }
        if (TRows.Count > 6) { c6.Store(t + 96); }
        if (TRows.Count > 7) { c7.Store(t + 112); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pair(float* ak, Vector256<float> w0, Vector256<float> w1, Vector256<float> acc)
        => Fma.MultiplyAdd(Vector256.Create(ak[1]), w1, Fma.MultiplyAdd(Vector256.Create(ak[0]), w0, acc));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Single(float* ak, Vector256<float> w0, Vector256<float> acc)
        => Fma.MultiplyAdd(Vector256.Create(ak[0]), w0, acc);

    /// <summary>Portable reference-speed path: the same layout and arithmetic, one lane at a time.</summary>
    private static void PanelScalar(int rows, float* a, nint lda, byte* nibbles, float* scaleOffsets, int k, int blockSize, float* tile)
    {
        new Span<float>(tile, rows * Q4Panels.Width).Clear();
        for (int kk = 0; kk < k; kk++)
        {
            int block = kk / blockSize;
            float* scales = scaleOffsets + (block * 32);
            byte* pair = nibbles + ((kk >> 1) * 16);
            for (int lane = 0; lane < Q4Panels.Width; lane++)
            {
                int q = (kk & 1) == 0 ? pair[lane] & 0x0F : pair[lane] >> 4;
                float w = MathF.FusedMultiplyAdd(q, scales[lane], scales[16 + lane]);
                for (int r = 0; r < rows; r++)
                {
                    tile[(r * Q4Panels.Width) + lane] = MathF.FusedMultiplyAdd(a[(r * lda) + kk], w, tile[(r * Q4Panels.Width) + lane]);
                }
            }
        }
    }

    /// <summary>A row count known to the JIT at compile time.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

#pragma warning disable SA1502 // one-line type declarations: sixteen constants
    private readonly struct R1 : IRowCount { public static int Count => 1; }

    private readonly struct R2 : IRowCount { public static int Count => 2; }

    private readonly struct R3 : IRowCount { public static int Count => 3; }

    private readonly struct R4 : IRowCount { public static int Count => 4; }

    private readonly struct R5 : IRowCount { public static int Count => 5; }

    private readonly struct R6 : IRowCount { public static int Count => 6; }

    private readonly struct R7 : IRowCount { public static int Count => 7; }

    private readonly struct R8 : IRowCount { public static int Count => 8; }

    private readonly struct R9 : IRowCount { public static int Count => 9; }

    private readonly struct R10 : IRowCount { public static int Count => 10; }

    private readonly struct R11 : IRowCount { public static int Count => 11; }

    private readonly struct R12 : IRowCount { public static int Count => 12; }

    private readonly struct R13 : IRowCount { public static int Count => 13; }

    private readonly struct R14 : IRowCount { public static int Count => 14; }

    private readonly struct R15 : IRowCount { public static int Count => 15; }

    private readonly struct R16 : IRowCount { public static int Count => 16; }
#pragma warning restore SA1502
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>Matrix multiplication with a 4-bit block-quantised weight (ONNX <c>MatMulNBits</c> layout), on the CPU.</summary>
/// <remarks>
/// The weight is never inflated. Few rows of A (a single sentence, a few tokens) take a memory-bound GEMV path that
/// decodes 32 nibbles at a time into registers and multiplies them straight into the dot products. Many rows take the
/// packed f32 GEMM, whose B packer decodes one KC×NC block of the weight at a time into the thread's cache-sized
/// packing buffer, so the decode is amortised over every row of A.
/// </remarks>
public static class GemmQ4
{
    /// <summary>Up to this many rows of A use the GEMV path (each decoded weight chunk is reused across the rows).</summary>
    internal const int GemvMaxRows = 8;

    /// <summary>
    /// C[m×N] = A[m×K] · Wᵀ, then the epilogue, where W is the N×K 4-bit matrix <paramref name="w"/>
    /// (N = <see cref="Q4Matrix.Rows"/>, K = <see cref="Q4Matrix.Columns"/>). Leading dimensions are row strides in elements.
    /// </summary>
    /// <exception cref="ArgumentException">A size, leading dimension or span length is inconsistent.</exception>
    public static void Compute(int m, ReadOnlySpan<float> a, int lda, Q4Matrix w, Span<float> c, int ldc, GemmEpilogue epilogue = default)
        => Compute(GemmKernelPath.Auto, 0, m, a, lda, w, c, ldc, epilogue);

    /// <summary>The same product on a chosen path and thread count (0 = all cores); <paramref name="gemvMaxRows"/> &lt; 0 keeps the default split.</summary>
    internal static unsafe void Compute(
        GemmKernelPath path, int maxThreads, int m, ReadOnlySpan<float> a, int lda, Q4Matrix w, Span<float> c, int ldc, GemmEpilogue epilogue = default, int gemvMaxRows = -1)
    {
        ArgumentNullException.ThrowIfNull(w);
        GemmKernelPath resolved = GemmPaths.Resolve(path);
        int n = w.Rows, k = w.Columns;
        bool accumulateIntoC = GemmF32.ValidateWeightProduct(m, n, k, a, lda, c, ldc, epilogue);
        if (m == 0)
        {
            return;
        }

        ReadOnlySpan<byte> packed = w.Packed.Span;
        fixed (float* pa = a, pc = c, pBias = epilogue.Bias, pRes = epilogue.Residual, pScales = w.Scales)
        fixed (byte* pPacked = packed, pZeros = w.ZeroPoints)
        {
            var ep = new GemmEpilogueArgs(pBias, epilogue.Activation, accumulateIntoC ? null : pRes, ldc, accumulateIntoC);
            var weight = new Q4View(pPacked, pScales, pZeros, n, k, w.BlockSize, w.BlocksPerRow);
            if (m <= (gemvMaxRows < 0 ? GemvMaxRows : gemvMaxRows))
            {
                Gemv(resolved, maxThreads, m, pa, lda, in weight, pc, ldc, ep);
            }
            else
            {
                GemmF32.Dispatch(resolved, maxThreads, m, n, k, pa, lda, new GemmQ4Packer(weight), pc, ldc, ep, packWholeB: false);
            }
        }
    }

    private static unsafe void Gemv(GemmKernelPath path, int maxThreads, int m, float* a, nint lda, in Q4View w, float* c, nint ldc, GemmEpilogueArgs ep)
    {
        int n = w.Rows, k = w.Columns;

        // Vector decoding takes 32 columns (16 bytes) per step with one scale, so it needs blocks of at least 32.
        bool vector = path != GemmKernelPath.Scalar && w.BlockSize >= 32;
        int chunks = vector ? k / 32 : 0;

        // A is reordered once per call so that each 32-column chunk lists its even columns then its odd ones: the low
        // and high nibbles of 16 packed bytes then multiply contiguous A values without any shuffle of the weights.
        float[] permutedBuffer = ArrayPool<float>.Shared.Rent(Math.Max(1, m * chunks * 32));
        try
        {
            fixed (float* permuted = permutedBuffer)
            {
                for (int r = 0; r < m; r++)
                {
                    float* src = a + (r * lda);
                    float* dst = permuted + ((nint)r * chunks * 32);
                    for (int ch = 0; ch < chunks; ch++, src += 32, dst += 32)
                    {
                        for (int j = 0; j < 16; j++)
                        {
                            dst[j] = src[2 * j];
                            dst[16 + j] = src[(2 * j) + 1];
                        }
                    }
                }

                int threads = maxThreads <= 0 ? GemmPaths.MaxThreads : maxThreads;
                long work = (long)m * n * k;
                if (work < GemmDriver.ParallelThreshold / 2)
                {
                    threads = 1;
                }

                threads = Math.Min(threads, n);
                var job = new GemvJob(path, m, a, lda, permuted, chunks, w, c, ldc, ep);
                if (threads == 1)
                {
                    GemvRange(in job, 0, n);
                }
                else
                {
                    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                        GemvRange(in job, (int)((long)n * t / threads), (int)((long)n * (t + 1) / threads)));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(permutedBuffer);
        }
    }

    private readonly unsafe struct GemvJob(GemmKernelPath path, int m, float* a, nint lda, float* permuted, int chunks, Q4View w, float* c, nint ldc, GemmEpilogueArgs ep)
    {
        public readonly GemmKernelPath Path = path;
        public readonly int M = m, Chunks = chunks;
        public readonly float* A = a, Permuted = permuted, C = c;
        public readonly nint Lda = lda, Ldc = ldc;
        public readonly Q4View W = w;
        public readonly GemmEpilogueArgs Epilogue = ep;
    }

    private static unsafe void GemvRange(in GemvJob job, int n0, int n1)
    {
        float[] offsetBuffer = ArrayPool<float>.Shared.Rent(4 * job.W.BlocksPerRow);
        try
        {
            fixed (float* offsets = offsetBuffer)
            {
                GemvRange(in job, n0, n1, offsets);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(offsetBuffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemvRange(in GemvJob job, int n0, int n1, float* offsets)
    {
        Q4View w = job.W;
        int k = w.Columns;
        int vectorColumns = job.Chunks * 32;
        int r = 0;

        // Four rows of A per pass: one decode of each weight chunk feeds four dot products.
        for (; r + 4 <= job.M; r += 4)
        {
            float* p0 = job.Permuted + ((nint)r * vectorColumns);
            for (int row = n0; row < n1; row++)
            {
                Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
                if (job.Path == GemmKernelPath.Vector512)
                {
                    Dot4x512(in w, row, p0, vectorColumns, job.Chunks, ref acc0, ref acc1, ref acc2, ref acc3);
                }
                else if (job.Chunks > 0)
                {
                    Dot4x256(in w, row, p0, vectorColumns, job.Chunks, ref acc0, ref acc1, ref acc2, ref acc3);
                }

                float* cCol = job.C + (r * job.Ldc) + row;
                float s0 = Vector512.Sum(acc0), s1 = Vector512.Sum(acc1), s2 = Vector512.Sum(acc2), s3 = Vector512.Sum(acc3);
                if (vectorColumns < k)
                {
                    s0 += TailDot(in w, row, job.A + (r * job.Lda), vectorColumns);
                    s1 += TailDot(in w, row, job.A + ((r + 1) * job.Lda), vectorColumns);
                    s2 += TailDot(in w, row, job.A + ((r + 2) * job.Lda), vectorColumns);
                    s3 += TailDot(in w, row, job.A + ((r + 3) * job.Lda), vectorColumns);
                }

                Store(job.Epilogue, cCol, s0);
                Store(job.Epilogue, cCol + job.Ldc, s1);
                Store(job.Epilogue, cCol + (2 * job.Ldc), s2);
                Store(job.Epilogue, cCol + (3 * job.Ldc), s3);
            }
        }

        for (; r < job.M; r++)
        {
            float* p0 = job.Permuted + ((nint)r * vectorColumns);
            int row = n0;
            if (job.Path == GemmKernelPath.Vector512)
            {
                // Four weight rows per pass: four independent FMA chains instead of one latency-bound chain, and
                // each A chunk loaded once for all four.
                for (; row + 4 <= n1; row += 4)
                {
                    Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
                    FillOffsets(in w, row, 4, offsets);
                    Dot1x4Rows512(in w, row, p0, job.Chunks, offsets, ref acc0, ref acc1, ref acc2, ref acc3);
                    float* aRow = job.A + (r * job.Lda);
                    float* cRow = job.C + (r * job.Ldc) + row;
                    float s0 = Vector512.Sum(acc0), s1 = Vector512.Sum(acc1), s2 = Vector512.Sum(acc2), s3 = Vector512.Sum(acc3);
                    if (vectorColumns < k)
                    {
                        s0 += TailDot(in w, row, aRow, vectorColumns);
                        s1 += TailDot(in w, row + 1, aRow, vectorColumns);
                        s2 += TailDot(in w, row + 2, aRow, vectorColumns);
                        s3 += TailDot(in w, row + 3, aRow, vectorColumns);
                    }

                    Store(job.Epilogue, cRow, s0);
                    Store(job.Epilogue, cRow + 1, s1);
                    Store(job.Epilogue, cRow + 2, s2);
                    Store(job.Epilogue, cRow + 3, s3);
                }
            }

            for (; row < n1; row++)
            {
                Vector512<float> acc = default;
                if (job.Path == GemmKernelPath.Vector512)
                {
                    acc = Dot1x512(in w, row, p0, job.Chunks);
                }
                else if (job.Chunks > 0)
                {
                    acc = Dot1x256(in w, row, p0, job.Chunks);
                }

                float s = Vector512.Sum(acc);
                if (vectorColumns < k)
                {
                    s += TailDot(in w, row, job.A + (r * job.Lda), vectorColumns);
                }

                Store(job.Epilogue, job.C + (r * job.Ldc) + row, s);
            }
        }

        job.Epilogue.Apply(job.Path, job.C + n0, job.Ldc, 0, n0, job.M, n1 - n0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(in GemmEpilogueArgs ep, float* c, float value) => *c = ep.AccumulateIntoC ? *c + value : value;

    /// <summary>Scalar dot of row <paramref name="row"/> of W with A from column <paramref name="from"/> to K.</summary>
    private static unsafe float TailDot(in Q4View w, int row, float* a, int from)
    {
        float sum = 0;
        byte* bytes = w.RowBytes(row);
        for (int col = from; col < w.Columns; col++)
        {
            int blk = col >> w.BlockShift;
            byte b = bytes[col >> 1];
            int q = (col & 1) == 0 ? b & 0x0F : b >> 4;
            sum += a[col] * ((q - w.Zero(row, blk)) * w.Scales[((nint)row * w.BlocksPerRow) + blk]);
        }

        return sum;
    }

    /// <summary>
    /// offsets[r·BlocksPerRow + b] = -zero·scale of block b of weight row <paramref name="row"/> + r, so that a decoded
    /// value is one FMA, q·scale + offset. Zero points are nibbles in block order, decoded 16 at a time like weights:
    /// doing this per block inside the dot loop (a byte load, a shift and a mask per row and block) cost as much as the
    /// dot products themselves at block size 32.
    /// </summary>
    private static unsafe void FillOffsets(in Q4View w, int row, int rows, float* dst)
    {
        int bpr = w.BlocksPerRow;
        for (int r = 0; r < rows; r++, dst += bpr)
        {
            float* scales = w.Scales + ((nint)(row + r) * bpr);
            int b = 0;
            if (w.ZeroPoints == null)
            {
                for (; b + 8 <= bpr; b += 8)
                {
                    (Vector256.Load(scales + b) * Vector256.Create(-8f)).Store(dst + b);
                }
            }
            else if (Avx2.IsSupported)
            {
                byte* zeros = w.ZeroPoints + ((nint)(row + r) * w.ZeroBytesPerRow);
                Vector256<int> mask = Vector256.Create(0x0F);
                for (; b + 16 <= bpr; b += 16)
                {
                    Vector256<int> wide = Avx2.ConvertToVector256Int32(zeros + (b >> 1));
                    Vector256<int> lo = wide & mask, hi = Vector256.ShiftRightLogical(wide, 4);
                    Vector256<int> ul = Avx2.UnpackLow(lo, hi), uh = Avx2.UnpackHigh(lo, hi);
                    Vector256<float> first = Vector256.ConvertToSingle(Avx2.Permute2x128(ul, uh, 0x20));
                    Vector256<float> second = Vector256.ConvertToSingle(Avx2.Permute2x128(ul, uh, 0x31));
                    (-(first * Vector256.Load(scales + b))).Store(dst + b);
                    (-(second * Vector256.Load(scales + b + 8))).Store(dst + b + 8);
                }

                // Eight blocks from four bytes (reading eight could run past the last row).
                for (; b + 8 <= bpr; b += 8)
                {
                    Vector256<int> wide = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(*(uint*)(zeros + (b >> 1))).AsByte());
                    Vector256<int> lo = wide & mask, hi = Vector256.ShiftRightLogical(wide, 4);
                    Vector256<float> first = Vector256.ConvertToSingle(Avx2.Permute2x128(Avx2.UnpackLow(lo, hi), Avx2.UnpackHigh(lo, hi), 0x20));
                    (-(first * Vector256.Load(scales + b))).Store(dst + b);
                }
            }

            for (; b < bpr; b++)
            {
                dst[b] = -w.Zero(row + r, b) * scales[b];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Dot1x4Rows512(
        in Q4View w, int row, float* a, int chunks, float* offsets, ref Vector512<float> acc0, ref Vector512<float> acc1, ref Vector512<float> acc2, ref Vector512<float> acc3)
    {
        nint rowBytes = (nint)w.BlocksPerRow * (w.BlockSize / 2);
        byte* b0 = w.RowBytes(row);
        float* sc0 = w.Scales + ((nint)row * w.BlocksPerRow);
        nint bpr = w.BlocksPerRow;
        int chunksPerBlock = w.BlockSize / 32;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector512<int> mask = Vector512.Create(0x0F);
        for (int ch = 0; ch < chunks;)
        {
            int blk = ch / chunksPerBlock;
            int end = Math.Min(chunks, ch + chunksPerBlock);
            Vector512<float> scale0 = Vector512.Create(sc0[blk]), offset0 = Vector512.Create(offsets[blk]);
            Vector512<float> scale1 = Vector512.Create(sc0[bpr + blk]), offset1 = Vector512.Create(offsets[bpr + blk]);
            Vector512<float> scale2 = Vector512.Create(sc0[(2 * bpr) + blk]), offset2 = Vector512.Create(offsets[(2 * bpr) + blk]);
            Vector512<float> scale3 = Vector512.Create(sc0[(3 * bpr) + blk]), offset3 = Vector512.Create(offsets[(3 * bpr) + blk]);
            for (; ch < end; ch++)
            {
                Vector512<float> aLo = Vector512.Load(a + (ch * 32)), aHi = Vector512.Load(a + (ch * 32) + 16);
                byte* q = b0 + (ch * 16);
                Vector512<int> w0 = Avx512F.ConvertToVector512Int32(Vector128.Load(q));
                Vector512<int> w1 = Avx512F.ConvertToVector512Int32(Vector128.Load(q + rowBytes));
                Vector512<int> w2 = Avx512F.ConvertToVector512Int32(Vector128.Load(q + (2 * rowBytes)));
                Vector512<int> w3 = Avx512F.ConvertToVector512Int32(Vector128.Load(q + (3 * rowBytes)));
                s0 = Vector512.FusedMultiplyAdd(aLo, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(w0 & mask), scale0, offset0), s0);
                s1 = Vector512.FusedMultiplyAdd(aLo, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(w1 & mask), scale1, offset1), s1);
                s2 = Vector512.FusedMultiplyAdd(aLo, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(w2 & mask), scale2, offset2), s2);
                s3 = Vector512.FusedMultiplyAdd(aLo, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(w3 & mask), scale3, offset3), s3);
                s0 = Vector512.FusedMultiplyAdd(aHi, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(w0, 4)), scale0, offset0), s0);
                s1 = Vector512.FusedMultiplyAdd(aHi, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(w1, 4)), scale1, offset1), s1);
                s2 = Vector512.FusedMultiplyAdd(aHi, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(w2, 4)), scale2, offset2), s2);
                s3 = Vector512.FusedMultiplyAdd(aHi, Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(w3, 4)), scale3, offset3), s3);
            }
        }

        acc0 = s0;
        acc1 = s1;
        acc2 = s2;
        acc3 = s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe Vector512<float> Dot1x512(in Q4View w, int row, float* a, int chunks)
    {
        byte* bytes = w.RowBytes(row);
        float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
        int chunksPerBlock = w.BlockSize / 32;
        Vector512<float> acc = default, accB = default;
        Vector512<int> mask = Vector512.Create(0x0F);
        for (int ch = 0; ch < chunks;)
        {
            int blk = ch / chunksPerBlock;
            int end = Math.Min(chunks, ch + chunksPerBlock);
            Vector512<float> scale = Vector512.Create(scales[blk]);
            Vector512<float> offset = Vector512.Create(-w.Zero(row, blk) * scales[blk]);
            for (; ch < end; ch++)
            {
                Vector512<int> wide = Avx512F.ConvertToVector512Int32(Vector128.Load(bytes + (ch * 16)));
                Vector512<float> lo = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(wide & mask), scale, offset);
                Vector512<float> hi = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(wide, 4)), scale, offset);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + (ch * 32)), lo, acc);
                accB = Vector512.FusedMultiplyAdd(Vector512.Load(a + (ch * 32) + 16), hi, accB);
            }
        }

        return acc + accB;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Dot4x512(
        in Q4View w, int row, float* a, nint stride, int chunks, ref Vector512<float> acc0, ref Vector512<float> acc1, ref Vector512<float> acc2, ref Vector512<float> acc3)
    {
        byte* bytes = w.RowBytes(row);
        float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
        int chunksPerBlock = w.BlockSize / 32;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector512<int> mask = Vector512.Create(0x0F);
        for (int ch = 0; ch < chunks;)
        {
            int blk = ch / chunksPerBlock;
            int end = Math.Min(chunks, ch + chunksPerBlock);
            Vector512<float> scale = Vector512.Create(scales[blk]);
            Vector512<float> offset = Vector512.Create(-w.Zero(row, blk) * scales[blk]);
            for (; ch < end; ch++)
            {
                Vector512<int> wide = Avx512F.ConvertToVector512Int32(Vector128.Load(bytes + (ch * 16)));
                Vector512<float> lo = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(wide & mask), scale, offset);
                Vector512<float> hi = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(wide, 4)), scale, offset);
                float* ap = a + (ch * 32);
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(ap), lo, s0);
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + 16), hi, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + stride), lo, s1);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + stride + 16), hi, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + (2 * stride)), lo, s2);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + (2 * stride) + 16), hi, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + (3 * stride)), lo, s3);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(ap + (3 * stride) + 16), hi, s3);
            }
        }

        acc0 = s0;
        acc1 = s1;
        acc2 = s2;
        acc3 = s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe Vector512<float> Dot1x256(in Q4View w, int row, float* a, int chunks)
    {
        byte* bytes = w.RowBytes(row);
        float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
        int chunksPerBlock = w.BlockSize / 32;
        Vector256<float> acc = default, accB = default;
        Vector256<int> mask = Vector256.Create(0x0F);
        for (int ch = 0; ch < chunks;)
        {
            int blk = ch / chunksPerBlock;
            int end = Math.Min(chunks, ch + chunksPerBlock);
            Vector256<float> scale = Vector256.Create(scales[blk]);
            Vector256<float> offset = Vector256.Create(-w.Zero(row, blk) * scales[blk]);
            for (; ch < end; ch++)
            {
                // Bytes 0..7 carry columns 0..15 (evens at a[0..8), odds at a[16..24)), bytes 8..15 the rest.
                float* ap = a + (ch * 32);
                Vector256<int> w0 = Avx2.ConvertToVector256Int32(bytes + (ch * 16));
                Vector256<int> w1 = Avx2.ConvertToVector256Int32(bytes + (ch * 16) + 8);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(ap), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(w0 & mask), scale, offset), acc);
                accB = Vector256.FusedMultiplyAdd(Vector256.Load(ap + 16), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(w0, 4)), scale, offset), accB);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(ap + 8), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(w1 & mask), scale, offset), acc);
                accB = Vector256.FusedMultiplyAdd(Vector256.Load(ap + 24), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(w1, 4)), scale, offset), accB);
            }
        }

        return Vector512.Create(acc + accB, Vector256<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Dot4x256(
        in Q4View w, int row, float* a, nint stride, int chunks, ref Vector512<float> acc0, ref Vector512<float> acc1, ref Vector512<float> acc2, ref Vector512<float> acc3)
    {
        byte* bytes = w.RowBytes(row);
        float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
        int chunksPerBlock = w.BlockSize / 32;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector256<int> mask = Vector256.Create(0x0F);
        for (int ch = 0; ch < chunks;)
        {
            int blk = ch / chunksPerBlock;
            int end = Math.Min(chunks, ch + chunksPerBlock);
            Vector256<float> scale = Vector256.Create(scales[blk]);
            Vector256<float> offset = Vector256.Create(-w.Zero(row, blk) * scales[blk]);
            for (; ch < end; ch++)
            {
                float* ap = a + (ch * 32);
                for (int half = 0; half < 2; half++)
                {
                    Vector256<int> wi = Avx2.ConvertToVector256Int32(bytes + (ch * 16) + (half * 8));
                    Vector256<float> lo = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(wi & mask), scale, offset);
                    Vector256<float> hi = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(wi, 4)), scale, offset);
                    float* ah = ap + (half * 8);
                    s0 = Vector256.FusedMultiplyAdd(Vector256.Load(ah), lo, s0);
                    s0 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + 16), hi, s0);
                    s1 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + stride), lo, s1);
                    s1 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + stride + 16), hi, s1);
                    s2 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + (2 * stride)), lo, s2);
                    s2 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + (2 * stride) + 16), hi, s2);
                    s3 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + (3 * stride)), lo, s3);
                    s3 = Vector256.FusedMultiplyAdd(Vector256.Load(ah + (3 * stride) + 16), hi, s3);
                }
            }
        }

        acc0 = Vector512.Create(s0, Vector256<float>.Zero);
        acc1 = Vector512.Create(s1, Vector256<float>.Zero);
        acc2 = Vector512.Create(s2, Vector256<float>.Zero);
        acc3 = Vector512.Create(s3, Vector256<float>.Zero);
    }
}

/// <summary>Raw pointers into a pinned <see cref="Q4Matrix"/> for the duration of one call.</summary>
internal readonly unsafe struct Q4View
{
    public Q4View(byte* packed, float* scales, byte* zeroPoints, int rows, int columns, int blockSize, int blocksPerRow)
    {
        Packed = packed;
        Scales = scales;
        ZeroPoints = zeroPoints;
        Rows = rows;
        Columns = columns;
        BlockSize = blockSize;
        BlocksPerRow = blocksPerRow;
        BlockShift = System.Numerics.BitOperations.Log2((uint)blockSize);
        ZeroBytesPerRow = (blocksPerRow + 1) / 2;
    }

    public byte* Packed { get; }

    public float* Scales { get; }

    public byte* ZeroPoints { get; }

    public int Rows { get; }

    public int Columns { get; }

    public int BlockSize { get; }

    public int BlocksPerRow { get; }

    public int BlockShift { get; }

    public int ZeroBytesPerRow { get; }

    /// <summary>Packed bytes of a row: column c is the low (even c) or high (odd c) nibble of byte c/2, across blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* RowBytes(int row) => Packed + ((nint)row * BlocksPerRow * (BlockSize / 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Zero(int row, int block)
    {
        if (ZeroPoints == null)
        {
            return 8;
        }

        byte b = ZeroPoints[((nint)row * ZeroBytesPerRow) + (block >> 1)];
        return (block & 1) == 0 ? b & 0x0F : b >> 4;
    }
}

/// <summary>Packs op(B) = Wᵀ for the f32 driver by decoding one KC×NC block of the 4-bit weight at a time.</summary>
internal readonly unsafe struct GemmQ4Packer(Q4View w) : IGemmPanelPacker
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int j0, int nc, int k0, int kc, int nr, float* dst)
    {
        // Eight weight rows are decoded in natural column order into a small stack buffer (L1), then turned into panel
        // rows by 8×8 register transposes; the strided scalar stores this replaces cost more than the decode itself.
        bool vector = Avx2.IsSupported && Fma.IsSupported && kc <= GemmDriver.KC;
        float* rows = stackalloc float[vector ? 8 * GemmDriver.KC : 1];
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            int j = 0;
            if (vector)
            {
                for (; j + 8 <= width; j += 8)
                {
                    for (int t = 0; t < 8; t++)
                    {
                        DecodeRow(j0 + jr + j + t, k0, kc, rows + (t * kc));
                    }

                    int p = 0;
                    for (; p + 8 <= kc; p += 8)
                    {
                        GemmF32TransposedPacker.Transpose8x8(rows + p, kc, dst + (p * nr) + j, nr);
                    }

                    for (; p < kc; p++)
                    {
                        for (int t = 0; t < 8; t++)
                        {
                            dst[(p * nr) + j + t] = rows[(t * kc) + p];
                        }
                    }
                }
            }

            for (; j < width; j++)
            {
                int row = j0 + jr + j;
                byte* bytes = w.RowBytes(row);
                float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
                int p = 0;
                while (p < kc)
                {
                    int col = k0 + p;
                    int blk = col >> w.BlockShift;
                    int blockEnd = Math.Min((blk + 1) << w.BlockShift, k0 + kc);
                    float scale = scales[blk];
                    float offset = -w.Zero(row, blk) * scale;
                    for (; col < blockEnd; col++, p++)
                    {
                        byte b = bytes[col >> 1];
                        int q = (col & 1) == 0 ? b & 0x0F : b >> 4;
                        dst[(p * nr) + j] = MathF.FusedMultiplyAdd(q, scale, offset);
                    }
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

    /// <summary>W[row, k0 .. k0+kc) in natural order; k0 is a multiple of 32 (see GemmDriver.DepthStep), so 16-column chunks are 8 whole bytes in one block.</summary>
    private void DecodeRow(int row, int k0, int kc, float* output)
    {
        byte* bytes = w.RowBytes(row);
        float* scales = w.Scales + ((nint)row * w.BlocksPerRow);
        Vector256<int> mask = Vector256.Create(0x0F);
        int p = 0;
        for (; p + 16 <= kc; p += 16)
        {
            int col = k0 + p;
            int blk = col >> w.BlockShift;
            float scale = scales[blk];
            Vector256<float> vScale = Vector256.Create(scale);
            Vector256<float> vOffset = Vector256.Create(-w.Zero(row, blk) * scale);
            Vector256<int> wide = Avx2.ConvertToVector256Int32(bytes + (col >> 1));
            Vector256<int> lo = wide & mask, hi = Vector256.ShiftRightLogical(wide, 4);

            // unpack interleaves within 128-bit lanes; the two lane permutes restore columns 0..7 and 8..15.
            Vector256<int> ul = Avx2.UnpackLow(lo, hi), uh = Avx2.UnpackHigh(lo, hi);
            Vector256<float> first = Vector256.ConvertToSingle(Avx2.Permute2x128(ul, uh, 0x20));
            Vector256<float> second = Vector256.ConvertToSingle(Avx2.Permute2x128(ul, uh, 0x31));
            Vector256.FusedMultiplyAdd(first, vScale, vOffset).Store(output + p);
            Vector256.FusedMultiplyAdd(second, vScale, vOffset).Store(output + p + 8);
        }

        for (; p < kc; p++)
        {
            int col = k0 + p;
            int blk = col >> w.BlockShift;
            float scale = scales[blk];
            byte b = bytes[col >> 1];
            int q = (col & 1) == 0 ? b & 0x0F : b >> 4;
            output[p] = MathF.FusedMultiplyAdd(q, scale, -w.Zero(row, blk) * scale);
        }
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>Matrix multiplication with a 4-bit block-quantised weight (ONNX <c>MatMulNBits</c> layout), on the CPU.</summary>
/// <remarks>
/// The weight is never inflated: the packed f32 GEMM's B packer decodes one KC×NC block of the weight at a time into
/// the thread's cache-sized packing buffer, so the decode is amortised over every row of A. The encoder sends few rows
/// (a sentence, a few tokens) to <see cref="GemmQ4Rows"/> over weights re-laid out at load instead; this path serves
/// the many-row products and callers holding only a <see cref="Q4Matrix"/>.
/// </remarks>
public static class GemmQ4
{
    /// <summary>
    /// C[m×N] = A[m×K] · Wᵀ, then the epilogue, where W is the N×K 4-bit matrix <paramref name="w"/>
    /// (N = <see cref="Q4Matrix.Rows"/>, K = <see cref="Q4Matrix.Columns"/>). Leading dimensions are row strides in elements.
    /// </summary>
    /// <exception cref="ArgumentException">A size, leading dimension or span length is inconsistent.</exception>
    public static void Compute(int m, ReadOnlySpan<float> a, int lda, Q4Matrix w, Span<float> c, int ldc, GemmEpilogue epilogue = default)
        => Compute(GemmKernelPath.Auto, 0, m, a, lda, w, c, ldc, epilogue);

    /// <summary>The same product on a chosen path and thread count (0 = all cores).</summary>
    internal static unsafe void Compute(
        GemmKernelPath path, int maxThreads, int m, ReadOnlySpan<float> a, int lda, Q4Matrix w, Span<float> c, int ldc, GemmEpilogue epilogue = default)
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
            GemmF32.Dispatch(resolved, maxThreads, m, n, k, pa, lda, new GemmQ4Packer(weight), pc, ldc, ep, packWholeB: false);
        }
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

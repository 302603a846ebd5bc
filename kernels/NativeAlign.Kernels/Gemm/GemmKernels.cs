namespace NativeAlign.Kernels.Gemm;

/// <summary>
/// Matrix products on the device, register-blocked: each work-item computes a <see cref="RowsPerItem"/> ×
/// <see cref="ColumnsPerItem"/> block of the result, so every value it loads feeds four multiply-adds, and runs the
/// whole inner dimension without barriers.
/// </summary>
/// <remarks>
/// Why no local-memory tiles: on PoCL (the CPU OpenCL this project is tested on) a barrier splits the kernel into
/// regions between which the accumulators are spilled to memory, and the inner loops are no longer vectorised; a
/// local-memory version of the same 4 × 4 blocking measured about ten times slower than this one, and the former
/// 16 × 16 one-output tiles ran at 2 GFLOP/s where this kernel runs at 40–190 (600 × 384 × 384, PoCL, shared
/// cores). The inner loops read both operands contiguously along k, so a CPU device vectorises them (the programs
/// are built with <see cref="KernelAttribute.UnsafeMathOptimizations"/> so that the sums may be reordered); on a GPU
/// the caches serve the reuse between neighbouring work-items. GPU speed is unmeasured: no GPU was available.
/// </remarks>
public static partial class GemmKernels
{
    /// <summary>
    /// The range to launch either product over for an m × n result: one work-item per
    /// <see cref="RowsPerItem"/> × <see cref="ColumnsPerItem"/> block.
    /// </summary>
    public static NDRange LaunchRange(int m, int n) =>
        new((n + ColumnsPerItem - 1) / ColumnsPerItem, (m + RowsPerItem - 1) / RowsPerItem);

    /// <summary>Result rows each work-item computes.</summary>
    public const int RowsPerItem = 4;

    /// <summary>Result columns each work-item computes.</summary>
    public const int ColumnsPerItem = 4;

    /// <summary>Work-group edge (in work-items) along both dimensions.</summary>
    public const int GroupEdge = 8;

    /// <summary>
    /// <c>c = a · bᵀ</c> for row-major <c>a</c> [m, k], <c>b</c> [n, k] (linear-layer weights are stored [out, in])
    /// and <c>c</c> [m, n]. Launch over <see cref="LaunchRange"/>: work-item (x, y) computes rows 4y..4y+3 and
    /// columns 4x..4x+3. Rows and columns past the edge are read clamped to the last one and not written.
    /// </summary>
    /// <param name="a">Left operand, m × k.</param>
    /// <param name="b">Right operand, n × k (used transposed).</param>
    /// <param name="c">Result, m × n.</param>
    /// <param name="m">Rows of a and c.</param>
    /// <param name="n">Rows of b, columns of c.</param>
    /// <param name="k">The shared (inner) dimension.</param>
    [Kernel(LocalSizeX = GroupEdge, LocalSizeY = GroupEdge, UnsafeMathOptimizations = true)]
    public static void MatMulTransposedB(
        ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> c, int m, int n, int k)
    {
        int column0 = WorkItem.GlobalId(0) * ColumnsPerItem;
        int row0 = WorkItem.GlobalId(1) * RowsPerItem;
        if (row0 >= m || column0 >= n)
        {
            return;
        }

        int a0 = row0 * k;
        int a1 = Math.Min(row0 + 1, m - 1) * k;
        int a2 = Math.Min(row0 + 2, m - 1) * k;
        int a3 = Math.Min(row0 + 3, m - 1) * k;
        int b0 = column0 * k;
        int b1 = Math.Min(column0 + 1, n - 1) * k;
        int b2 = Math.Min(column0 + 2, n - 1) * k;
        int b3 = Math.Min(column0 + 3, n - 1) * k;
        float s00 = 0f, s01 = 0f, s02 = 0f, s03 = 0f;
        float s10 = 0f, s11 = 0f, s12 = 0f, s13 = 0f;
        float s20 = 0f, s21 = 0f, s22 = 0f, s23 = 0f;
        float s30 = 0f, s31 = 0f, s32 = 0f, s33 = 0f;
        for (int q = 0; q < k; q++)
        {
            float w0 = b[b0 + q];
            float w1 = b[b1 + q];
            float w2 = b[b2 + q];
            float w3 = b[b3 + q];
            float x = a[a0 + q];
            s00 += x * w0;
            s01 += x * w1;
            s02 += x * w2;
            s03 += x * w3;
            x = a[a1 + q];
            s10 += x * w0;
            s11 += x * w1;
            s12 += x * w2;
            s13 += x * w3;
            x = a[a2 + q];
            s20 += x * w0;
            s21 += x * w1;
            s22 += x * w2;
            s23 += x * w3;
            x = a[a3 + q];
            s30 += x * w0;
            s31 += x * w1;
            s32 += x * w2;
            s33 += x * w3;
        }

        StoreRow(c, m, n, row0, column0, s00, s01, s02, s03);
        StoreRow(c, m, n, row0 + 1, column0, s10, s11, s12, s13);
        StoreRow(c, m, n, row0 + 2, column0, s20, s21, s22, s23);
        StoreRow(c, m, n, row0 + 3, column0, s30, s31, s32, s33);
    }

    /// <summary>
    /// <c>c = a · wᵀ</c> with <c>w</c> [n, k] in the ONNX MatMulNBits 4-bit block layout, dequantised in registers and
    /// never inflated in memory: each row of w is cut into blocks of <paramref name="blockSize"/> values along k, each
    /// block holding blockSize/2 bytes of nibbles (low nibble first), one scale, and a 4-bit zero point (8 when
    /// <paramref name="hasZeroPoints"/> is 0). Value = (nibble − zero) · scale. Launch as
    /// <see cref="MatMulTransposedB"/>; per block, a work-item reads the scale and zero point of its four weight rows
    /// once, then each packed byte yields two values of each. Variants are compiled for block sizes 32, 64 and 128.
    /// </summary>
    /// <param name="a">Activations, m × k.</param>
    /// <param name="packed">Nibbles, n × ceil(k / blockSize) × blockSize/2 bytes.</param>
    /// <param name="scales">Scales, n × ceil(k / blockSize).</param>
    /// <param name="zeroPoints">Packed zero points, n × ceil(ceil(k / blockSize) / 2) bytes (any one-byte buffer when absent).</param>
    /// <param name="c">Result, m × n.</param>
    /// <param name="m">Rows of a and c.</param>
    /// <param name="n">Output features (rows of w).</param>
    /// <param name="k">Input features.</param>
    /// <param name="blockSize">Values per block, a power of two ≥ 16.</param>
    /// <param name="hasZeroPoints">1 when <paramref name="zeroPoints"/> holds zero points, 0 for the implicit 8.</param>
    [Kernel(LocalSizeX = GroupEdge, LocalSizeY = GroupEdge, UnsafeMathOptimizations = true)]
    [Specialize("blockSize", 32, 64, 128)]
    public static void MatMulQ4TransposedB(
        ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<byte> packed, ReadOnlyGlobalBuffer<float> scales, ReadOnlyGlobalBuffer<byte> zeroPoints,
        GlobalBuffer<float> c, int m, int n, int k, int blockSize, int hasZeroPoints)
    {
        int column0 = WorkItem.GlobalId(0) * ColumnsPerItem;
        int row0 = WorkItem.GlobalId(1) * RowsPerItem;
        if (row0 >= m || column0 >= n)
        {
            return;
        }

        int a0 = row0 * k;
        int a1 = Math.Min(row0 + 1, m - 1) * k;
        int a2 = Math.Min(row0 + 2, m - 1) * k;
        int a3 = Math.Min(row0 + 3, m - 1) * k;
        int w0Row = column0;
        int w1Row = Math.Min(column0 + 1, n - 1);
        int w2Row = Math.Min(column0 + 2, n - 1);
        int w3Row = Math.Min(column0 + 3, n - 1);
        int blocksPerRow = (k + blockSize - 1) / blockSize;
        int half = blockSize / 2;
        float s00 = 0f, s01 = 0f, s02 = 0f, s03 = 0f;
        float s10 = 0f, s11 = 0f, s12 = 0f, s13 = 0f;
        float s20 = 0f, s21 = 0f, s22 = 0f, s23 = 0f;
        float s30 = 0f, s31 = 0f, s32 = 0f, s33 = 0f;
        for (int block = 0; block < blocksPerRow; block++)
        {
            float scale0 = scales[(w0Row * blocksPerRow) + block];
            float scale1 = scales[(w1Row * blocksPerRow) + block];
            float scale2 = scales[(w2Row * blocksPerRow) + block];
            float scale3 = scales[(w3Row * blocksPerRow) + block];
            int zero0 = ZeroPoint(zeroPoints, hasZeroPoints, w0Row, blocksPerRow, block);
            int zero1 = ZeroPoint(zeroPoints, hasZeroPoints, w1Row, blocksPerRow, block);
            int zero2 = ZeroPoint(zeroPoints, hasZeroPoints, w2Row, blocksPerRow, block);
            int zero3 = ZeroPoint(zeroPoints, hasZeroPoints, w3Row, blocksPerRow, block);
            int p0 = ((w0Row * blocksPerRow) + block) * half;
            int p1 = ((w1Row * blocksPerRow) + block) * half;
            int p2 = ((w2Row * blocksPerRow) + block) * half;
            int p3 = ((w3Row * blocksPerRow) + block) * half;

            // The last block may run past k: its padding nibbles pair with no activation, so stop at k (an odd k's
            // last value is added after the loop, which keeps this one free of branches).
            int inner = block * blockSize;
            int pairs = Math.Min(half, (k - inner) / 2);
            for (int p = 0; p < pairs; p++)
            {
                int q = inner + (2 * p);
                int byte0 = packed[p0 + p];
                int byte1 = packed[p1 + p];
                int byte2 = packed[p2 + p];
                int byte3 = packed[p3 + p];
                float lo0 = (float)((byte0 & 15) - zero0) * scale0;
                float lo1 = (float)((byte1 & 15) - zero1) * scale1;
                float lo2 = (float)((byte2 & 15) - zero2) * scale2;
                float lo3 = (float)((byte3 & 15) - zero3) * scale3;
                float hi0 = (float)((byte0 >> 4) - zero0) * scale0;
                float hi1 = (float)((byte1 >> 4) - zero1) * scale1;
                float hi2 = (float)((byte2 >> 4) - zero2) * scale2;
                float hi3 = (float)((byte3 >> 4) - zero3) * scale3;
                float x = a[a0 + q];
                float y = a[a0 + q + 1];
                s00 += (x * lo0) + (y * hi0);
                s01 += (x * lo1) + (y * hi1);
                s02 += (x * lo2) + (y * hi2);
                s03 += (x * lo3) + (y * hi3);
                x = a[a1 + q];
                y = a[a1 + q + 1];
                s10 += (x * lo0) + (y * hi0);
                s11 += (x * lo1) + (y * hi1);
                s12 += (x * lo2) + (y * hi2);
                s13 += (x * lo3) + (y * hi3);
                x = a[a2 + q];
                y = a[a2 + q + 1];
                s20 += (x * lo0) + (y * hi0);
                s21 += (x * lo1) + (y * hi1);
                s22 += (x * lo2) + (y * hi2);
                s23 += (x * lo3) + (y * hi3);
                x = a[a3 + q];
                y = a[a3 + q + 1];
                s30 += (x * lo0) + (y * hi0);
                s31 += (x * lo1) + (y * hi1);
                s32 += (x * lo2) + (y * hi2);
                s33 += (x * lo3) + (y * hi3);
            }
        }

        if ((k & 1) != 0)
        {
            int last = k - 1;
            float w0 = WeightAt(packed, scales, zeroPoints, hasZeroPoints, w0Row, last, blocksPerRow, blockSize);
            float w1 = WeightAt(packed, scales, zeroPoints, hasZeroPoints, w1Row, last, blocksPerRow, blockSize);
            float w2 = WeightAt(packed, scales, zeroPoints, hasZeroPoints, w2Row, last, blocksPerRow, blockSize);
            float w3 = WeightAt(packed, scales, zeroPoints, hasZeroPoints, w3Row, last, blocksPerRow, blockSize);
            float x = a[a0 + last];
            s00 += x * w0;
            s01 += x * w1;
            s02 += x * w2;
            s03 += x * w3;
            x = a[a1 + last];
            s10 += x * w0;
            s11 += x * w1;
            s12 += x * w2;
            s13 += x * w3;
            x = a[a2 + last];
            s20 += x * w0;
            s21 += x * w1;
            s22 += x * w2;
            s23 += x * w3;
            x = a[a3 + last];
            s30 += x * w0;
            s31 += x * w1;
            s32 += x * w2;
            s33 += x * w3;
        }

        StoreRow(c, m, n, row0, column0, s00, s01, s02, s03);
        StoreRow(c, m, n, row0 + 1, column0, s10, s11, s12, s13);
        StoreRow(c, m, n, row0 + 2, column0, s20, s21, s22, s23);
        StoreRow(c, m, n, row0 + 3, column0, s30, s31, s32, s33);
    }

    /// <summary>The zero point of weight row <paramref name="row"/>, block <paramref name="block"/> (8 when absent).</summary>
    private static int ZeroPoint(ReadOnlyGlobalBuffer<byte> zeroPoints, int hasZeroPoints, int row, int blocksPerRow, int block)
    {
        if (hasZeroPoints == 0)
        {
            return 8;
        }

        int zeroByte = zeroPoints[(row * ((blocksPerRow + 1) / 2)) + (block >> 1)];
        return (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
    }

    /// <summary>The dequantised weight w[<paramref name="row"/>, <paramref name="q"/>].</summary>
    private static float WeightAt(
        ReadOnlyGlobalBuffer<byte> packed, ReadOnlyGlobalBuffer<float> scales, ReadOnlyGlobalBuffer<byte> zeroPoints, int hasZeroPoints,
        int row, int q, int blocksPerRow, int blockSize)
    {
        int block = q / blockSize;
        int within = q - (block * blockSize);
        int packedByte = packed[(((row * blocksPerRow) + block) * (blockSize / 2)) + (within >> 1)];
        int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
        return (float)(nibble - ZeroPoint(zeroPoints, hasZeroPoints, row, blocksPerRow, block)) * scales[(row * blocksPerRow) + block];
    }

    /// <summary>Writes the four results of one block row, skipping a row or columns past the edge of c.</summary>
    private static void StoreRow(GlobalBuffer<float> c, int m, int n, int row, int column0, float v0, float v1, float v2, float v3)
    {
        if (row >= m)
        {
            return;
        }

        int offset = row * n;
        c[offset + column0] = v0;
        if (column0 + 1 < n)
        {
            c[offset + column0 + 1] = v1;
        }

        if (column0 + 2 < n)
        {
            c[offset + column0 + 2] = v2;
        }

        if (column0 + 3 < n)
        {
            c[offset + column0 + 3] = v3;
        }
    }
}

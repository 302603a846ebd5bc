namespace NativeAlign.Kernels.Gemm;

/// <summary>Matrix products on the device.</summary>
public static partial class GemmKernels
{
    /// <summary>Edge of the square tiles staged in local memory; also the work-group edge.</summary>
    public const int Tile = 16;

    /// <summary>
    /// <c>c = a · bᵀ</c> for row-major <c>a</c> [m, k], <c>b</c> [n, k] (linear-layer weights are stored [out, in])
    /// and <c>c</c> [m, n]. Launch a 2-D range of (n, m) work-items, one per output element, in Tile × Tile groups;
    /// each group stages a Tile × Tile block of <c>a</c> and of <c>b</c> in local memory per step along k, so every
    /// global element is read k/Tile times fewer than in the naive product.
    /// </summary>
    /// <param name="a">Left operand, m × k.</param>
    /// <param name="b">Right operand, n × k (used transposed).</param>
    /// <param name="c">Result, m × n.</param>
    /// <param name="m">Rows of a and c.</param>
    /// <param name="n">Rows of b, columns of c.</param>
    /// <param name="k">The shared (inner) dimension.</param>
    [Kernel(LocalSizeX = Tile, LocalSizeY = Tile)]
    public static void MatMulTransposedB(
        ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> c, int m, int n, int k)
    {
        LocalBuffer<float> tileA = LocalMemory.Allocate<float>(Tile * Tile);
        LocalBuffer<float> tileB = LocalMemory.Allocate<float>(Tile * Tile);
        int column = WorkItem.GlobalId(0);
        int row = WorkItem.GlobalId(1);
        int localColumn = WorkItem.LocalId(0);
        int localRow = WorkItem.LocalId(1);

        // The b rows this group needs are the group's output columns; work-item (localRow, localColumn) loads
        // element localColumn of b row (first column + localRow), so loads along k stay contiguous for both operands.
        int bRow = (WorkItem.GroupId(0) * Tile) + localRow;
        float sum = 0f;
        for (int start = 0; start < k; start += Tile)
        {
            int inner = start + localColumn;
            tileA[(localRow * Tile) + localColumn] = row < m && inner < k ? a[(row * k) + inner] : 0f;
            tileB[(localRow * Tile) + localColumn] = bRow < n && inner < k ? b[(bRow * k) + inner] : 0f;
            WorkItem.Barrier();
            for (int q = 0; q < Tile; q++)
            {
                sum += tileA[(localRow * Tile) + q] * tileB[(localColumn * Tile) + q];
            }

            WorkItem.Barrier();
        }

        if (row < m && column < n)
        {
            c[(row * n) + column] = sum;
        }
    }

    /// <summary>
    /// <c>c = a · wᵀ</c> with <c>w</c> [n, k] in the ONNX MatMulNBits 4-bit block layout, dequantised tile by tile in
    /// local memory and never inflated in global memory: each row of w is cut into blocks of <paramref name="blockSize"/>
    /// values along k, each block holding blockSize/2 bytes of nibbles (low nibble first), one scale, and a 4-bit zero
    /// point (8 when <paramref name="hasZeroPoints"/> is 0). Value = (nibble − zero) · scale. Launch as
    /// <see cref="MatMulTransposedB"/>. Variants are compiled for block sizes 32, 64 and 128.
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
    [Kernel(LocalSizeX = Tile, LocalSizeY = Tile)]
    [Specialize("blockSize", 32, 64, 128)]
    public static void MatMulQ4TransposedB(
        ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<byte> packed, ReadOnlyGlobalBuffer<float> scales, ReadOnlyGlobalBuffer<byte> zeroPoints,
        GlobalBuffer<float> c, int m, int n, int k, int blockSize, int hasZeroPoints)
    {
        LocalBuffer<float> tileA = LocalMemory.Allocate<float>(Tile * Tile);
        LocalBuffer<float> tileB = LocalMemory.Allocate<float>(Tile * Tile);
        int column = WorkItem.GlobalId(0);
        int row = WorkItem.GlobalId(1);
        int localColumn = WorkItem.LocalId(0);
        int localRow = WorkItem.LocalId(1);
        int bRow = (WorkItem.GroupId(0) * Tile) + localRow;
        int blocksPerRow = (k + blockSize - 1) / blockSize;
        float sum = 0f;
        for (int start = 0; start < k; start += Tile)
        {
            int inner = start + localColumn;
            tileA[(localRow * Tile) + localColumn] = row < m && inner < k ? a[(row * k) + inner] : 0f;
            float weight = 0f;
            if (bRow < n && inner < k)
            {
                int block = inner / blockSize;
                int within = inner - (block * blockSize);
                int packedByte = packed[(((bRow * blocksPerRow) + block) * (blockSize / 2)) + (within >> 1)];
                int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
                int zero = 8;
                if (hasZeroPoints != 0)
                {
                    int zeroByte = zeroPoints[(bRow * ((blocksPerRow + 1) / 2)) + (block >> 1)];
                    zero = (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
                }

                weight = (float)(nibble - zero) * scales[(bRow * blocksPerRow) + block];
            }

            tileB[(localRow * Tile) + localColumn] = weight;
            WorkItem.Barrier();
            for (int q = 0; q < Tile; q++)
            {
                sum += tileA[(localRow * Tile) + q] * tileB[(localColumn * Tile) + q];
            }

            WorkItem.Barrier();
        }

        if (row < m && column < n)
        {
            c[(row * n) + column] = sum;
        }
    }
}

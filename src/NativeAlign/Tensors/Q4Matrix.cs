namespace NativeAlign.Tensors;

/// <summary>
/// A weight matrix of <see cref="Rows"/> (output features, N) × <see cref="Columns"/> (input features, K) kept in the
/// ONNX <c>MatMulNBits</c> 4-bit block layout, never inflated: each row is cut into blocks of <see cref="BlockSize"/>
/// values along K; a block stores BlockSize/2 bytes of packed unsigned nibbles (low nibble first), one float scale and a
/// 4-bit zero point (8 when <see cref="ZeroPoints"/> is null). Value = (nibble - zero) * scale.
/// The product with activations A[M×K] is A · Wᵀ, the same orientation as a PyTorch <c>Linear</c> weight [out, in].
/// </summary>
public sealed class Q4Matrix
{
    /// <summary>Creates a view over packed data; lengths are validated.</summary>
    public Q4Matrix(int rows, int columns, int blockSize, ReadOnlyMemory<byte> packed, float[] scales, byte[]? zeroPoints, string name)
    {
        if (rows <= 0 || columns <= 0 || blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ModelFormatException(null, name, $"invalid 4-bit matrix shape {rows}x{columns} with block size {blockSize} (expected positive sizes, block a power of two >= 16)");
        }

        BlocksPerRow = (columns + blockSize - 1) / blockSize;
        long expectedPacked = (long)rows * BlocksPerRow * (blockSize / 2);
        if (packed.Length != expectedPacked)
        {
            throw new ModelFormatException(null, name, $"packed 4-bit data has {packed.Length} bytes, expected {expectedPacked} for {rows}x{columns} in blocks of {blockSize}");
        }

        if (scales.Length != (long)rows * BlocksPerRow)
        {
            throw new ModelFormatException(null, name, $"has {scales.Length} scales, expected {(long)rows * BlocksPerRow}");
        }

        long expectedZeros = (long)rows * ((BlocksPerRow + 1) / 2);
        if (zeroPoints is not null && zeroPoints.Length != expectedZeros)
        {
            throw new ModelFormatException(null, name, $"has {zeroPoints.Length} zero-point bytes, expected {expectedZeros}");
        }

        Rows = rows;
        Columns = columns;
        BlockSize = blockSize;
        Packed = packed;
        Scales = scales;
        ZeroPoints = zeroPoints;
        Name = name;
    }

    /// <summary>Output features (N).</summary>
    public int Rows { get; }

    /// <summary>Input features (K).</summary>
    public int Columns { get; }

    /// <summary>Values per block along K.</summary>
    public int BlockSize { get; }

    /// <summary>Blocks per row: ceil(K / BlockSize).</summary>
    public int BlocksPerRow { get; }

    /// <summary>Packed nibbles, Rows × BlocksPerRow × BlockSize/2 bytes.</summary>
    public ReadOnlyMemory<byte> Packed { get; }

    /// <summary>Scales, Rows × BlocksPerRow.</summary>
    public float[] Scales { get; }

    /// <summary>Packed 4-bit zero points, Rows × ceil(BlocksPerRow/2) bytes (low nibble first), or null for 8.</summary>
    public byte[]? ZeroPoints { get; }

    /// <summary>The tensor name, for error messages.</summary>
    public string Name { get; }

    /// <summary>The zero point of block <paramref name="block"/> of row <paramref name="row"/>.</summary>
    public int ZeroPoint(int row, int block)
    {
        if (ZeroPoints is null)
        {
            return 8;
        }

        byte b = ZeroPoints[(row * ((BlocksPerRow + 1) / 2)) + (block >> 1)];
        return (block & 1) == 0 ? b & 0x0F : b >> 4;
    }

    /// <summary>Dequantises the whole matrix to float32 [Rows × Columns] (for references and tests, not the hot path).</summary>
    public float[] Dequantize()
    {
        var result = new float[(long)Rows * Columns];
        var packed = Packed.Span;
        int half = BlockSize / 2;
        for (int r = 0; r < Rows; r++)
        {
            for (int blk = 0; blk < BlocksPerRow; blk++)
            {
                float scale = Scales[(r * BlocksPerRow) + blk];
                int zero = ZeroPoint(r, blk);
                int byteBase = ((r * BlocksPerRow) + blk) * half;
                for (int i = 0; i < BlockSize; i++)
                {
                    int col = (blk * BlockSize) + i;
                    if (col >= Columns)
                    {
                        break;
                    }

                    byte b = packed[byteBase + (i >> 1)];
                    int q = (i & 1) == 0 ? b & 0x0F : b >> 4;
                    result[((long)r * Columns) + col] = (q - zero) * scale;
                }
            }
        }

        return result;
    }
}

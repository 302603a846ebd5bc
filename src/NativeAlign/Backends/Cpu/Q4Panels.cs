using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// A 4-bit weight re-laid out once, when a model is loaded, for products with few rows of activations (a single
/// sentence: a dozen tokens). The <see cref="Q4Matrix"/> layout keeps each output feature's K values together, which
/// suits a dot product per output but costs a horizontal sum per output and re-decodes the nibbles for every group of
/// rows. Here <see cref="Width"/> output features are interleaved so that one decoded vector holds one k of 16
/// outputs: each activation value is broadcast once and multiplies 16 outputs, and nothing is summed across lanes.
/// </summary>
/// <remarks>
/// Layout, for panel p (outputs 16p … 16p+15) and k-pair j (k = 2j, 2j+1): 16 bytes, byte l holding the nibble of
/// output 16p+l at k = 2j in its low half and at k = 2j+1 in its high half. Per panel and block of K, 16 scales then 16
/// offsets (−zero·scale), so that a weight is one fused multiply-add from its nibble: q·scale + offset. Outputs past N
/// in the last panel have scale and offset 0, hence weight 0. Still 4 bits per weight plus 2 floats per 16 × block.
/// </remarks>
internal sealed class Q4Panels
{
    /// <summary>Output features per panel: one 512-bit vector of floats.</summary>
    public const int Width = 16;

    private Q4Panels(int rows, int columns, int blockSize, byte[] nibbles, float[] scaleOffsets)
    {
        Rows = rows;
        Columns = columns;
        BlockSize = blockSize;
        Nibbles = nibbles;
        ScaleOffsets = scaleOffsets;
    }

    /// <summary>Output features (N).</summary>
    public int Rows { get; }

    /// <summary>Input features (K).</summary>
    public int Columns { get; }

    /// <summary>Values per quantisation block along K (a power of two ≥ 16, so a k-pair never straddles two blocks).</summary>
    public int BlockSize { get; }

    /// <summary>Panels of <see cref="Width"/> outputs: ceil(N / 16).</summary>
    public int PanelCount => (Rows + Width - 1) / Width;

    /// <summary>k-pairs per panel: ceil(K / 2).</summary>
    public int Pairs => (Columns + 1) / 2;

    /// <summary>Blocks along K: ceil(K / BlockSize).</summary>
    public int Blocks => (Columns + BlockSize - 1) / BlockSize;

    /// <summary>Interleaved nibbles, PanelCount × Pairs × 16 bytes.</summary>
    public byte[] Nibbles { get; }

    /// <summary>Per panel and block: 16 scales, then 16 offsets; PanelCount × Blocks × 32 floats.</summary>
    public float[] ScaleOffsets { get; }

    /// <summary>Re-lays out <paramref name="weight"/>; the source is only read.</summary>
    public static Q4Panels From(Q4Matrix weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int n = weight.Rows, k = weight.Columns, blockSize = weight.BlockSize, blocks = weight.BlocksPerRow;
        int panels = (n + Width - 1) / Width, pairs = (k + 1) / 2, halfBlock = blockSize / 2;
        var nibbles = new byte[(long)panels * pairs * Width];
        var scaleOffsets = new float[(long)panels * blocks * 2 * Width];
        ReadOnlySpan<byte> packed = weight.Packed.Span;
        for (int row = 0; row < n; row++)
        {
            int p = row / Width, lane = row % Width;
            for (int b = 0; b < blocks; b++)
            {
                float scale = weight.Scales[(row * blocks) + b];
                long at = (((long)p * blocks) + b) * 2 * Width;
                scaleOffsets[at + lane] = scale;
                scaleOffsets[at + Width + lane] = -weight.ZeroPoint(row, b) * scale;
            }

            // A block stores its values low nibble first, two per byte, so the source byte holding k = 2j, 2j+1 is
            // already the pair this layout wants; only its position changes. A padded odd K leaves the high nibble 0.
            for (int j = 0; j < pairs; j++)
            {
                int kk = 2 * j, b = kk / blockSize;
                byte source = packed[(int)((((long)row * blocks) + b) * halfBlock) + ((kk % blockSize) >> 1)];
                nibbles[((((long)p * pairs) + j) * Width) + lane] = 2 * j + 1 < k ? source : (byte)(source & 0x0F);
            }
        }

        return new Q4Panels(n, k, blockSize, nibbles, scaleOffsets);
    }
}

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
/// <para>
/// <see cref="Q4PanelLayout.Pairs"/> (float activations), for panel p (outputs 16p … 16p+15) and k-pair j (k = 2j, 2j+1):
/// 16 bytes, byte l holding the nibble of output 16p+l at k = 2j in its low half and at k = 2j+1 in its high half.
/// </para>
/// <para>
/// <see cref="Q4PanelLayout.Octets"/> (int8 activations), for panel p and k-octet o (k = 8o … 8o+7): 64 bytes, byte
/// 4l+t holding the nibble of output 16p+l at k = 8o+t in its low half and at k = 8o+4+t in its high half. Masking the
/// 64 bytes gives the unsigned bytes of four consecutive k per output (what a byte dot product multiplies against four
/// broadcast activation bytes), shifting them gives the next four. K is padded with nibble 0 to whole chunks of
/// <see cref="Int8Chunk"/> values, the unit in which the int8 kernels quantise activations and read weights.
/// </para>
/// <para>
/// Both: per panel and block of K, 16 scales then 16 offsets (−zero·scale), so that a weight is one fused multiply-add
/// from its nibble: q·scale + offset. Outputs past N in the last panel have scale and offset 0, hence weight 0. Still 4
/// bits per weight plus 2 floats per 16 × block.
/// </para>
/// </remarks>
internal sealed class Q4Panels
{
    /// <summary>Output features per panel: one 512-bit vector of floats.</summary>
    public const int Width = 16;

    private Q4Panels(Q4PanelLayout layout, int rows, int columns, int blockSize, byte[] nibbles, float[] scaleOffsets)
    {
        Layout = layout;
        Rows = rows;
        Columns = columns;
        BlockSize = blockSize;
        Nibbles = nibbles;
        ScaleOffsets = scaleOffsets;
    }

    /// <summary>How the nibbles of a panel are ordered, hence which activations the panel multiplies.</summary>
    public Q4PanelLayout Layout { get; }

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

    /// <summary>Activation values per int8 quantisation chunk: 32, or the block if smaller, so that a chunk lies in one block.</summary>
    public int Int8Chunk => ChunkFor(BlockSize);

    /// <summary>k-octets per panel in the <see cref="Q4PanelLayout.Octets"/> layout: K rounded up to whole chunks, / 8.</summary>
    public int Octets => OctetsFor(Columns, BlockSize);

    /// <summary>Blocks along K: ceil(K / BlockSize).</summary>
    public int Blocks => (Columns + BlockSize - 1) / BlockSize;

    /// <summary>Interleaved nibbles: PanelCount × Pairs × 16 bytes, or PanelCount × Octets × 64 bytes.</summary>
    public byte[] Nibbles { get; }

    /// <summary>Per panel and block: 16 scales, then 16 offsets; PanelCount × Blocks × 32 floats.</summary>
    public float[] ScaleOffsets { get; }

    /// <summary>Re-lays out <paramref name="weight"/> in <paramref name="layout"/>; the source is only read.</summary>
    public static Q4Panels From(Q4Matrix weight, Q4PanelLayout layout = Q4PanelLayout.Pairs)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int n = weight.Rows, k = weight.Columns, blockSize = weight.BlockSize, blocks = weight.BlocksPerRow;
        int panels = (n + Width - 1) / Width, halfBlock = blockSize / 2;
        long panelBytes = layout == Q4PanelLayout.Pairs ? (k + 1) / 2 * Width : OctetsFor(k, blockSize) * 4 * Width;
        var nibbles = new byte[panels * panelBytes];
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

            long panel = p * panelBytes;
            for (int kk = 0; kk < k; kk++)
            {
                // A block stores its values low nibble first, two per byte.
                byte source = packed[(int)((((long)row * blocks) + (kk / blockSize)) * halfBlock) + ((kk % blockSize) >> 1)];
                int q = (kk & 1) == 0 ? source & 0x0F : source >> 4;
                (long at, bool high) = layout == Q4PanelLayout.Pairs
                    ? (panel + ((kk >> 1) * Width) + lane, (kk & 1) != 0)
                    : (panel + ((kk >> 3) * 4 * Width) + (4 * lane) + (kk & 3), (kk & 4) != 0);
                nibbles[at] |= (byte)(high ? q << 4 : q);
            }
        }

        return new Q4Panels(layout, n, k, blockSize, nibbles, scaleOffsets);
    }

    private static int ChunkFor(int blockSize) => Math.Min(32, blockSize);

    private static int OctetsFor(int columns, int blockSize)
    {
        int chunk = ChunkFor(blockSize);
        return (columns + chunk - 1) / chunk * chunk / 8;
    }
}

/// <summary>The nibble order of <see cref="Q4Panels"/>, chosen by the activations the product takes.</summary>
internal enum Q4PanelLayout
{
    /// <summary>k-pairs of 16 outputs, decoded to floats: products with float32 activations.</summary>
    Pairs,

    /// <summary>k-octets of 16 outputs, decoded to unsigned bytes: products with activations quantised to int8.</summary>
    Octets,
}

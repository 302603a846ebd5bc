using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The 4-bit product with activations quantised to int8, as ONNX Runtime runs a MatMulNBits node of accuracy level 4
/// (the level the default model ships with): the nibbles are multiplied as unsigned bytes against int8 activations
/// with byte dot products (<c>vpmaddubsw</c>, 64 multiply-adds per instruction where a float FMA does 16), and the
/// floats enter only once per chunk of 32 k.
/// </summary>
/// <remarks>
/// <para>
/// Each row of A is cut into chunks of <see cref="Q4Panels.Int8Chunk"/> values (never straddling a weight block) and each chunk
/// is quantised symmetrically: s = max|x| / 127, x̂ = round(x / s) ∈ [−127, 127]. With weight w = q·σ + o (nibble q,
/// block scale σ, block offset o = −zero·σ), a chunk's share of an output is exactly
/// Σ w·x̂·s = (Σ q·x̂)·s·σ + o·(s·Σ x̂): one integer dot product per output, and s·Σ x̂ per row and chunk, computed
/// once. The error against float activations is that of x̂·s against x: at most s/2 per value.
/// </para>
/// <para>
/// The integer sums are exact and fit: a byte product pair is at most 2·15·127 = 3810, eight of them (a chunk of 32 k
/// per 16-bit lane) 30480 &lt; 2¹⁵, so the 16-bit adds never wrap; the float steps run in the same order on every
/// path, so all three paths give the same bits.
/// </para>
/// </remarks>
internal static unsafe partial class GemmQ4Rows
{
    /// <summary>Row groups of the AVX-512 int8 kernel: 16 float accumulators + 8 decoded weight vectors fit 32 registers.</summary>
    private const int Int8GroupMax512 = 16;

    /// <summary>Row groups of the AVX2 and scalar int8 kernels (16 ymm registers: 8 hold the decoded weights).</summary>
    private const int Int8GroupMaxNarrow = 4;

    private static void RunInt8Panels(in Job job, int panel0, int panel1)
    {
        // The 512-bit byte products need AVX-512BW besides F; without it the Vector512 path runs the AVX2 kernel, whose
        // row groups are smaller.
        GemmKernelPath kernel = job.Path == GemmKernelPath.Vector512 && !Avx512BW.IsSupported ? GemmKernelPath.Vector256 : job.Path;
        int groupMax = kernel == GemmKernelPath.Vector512 ? Int8GroupMax512 : Int8GroupMaxNarrow;
        int groups = (job.M + groupMax - 1) / groupMax;
        int chunk = job.Int8Chunk, chunks = (job.K + chunk - 1) / chunk, octets = job.Octets;
        int blocks = (job.K + job.BlockSize - 1) / job.BlockSize;
        float* tile = stackalloc float[groupMax * Q4Panels.Width];
        for (int g = 0; g < groups; g++)
        {
            int r0 = job.M * g / groups, rows = (job.M * (g + 1) / groups) - r0;
            var a = new QuantizedSlice(job.Quantized + (r0 * job.QuantizedStride), job.QuantizedStride, job.QuantizedScales + (r0 * chunks * 2), chunks);
            for (int p = panel0; p < panel1; p++)
            {
                var w = new OctetPanel(
                    job.Nibbles + ((nint)p * octets * 4 * Q4Panels.Width), job.ScaleOffsets + ((nint)p * blocks * 2 * Q4Panels.Width), chunk, job.BlockSize);
                switch (kernel)
                {
                    case GemmKernelPath.Vector512:
                        Int8Panel512(rows, a, w, tile);
                        break;
                    case GemmKernelPath.Vector256:
                        Int8Panel256(rows, a, w, tile);
                        break;
                    default:
                        Int8PanelScalar(rows, a, w, tile);
                        break;
                }

                Finish(in job, tile, r0, rows, p * Q4Panels.Width);
            }
        }
    }

    private static void Int8Panel512(int rows, QuantizedSlice a, OctetPanel w, float* tile)
    {
        bool full = w.Chunk == 32;
        switch (rows)
        {
            case 1: if (full) { Int8Panel512<R1, Q8>(a, w, tile); } else { Int8Panel512<R1, Q4>(a, w, tile); } break;
            case 2: if (full) { Int8Panel512<R2, Q8>(a, w, tile); } else { Int8Panel512<R2, Q4>(a, w, tile); } break;
            case 3: if (full) { Int8Panel512<R3, Q8>(a, w, tile); } else { Int8Panel512<R3, Q4>(a, w, tile); } break;
            case 4: if (full) { Int8Panel512<R4, Q8>(a, w, tile); } else { Int8Panel512<R4, Q4>(a, w, tile); } break;
            case 5: if (full) { Int8Panel512<R5, Q8>(a, w, tile); } else { Int8Panel512<R5, Q4>(a, w, tile); } break;
            case 6: if (full) { Int8Panel512<R6, Q8>(a, w, tile); } else { Int8Panel512<R6, Q4>(a, w, tile); } break;
            case 7: if (full) { Int8Panel512<R7, Q8>(a, w, tile); } else { Int8Panel512<R7, Q4>(a, w, tile); } break;
            case 8: if (full) { Int8Panel512<R8, Q8>(a, w, tile); } else { Int8Panel512<R8, Q4>(a, w, tile); } break;
            case 9: if (full) { Int8Panel512<R9, Q8>(a, w, tile); } else { Int8Panel512<R9, Q4>(a, w, tile); } break;
            case 10: if (full) { Int8Panel512<R10, Q8>(a, w, tile); } else { Int8Panel512<R10, Q4>(a, w, tile); } break;
            case 11: if (full) { Int8Panel512<R11, Q8>(a, w, tile); } else { Int8Panel512<R11, Q4>(a, w, tile); } break;
            case 12: if (full) { Int8Panel512<R12, Q8>(a, w, tile); } else { Int8Panel512<R12, Q4>(a, w, tile); } break;
            case 13: if (full) { Int8Panel512<R13, Q8>(a, w, tile); } else { Int8Panel512<R13, Q4>(a, w, tile); } break;
            case 14: if (full) { Int8Panel512<R14, Q8>(a, w, tile); } else { Int8Panel512<R14, Q4>(a, w, tile); } break;
            case 15: if (full) { Int8Panel512<R15, Q8>(a, w, tile); } else { Int8Panel512<R15, Q4>(a, w, tile); } break;
            default: if (full) { Int8Panel512<R16, Q8>(a, w, tile); } else { Int8Panel512<R16, Q4>(a, w, tile); } break;
        }
    }

    /// <summary>
    /// One row group × one panel on AVX-512: per chunk, the panel's 4 or 8 quads of k are decoded once into unsigned
    /// byte vectors and every row of the group takes its dot products from them. Row count and quads per chunk are
    /// type parameters so that each instantiation keeps its accumulators in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Panel512<TRows, TQuads>(QuantizedSlice a, OctetPanel w, float* tile)
        where TRows : struct, IRowCount
        where TQuads : struct, IRowCount
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        Vector512<byte> low = Vector512.Create((byte)0x0F);
        Vector512<byte> w4 = default, w5 = default, w6 = default, w7 = default;
        for (int ch = 0; ch < a.Chunks; ch++)
        {
            float* so = w.ScaleOffsets(ch);
            var scale = Vector512.Load(so);
            var offset = Vector512.Load(so + 16);
            byte* nib = w.Nibbles + (ch * TQuads.Count * 32);
            var v0 = Vector512.Load(nib);
            var v1 = Vector512.Load(nib + 64);
            Vector512<byte> w0 = v0 & low, w1 = (v0.AsUInt16() >>> 4).AsByte() & low;
            Vector512<byte> w2 = v1 & low, w3 = (v1.AsUInt16() >>> 4).AsByte() & low;
            if (TQuads.Count > 4)
            {
                var v2 = Vector512.Load(nib + 128);
                var v3 = Vector512.Load(nib + 192);
                w4 = v2 & low;
                w5 = (v2.AsUInt16() >>> 4).AsByte() & low;
                w6 = v3 & low;
                w7 = (v3.AsUInt16() >>> 4).AsByte() & low;
            }

            sbyte* x = a.Values + (ch * TQuads.Count * 4);
            float* xs = a.Scales + (ch * 2);
            nint ld = a.Stride, lds = a.Chunks * 2;
            c0 = Row512<TQuads>(x, xs, w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c0);
            if (TRows.Count > 1) { c1 = Row512<TQuads>(x + ld, xs + lds, w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c1); }
            if (TRows.Count > 2) { c2 = Row512<TQuads>(x + (2 * ld), xs + (2 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c2); }
            if (TRows.Count > 3) { c3 = Row512<TQuads>(x + (3 * ld), xs + (3 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c3); }
            if (TRows.Count > 4) { c4 = Row512<TQuads>(x + (4 * ld), xs + (4 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c4); }
            if (TRows.Count > 5) { c5 = Row512<TQuads>(x + (5 * ld), xs + (5 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c5); }
            if (TRows.Count > 6) { c6 = Row512<TQuads>(x + (6 * ld), xs + (6 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c6); }
            if (TRows.Count > 7) { c7 = Row512<TQuads>(x + (7 * ld), xs + (7 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c7); }
            if (TRows.Count > 8) { c8 = Row512<TQuads>(x + (8 * ld), xs + (8 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c8); }
            if (TRows.Count > 9) { c9 = Row512<TQuads>(x + (9 * ld), xs + (9 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c9); }
            if (TRows.Count > 10) { c10 = Row512<TQuads>(x + (10 * ld), xs + (10 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c10); }
            if (TRows.Count > 11) { c11 = Row512<TQuads>(x + (11 * ld), xs + (11 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c11); }
            if (TRows.Count > 12) { c12 = Row512<TQuads>(x + (12 * ld), xs + (12 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c12); }
            if (TRows.Count > 13) { c13 = Row512<TQuads>(x + (13 * ld), xs + (13 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c13); }
            if (TRows.Count > 14) { c14 = Row512<TQuads>(x + (14 * ld), xs + (14 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c14); }
            if (TRows.Count > 15) { c15 = Row512<TQuads>(x + (15 * ld), xs + (15 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c15); }
        }

        StoreTile<TRows>(tile, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
    }

    /// <summary>One row's chunk: byte dot products of its 4 or 8 quads (16-bit sums), widened, scaled into the accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row512<TQuads>(
        sbyte* x, float* xs, Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<float> scale, Vector512<float> offset, Vector512<float> acc)
        where TQuads : struct, IRowCount
    {
        Vector512<short> s = Avx512BW.MultiplyAddAdjacent(w0, Vector512.Create(*(int*)x).AsSByte())
            + Avx512BW.MultiplyAddAdjacent(w1, Vector512.Create(*(int*)(x + 4)).AsSByte());
        Vector512<short> t = Avx512BW.MultiplyAddAdjacent(w2, Vector512.Create(*(int*)(x + 8)).AsSByte())
            + Avx512BW.MultiplyAddAdjacent(w3, Vector512.Create(*(int*)(x + 12)).AsSByte());
        if (TQuads.Count > 4)
        {
            s += Avx512BW.MultiplyAddAdjacent(w4, Vector512.Create(*(int*)(x + 16)).AsSByte())
                + Avx512BW.MultiplyAddAdjacent(w5, Vector512.Create(*(int*)(x + 20)).AsSByte());
            t += Avx512BW.MultiplyAddAdjacent(w6, Vector512.Create(*(int*)(x + 24)).AsSByte())
                + Avx512BW.MultiplyAddAdjacent(w7, Vector512.Create(*(int*)(x + 28)).AsSByte());
        }

        Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(s + t, Vector512<short>.One);
        Vector512<float> scaled = Avx512F.ConvertToVector512Single(dot) * Vector512.Create(xs[0]);
        return Avx512F.FusedMultiplyAdd(offset, Vector512.Create(xs[1]), Avx512F.FusedMultiplyAdd(scaled, scale, acc));
    }

    private static void Int8Panel256(int rows, QuantizedSlice a, OctetPanel w, float* tile)
    {
        // A 16-output panel is two 8-lane halves; each half runs its row group with the decoded weights in registers.
        for (int half = 0; half < 2; half++)
        {
            switch (rows)
            {
                case 1: Int8Panel256<R1>(a, w, half, tile); break;
                case 2: Int8Panel256<R2>(a, w, half, tile); break;
                case 3: Int8Panel256<R3>(a, w, half, tile); break;
                default: Int8Panel256<R4>(a, w, half, tile); break;
            }
        }
    }

    /// <summary>One row group × one 8-output half panel on AVX2: the AVX-512 kernel at half width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Panel256<TRows>(QuantizedSlice a, OctetPanel w, int half, float* tile)
        where TRows : struct, IRowCount
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        int quads = w.Chunk / 4;
        for (int ch = 0; ch < a.Chunks; ch++)
        {
            float* so = w.ScaleOffsets(ch) + (half * 8);
            var scale = Vector256.Load(so);
            var offset = Vector256.Load(so + 16);

            // A chunk of 16 k (blocks of 16) has quads 0…3 only; one body serves both sizes.
            byte* nib = w.Nibbles + (ch * quads * 32) + (half * 32);
            var v0 = Vector256.Load(nib);
            var v1 = Vector256.Load(nib + 64);
            Vector256<byte> w0 = v0 & low, w1 = (v0.AsUInt16() >>> 4).AsByte() & low;
            Vector256<byte> w2 = v1 & low, w3 = (v1.AsUInt16() >>> 4).AsByte() & low;
            Vector256<byte> w4 = default, w5 = default, w6 = default, w7 = default;
            if (quads > 4)
            {
                var v2 = Vector256.Load(nib + 128);
                var v3 = Vector256.Load(nib + 192);
                w4 = v2 & low;
                w5 = (v2.AsUInt16() >>> 4).AsByte() & low;
                w6 = v3 & low;
                w7 = (v3.AsUInt16() >>> 4).AsByte() & low;
            }

            sbyte* x = a.Values + (ch * quads * 4);
            float* xs = a.Scales + (ch * 2);
            nint ld = a.Stride, lds = a.Chunks * 2;
            c0 = Row256(x, quads, xs, w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c0);
            if (TRows.Count > 1) { c1 = Row256(x + ld, quads, xs + lds, w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c1); }
            if (TRows.Count > 2) { c2 = Row256(x + (2 * ld), quads, xs + (2 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c2); }
            if (TRows.Count > 3) { c3 = Row256(x + (3 * ld), quads, xs + (3 * lds), w0, w1, w2, w3, w4, w5, w6, w7, scale, offset, c3); }
        }

        float* dst = tile + (half * 8);
        c0.Store(dst);
        if (TRows.Count > 1) { c1.Store(dst + 16); }
        if (TRows.Count > 2) { c2.Store(dst + 32); }
        if (TRows.Count > 3) { c3.Store(dst + 48); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row256(
        sbyte* x, int quads, float* xs, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7,
        Vector256<float> scale, Vector256<float> offset, Vector256<float> acc)
    {
        Vector256<short> s = Avx2.MultiplyAddAdjacent(w0, Vector256.Create(*(int*)x).AsSByte())
            + Avx2.MultiplyAddAdjacent(w1, Vector256.Create(*(int*)(x + 4)).AsSByte());
        Vector256<short> t = Avx2.MultiplyAddAdjacent(w2, Vector256.Create(*(int*)(x + 8)).AsSByte())
            + Avx2.MultiplyAddAdjacent(w3, Vector256.Create(*(int*)(x + 12)).AsSByte());
        if (quads > 4)
        {
            s += Avx2.MultiplyAddAdjacent(w4, Vector256.Create(*(int*)(x + 16)).AsSByte())
                + Avx2.MultiplyAddAdjacent(w5, Vector256.Create(*(int*)(x + 20)).AsSByte());
            t += Avx2.MultiplyAddAdjacent(w6, Vector256.Create(*(int*)(x + 24)).AsSByte())
                + Avx2.MultiplyAddAdjacent(w7, Vector256.Create(*(int*)(x + 28)).AsSByte());
        }

        Vector256<int> dot = Avx2.MultiplyAddAdjacent(s + t, Vector256<short>.One);
        Vector256<float> scaled = Avx.ConvertToVector256Single(dot) * Vector256.Create(xs[0]);
        return Fma.MultiplyAdd(offset, Vector256.Create(xs[1]), Fma.MultiplyAdd(scaled, scale, acc));
    }

    /// <summary>Portable path: the same integer sums and the same float steps in the same order, one lane at a time.</summary>
    private static void Int8PanelScalar(int rows, QuantizedSlice a, OctetPanel w, float* tile)
    {
        new Span<float>(tile, rows * Q4Panels.Width).Clear();
        for (int ch = 0; ch < a.Chunks; ch++)
        {
            float* so = w.ScaleOffsets(ch);
            byte* nib = w.Nibbles + (ch * w.Chunk * 8);
            for (int r = 0; r < rows; r++)
            {
                sbyte* x = a.Values + (r * a.Stride) + (ch * w.Chunk);
                float* xs = a.Scales + (((r * a.Chunks) + ch) * 2);
                for (int lane = 0; lane < Q4Panels.Width; lane++)
                {
                    int dot = 0;
                    for (int kk = 0; kk < w.Chunk; kk++)
                    {
                        byte b = nib[((kk >> 3) * 64) + (4 * lane) + (kk & 3)];
                        dot += ((kk & 4) == 0 ? b & 0x0F : b >> 4) * x[kk];
                    }

                    float scaled = dot * xs[0];
                    ref float acc = ref tile[(r * Q4Panels.Width) + lane];
                    acc = MathF.FusedMultiplyAdd(so[16 + lane], xs[1], MathF.FusedMultiplyAdd(scaled, so[lane], acc));
                }
            }
        }
    }

    /// <summary>Rows of quantised A seen by a kernel: values, their row stride, and (scale, scale·Σ) per row and chunk.</summary>
    private readonly struct QuantizedSlice(sbyte* values, nint stride, float* scales, int chunks)
    {
        public readonly sbyte* Values = values;
        public readonly nint Stride = stride;
        public readonly float* Scales = scales;
        public readonly int Chunks = chunks;
    }

    /// <summary>One panel in the octet layout: its nibbles and, per chunk, the scales and offsets of the chunk's block.</summary>
    private readonly struct OctetPanel(byte* nibbles, float* scaleOffsets, int chunk, int blockSize)
    {
        public readonly byte* Nibbles = nibbles;
        public readonly int Chunk = chunk;
        private readonly float* _scaleOffsets = scaleOffsets;
        private readonly int _chunksPerBlock = blockSize / chunk;

        public float* ScaleOffsets(int chunkIndex) => _scaleOffsets + (chunkIndex / _chunksPerBlock * 2 * Q4Panels.Width);
    }

    /// <summary>Four quads (16 k) per chunk.</summary>
    private readonly struct Q4 : IRowCount
    {
        public static int Count => 4;
    }

    /// <summary>Eight quads (32 k) per chunk.</summary>
    private readonly struct Q8 : IRowCount
    {
        public static int Count => 8;
    }

    /// <summary>
    /// A quantised to int8 in chunks of <c>chunk</c> values, each with its own scale, rows padded with zeros to whole
    /// chunks; the buffers come from the shared pools and go back on <see cref="Dispose"/>.
    /// </summary>
    private sealed class QuantizedRows : IDisposable
    {
        private QuantizedRows(sbyte[] values, float[] scales, int stride)
        {
            Values = values;
            Scales = scales;
            Stride = stride;
        }

        /// <summary>Row i at [i·Stride, i·Stride + K); zero to the end of its last chunk.</summary>
        public sbyte[] Values { get; }

        /// <summary>Per row and chunk: the scale s, then s·Σx̂.</summary>
        public float[] Scales { get; }

        /// <summary>Values per row: K rounded up to whole chunks.</summary>
        public int Stride { get; }

        public static QuantizedRows From(GemmKernelPath path, int m, ReadOnlySpan<float> a, int lda, int k, int chunk)
        {
            int chunks = (k + chunk - 1) / chunk, stride = chunks * chunk, fullChunks = k / chunk;
            var result = new QuantizedRows(ArrayPool<sbyte>.Shared.Rent(Math.Max(1, m * stride)), ArrayPool<float>.Shared.Rent(Math.Max(1, m * chunks * 2)), stride);
            float* padded = stackalloc float[32];
            fixed (float* pa = a, scales = result.Scales)
            fixed (sbyte* values = result.Values)
            {
                for (int i = 0; i < m; i++)
                {
                    float* row = pa + ((nint)i * lda);
                    sbyte* q = values + ((nint)i * stride);
                    float* s = scales + (i * chunks * 2);
                    for (int ch = 0; ch < chunks; ch++)
                    {
                        float* x = row + (ch * chunk);
                        if (ch >= fullChunks)
                        {
                            // The last chunk of a row: zeros past K quantise to zero and add nothing to the sums.
                            new Span<float>(padded, chunk).Clear();
                            new ReadOnlySpan<float>(x, k - (ch * chunk)).CopyTo(new Span<float>(padded, chunk));
                            x = padded;
                        }

                        QuantizeChunk(path, x, chunk, q + (ch * chunk), s + (ch * 2));
                    }
                }
            }

            return result;
        }

        public void Dispose()
        {
            ArrayPool<sbyte>.Shared.Return(Values);
            ArrayPool<float>.Shared.Return(Scales);
        }

        /// <summary>
        /// x̂ = round-to-even(x · 127 / max|x|) into <paramref name="q"/>, and into <paramref name="scale"/> the scale
        /// max|x| / 127 and the scale times Σx̂. Every path computes the same float products and roundings (conversion
        /// rounds to even, as MathF.Round does), so all quantise to the same bytes. A non-finite value makes the scale
        /// NaN, so that it reaches the output as the float product would carry it.
        /// </summary>
        private static void QuantizeChunk(GemmKernelPath path, float* x, int count, sbyte* q, float* scale)
        {
            if (path == GemmKernelPath.Vector512 && count == 32)
            {
                var v0 = Vector512.Load(x);
                var v1 = Vector512.Load(x + 16);
                float max = HorizontalMax(Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1)));
                if (Vector512.EqualsAll((v0 - v0) + (v1 - v1), Vector512<float>.Zero) && max > 0)
                {
                    var f = Vector512.Create(127f / max);
                    Vector512<int> r0 = Avx512F.ConvertToVector512Int32(v0 * f);
                    Vector512<int> r1 = Avx512F.ConvertToVector512Int32(v1 * f);
                    Avx512F.ConvertToVector128SByte(r0).Store(q);
                    Avx512F.ConvertToVector128SByte(r1).Store(q + 16);
                    Store(scale, max, Vector512.Sum(r0 + r1));
                    return;
                }
            }
            else if (path != GemmKernelPath.Scalar)
            {
                var m = Vector256<float>.Zero;
                var finite = Vector256<float>.Zero;
                for (int i = 0; i < count; i += 8)
                {
                    var v = Vector256.Load(x + i);
                    finite += v - v;
                    m = Vector256.Max(m, Vector256.Abs(v));
                }

                Vector128<float> h = Vector128.Max(m.GetLower(), m.GetUpper());
                float max = MathF.Max(MathF.Max(h[0], h[1]), MathF.Max(h[2], h[3]));
                if (Vector256.EqualsAll(finite, Vector256<float>.Zero) && max > 0)
                {
                    var f = Vector256.Create(127f / max);
                    int sum = 0;
                    for (int i = 0; i < count; i += 16)
                    {
                        Vector256<int> r0 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + i) * f));
                        Vector256<int> r1 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(x + i + 8) * f));
                        sum += Vector256.Sum(r0 + r1);
                        Vector256<short> narrow = Vector256.Narrow(r0, r1);
                        Vector256.Narrow(narrow, narrow).GetLower().Store(q + i);
                    }

                    Store(scale, max, sum);
                    return;
                }
            }

            QuantizeChunkScalar(x, count, q, scale);
        }

        /// <summary>The portable quantiser; also every path's answer for all-zero and non-finite chunks.</summary>
        private static void QuantizeChunkScalar(float* x, int count, sbyte* q, float* scale)
        {
            float max = 0;
            for (int i = 0; i < count; i++)
            {
                max = float.IsNaN(x[i]) || MathF.Abs(x[i]) > max ? MathF.Abs(x[i]) : max;
            }

            if (!float.IsFinite(max) || max == 0)
            {
                new Span<sbyte>(q, count).Clear();
                scale[0] = max == 0 ? 0f : float.NaN;
                scale[1] = scale[0];
                return;
            }

            float inverse = 127f / max;
            int sum = 0;
            for (int i = 0; i < count; i++)
            {
                int r = (int)MathF.Round(x[i] * inverse, MidpointRounding.ToEven);
                q[i] = (sbyte)r;
                sum += r;
            }

            Store(scale, max, sum);
        }

        private static void Store(float* scale, float max, int sum)
        {
            scale[0] = max / 127f;
            scale[1] = scale[0] * sum;
        }

        private static float HorizontalMax(Vector512<float> v)
        {
            Vector256<float> h = Vector256.Max(v.GetLower(), v.GetUpper());
            Vector128<float> q = Vector128.Max(h.GetLower(), h.GetUpper());
            q = Vector128.Max(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
            return MathF.Max(q[0], q[1]);
        }

    }
}

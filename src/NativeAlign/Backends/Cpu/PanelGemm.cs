using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>Produces panels of a weight matrix W [Rows × Columns] in float32, whatever W's storage.</summary>
internal interface IPanelSource
{
    int Rows { get; }

    int Columns { get; }

    /// <summary>panel[k·NR + j] = W[row0 + j, k] for j &lt; count, zero for count ≤ j &lt; NR.</summary>
    void Pack(int row0, int count, Span<float> panel);
}

/// <summary>
/// C[m×n] = A[m×k]·Wᵀ for weights stored as something other than float32 (f16, bf16, 4-bit): each thread widens one
/// panel of <see cref="NR"/> weight rows at a time into a small k × NR buffer — the matrix is never inflated whole — and
/// runs a 4 × 16 Vector256 register tile over all rows of A. Panels are spread over the cores.
/// </summary>
internal static unsafe class PanelGemm
{
    public const int NR = 16;
    private const int MR = 4;

    public static void Compute<TSource>(int m, ReadOnlySpan<float> a, int lda, TSource w, Span<float> c, int ldc)
        where TSource : IPanelSource
    {
        int n = w.Rows, k = w.Columns;
        if (m == 0 || n == 0)
        {
            return;
        }

        if ((long)(m - 1) * lda + k > a.Length || (long)(m - 1) * ldc + n > c.Length)
        {
            throw new ArgumentException($"gemm: buffers too small for {m}x{n}x{k}");
        }

        int panels = (n + NR - 1) / NR;
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            nint aAddress = (nint)pa, cAddress = (nint)pc;
            int workers = Math.Min(GemmPaths.MaxThreads, panels);
            int perWorker = (panels + workers - 1) / workers;
            Parallel.For(0, workers, worker =>
            {
                var panel = new float[(k * NR) + NR];
                int first = worker * perWorker, last = Math.Min(panels, first + perWorker);
                for (int p = first; p < last; p++)
                {
                    int row0 = p * NR, count = Math.Min(NR, n - row0);
                    w.Pack(row0, count, panel);
                    fixed (float* pp = panel)
                    {
                        RunPanel(m, k, (float*)aAddress, lda, pp, (float*)cAddress + row0, ldc, count);
                    }
                }
            });
        }
    }

    /// <summary>Bias, exact GELU and residual over each row of C, for products computed without a fused epilogue.</summary>
    public static void ApplyEpilogue(int m, int n, Span<float> c, int ldc, GemmEpilogue epilogue)
    {
        if (epilogue.Bias.IsEmpty && epilogue.Activation == GemmActivation.None && epilogue.Residual.IsEmpty)
        {
            return;
        }

        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (!epilogue.Bias.IsEmpty)
            {
                CpuKernels.Add(row, epilogue.Bias[..n], row);
            }

            if (epilogue.Activation == GemmActivation.Gelu)
            {
                CpuKernels.Gelu(row, row);
            }

            if (!epilogue.Residual.IsEmpty)
            {
                CpuKernels.Add(row, epilogue.Residual.Slice(i * ldc, n), row);
            }
        }
    }

    private static void RunPanel(int m, int k, float* a, int lda, float* panel, float* c, int ldc, int count)
    {
        float* tile = stackalloc float[MR * NR];
        int i = 0;
        for (; i + MR <= m; i += MR)
        {
            float* a0 = a + ((long)i * lda), a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
            float* pw = panel;
            for (int p = 0; p < k; p++, pw += NR)
            {
                var w0 = Vector256.Load(pw);
                var w1 = Vector256.Load(pw + 8);
                var b = Vector256.Create(a0[p]);
                c00 = CpuKernels.Fma256(b, w0, c00);
                c01 = CpuKernels.Fma256(b, w1, c01);
                b = Vector256.Create(a1[p]);
                c10 = CpuKernels.Fma256(b, w0, c10);
                c11 = CpuKernels.Fma256(b, w1, c11);
                b = Vector256.Create(a2[p]);
                c20 = CpuKernels.Fma256(b, w0, c20);
                c21 = CpuKernels.Fma256(b, w1, c21);
                b = Vector256.Create(a3[p]);
                c30 = CpuKernels.Fma256(b, w0, c30);
                c31 = CpuKernels.Fma256(b, w1, c31);
            }

            c00.Store(tile);
            c01.Store(tile + 8);
            c10.Store(tile + 16);
            c11.Store(tile + 24);
            c20.Store(tile + 32);
            c21.Store(tile + 40);
            c30.Store(tile + 48);
            c31.Store(tile + 56);
            for (int r = 0; r < MR; r++)
            {
                new ReadOnlySpan<float>(tile + (r * NR), count).CopyTo(new Span<float>(c + ((long)(i + r) * ldc), count));
            }
        }

        for (; i < m; i++)
        {
            float* a0 = a + ((long)i * lda);
            Vector256<float> c00 = default, c01 = default;
            float* pw = panel;
            for (int p = 0; p < k; p++, pw += NR)
            {
                var b = Vector256.Create(a0[p]);
                c00 = CpuKernels.Fma256(b, Vector256.Load(pw), c00);
                c01 = CpuKernels.Fma256(b, Vector256.Load(pw + 8), c01);
            }

            c00.Store(tile);
            c01.Store(tile + 8);
            new ReadOnlySpan<float>(tile, count).CopyTo(new Span<float>(c + ((long)i * ldc), count));
        }
    }
}

/// <summary>Panels of an IEEE half weight.</summary>
internal readonly struct HalfPanelSource(ReadOnlyMemory<byte> data, int rows, int columns) : IPanelSource
{
    public int Rows => rows;

    public int Columns => columns;

    public void Pack(int row0, int count, Span<float> panel)
    {
        var values = MemoryMarshal.Cast<byte, Half>(data.Span);
        panel.Clear();
        for (int j = 0; j < count; j++)
        {
            var row = values.Slice((row0 + j) * columns, columns);
            for (int p = 0; p < columns; p++)
            {
                panel[(p * PanelGemm.NR) + j] = (float)row[p];
            }
        }
    }
}

/// <summary>Panels of a bfloat16 weight: widening is a 16-bit shift.</summary>
internal readonly struct BFloat16PanelSource(ReadOnlyMemory<byte> data, int rows, int columns) : IPanelSource
{
    public int Rows => rows;

    public int Columns => columns;

    public void Pack(int row0, int count, Span<float> panel)
    {
        var values = MemoryMarshal.Cast<byte, ushort>(data.Span);
        panel.Clear();
        for (int j = 0; j < count; j++)
        {
            var row = values.Slice((row0 + j) * columns, columns);
            for (int p = 0; p < columns; p++)
            {
                panel[(p * PanelGemm.NR) + j] = BitConverter.Int32BitsToSingle(row[p] << 16);
            }
        }
    }
}

/// <summary>Panels of a 4-bit <see cref="Q4Matrix"/>, dequantised block by block.</summary>
internal readonly struct Q4PanelSource(Q4Matrix w) : IPanelSource
{
    public int Rows => w.Rows;

    public int Columns => w.Columns;

    public void Pack(int row0, int count, Span<float> panel)
    {
        var packed = w.Packed.Span;
        int blockSize = w.BlockSize, half = blockSize / 2, blocks = w.BlocksPerRow, columns = w.Columns;
        panel.Clear();
        for (int j = 0; j < count; j++)
        {
            int r = row0 + j;
            for (int blk = 0; blk < blocks; blk++)
            {
                float scale = w.Scales[(r * blocks) + blk];
                float zero = w.ZeroPoint(r, blk);
                var bytes = packed.Slice(((r * blocks) + blk) * half, half);
                int col0 = blk * blockSize;
                int valid = Math.Min(blockSize, columns - col0);
                for (int i = 0; i < valid; i++)
                {
                    byte b = bytes[i >> 1];
                    int q = (i & 1) == 0 ? b & 0x0F : b >> 4;
                    panel[((col0 + i) * PanelGemm.NR) + j] = (q - zero) * scale;
                }
            }
        }
    }
}

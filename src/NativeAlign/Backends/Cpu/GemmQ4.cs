using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>Matrix products with 4-bit block-quantised weights (<see cref="Q4Matrix"/>), never inflating the weight.</summary>
public static class GemmQ4
{
    /// <summary>
    /// C[m×N] = A[m×K]·Wᵀ with W the 4-bit [N×K] matrix, then the epilogue (bias, activation, residual with C's leading
    /// dimension). Panels of W are dequantised into a small per-thread buffer as they are used.
    /// </summary>
    public static void Compute(int m, ReadOnlySpan<float> a, int lda, Q4Matrix w, Span<float> c, int ldc, GemmEpilogue epilogue = default)
    {
        ArgumentNullException.ThrowIfNull(w);
        PanelGemm.Compute(m, a, lda, new Q4PanelSource(w), c, ldc);
        ApplyEpilogue(m, w.Rows, c, ldc, epilogue);
    }

    /// <summary>Bias, activation and residual over each row of C.</summary>
    internal static void ApplyEpilogue(int m, int n, Span<float> c, int ldc, GemmEpilogue epilogue)
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
}

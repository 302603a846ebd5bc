namespace NativeAlign.Backends.Cpu;

/// <summary>Activation applied by a GEMM epilogue.</summary>
public enum GemmActivation
{
    /// <summary>No activation.</summary>
    None,

    /// <summary>Exact GELU, x·Φ(x) with erf.</summary>
    Gelu,
}

/// <summary>What a GEMM does to each output after the product: C = act(A·op(B) + bias) + residual.</summary>
public readonly ref struct GemmEpilogue
{
    /// <summary>Per-column bias of length n, or empty.</summary>
    public ReadOnlySpan<float> Bias { get; init; }

    /// <summary>Activation applied after the bias.</summary>
    public GemmActivation Activation { get; init; }

    /// <summary>A matrix added last, with the same shape and leading dimension as C, or empty.</summary>
    public ReadOnlySpan<float> Residual { get; init; }
}

/// <summary>Single-precision matrix multiplication on the CPU, row-major.</summary>
public static class GemmF32
{
    /// <summary>
    /// C[m×n] = A[m×k] · op(B), then the epilogue. When <paramref name="transposeB"/> is true, B is [n×k] (a weight in
    /// PyTorch <c>Linear</c> layout) and op(B) = Bᵀ; otherwise B is [k×n]. Leading dimensions are row strides in elements.
    /// </summary>
    public static void Compute(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc,
        GemmEpilogue epilogue = default)
    {
        // Placeholder: a correct scalar kernel behind the final signature; the packed, register-blocked kernels replace it.
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                {
                    sum += a[(i * lda) + p] * (transposeB ? b[(j * ldb) + p] : b[(p * ldb) + j]);
                }

                if (!epilogue.Bias.IsEmpty)
                {
                    sum += epilogue.Bias[j];
                }

                if (epilogue.Activation == GemmActivation.Gelu)
                {
                    sum = (float)(0.5 * sum * (1 + Erf(sum / Math.Sqrt(2))));
                }

                if (!epilogue.Residual.IsEmpty)
                {
                    sum += epilogue.Residual[(i * ldc) + j];
                }

                c[(i * ldc) + j] = sum;
            }
        }
    }

    private static double Erf(double x)
    {
        // Abramowitz–Stegun 7.1.26 is not accurate enough for parity tests; this series/continued-fraction pair is (~1e-15).
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / ((2 * n) + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17)
                {
                    break;
                }
            }

            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 60; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }

            r = 1 - (Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f));
        }

        return x < 0 ? -r : r;
    }
}

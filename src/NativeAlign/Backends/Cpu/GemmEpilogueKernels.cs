using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeAlign.Backends.Cpu;

/// <summary>The epilogue of one GEMM call, as raw pointers into spans the caller keeps pinned for the call.</summary>
internal readonly unsafe struct GemmEpilogueArgs
{
    public GemmEpilogueArgs(float* bias, GemmActivation activation, float* residual, nint residualStride, bool accumulateIntoC)
    {
        Bias = bias;
        Activation = activation;
        Residual = residual;
        ResidualStride = residualStride;
        AccumulateIntoC = accumulateIntoC;
    }

    /// <summary>Per-column bias, or null.</summary>
    public float* Bias { get; }

    /// <summary>Activation after the bias.</summary>
    public GemmActivation Activation { get; }

    /// <summary>Residual matrix added last, or null.</summary>
    public float* Residual { get; }

    /// <summary>Row stride of <see cref="Residual"/>.</summary>
    public nint ResidualStride { get; }

    /// <summary>
    /// C already holds the residual (the caller passed the residual as C itself): the product is added to C instead of
    /// overwriting it. Only valid without an activation, where act(x)+r = x+r.
    /// </summary>
    public bool AccumulateIntoC { get; }

    /// <summary>Whether applying the epilogue changes nothing.</summary>
    public bool IsIdentity => Bias == null && Activation == GemmActivation.None && Residual == null;

    /// <summary>Applies the epilogue to C[rows×cols] at (<paramref name="row0"/>, <paramref name="col0"/>) of the whole output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(GemmKernelPath path, float* c, nint ldc, int row0, int col0, int rows, int cols)
    {
        if (IsIdentity)
        {
            return;
        }

        for (int i = 0; i < rows; i++)
        {
            float* residualRow = Residual == null ? null : Residual + ((row0 + i) * ResidualStride) + col0;
            GemmEpilogueKernels.ApplyRow(path, c + (i * ldc), cols, Bias == null ? null : Bias + col0, Activation, residualRow);
        }
    }
}

/// <summary>Vectorised bias + GELU + residual on a row segment, and the erf they need.</summary>
internal static unsafe class GemmEpilogueKernels
{
    // erf(x) = 1 - t·P(t)·exp(-x²), t = 1/(1 + p|x|) (Abramowitz–Stegun 7.1.26): max absolute error 1.5e-7, below the
    // float rounding of the GELU output, and branch-free so one code shape serves every vector width.
    private const float ErfP = 0.3275911f;
    private const float ErfA1 = 0.254829592f;
    private const float ErfA2 = -0.284496736f;
    private const float ErfA3 = 1.421413741f;
    private const float ErfA4 = -1.453152027f;
    private const float ErfA5 = 1.061405429f;
    // erf(5) = 1 - 1.5e-12 is 1 in float; clamping there keeps exp(-x²) out of the subnormal range (slow FMAs).
    private const float ErfClamp = 5f;
    private const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>c[j] = act(c[j] + bias[j]) + residual[j] for j &lt; cols; null pointers mean absent.</summary>
    public static void ApplyRow(GemmKernelPath path, float* c, int cols, float* bias, GemmActivation activation, float* residual)
    {
        int j = 0;
        bool gelu = activation == GemmActivation.Gelu;
        if (path == GemmKernelPath.Vector512)
        {
            for (; j + 16 <= cols; j += 16)
            {
                Vector512<float> x = Vector512.Load(c + j);
                if (bias != null)
                {
                    x += Vector512.Load(bias + j);
                }

                if (gelu)
                {
                    x = Gelu(x);
                }

                if (residual != null)
                {
                    x += Vector512.Load(residual + j);
                }

                x.Store(c + j);
            }
        }

        if (path is GemmKernelPath.Vector512 or GemmKernelPath.Vector256)
        {
            for (; j + 8 <= cols; j += 8)
            {
                Vector256<float> x = Vector256.Load(c + j);
                if (bias != null)
                {
                    x += Vector256.Load(bias + j);
                }

                if (gelu)
                {
                    x = Gelu(x);
                }

                if (residual != null)
                {
                    x += Vector256.Load(residual + j);
                }

                x.Store(c + j);
            }
        }

        for (; j < cols; j++)
        {
            float x = c[j];
            if (bias != null)
            {
                x += bias[j];
            }

            if (gelu)
            {
                x = Gelu(x);
            }

            if (residual != null)
            {
                x += residual[j];
            }

            c[j] = x;
        }
    }

    /// <summary>Exact GELU x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <summary>erf to 1.5e-7 absolute.</summary>
    public static float Erf(float x)
    {
        float ax = MathF.Min(MathF.Abs(x), ErfClamp);
        float t = 1f / MathF.FusedMultiplyAdd(ErfP, ax, 1f);
        float poly = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(ErfA5, t, ErfA4), t, ErfA3), t, ErfA2), t, ErfA1) * t;
        float r = 1f - (poly * MathF.Exp(-ax * ax));
        return MathF.CopySign(r, x);
    }

    /// <summary>Exact GELU on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Gelu(Vector512<float> x)
    {
        Vector512<float> z = x * Vector512.Create(InvSqrt2);
        Vector512<float> az = Vector512.Min(Vector512.Abs(z), Vector512.Create(ErfClamp));
        Vector512<float> t = Vector512<float>.One / Vector512.FusedMultiplyAdd(Vector512.Create(ErfP), az, Vector512<float>.One);
        Vector512<float> poly = Vector512.FusedMultiplyAdd(Vector512.Create(ErfA5), t, Vector512.Create(ErfA4));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA3));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA2));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA1)) * t;
        Vector512<float> erfAbs = Vector512<float>.One - (poly * Vector512.Exp(-(az * az)));
        Vector512<float> erf = Vector512.CopySign(erfAbs, z);
        return Vector512.Create(0.5f) * x * (Vector512<float>.One + erf);
    }

    /// <summary>Exact GELU on 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x)
    {
        Vector256<float> z = x * Vector256.Create(InvSqrt2);
        Vector256<float> az = Vector256.Min(Vector256.Abs(z), Vector256.Create(ErfClamp));
        Vector256<float> t = Vector256<float>.One / Vector256.FusedMultiplyAdd(Vector256.Create(ErfP), az, Vector256<float>.One);
        Vector256<float> poly = Vector256.FusedMultiplyAdd(Vector256.Create(ErfA5), t, Vector256.Create(ErfA4));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA3));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA2));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA1)) * t;
        Vector256<float> erfAbs = Vector256<float>.One - (poly * Vector256.Exp(-(az * az)));
        Vector256<float> erf = Vector256.CopySign(erfAbs, z);
        return Vector256.Create(0.5f) * x * (Vector256<float>.One + erf);
    }
}

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
/// <remarks>
/// Packed, cache-blocked and register-tiled (AVX-512 8×48, AVX2 6×16, scalar 4×4 tiles), multi-threaded over the
/// cores, with the epilogue applied to each output tile while it is still in L1.
/// </remarks>
public static class GemmF32
{
    /// <summary>
    /// C[m×n] = A[m×k] · op(B), then the epilogue. When <paramref name="transposeB"/> is true, B is [n×k] (a weight in
    /// PyTorch <c>Linear</c> layout) and op(B) = Bᵀ; otherwise B is [k×n]. Leading dimensions are row strides in elements.
    /// The residual may be C itself (same start, same stride) when there is no activation: the product is then added
    /// to C in place.
    /// </summary>
    /// <exception cref="ArgumentException">A size, leading dimension or span length is inconsistent.</exception>
    public static void Compute(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc,
        GemmEpilogue epilogue = default)
        => Compute(GemmKernelPath.Auto, 0, m, n, k, a, lda, b, ldb, transposeB, c, ldc, epilogue);

    /// <summary>The same GEMM on a chosen instruction-set path and thread count (0 = all cores), for tests and benchmarks.</summary>
    internal static unsafe void Compute(
        GemmKernelPath path, int maxThreads,
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc,
        GemmEpilogue epilogue = default)
    {
        GemmKernelPath resolved = GemmPaths.Resolve(path);
        ValidateMatrix(nameof(a), a.Length, m, k, lda);
        if (transposeB)
        {
            ValidateMatrix(nameof(b), b.Length, n, k, ldb);
        }
        else
        {
            ValidateMatrix(nameof(b), b.Length, k, n, ldb);
        }

        ValidateMatrix(nameof(c), c.Length, m, n, ldc);
        bool accumulateIntoC = ValidateEpilogue(epilogue, c, m, n, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a, pb = b, pc = c, pBias = epilogue.Bias, pRes = epilogue.Residual)
        {
            var ep = new GemmEpilogueArgs(pBias, epilogue.Activation, accumulateIntoC ? null : pRes, ldc, accumulateIntoC);
            if (transposeB)
            {
                Dispatch(resolved, maxThreads, m, n, k, pa, lda, new GemmF32TransposedPacker(pb, ldb), pc, ldc, ep, packWholeB: true);
            }
            else
            {
                Dispatch(resolved, maxThreads, m, n, k, pa, lda, new GemmF32RowPacker(pb, ldb), pc, ldc, ep, packWholeB: true);
            }
        }
    }

    /// <summary>Runs the driver with the tile of <paramref name="path"/>.</summary>
    internal static unsafe void Dispatch<TPacker>(
        GemmKernelPath path, int maxThreads, int m, int n, int k, float* a, nint lda, TPacker packer, float* c, nint ldc, GemmEpilogueArgs ep, bool packWholeB)
        where TPacker : struct, IGemmPanelPacker
    {
        switch (path)
        {
            case GemmKernelPath.Vector512:
                GemmDriver.Run<GemmKernel512x8x48, TPacker>(path, m, n, k, a, lda, packer, c, ldc, ep, maxThreads, packWholeB);
                break;
            case GemmKernelPath.Vector256:
                GemmDriver.Run<GemmKernel256x6x16, TPacker>(path, m, n, k, a, lda, packer, c, ldc, ep, maxThreads, packWholeB);
                break;
            default:
                GemmDriver.Run<GemmKernelScalar4x4, TPacker>(GemmKernelPath.Scalar, m, n, k, a, lda, packer, c, ldc, ep, maxThreads, packWholeB);
                break;
        }
    }

    /// <summary>Checks that a rows×cols matrix with row stride ld fits in a span of the given length.</summary>
    internal static void ValidateMatrix(string name, int length, int rows, int cols, int ld)
    {
        if (rows < 0 || cols < 0)
        {
            throw new ArgumentException($"matrix {name} has negative shape {rows}x{cols}", name);
        }

        if (ld < cols)
        {
            throw new ArgumentException($"leading dimension of {name} is {ld}, expected at least its width {cols}", name);
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException($"matrix {name} ({rows}x{cols}, leading dimension {ld}) needs {needed} elements, the span has {length}", name);
        }
    }

    /// <summary>
    /// Checks C[m×n] = A[m×k] · Wᵀ for a weight of n × k held elsewhere (the 4-bit paths): both matrices and the
    /// epilogue; returns whether the residual is C itself.
    /// </summary>
    internal static bool ValidateWeightProduct(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> c, int ldc, in GemmEpilogue epilogue)
    {
        ValidateMatrix("a", a.Length, m, k, lda);
        ValidateMatrix("c", c.Length, m, n, ldc);
        return ValidateEpilogue(epilogue, c, m, n, ldc);
    }

    /// <summary>Validates the epilogue against C; returns whether the residual is C itself (accumulate in place).</summary>
    internal static bool ValidateEpilogue(in GemmEpilogue epilogue, ReadOnlySpan<float> c, int m, int n, int ldc)
    {
        if (!epilogue.Bias.IsEmpty && epilogue.Bias.Length < n)
        {
            throw new ArgumentException($"bias has {epilogue.Bias.Length} elements, expected {n}", nameof(epilogue));
        }

        if (epilogue.Activation is not (GemmActivation.None or GemmActivation.Gelu))
        {
            throw new ArgumentException($"unknown activation {epilogue.Activation}", nameof(epilogue));
        }

        if (epilogue.Residual.IsEmpty || m == 0 || n == 0)
        {
            return false;
        }

        ValidateMatrix("residual", epilogue.Residual.Length, m, n, ldc);
        if (c.Overlaps(epilogue.Residual, out int offset))
        {
            if (offset == 0 && epilogue.Activation == GemmActivation.None)
            {
                return true;
            }

            throw new ArgumentException("the residual overlaps C other than as C itself without an activation", nameof(epilogue));
        }

        return false;
    }
}

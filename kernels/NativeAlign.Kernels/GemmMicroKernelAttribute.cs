namespace NativeAlign.Kernels;

/// <summary>
/// Describes a CPU GEMM register tile: on a <c>partial struct</c>, the generator emits its <c>MR</c>, <c>NR</c> and
/// fully unrolled <c>Multiply</c> (one local per accumulator register, a broadcast of A per row, a load of B per
/// vector column, the FMAs, and the accumulate/store epilogue) over the packed panels the CPU GEMM driver produces.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class GemmMicroKernelAttribute : Attribute
{
    /// <summary>Rows of C per tile (MR): one A broadcast per row and k step.</summary>
    public int Rows { get; set; }

    /// <summary>Columns of C per tile (NR): a multiple of the vector's float lanes.</summary>
    public int Columns { get; set; }

    /// <summary>Register width in bits: 512 (<c>Vector512</c>, 32 zmm registers), 256 (<c>Vector256</c>, 16 ymm registers) or 0 for a scalar tile.</summary>
    public int VectorBits { get; set; }

    /// <summary>
    /// Prefetch the tile's C rows into L1 (x86 <c>prefetcht0</c>) before the k loop, so that the loads and stores of C
    /// after it hit the cache: C rows are a full row stride apart, a pattern the hardware prefetchers do not follow.
    /// </summary>
    public bool PrefetchC { get; set; }
}

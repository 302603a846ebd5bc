using NativeAlign.Kernels;

namespace NativeAlign.Backends.Cpu;

// Register tiles of the packed GEMM. Each computes C[MR×NR] (+)= Apanel[MR×kc] · Bpanel[kc×NR] where the A panel is
// packed column-major in MR-row slivers (pa[p*MR + i]) and the B panel row-major in NR-wide slivers (pb[p*NR + j]),
// so the inner loop reads both strictly sequentially. The tiles are fully unrolled (one local per accumulator
// register): the JIT neither unrolls nor scalar-replaces arrays of vectors, and a spilled accumulator halves the FMA
// rate. The unrolled bodies are emitted by NativeAlign.Generators' MicroKernelGenerator from the [GemmMicroKernel]
// descriptions below, which it checks against the register file (obj/.../generated shows the emitted code).

/// <summary>A register-tiled GEMM micro-kernel over packed panels.</summary>
internal interface IGemmMicroKernel
{
    /// <summary>Rows of C per tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile.</summary>
    static abstract int NR { get; }

    /// <summary>C[MR×NR] = (accumulate ? C : 0) + Apanel · Bpanel over <paramref name="kc"/> steps.</summary>
    static abstract unsafe void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate);
}

/// <summary>
/// AVX-512 tile, 8×48: 24 zmm accumulators + 3 B vectors + 1 broadcast of the 32 registers; 8 broadcasts and 3 loads
/// feed 24 FMAs per k step (a 12×32 tile needs 14 loads for as many FMAs). Every issue shape (M ∈ {128, 512, 2048},
/// N ∈ {384, 768, 1536, 3072}) is a whole number of tiles, where 12 rows leave a partial sliver at M = 128 and 512; one
/// thread did 4–10% more work per CPU-second than 12×32 at M = 128 and 512 and the same at M = 2048. C is prefetched:
/// with N ≥ 768 a row block of C no longer stays in L2 between depth blocks.
/// </summary>
[GemmMicroKernel(Rows = 8, Columns = 48, VectorBits = 512, PrefetchC = true)]
internal readonly partial struct GemmKernel512x8x48 : IGemmMicroKernel;

/// <summary>AVX2 tile, 6×16: 12 ymm accumulators + 2 B vectors + 1 broadcast fit the 16 registers AVX2 machines have.</summary>
[GemmMicroKernel(Rows = 6, Columns = 16, VectorBits = 256)]
internal readonly partial struct GemmKernel256x6x16 : IGemmMicroKernel;

/// <summary>Portable scalar tile, 4×4: sixteen accumulators fit the sixteen x64 scalar registers.</summary>
[GemmMicroKernel(Rows = 4, Columns = 4, VectorBits = 0)]
internal readonly partial struct GemmKernelScalar4x4 : IGemmMicroKernel;


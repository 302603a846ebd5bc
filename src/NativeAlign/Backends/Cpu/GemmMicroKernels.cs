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
/// AVX-512 tile, 12×32: 24 zmm accumulators + 2 B vectors + 1 broadcast of the 32 registers; 12 broadcasts and 2 loads
/// feed 24 FMAs per k step. C is prefetched: with N ≥ 768 a C row block no longer stays in L2 between depth blocks.
/// </summary>
[GemmMicroKernel(Rows = 12, Columns = 32, VectorBits = 512, PrefetchC = true)]
internal readonly partial struct GemmKernel512x12x32 : IGemmMicroKernel;

/// <summary>AVX2 tile, 6×16: 12 ymm accumulators + 2 B vectors + 1 broadcast fit the 16 registers AVX2 machines have.</summary>
[GemmMicroKernel(Rows = 6, Columns = 16, VectorBits = 256)]
internal readonly partial struct GemmKernel256x6x16 : IGemmMicroKernel;

/// <summary>Portable scalar tile, 4×4: sixteen accumulators fit the sixteen x64 scalar registers.</summary>
[GemmMicroKernel(Rows = 4, Columns = 4, VectorBits = 0)]
internal readonly partial struct GemmKernelScalar4x4 : IGemmMicroKernel;

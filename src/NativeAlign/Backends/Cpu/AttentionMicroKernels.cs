using NativeAlign.Kernels;

namespace NativeAlign.Backends.Cpu;

// Register tiles of the fused attention, one per head size and instruction-set path. Each computes one query row of
// softmax(q·Kᵀ·scale)·V with an online softmax over key blocks, keeping the scaled query row and the output accumulator
// in registers for all keys (d = 32: 2 zmm each, 64: 4, 128: 8). The unrolled bodies are emitted by
// NativeAlign.Generators' MicroKernelGenerator from the [AttentionMicroKernel] descriptions below, which it checks
// against the register file: on AVX2 only d = 32 fits (64 would need 8 + 8 + 2 of the 16 ymm), so larger heads take the
// generic attention there. CpuBackend.AttendHead picks the tile for the path and head size.

/// <summary>A register-tiled attention row kernel for one head size.</summary>
internal interface IAttentionMicroKernel
{
    /// <summary>Floats per head.</summary>
    static abstract int HeadSize { get; }

    /// <summary>Keys per online-softmax step, and the scratch length <see cref="AttendRow"/> needs.</summary>
    static abstract int KeyBlock { get; }

    /// <summary>output = softmax(q · Kᵀ · scale) · V for one query row over <paramref name="length"/> ≥ 1 keys, rows <paramref name="stride"/> floats apart.</summary>
    static abstract unsafe void AttendRow(float* q, float* k, float* v, nint stride, int length, float scale, float* scores, float* output);
}

/// <summary>AVX-512, d = 32 (MiniLM): 2 zmm query + 2 zmm accumulator.</summary>
[AttentionMicroKernel(HeadSize = 32, VectorBits = 512)]
internal readonly partial struct Attention512x32 : IAttentionMicroKernel;

/// <summary>AVX-512, d = 64 (BERT/XLM-R base): 4 zmm query + 4 zmm accumulator.</summary>
[AttentionMicroKernel(HeadSize = 64, VectorBits = 512)]
internal readonly partial struct Attention512x64 : IAttentionMicroKernel;

/// <summary>AVX-512, d = 128: 8 zmm query + 8 zmm accumulator.</summary>
[AttentionMicroKernel(HeadSize = 128, VectorBits = 512)]
internal readonly partial struct Attention512x128 : IAttentionMicroKernel;

/// <summary>AVX2, d = 32: 4 ymm query + 4 ymm accumulator.</summary>
[AttentionMicroKernel(HeadSize = 32, VectorBits = 256)]
internal readonly partial struct Attention256x32 : IAttentionMicroKernel;

/// <summary>Portable scalar, d = 32: head unrolled, q and accumulator from L1.</summary>
[AttentionMicroKernel(HeadSize = 32, VectorBits = 0)]
internal readonly partial struct AttentionScalar32 : IAttentionMicroKernel;

/// <summary>Portable scalar, d = 64.</summary>
[AttentionMicroKernel(HeadSize = 64, VectorBits = 0)]
internal readonly partial struct AttentionScalar64 : IAttentionMicroKernel;

/// <summary>Portable scalar, d = 128.</summary>
[AttentionMicroKernel(HeadSize = 128, VectorBits = 0)]
internal readonly partial struct AttentionScalar128 : IAttentionMicroKernel;

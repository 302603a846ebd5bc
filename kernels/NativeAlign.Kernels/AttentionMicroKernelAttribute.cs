namespace NativeAlign.Kernels;

/// <summary>
/// Describes a CPU attention register tile for one head size: on a <c>partial struct</c>, the generator emits its
/// <c>HeadSize</c>, <c>KeyBlock</c> and a fully unrolled <c>AttendRow</c> that computes one query row of fused
/// attention (scaled QKᵀ scores per key block, online-softmax rescale, accumulation of the V rows, normalisation) with
/// the scaled query row and the output accumulator held in vector registers for the whole row.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class AttentionMicroKernelAttribute : Attribute
{
    /// <summary>Floats per head: 32, 64 or 128 (the head sizes of the encoder families NativeAlign runs).</summary>
    public int HeadSize { get; set; }

    /// <summary>Register width in bits: 512 (<c>Vector512</c>, 32 zmm registers), 256 (<c>Vector256</c>, 16 ymm registers) or 0 for a scalar tile.</summary>
    public int VectorBits { get; set; }
}

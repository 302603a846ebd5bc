using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The vector instruction sets the running process actually accelerates. Under NativeAOT these are fixed
/// at compile time by the baseline instruction set (<c>IlcInstructionSet</c>), so they can be false even on
/// hardware that has them: that is exactly what this reports.
/// </summary>
public static class CpuFeatures
{
    /// <summary>Whether 512-bit vectors are hardware accelerated.</summary>
    public static bool Vector512Accelerated => Vector512.IsHardwareAccelerated;

    /// <summary>Whether 256-bit vectors are hardware accelerated.</summary>
    public static bool Vector256Accelerated => Vector256.IsHardwareAccelerated;

    /// <summary>Whether 128-bit vectors are hardware accelerated.</summary>
    public static bool Vector128Accelerated => Vector128.IsHardwareAccelerated;

    /// <summary>The widest accelerated vector path: "Vector512", "Vector256", "Vector128" or "scalar".</summary>
    public static string WidestVectorPath =>
        Vector512Accelerated ? "Vector512" : Vector256Accelerated ? "Vector256" : Vector128Accelerated ? "Vector128" : "scalar";

    /// <summary>Each x86 instruction-set extension the runtime reports, with whether it is usable.</summary>
    public static IReadOnlyList<KeyValuePair<string, bool>> X86Extensions { get; } =
    [
        new("SSE4.2", Sse42.IsSupported),
        new("AVX", Avx.IsSupported),
        new("AVX2", Avx2.IsSupported),
        new("FMA", Fma.IsSupported),
        new("AVX-VNNI", AvxVnni.IsSupported),
        new("AVX512F", Avx512F.IsSupported),
        new("AVX512BW", Avx512BW.IsSupported),
        new("AVX512CD", Avx512CD.IsSupported),
        new("AVX512DQ", Avx512DQ.IsSupported),
        new("AVX512VL", Avx512F.VL.IsSupported),
        new("AVX512VBMI", Avx512Vbmi.IsSupported),
    ];
}

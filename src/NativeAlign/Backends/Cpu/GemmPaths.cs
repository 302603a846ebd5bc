using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NativeAlign.Backends.Cpu;

/// <summary>The instruction-set path a GEMM runs on; tests and benchmarks force each one, callers use <see cref="Auto"/>.</summary>
internal enum GemmKernelPath
{
    /// <summary>The fastest path this process supports.</summary>
    Auto,

    /// <summary>Portable scalar code.</summary>
    Scalar,

    /// <summary>256-bit vectors with FMA (AVX2).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512F).</summary>
    Vector512,
}

/// <summary>Which GEMM paths this process can run, and how many threads a GEMM may use.</summary>
internal static class GemmPaths
{
    /// <summary>
    /// Whether <paramref name="path"/> runs at hardware speed here. Vector512 is runnable whenever AVX-512F exists, even
    /// where the runtime prefers 256-bit vectors by default (Vector512.IsHardwareAccelerated false, e.g. on CPUs that
    /// down-clock under AVX-512), so that the two can be measured against each other; Auto follows the runtime's preference.
    /// </summary>
    public static bool IsSupported(GemmKernelPath path) => path switch
    {
        GemmKernelPath.Auto or GemmKernelPath.Scalar => true,
        GemmKernelPath.Vector256 => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported,
        GemmKernelPath.Vector512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>Maps <see cref="GemmKernelPath.Auto"/> to the widest supported path and rejects unsupported requests.</summary>
    public static GemmKernelPath Resolve(GemmKernelPath requested)
    {
        if (requested == GemmKernelPath.Auto)
        {
            return Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmKernelPath.Vector512
                : IsSupported(GemmKernelPath.Vector256) ? GemmKernelPath.Vector256
                : GemmKernelPath.Scalar;
        }

        if (!IsSupported(requested))
        {
            throw new BackendException($"GEMM path {requested} is not supported by this CPU/runtime (widest supported: {Resolve(GemmKernelPath.Auto)})");
        }

        return requested;
    }

    /// <summary>The environment variable that caps the CPU backend's threads (as OMP_NUM_THREADS does for BLAS), read once at start.</summary>
    public const string ThreadsVariable = "NATIVEALIGN_THREADS";

    /// <summary>
    /// Threads a GEMM or a row-parallel kernel may use: one per core the process may run on, or fewer when
    /// <see cref="ThreadsVariable"/> says so (a server sharing the machine, several processes side by side).
    /// </summary>
    public static int MaxThreads { get; } = ThreadLimit(Environment.GetEnvironmentVariable(ThreadsVariable), Environment.ProcessorCount);

    /// <summary>The thread cap <paramref name="value"/> asks for, between 1 and <paramref name="processors"/>; unset or not a positive integer: all.</summary>
    public static int ThreadLimit(string? value, int processors)
    {
        int all = Math.Max(1, processors);
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0 ? Math.Min(n, all) : all;
    }
}

using System.Runtime.InteropServices;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.OpenCl;

namespace NativeAlign.Platform;

/// <summary>What the engine runs on: runtime, OS, cores, accelerated vector ISA and OpenCL devices.</summary>
/// <param name="Runtime">The .NET runtime description.</param>
/// <param name="IsNativeAot">Whether the process is a NativeAOT binary.</param>
/// <param name="OperatingSystem">The OS description.</param>
/// <param name="Architecture">The process architecture.</param>
/// <param name="LogicalCores">Logical processors available to the process.</param>
/// <param name="VectorPath">The widest accelerated vector path.</param>
/// <param name="Vector512">Whether 512-bit vectors are accelerated.</param>
/// <param name="Vector256">Whether 256-bit vectors are accelerated.</param>
/// <param name="Vector128">Whether 128-bit vectors are accelerated.</param>
/// <param name="Extensions">x86 extensions and whether each is usable.</param>
/// <param name="OpenCl">OpenCL devices, or why there are none.</param>
public sealed record SystemReport(
    string Runtime,
    bool IsNativeAot,
    string OperatingSystem,
    string Architecture,
    int LogicalCores,
    string VectorPath,
    bool Vector512,
    bool Vector256,
    bool Vector128,
    IReadOnlyList<KeyValuePair<string, bool>> Extensions,
    OpenClDiscovery OpenCl)
{
    /// <summary>Takes the report for the current process.</summary>
    public static SystemReport Current() => new(
        RuntimeInformation.FrameworkDescription,
        !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported,
        RuntimeInformation.OSDescription,
        RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        CpuFeatures.WidestVectorPath,
        CpuFeatures.Vector512Accelerated,
        CpuFeatures.Vector256Accelerated,
        CpuFeatures.Vector128Accelerated,
        CpuFeatures.X86Extensions,
        OpenClDevices.Discover());
}

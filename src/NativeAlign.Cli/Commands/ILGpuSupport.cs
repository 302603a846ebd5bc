#if NATIVEALIGN_ILGPU
using NativeAlign.Backends.ILGpu;
#endif
using NativeAlign.Backends;

namespace NativeAlign.Cli.Commands;

/// <summary>One ILGPU accelerator as <c>nativealign info</c> shows it.</summary>
/// <param name="Id">What <c>--device</c> takes.</param>
/// <param name="Name">The device's name.</param>
/// <param name="Kind">Cuda, OpenCL or CPU.</param>
/// <param name="MemoryBytes">Device memory.</param>
/// <param name="MaxThreadsPerGroup">Largest group.</param>
/// <param name="Multiprocessors">Multiprocessors / compute units.</param>
internal sealed record ILGpuAccelerator(string Id, string Name, string Kind, long MemoryBytes, int MaxThreadsPerGroup, int Multiprocessors);

/// <summary>
/// The CLI's only door to the ILGPU backend (a separate assembly, src/NativeAlign.Backends.ILGpu). A NativeAOT publish
/// does not reference that assembly at all (NATIVEALIGN_ILGPU undefined): ILGPU generates code at run time, which a
/// NativeAOT binary cannot do, so linking it in would only add ILGPU's trimming/AOT warnings (IL2104, IL3053) and
/// megabytes that cannot run. In such a binary, and in any host where dynamic code is off, <c>--backend ilgpu</c> and
/// <c>info</c> say that ILGPU needs a JIT host.
/// </summary>
internal static class ILGpuSupport
{
    /// <summary>The line a host that cannot run ILGPU prints.</summary>
    public const string NeedsJitHost = "the ilgpu backend needs a JIT host (ILGPU generates code at run time); this NativeAOT binary cannot run it: run NativeAlign.Cli.dll under dotnet";

    /// <summary>Whether this process can run ILGPU.</summary>
    public static bool Available =>
#if NATIVEALIGN_ILGPU
        ILGpuDevices.IsAvailable;
#else
        false;
#endif

    /// <summary>The factory that opens <paramref name="device"/> (null: the first GPU, else the CPU accelerator).</summary>
    /// <exception cref="BackendException">ILGPU cannot run in this process (exit 5).</exception>
    public static Func<IComputeBackend> Factory(string? device)
    {
        if (!Available)
        {
            throw new BackendException(NeedsJitHost);
        }

#if NATIVEALIGN_ILGPU
        return () => ILGpuBackend.Create(device);
#else
        throw new BackendException(NeedsJitHost);
#endif
    }

    /// <summary>"ilgpu (cuda:0 NVIDIA H200)" for an ILGPU backend, else null.</summary>
    public static string? Describe(IComputeBackend backend) =>
#if NATIVEALIGN_ILGPU
        backend is ILGpuBackend ilgpu ? $"{backend.Name} ({ilgpu.Device.Id} {ilgpu.Device.Name})" : null;
#else
        null;
#endif

    /// <summary>The accelerators ILGPU sees, or why none can be listed.</summary>
    public static (IReadOnlyList<ILGpuAccelerator> Devices, string? Problem) Accelerators()
    {
        if (!Available)
        {
            return ([], NeedsJitHost);
        }

#if NATIVEALIGN_ILGPU
        try
        {
            var devices = ILGpuDevices.List().Select(d => new ILGpuAccelerator(d.Id, d.Name, d.Kind, d.MemoryBytes, d.MaxThreadsPerGroup, d.Multiprocessors)).ToArray();
            return (devices, devices.Length == 0 ? "no accelerator" : null);
        }
        catch (NativeAlignException e)
        {
            return ([], e.Message);
        }
#else
        return ([], NeedsJitHost);
#endif
    }
}

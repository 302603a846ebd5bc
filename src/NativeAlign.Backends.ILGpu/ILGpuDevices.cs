using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace NativeAlign.Backends.ILGpu;

/// <summary>One accelerator ILGPU can run on, as <c>nativealign info</c> lists it.</summary>
/// <param name="Id">What <c>--device</c> takes: <c>cuda:N</c>, <c>opencl:N</c> or <c>cpu</c>.</param>
/// <param name="Name">The device's own name.</param>
/// <param name="Kind">Cuda, OpenCL or CPU.</param>
/// <param name="MemoryBytes">Device memory in bytes.</param>
/// <param name="MaxThreadsPerGroup">Largest group ILGPU launches on it.</param>
/// <param name="Multiprocessors">Streaming multiprocessors / compute units.</param>
public sealed record ILGpuDeviceInfo(string Id, string Name, string Kind, long MemoryBytes, int MaxThreadsPerGroup, int Multiprocessors);

/// <summary>
/// Finding ILGPU accelerators: the context with CUDA, OpenCL and the CPU accelerator enabled, the native-library
/// resolver, and whether ILGPU can run in this process at all (it emits IL at run time, so never under NativeAOT).
/// </summary>
public static class ILGpuDevices
{
    private static readonly Lock ResolverGate = new();
    private static bool _resolverSet;

    /// <summary>Whether this process can run ILGPU: false in a NativeAOT binary, which cannot generate code at run time.</summary>
    public static bool IsAvailable => RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>The one line a NativeAOT binary prints for <c>--backend ilgpu</c> and in <c>info</c>.</summary>
    public const string NeedsJitMessage = "the ilgpu backend needs a JIT host (ILGPU generates code at run time); this NativeAOT binary cannot run it: run NativeAlign.Cli.dll under dotnet";

    /// <summary>Every accelerator ILGPU sees here (CUDA devices first, then OpenCL 2.0+ devices, then the CPU accelerator).</summary>
    /// <exception cref="BackendException">ILGPU cannot run in this process.</exception>
    public static IReadOnlyList<ILGpuDeviceInfo> List()
    {
        using var context = CreateContext();
        return [.. Describe(context)];
    }

    /// <summary>Creates the context: CUDA, OpenCL, and a CPU accelerator that allows groups up to 256 threads.</summary>
    internal static Context CreateContext()
    {
        if (!IsAvailable)
        {
            throw new BackendException(NeedsJitMessage);
        }

        SetResolver();
        try
        {
            // The default CPU device caps groups at 16 threads; 16 × 16 × 2 emulates a small GPU and lifts that.
            return Context.Create(builder => builder.Cuda().OpenCL().CPU(new CPUDevice(16, 16, 2)).EnableAlgorithms());
        }
        catch (Exception e) when (e is not BackendException)
        {
            throw new BackendException($"ILGPU could not start: {e.Message}");
        }
    }

    internal static IEnumerable<ILGpuDeviceInfo> Describe(Context context)
    {
        int cuda = 0, opencl = 0;
        foreach (var device in context.Devices)
        {
            (string id, string kind) = device switch
            {
                CudaDevice => ($"cuda:{cuda++}", "Cuda"),
                CLDevice => ($"opencl:{opencl++}", "OpenCL"),
                CPUDevice => ("cpu", "CPU"),
                _ => ($"{device.AcceleratorType}".ToLowerInvariant(), device.AcceleratorType.ToString()),
            };
            yield return new ILGpuDeviceInfo(id, device.Name, kind, device.MemorySize, device.MaxNumThreadsPerGroup, device.NumMultiprocessors);
        }
    }

    /// <summary>The device <paramref name="id"/> names (<c>cuda:N</c>, <c>opencl:N</c>, <c>cpu</c>), or the first GPU when null.</summary>
    internal static Device Find(Context context, string? id)
    {
        var devices = context.Devices.ToArray();
        var described = Describe(context).ToArray();
        if (id is null)
        {
            int gpu = Array.FindIndex(described, d => d.Kind != "CPU");
            return devices[gpu >= 0 ? gpu : Array.FindIndex(described, d => d.Kind == "CPU")];
        }

        string wanted = id.Trim().ToLowerInvariant();
        if (wanted is "cuda" or "opencl")
        {
            wanted += ":0";
        }

        int index = Array.FindIndex(described, d => d.Id == wanted);
        if (index < 0)
        {
            string seen = described.Length == 0 ? "none" : string.Join(", ", described.Select(d => d.Id));
            throw new NativeAlignException(ErrorKind.Usage, $"no ILGPU device '{id}' (expected cuda:N, opencl:N or cpu; present: {seen})");
        }

        return devices[index];
    }

    /// <summary>
    /// Resolves ILGPU's driver imports by the versioned names Linux distributions install (<c>libcuda.so.1</c>,
    /// <c>libOpenCL.so.1</c>): the unversioned names ILGPU asks for exist only with development packages, and without
    /// them ILGPU silently sees no device. On WSL ILGPU installs its own resolver for CUDA, so this one stays out.
    /// </summary>
    private static void SetResolver()
    {
        lock (ResolverGate)
        {
            if (_resolverSet || !OperatingSystem.IsLinux() || IsWsl())
            {
                return;
            }

            _resolverSet = true;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone set a resolver for ILGPU already (a host application): theirs wins.
            }
        }
    }

    internal static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string[] candidates = libraryName.Contains("cuda", StringComparison.OrdinalIgnoreCase)
            ? ["libcuda.so.1", "libcuda.so"]
            : libraryName.Contains("opencl", StringComparison.OrdinalIgnoreCase) ? ["libOpenCL.so.1", "libOpenCL.so"] : [];
        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        // Not found under either name: the runtime's own search, which fails the same way ILGPU expects.
        return IntPtr.Zero;
    }

    private static bool IsWsl()
    {
        try
        {
            return File.ReadAllText("/proc/version").Contains("microsoft", StringComparison.OrdinalIgnoreCase);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

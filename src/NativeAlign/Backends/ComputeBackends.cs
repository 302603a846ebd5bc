using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Backends.Reference;

namespace NativeAlign.Backends;

/// <summary>The backends by the names the command line and <c>SentenceEncoderOptions.Backend</c> use.</summary>
public static class ComputeBackends
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "opencl", "reference"];

    /// <summary>
    /// Creates backend <paramref name="name"/>: "cpu", "opencl" (on OpenCL device <paramref name="device"/>, as
    /// <c>nativealign info</c> numbers them) or "reference" (float64). The caller disposes it.
    /// </summary>
    /// <param name="name">The backend.</param>
    /// <param name="device">The OpenCL device index (opencl only).</param>
    /// <param name="int8Activations">Int8 activations in 4-bit products (cpu only).</param>
    /// <param name="threads">Threads of the CPU backend's retrieval and transport ops (0 = all cores).</param>
    /// <exception cref="NativeAlignException">An unknown name, or an option the backend does not have (usage error).</exception>
    /// <exception cref="BackendException">The OpenCL device cannot be opened.</exception>
    public static IComputeBackend Create(string name, int device = 0, bool int8Activations = false, int threads = 0) => name switch
    {
        _ when int8Activations && name != "cpu" => throw new NativeAlignException(ErrorKind.Usage, $"int8 activations run on the cpu backend only, not on '{name}'"),
        "cpu" => new CpuBackend { Int8Activations = int8Activations, Threads = threads },
        "reference" => new ReferenceBackend(),
        "opencl" => OpenClBackend.Create(device),
        _ => throw new NativeAlignException(ErrorKind.Usage, $"unknown backend '{name}' (expected {string.Join(", ", Names)})"),
    };

    /// <summary>The backend and, for a device backend, its device, in words ("opencl (pthread-cpu)").</summary>
    public static string Describe(IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend is OpenClBackend openCl ? $"{backend.Name} ({openCl.Device.Name})" : backend.Name;
    }
}

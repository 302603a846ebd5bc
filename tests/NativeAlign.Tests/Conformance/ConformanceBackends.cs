using System.Collections.Concurrent;
using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Backends.Reference;
using NativeAlign.Tests.Backends.OpenCl;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// A backend the suite runs every case on. <paramref name="Missing"/> says why it cannot run on this machine (the
/// test is then ignored with that reason), or null; <paramref name="Create"/> opens it once per test process.
/// </summary>
internal sealed record BackendUnderTest(string Name, Func<IComputeBackend> Create, Func<string?> Missing)
{
    public override string ToString() => Name;
}

/// <summary>
/// Every backend the conformance suite knows. A new backend joins by adding one line to <see cref="All"/>.
/// </summary>
/// <remarks>
/// The CPU backend runs once per instruction-set path its products can be forced onto (<see cref="CpuBackend.GemmPath"/>
/// for Linear and <see cref="CpuBackend.AttentionPath"/> for the attention tiles, the paths GemmPaths.IsSupported
/// allows here) and once as callers get it (Auto). Its row kernels (activations, norms, pooling) follow the runtime's
/// vector width, which is fixed per process: each path entry runs those on the same widest path.
/// </remarks>
internal static class ConformanceBackends
{
    private static readonly ConcurrentDictionary<string, IComputeBackend> Opened = new();

    private static readonly Lazy<OpenClTestDevice> SharedOpenClDevice = new(() => OpenClTestDevice.Open());

    public static IReadOnlyList<BackendUnderTest> All { get; } =
    [
        Cpu(GemmKernelPath.Scalar),
        Cpu(GemmKernelPath.Vector256),
        Cpu(GemmKernelPath.Vector512),
        new("cpu", () => new CpuBackend(), () => null),
        new("reference", () => new ReferenceBackend(), () => null),
        new("opencl", () => OpenClBackend.Create(SharedOpenClDevice.Value.Context), OpenClMissing),
        new("ilgpu-cpu", () => NativeAlign.Backends.ILGpu.ILGpuBackend.Create("cpu"), () => null),
    ];

    /// <summary>The backend, opened on first use and shared by all cases (the OpenCL one compiles its kernels once).</summary>
    public static IComputeBackend Open(BackendUnderTest backend)
    {
        if (backend.Missing() is { } why)
        {
            Assert.Ignore($"{backend.Name}: {why}");
        }

        return Opened.GetOrAdd(backend.Name, _ => backend.Create());
    }

    public static void CloseAll()
    {
        foreach (var backend in Opened.Values)
        {
            backend.Dispose();
        }

        Opened.Clear();
        if (SharedOpenClDevice.IsValueCreated)
        {
            SharedOpenClDevice.Value.Dispose();
        }
    }

    private static BackendUnderTest Cpu(GemmKernelPath path) => new(
        "cpu-" + path.ToString().ToLowerInvariant(),
        () => new CpuBackend { GemmPath = path, AttentionPath = path },
        () => GemmPaths.IsSupported(path) ? null : $"the {path} path is not supported by this CPU/runtime");

    private static string? OpenClMissing()
    {
        var discovery = OpenClDevices.Discover();
        return discovery.Devices.Count == 0 ? $"no OpenCL device on this machine: {discovery.Problem}" : null;
    }
}

/// <summary>Releases the backends the suite opened, once every test in the namespace has run.</summary>
[SetUpFixture]
public sealed class ConformanceSetUp
{
    [OneTimeTearDown]
    public void CloseBackends() => ConformanceBackends.CloseAll();
}

using NativeAlign.Backends.OpenCl;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Elementwise;
using NativeAlign.Kernels.Gemm;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>The OpenCL runtime around the kernels: program cache, build errors, argument checks.</summary>
[TestFixture]
public sealed class OpenClContextTests
{
    [Test]
    public void ProgramCache_SecondContext_LoadsTheStoredBinaryAndStillComputes()
    {
        string cacheDirectory = Path.Combine(Path.GetTempPath(), "nativealign-test-cl-" + Guid.NewGuid().ToString("N"));
        try
        {
            OpenClTestDevice.RequireDevice();
            float[] a = [1.5f, -2f, 3.25f];
            float[] b = [0.25f, 8f, -1f];
            using (var writer = OpenClContext.Create(0, new OpenClProgramCache(cacheDirectory)))
            {
                Assert.That(Add(writer, a, b), Is.EqualTo(new[] { 1.75f, 6f, 2.25f }));
                Assert.That(writer.ProgramCache.Misses, Is.EqualTo(1));
                Assert.That(writer.ProgramCache.Stores, Is.EqualTo(1));
            }

            var files = Directory.GetFiles(cacheDirectory, "*.bin");
            Assert.That(files, Has.Length.EqualTo(1), "one binary per program");
            Assert.That(new FileInfo(files[0]).Length, Is.GreaterThan(0));
            Assert.That(Directory.GetFiles(cacheDirectory, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary file is left behind");

            using var reader = OpenClContext.Create(0, new OpenClProgramCache(cacheDirectory));
            Assert.That(Add(reader, a, b), Is.EqualTo(new[] { 1.75f, 6f, 2.25f }));
            Assert.That(reader.ProgramCache.Hits, Is.EqualTo(1));
            Assert.That(reader.ProgramCache.Misses, Is.EqualTo(0));
        }
        finally
        {
            if (Directory.Exists(cacheDirectory))
            {
                Directory.Delete(cacheDirectory, recursive: true);
            }
        }
    }

    [Test]
    public void ProgramCache_CorruptEntry_IsRebuiltFromSource()
    {
        using var device = OpenClTestDevice.Open();
        string key = OpenClProgramCache.Key(ElementwiseKernels.VectorAddKernel.OpenClSource, OpenClContext.BuildOptions, device.Context.Device);
        Directory.CreateDirectory(device.CacheDirectory);
        File.WriteAllBytes(device.Context.ProgramCache.PathFor(key)!, [1, 2, 3, 4, 5]);

        Assert.That(Add(device.Context, [1f], [2f]), Is.EqualTo(new[] { 3f }));
        Assert.That(device.Context.ProgramCache.Hits, Is.EqualTo(0));
        Assert.That(device.Context.ProgramCache.Misses, Is.EqualTo(1));
        Assert.That(new FileInfo(device.Context.ProgramCache.PathFor(key)!).Length, Is.GreaterThan(5), "the corrupt entry was replaced");
    }

    [Test]
    public void UnsafeMathKernel_IsBuiltWithTheRelaxedOptions_OthersWithout()
    {
        // The program cache is keyed by source and options, so the entry's name tells which options the build used.
        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var a = context.Upload<float>([1f, 2f]);
        using var b = context.Upload<float>([3f, 4f]);
        using var c = context.Allocate<float>(1);
        context.Run(new GemmKernels.MatMulTransposedBKernel(a, b, c, 1, 1, 2), GemmKernels.LaunchRange(1, 1));
        Assert.That(c.ToArray(), Is.EqualTo(new[] { 11f }));
        Assert.That(GemmKernels.MatMulTransposedBKernel.Hints.UnsafeMathOptimizations, Is.True);
        string source = GemmKernels.MatMulTransposedBKernel.OpenClSource;
        Assert.That(File.Exists(context.ProgramCache.PathFor(OpenClProgramCache.Key(source, OpenClContext.UnsafeMathBuildOptions, context.Device))), Is.True);
        Assert.That(File.Exists(context.ProgramCache.PathFor(OpenClProgramCache.Key(source, OpenClContext.BuildOptions, context.Device))), Is.False);

        Assert.That(Add(context, [1f], [2f]), Is.EqualTo(new[] { 3f }));
        Assert.That(ElementwiseKernels.VectorAddKernel.Hints.UnsafeMathOptimizations, Is.False);
        Assert.That(File.Exists(context.ProgramCache.PathFor(OpenClProgramCache.Key(ElementwiseKernels.VectorAddKernel.OpenClSource, OpenClContext.BuildOptions, context.Device))), Is.True);
    }

    [Test]
    public void ProgramCache_FromEnvironment_HonoursSwitchAndXdgCacheHome()
    {
        string? oldSwitch = Environment.GetEnvironmentVariable(OpenClProgramCache.EnvironmentVariable);
        string? oldXdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable(OpenClProgramCache.EnvironmentVariable, "0");
            Assert.That(OpenClProgramCache.FromEnvironment().Directory, Is.Null);

            Environment.SetEnvironmentVariable(OpenClProgramCache.EnvironmentVariable, null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/tmp/xdg-test");
            Assert.That(OpenClProgramCache.FromEnvironment().Directory, Is.EqualTo("/tmp/xdg-test/nativealign/opencl"));

            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            Assert.That(OpenClProgramCache.FromEnvironment().Directory, Is.EqualTo(Path.Combine(home, ".cache", "nativealign", "opencl")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(OpenClProgramCache.EnvironmentVariable, oldSwitch);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", oldXdg);
        }
    }

    [Test]
    public void BuildProgram_InvalidSource_ThrowsBackendExceptionWithTheBuildLog()
    {
        using var device = OpenClTestDevice.Open();
        const string source = "__kernel void broken(__global float* x) { x[0] = no_such_identifier; }";
        var error = Assert.Throws<BackendException>(() => device.Context.BuildProgram(source, OpenClContext.BuildOptions, "broken"));
        Assert.That(error!.Message, Does.Contain("build log"));
        Assert.That(error.Message, Does.Contain("no_such_identifier"), "the driver's log names the offending identifier");
        Assert.That(error.Kind, Is.EqualTo(ErrorKind.Backend));
    }

    [Test]
    public void Run_BufferFromAnotherContext_ThrowsBackendException()
    {
        using var first = OpenClTestDevice.Open();
        using var second = OpenClTestDevice.Open();
        using var foreign = second.Context.Allocate<float>(4);
        using var a = first.Context.Allocate<float>(4);
        var error = Assert.Throws<BackendException>(() =>
            first.Context.Run(new ElementwiseKernels.VectorAddKernel(a, a, foreign, 4), new NDRange(4)));
        Assert.That(error!.Message, Does.Contain("argument 2"));
    }

    [Test]
    public void Create_DeviceIndexOutOfRange_ThrowsBackendException()
    {
        int count = OpenClDevices.Discover().Devices.Count;
        var error = Assert.Throws<BackendException>(() => OpenClContext.Create(count + 5, new OpenClProgramCache(null)));
        Assert.That(error!.Message, Does.Contain((count + 5).ToString()));
    }

    [Test]
    public void KernelCheck_OnTheTestDevice_RunsEveryKernelWithinItsBound()
    {
        // The self-check behind `nativealign kernels check`: its float64 oracles are computed from each op's definition.
        using var device = OpenClTestDevice.Open();
        var results = OpenClKernelCheck.Run(device.Context);
        Assert.That(results.Select(r => r.Kernel.Split(' ')[0]), Is.EqualTo(new[] { "VectorAdd", "Gelu", "SoftmaxRows", "LayerNormRows", "MatMulTransposedB" }));
        foreach (var r in results)
        {
            Assert.That(r.Passed, $"{r.Kernel}: nmse {r.NormalisedMse:E2} > {r.Bound:E0}");
        }
    }

    private static float[] Add(OpenClContext context, float[] a, float[] b)
    {
        using var da = context.Upload<float>(a);
        using var db = context.Upload<float>(b);
        using var dc = context.Allocate<float>(a.Length);
        context.Run(new ElementwiseKernels.VectorAddKernel(da, db, dc, a.Length), new NDRange(a.Length));
        return dc.ToArray();
    }
}

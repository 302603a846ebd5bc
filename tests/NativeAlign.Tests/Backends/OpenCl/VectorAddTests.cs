using NativeAlign.Backends.OpenCl;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Elementwise;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// The walking skeleton end to end: the C# kernel <see cref="ElementwiseKernels.VectorAdd"/>, translated to OpenCL C by
/// the generator, built and run on the OpenCL device, against the same C# method run by the CPU reference runner and
/// against a float64 oracle.
/// </summary>
[TestFixture]
public sealed class VectorAddTests
{
    private const float Sentinel = -12345.5f;
    private const int Padding = 80; // more than one work-group of 64: catches writes past n from the rounded-up range

    /// <summary>
    /// Sizes 0 and 1, odd sizes below and above the work-group size (64), and several groups with a ragged tail.
    /// A float sum is correctly rounded in IEEE arithmetic on both sides, and rounding the exact double sum of two
    /// floats to float gives that same value (53 ≥ 2·24 + 2 bits), so all three results must agree bit for bit.
    /// </summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(1000)]
    [TestCase(4099)]
    public void VectorAdd_OnDevice_EqualsCpuReferenceAndFloat64Oracle(int n)
    {
        var random = new Random(1234 + n);
        var a = new float[n];
        var b = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Mixed magnitudes and signs, so that rounding actually happens in the sums.
            a[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7)));
            b[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7)));
        }

        var oracle = new float[n];
        for (int i = 0; i < n; i++)
        {
            oracle[i] = (float)((double)a[i] + b[i]);
        }

        // CPU reference: the very same C# method, emulated over the padded NDRange.
        var cpu = Filled(n + Padding);
        int local = ElementwiseKernels.VectorAddKernel.Hints.LocalSizeX;
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(local), () => ElementwiseKernels.VectorAdd(new(a), new(b), new(cpu), n));

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var da = context.Upload<float>(a);
        using var db = context.Upload<float>(b);
        using var dc = context.Upload<float>(Filled(n + Padding));
        context.Run(new ElementwiseKernels.VectorAddKernel(da, db, dc, n), new NDRange(n));
        var gpu = dc.ToArray();

        for (int i = 0; i < n; i++)
        {
            Assert.That(BitConverter.SingleToInt32Bits(gpu[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(oracle[i])), $"device c[{i}] = {gpu[i]:R}, oracle {oracle[i]:R}");
            Assert.That(BitConverter.SingleToInt32Bits(cpu[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(oracle[i])), $"CPU reference c[{i}] = {cpu[i]:R}, oracle {oracle[i]:R}");
        }

        Assert.That(gpu.AsSpan(n).ToArray(), Is.All.EqualTo(Sentinel), "the device wrote past n");
        Assert.That(cpu.AsSpan(n).ToArray(), Is.All.EqualTo(Sentinel), "the CPU reference wrote past n");
    }

    [Test]
    public void VectorAdd_DescriptorTypes_MatchTheKernelSignature()
    {
        // The descriptor is what the runtime sees; its static members come from the generator, not reflection.
        Assert.That(ElementwiseKernels.VectorAddKernel.EntryPoint, Is.EqualTo("VectorAdd"));
        Assert.That(ElementwiseKernels.VectorAddKernel.ArgumentCount, Is.EqualTo(4));
        Assert.That(ElementwiseKernels.VectorAddKernel.Hints, Is.EqualTo(new KernelHints(64, 0, false)));
        Assert.That(ElementwiseKernels.VectorAddKernel.OpenClSource, Does.Contain("__kernel void VectorAdd("));
    }

    private static float[] Filled(int length)
    {
        var array = new float[length];
        Array.Fill(array, Sentinel);
        return array;
    }
}

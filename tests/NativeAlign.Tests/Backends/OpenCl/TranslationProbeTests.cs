using NativeAlign.Backends.OpenCl;
using NativeAlign.Kernels;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Translation semantics: probe kernels that use every accepted construct run on the OpenCL device and, as the same C#
/// methods, on .NET through the CPU reference runner. .NET's C# semantics are the reference: a construct translated
/// with a different C meaning (precedence, conversions, integer division, shifts, fmod, rounding) shows up as a mismatch.
/// </summary>
[TestFixture]
public sealed class TranslationProbeTests
{
    [Test]
    public void MinMaxProbe_Device_PropagatesNaNAndOrdersSignedZeros_AsCSharpDoes()
    {
        float[] values = [float.NaN, -0f, 0f, 1f, -1f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon];
        var a = new float[values.Length * values.Length];
        var b = new float[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = values[i / values.Length];
            b[i] = values[i % values.Length];
        }

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dA = context.Upload<float>(a);
        using var dB = context.Upload<float>(b);
        using var dMax = context.Allocate<float>(a.Length);
        using var dMin = context.Allocate<float>(a.Length);
        context.Run(new TranslationProbeKernels.MinMaxProbeKernel(dA, dB, dMax, dMin, a.Length), new NDRange(a.Length));
        var max = dMax.ToArray();
        var min = dMin.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            // The expectation is .NET's own MathF (IEEE 754-2019 maximum/minimum), compared bit for bit but any NaN as one.
            Assert.That(Bits(max[i]), Is.EqualTo(Bits(MathF.Max(a[i], b[i]))), $"max({a[i]:R}, {b[i]:R})");
            Assert.That(Bits(min[i]), Is.EqualTo(Bits(MathF.Min(a[i], b[i]))), $"min({a[i]:R}, {b[i]:R})");
        }

        static int Bits(float v) => float.IsNaN(v) ? int.MinValue : BitConverter.SingleToInt32Bits(v);
    }

    [Test]
    public void IntegerProbe_Device_EqualsDotNetExactly()
    {
        const int n = 101; // not a multiple of the work-group size (16)
        var random = new Random(7);
        var input = new int[n];
        for (int i = 0; i < n; i++)
        {
            input[i] = i < 8 ? i - 4 : random.Next(-1_000_000, 1_000_000);
        }

        var cpuInts = new int[n];
        var cpuLongs = new long[n];
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(16), () => TranslationProbeKernels.IntegerProbe(new(input), new(cpuInts), new(cpuLongs), n));

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<int>(input);
        using var dInts = context.Allocate<int>(n);
        using var dLongs = context.Allocate<long>(n);
        context.Run(new TranslationProbeKernels.IntegerProbeKernel(dInput, dInts, dLongs, n), new NDRange(n));

        Assert.That(dInts.ToArray(), Is.EqualTo(cpuInts));
        Assert.That(dLongs.ToArray(), Is.EqualTo(cpuLongs));
    }

    [Test]
    public void FloatProbe_Device_MatchesDotNet()
    {
        const int n = 77;
        var random = new Random(11);
        var input = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Some exact halves and quarters exercise the rounding-mode-sensitive outputs (Round, Floor, %).
            input[i] = i < 16 ? (i - 8) * 0.25f : (float)((random.NextDouble() - 0.5) * 8);
        }

        const int outputs = TranslationProbeKernels.FloatOutputs;
        var cpu = new float[n * outputs];
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(16), () => TranslationProbeKernels.FloatProbe(new(input), new(cpu), n));

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<float>(input);
        using var dOutput = context.Allocate<float>(n * outputs);
        context.Run(new TranslationProbeKernels.FloatProbeKernel(dInput, dOutput, n), new NDRange(n));
        var gpu = dOutput.ToArray();

        for (int i = 0; i < n * outputs; i++)
        {
            int column = i % outputs;
            string what = $"x = {input[i / outputs]:R}, output {column}";
            Assert.That(float.IsFinite(gpu[i]), $"{what}: device gave {gpu[i]}");
            if (column is 2 or 3 or 6)
            {
                // floor/ceil/rint/trunc, fmod, fma and int conversions are exact operations on both sides.
                Assert.That(gpu[i], Is.EqualTo(cpu[i]), what);
            }
            else
            {
                // exp/log/tanh/pow/sin/cos/atan2 are within a few ulp on both sides (OpenCL 1.2 §7.4 error bounds).
                Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(4e-6 * Math.Max(1, Math.Abs(cpu[i]))), what);
            }
        }
    }

    [TestCase(29)]
    [TestCase(8)]
    [TestCase(1)]
    public void LocalReverseProbe_LocalMemoryAndBarrier_DeviceEqualsCooperativeCpuAndIndexOracle(int n)
    {
        var input = Enumerable.Range(0, n).Select(i => (float)(i * i) + 0.5f).ToArray();
        const int local = 8;
        var cpu = new float[n];
        var scratch = new LocalBuffer<float>(local); // one declaration per launch; each work-group gets its own storage
        CpuReferenceRunner.RunCooperative(new NDRange(n), new NDRange(local), () => TranslationProbeKernels.LocalReverseProbe(new(input), new(cpu), scratch, n));

        // Oracle from the index arithmetic alone: work-item i reads the mirrored slot of its group (0 past n).
        var expected = new float[n];
        for (int i = 0; i < n; i++)
        {
            int group = i / local;
            int source = (group * local) + (local - 1 - (i % local));
            expected[i] = (source < n ? input[source] : 0f) + group;
        }

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<float>(input);
        using var dOutput = context.Allocate<float>(n);
        context.Run(new TranslationProbeKernels.LocalReverseProbeKernel(dInput, dOutput, local, n), new NDRange(n));

        Assert.That(cpu, Is.EqualTo(expected), "CPU reference");
        Assert.That(dOutput.ToArray(), Is.EqualTo(expected), "device");
        Assert.That(TranslationProbeKernels.LocalReverseProbeKernel.Hints.UsesBarriers, Is.True);
    }

    [TestCase(29)]
    [TestCase(8)]
    public void HalfStorageProbe_WithoutFp16_DeviceEqualsDotNetBitForBit(int n)
    {
        // Specials, the subnormal range, ties for the rounding of x * 0.3f, then random halves of every magnitude.
        var special = new[]
        {
            Half.Zero, Half.NegativeZero, Half.Epsilon, -Half.Epsilon, (Half)6.0e-5f, Half.MaxValue, Half.MinValue,
            Half.PositiveInfinity, Half.NegativeInfinity, Half.NaN, (Half)1f, (Half)(-2.5f), (Half)1000f,
        };
        var random = new Random(5);
        var input = new Half[n];
        for (int i = 0; i < n; i++)
        {
            input[i] = i < special.Length ? special[i] : BitConverter.UInt16BitsToHalf((ushort)random.Next(0, 0x7C00 | 0x8000));
            if (Half.IsNaN(input[i]) && i >= special.Length)
            {
                input[i] = (Half)(float)i;
            }
        }

        const int local = 8;
        var cpuScaled = new Half[n];
        var cpuWidened = new float[n];
        var cpuMirrored = new Half[n];
        CpuReferenceRunner.RunCooperative(new NDRange(n), new NDRange(local), () => TranslationProbeKernels.HalfStorageProbe(new(input), new(cpuScaled), new(cpuWidened), new(cpuMirrored), n));

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<Half>(input);
        using var dScaled = context.Allocate<Half>(n);
        using var dWidened = context.Allocate<float>(n);
        using var dMirrored = context.Allocate<Half>(n);
        context.Run(new TranslationProbeKernels.HalfStorageProbeKernel(dInput, dScaled, dWidened, dMirrored, n), new NDRange(n));

        Assert.That(TranslationProbeKernels.HalfStorageProbeKernel.Hints.UsesHalfArithmetic, Is.False, "storage-only half needs no cl_khr_fp16");
        Assert.That(Bits(dScaled.ToArray()), Is.EqualTo(Bits(cpuScaled)), "(Half)(x * 0.3f) through vstore_half");
        Assert.That(dWidened.ToArray(), Is.EqualTo(cpuWidened), "(float)x through vload_half");
        Assert.That(Bits(dMirrored.ToArray()), Is.EqualTo(Bits(cpuMirrored)), "half local memory");
    }

    [Test]
    public void HalfArithmeticProbe_OnDeviceWithoutFp16_IsRefusedNamingKernelAndDevice_ElseEqualsDotNet()
    {
        const int n = 40;
        var input = Enumerable.Range(0, n).Select(i => (Half)((i - 20) * 0.37f)).ToArray();
        var bias = (Half)0.75f;
        var cpu = new Half[n];
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(1), () => TranslationProbeKernels.HalfArithmeticProbe(new(input), new(cpu), bias, n));
        Assert.That(TranslationProbeKernels.HalfArithmeticProbeKernel.Hints.UsesHalfArithmetic, Is.True);

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<Half>(input);
        using var dOutput = context.Allocate<Half>(n);
        var kernel = new TranslationProbeKernels.HalfArithmeticProbeKernel(dInput, dOutput, bias, n);
        if (!context.Device.HasExtension(OpenClContext.HalfExtension))
        {
            // PoCL on the CI machine: refused before the driver sees the program, not with a build log.
            var error = Assert.Throws<BackendException>(() => context.Run(kernel, new NDRange(n)));
            Assert.That(error!.Message, Does.Contain("'HalfArithmeticProbe'").And.Contain(context.Device.Name).And.Contain("cl_khr_fp16").And.Not.Contain("build log"));
            return;
        }

        context.Run(kernel, new NDRange(n));
        Assert.That(Bits(dOutput.ToArray()), Is.EqualTo(Bits(cpu)));
    }

    [Test]
    public void DeviceInfo_HasExtension_MatchesWholeNamesOnly()
    {
        var info = new OpenClDeviceInfo(0, "p", "d", "v", "1.2", "1", "CPU", 1, 1, 1, 1, "cl_khr_fp64  cl_khr_fp16x cl_khr_icd", 0, 0);
        Assert.That(info.HasExtension("cl_khr_fp64"), Is.True);
        Assert.That(info.HasExtension("cl_khr_icd"), Is.True);
        Assert.That(info.HasExtension("cl_khr_fp16"), Is.False);
    }

    [Test]
    public void SwitchProbe_Device_EqualsDotNetExactly()
    {
        const int n = 117; // not a multiple of the work-group size (16)
        var random = new Random(13);
        var input = new int[n];
        for (int i = 0; i < n; i++)
        {
            // Every residue of (x + k) % 5, negative ones included, and every ProbeMode.
            input[i] = i < 24 ? i - 12 : random.Next(-100_000, 100_000);
        }

        var cpu = new int[n];
        CpuReferenceRunner.Run(new NDRange(n), new NDRange(16), () => TranslationProbeKernels.SwitchProbe(new(input), new(cpu), n));

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dInput = context.Upload<int>(input);
        using var dOutput = context.Allocate<int>(n);
        context.Run(new TranslationProbeKernels.SwitchProbeKernel(dInput, dOutput, n), new NDRange(n));

        Assert.That(dOutput.ToArray(), Is.EqualTo(cpu));
        Assert.That(cpu.Distinct().Count(), Is.GreaterThan(n / 2), "the sections are exercised, not one constant path");
    }

    /// <summary>The bit patterns, every NaN as one (C# and OpenCL C leave NaN payloads unspecified).</summary>
    private static ushort[] Bits(Half[] values) => values.Select(v => Half.IsNaN(v) ? (ushort)0x7E00 : BitConverter.HalfToUInt16Bits(v)).ToArray();
}

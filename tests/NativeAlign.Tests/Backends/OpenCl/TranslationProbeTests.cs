using NativeAlign.Kernels;
using NativeAlign.Kernels.Conformance;

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
}

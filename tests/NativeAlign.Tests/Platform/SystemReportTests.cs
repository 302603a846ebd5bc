using System.Diagnostics;
using System.Text.RegularExpressions;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Platform;

namespace NativeAlign.Tests.Platform;

/// <summary>The report is checked against independent sources: the kernel's /proc/cpuinfo and clinfo.</summary>
public sealed partial class SystemReportTests
{
    [Test]
    public void Vector512IsAcceleratedExactlyWhenTheKernelReportsAvx512()
    {
        Assume.That(File.Exists("/proc/cpuinfo"), "needs Linux /proc/cpuinfo");
        Assume.That(Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F"), Is.Null, "AVX-512 disabled by the environment");
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
        bool hardware = flags.Contains("avx512f") && flags.Contains("avx512bw") && flags.Contains("avx512vl");
        var report = SystemReport.Current();
        Assert.That(report.Vector512, Is.EqualTo(hardware));
        Assert.That(report.Vector256, Is.EqualTo(flags.Contains("avx2")));
        Assert.That(report.LogicalCores, Is.EqualTo(Environment.ProcessorCount));
    }

    [Test]
    public void OpenClDevicesMatchWhatClinfoLists()
    {
        string listing;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("clinfo", "-l") { RedirectStandardOutput = true })!;
            listing = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore("clinfo is not installed (scripts/setup.sh installs it)");
            return;
        }

        var expected = DeviceLine().Matches(listing).Select(m => m.Groups[1].Value.Trim()).ToList();
        var discovery = OpenClDevices.Discover();
        Assert.That(discovery.Devices.Select(d => d.Name), Is.EqualTo(expected));
        if (expected.Count == 0)
        {
            Assert.That(discovery.Problem, Is.Not.Null.And.Not.Empty, "no device must come with a reason");
        }
        else
        {
            Assert.That(discovery.Devices.Select(d => d.Index), Is.EqualTo(Enumerable.Range(0, expected.Count)));
            Assert.That(discovery.Devices, Has.All.Matches<OpenClDeviceInfo>(d => d.ComputeUnits > 0 && d.GlobalMemoryBytes > 0));
        }
    }

    [GeneratedRegex(@"Device #\d+: (.*)")]
    private static partial Regex DeviceLine();
}

using System.CommandLine;
using System.Text.Json;
using NativeAlign.Backends.OpenCl;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign kernels check</c>: runs the C# kernels on an OpenCL device against float64 oracles.</summary>
internal static class KernelsCommand
{
    public static Command Create()
    {
        var device = new Option<int>("--device") { Description = "OpenCL device index, as 'nativealign info' numbers them.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var check = new Command("check", "Run every generated kernel once on an OpenCL device and compare with a float64 oracle.") { device, json };
        check.SetAction(result =>
        {
            using var context = OpenClContext.Create(result.GetValue(device));
            var results = OpenClKernelCheck.Run(context);
            if (result.GetValue(json))
            {
                WriteJson(context.Device, results, Console.OpenStandardOutput());
            }
            else
            {
                Console.WriteLine($"device {context.Device.Index}: {context.Device.Name} ({context.Device.Platform})");
                foreach (var r in results)
                {
                    Console.WriteLine($"{(r.Passed ? "pass" : "FAIL")}  {r.Kernel,-52} nmse {r.NormalisedMse:E2} (bound {r.Bound:E0})  {r.Milliseconds,8:F1} ms");
                }
            }

            if (results.Any(r => !r.Passed))
            {
                throw new BackendException($"{results.Count(r => !r.Passed)} kernel(s) exceeded their error bound on {context.Device.Name}");
            }

            return 0;
        });
        return new Command("kernels", "The C# kernels translated to OpenCL C.") { check };
    }

    private static void WriteJson(OpenClDeviceInfo device, IReadOnlyList<KernelCheckResult> results, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("device", device.Index);
        w.WriteString("name", device.Name);
        w.WriteString("platform", device.Platform);
        w.WriteStartArray("kernels");
        foreach (var r in results)
        {
            w.WriteStartObject();
            w.WriteString("kernel", r.Kernel);
            w.WriteNumber("nmse", r.NormalisedMse);
            w.WriteNumber("bound", r.Bound);
            w.WriteBoolean("passed", r.Passed);
            w.WriteNumber("milliseconds", r.Milliseconds);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}

using System.CommandLine;
using System.Text.Json;
using NativeAlign.Platform;
using Spectre.Console;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign info</c>: runtime, cores, accelerated vector ISA, OpenCL devices and ILGPU accelerators.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("info", "Show the runtime, vector ISA, OpenCL devices and ILGPU accelerators this machine offers.") { json };
        command.SetAction(result =>
        {
            var report = SystemReport.Current();
            var ilgpu = ILGpuSupport.Accelerators();
            if (result.GetValue(json))
            {
                WriteJson(report, Console.OpenStandardOutput(), ilgpu);
            }
            else if (!Console.IsOutputRedirected)
            {
                WriteTable(report, ilgpu);
            }
            else
            {
                WriteText(report, Console.Out, ilgpu);
            }

            return 0;
        });
        return command;
    }

    internal static void WriteText(SystemReport r, TextWriter o, (IReadOnlyList<ILGpuAccelerator> Devices, string? Problem) ilgpu = default)
    {
        o.WriteLine($"runtime:     {r.Runtime}{(r.IsNativeAot ? " (NativeAOT)" : string.Empty)}");
        o.WriteLine($"os:          {r.OperatingSystem} ({r.Architecture})");
        o.WriteLine($"cores:       {r.LogicalCores}");
        o.WriteLine($"vector path: {r.VectorPath} (Vector512 {Yes(r.Vector512)}, Vector256 {Yes(r.Vector256)}, Vector128 {Yes(r.Vector128)})");
        o.WriteLine($"extensions:  {string.Join(' ', r.Extensions.Where(e => e.Value).Select(e => e.Key))}");
        if (r.OpenCl.Devices.Count == 0)
        {
            o.WriteLine($"opencl:      none ({r.OpenCl.Problem})");
        }

        foreach (var d in r.OpenCl.Devices)
        {
            o.WriteLine($"opencl[{d.Index}]:   {d.Name} [{d.Type}] on {d.Platform}; {d.Version}; driver {d.DriverVersion}; {d.ComputeUnits} CUs, {d.GlobalMemoryBytes >> 20} MiB global, {d.LocalMemoryBytes >> 10} KiB local");
        }

        if (ilgpu.Devices is null)
        {
            return;
        }

        if (ilgpu.Devices.Count == 0)
        {
            o.WriteLine($"ilgpu:       none ({ilgpu.Problem})");
        }

        foreach (var d in ilgpu.Devices)
        {
            o.WriteLine($"ilgpu {d.Id}: {Describe(d)}");
        }
    }

    private static string Describe(ILGpuAccelerator d) =>
        $"{d.Name} [{d.Kind}]; {d.Multiprocessors} multiprocessors, {d.MaxThreadsPerGroup} threads/group, "
        + (d.Kind == "CPU" ? "host memory (an emulator, for testing)" : $"{d.MemoryBytes >> 20} MiB");

    private static void WriteTable(SystemReport r, (IReadOnlyList<ILGpuAccelerator> Devices, string? Problem) ilgpu)
    {
        var table = new Table().AddColumn("what").AddColumn("value");
        table.AddRow("runtime", Markup.Escape(r.Runtime + (r.IsNativeAot ? " (NativeAOT)" : string.Empty)));
        table.AddRow("os", Markup.Escape($"{r.OperatingSystem} ({r.Architecture})"));
        table.AddRow("cores", r.LogicalCores.ToString());
        table.AddRow("vector path", $"[green]{r.VectorPath}[/] (Vector512 {Yes(r.Vector512)}, Vector256 {Yes(r.Vector256)}, Vector128 {Yes(r.Vector128)})");
        table.AddRow("extensions", string.Join(' ', r.Extensions.Where(e => e.Value).Select(e => e.Key)));
        if (r.OpenCl.Devices.Count == 0)
        {
            table.AddRow("opencl", Markup.Escape($"none ({r.OpenCl.Problem})"));
        }

        foreach (var d in r.OpenCl.Devices)
        {
            table.AddRow($"opencl[{d.Index}]", Markup.Escape($"{d.Name} [{d.Type}] on {d.Platform}; {d.Version}; {d.ComputeUnits} CUs"));
        }

        if (ilgpu.Devices.Count == 0)
        {
            table.AddRow("ilgpu", Markup.Escape($"none ({ilgpu.Problem})"));
        }

        foreach (var d in ilgpu.Devices)
        {
            table.AddRow(Markup.Escape($"ilgpu {d.Id}"), Markup.Escape(Describe(d)));
        }

        AnsiConsole.Write(table);
    }

    internal static void WriteJson(SystemReport r, Stream stream, (IReadOnlyList<ILGpuAccelerator> Devices, string? Problem) ilgpu = default)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("runtime", r.Runtime);
        w.WriteBoolean("nativeAot", r.IsNativeAot);
        w.WriteString("os", r.OperatingSystem);
        w.WriteString("architecture", r.Architecture);
        w.WriteNumber("logicalCores", r.LogicalCores);
        w.WriteString("vectorPath", r.VectorPath);
        w.WriteStartObject("accelerated");
        w.WriteBoolean("vector512", r.Vector512);
        w.WriteBoolean("vector256", r.Vector256);
        w.WriteBoolean("vector128", r.Vector128);
        w.WriteEndObject();
        w.WriteStartObject("extensions");
        foreach (var e in r.Extensions)
        {
            w.WriteBoolean(e.Key, e.Value);
        }

        w.WriteEndObject();
        w.WriteStartObject("opencl");
        w.WriteString("problem", r.OpenCl.Problem);
        w.WriteStartArray("devices");
        foreach (var d in r.OpenCl.Devices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", d.Index);
            w.WriteString("platform", d.Platform);
            w.WriteString("name", d.Name);
            w.WriteString("vendor", d.Vendor);
            w.WriteString("type", d.Type);
            w.WriteString("version", d.Version);
            w.WriteString("driverVersion", d.DriverVersion);
            w.WriteNumber("computeUnits", d.ComputeUnits);
            w.WriteNumber("globalMemoryBytes", d.GlobalMemoryBytes);
            w.WriteNumber("localMemoryBytes", d.LocalMemoryBytes);
            w.WriteNumber("maxWorkGroupSize", d.MaxWorkGroupSize);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        if (ilgpu.Devices is not null)
        {
            w.WriteStartObject("ilgpu");
            w.WriteBoolean("available", ILGpuSupport.Available);
            w.WriteString("problem", ilgpu.Problem);
            w.WriteStartArray("devices");
            foreach (var d in ilgpu.Devices)
            {
                w.WriteStartObject();
                w.WriteString("id", d.Id);
                w.WriteString("name", d.Name);
                w.WriteString("kind", d.Kind);
                w.WriteNumber("memoryBytes", d.MemoryBytes);
                w.WriteNumber("maxThreadsPerGroup", d.MaxThreadsPerGroup);
                w.WriteNumber("multiprocessors", d.Multiprocessors);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    private static string Yes(bool b) => b ? "yes" : "no";
}

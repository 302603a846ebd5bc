using System.CommandLine;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// The <c>--backend</c> and <c>--device</c> options every command that runs an encoder takes, so that each of them
/// can run the encoder on the CPU, on an OpenCL device or on the float64 reference.
/// </summary>
internal sealed class EncoderBackendOptions
{
    /// <summary>cpu (default), opencl or reference.</summary>
    public Option<string> Backend { get; } = CreateBackend();

    /// <summary>The OpenCL device index that <c>nativealign info</c> lists.</summary>
    public Option<int> Device { get; } = new("--device") { Description = "OpenCL device index for --backend opencl, as 'nativealign info' lists them.", DefaultValueFactory = _ => 0 };

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Add(Backend);
        command.Add(Device);
    }

    /// <summary>The backend name the command line chose.</summary>
    public string BackendName(ParseResult result) => result.GetValue(Backend)!;

    /// <summary>The device index the command line chose.</summary>
    public int DeviceIndex(ParseResult result) => result.GetValue(Device);

    private static Option<string> CreateBackend()
    {
        var option = new Option<string>("--backend") { Description = "cpu (default), opencl (generated kernels on an OpenCL device, see --device) or reference (float64, slow).", DefaultValueFactory = _ => "cpu" };
        option.AcceptOnlyFromAmong("cpu", "opencl", "reference");
        return option;
    }
}

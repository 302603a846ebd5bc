using System.CommandLine;
using NativeAlign.Backends;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// The <c>--backend</c>, <c>--device</c>, <c>--int8-activations</c> and <c>--max-tokens</c> options every command that
/// runs an encoder takes, so that each of them can run the encoder on the CPU, on an OpenCL device, on an ILGPU
/// accelerator or on the float64 reference, with the same cap on input length.
/// </summary>
internal sealed class EncoderBackendOptions
{
    /// <summary>cpu (default), opencl, ilgpu or reference.</summary>
    public Option<string> Backend { get; } = CreateBackend();

    /// <summary>The device, as <c>nativealign info</c> lists them: an OpenCL index, or an ILGPU accelerator id.</summary>
    public Option<string?> Device { get; } = new("--device")
    {
        Description = "The device, as 'nativealign info' lists them: for --backend opencl an index N (default 0); for --backend ilgpu "
            + "cuda:N, opencl:N or cpu (default: the first GPU, else ILGPU's CPU accelerator).",
    };

    /// <summary>Int8 activations in 4-bit products (ONNX Runtime's accuracy level 4), cpu backend only.</summary>
    public Option<bool> Int8Activations { get; } = new("--int8-activations")
    {
        Description = "Quantise activations to int8 in products with 4-bit weights, as ONNX Runtime runs MatMulNBits at accuracy_level 4 "
            + "(the level the default model declares): ~1.5x faster single sentences; embeddings at cosine ~0.9997 (worst ~0.998) of float32, as ORT's own level 4. cpu backend only.",
    };

    /// <summary>Most tokens per input; longer inputs are cut and reported as truncated.</summary>
    public Option<int?> MaxTokens { get; } = new("--max-tokens")
    {
        Description = $"Most tokens per input, special tokens included (default: the model's limit, at most {SentenceEncoder.DefaultMaxTokens}; "
            + "attention time grows with the square of the length). Longer inputs are cut and counted as truncated; never more than the model's position table.",
    };

    /// <summary>Whether to say, at the end, where the encoder, top-k and Sinkhorn ran.</summary>
    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "At the end, say on stderr which backend and device ran the encoder, and how many top-k and Sinkhorn calls ran on it (or fell back to the host).",
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Add(Verbose);
        command.Add(Backend);
        command.Add(Device);
        command.Add(Int8Activations);
        command.Add(MaxTokens);
    }

    /// <summary>Encoder options carrying what the command line chose; callers add their own with <c>with</c>.</summary>
    /// <exception cref="NativeAlignException">A device the backend cannot take (usage), or ILGPU in a host that cannot run it (backend).</exception>
    public SentenceEncoderOptions Options(ParseResult result)
    {
        string backend = result.GetValue(Backend)!;
        string? device = result.GetValue(Device);
        return new SentenceEncoderOptions
        {
            Backend = backend,
            Device = backend == "opencl" ? OpenClIndex(device) : 0,
            BackendFactory = backend == "ilgpu" ? ILGpuSupport.Factory(device) : null,
            Int8Activations = result.GetValue(Int8Activations),
            MaxTokens = result.GetValue(MaxTokens),
        };
    }

    /// <summary>An OpenCL device: N or opencl:N (default 0).</summary>
    internal static int OpenClIndex(string? device)
    {
        if (device is null)
        {
            return 0;
        }

        string text = device.StartsWith("opencl:", StringComparison.OrdinalIgnoreCase) ? device["opencl:".Length..] : device;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
            ? index
            : throw new NativeAlignException(ErrorKind.Usage, $"--device '{device}': --backend opencl takes a device index N or opencl:N, as 'nativealign info' lists them");
    }

    /// <summary>The chosen backend on its own, for a command that runs retrieval without an encoder; the caller disposes it.</summary>
    public IComputeBackend CreateBackend(ParseResult result)
    {
        string backend = result.GetValue(Backend)!;
        string? device = result.GetValue(Device);
        if (backend == "ilgpu")
        {
            return result.GetValue(Int8Activations)
                ? throw new NativeAlignException(ErrorKind.Usage, "int8 activations run on the cpu backend only, not on 'ilgpu'")
                : ILGpuSupport.Factory(device)();
        }

        return ComputeBackends.Create(backend, backend == "opencl" ? OpenClIndex(device) : 0, result.GetValue(Int8Activations));
    }

    /// <summary>With <c>--verbose</c>, one stderr line naming the backend, its device and the retrieval and transport calls it ran.</summary>
    public void Report(ParseResult result, IComputeBackend backend)
    {
        if (result.GetValue(Verbose))
        {
            Console.Error.WriteLine($"nativealign: backend {ILGpuSupport.Describe(backend) ?? ComputeBackends.Describe(backend)}: {backend.Counts}");
        }
    }

    private static Option<string> CreateBackend()
    {
        var option = new Option<string>("--backend")
        {
            Description = "cpu (default), opencl (generated kernels on an OpenCL device, see --device), ilgpu (ILGPU kernels on CUDA, "
                + "OpenCL 2.0 or ILGPU's CPU accelerator, see --device; needs a JIT host, not the NativeAOT binary) or reference (float64, slow).",
            DefaultValueFactory = _ => "cpu",
        };
        option.AcceptOnlyFromAmong("cpu", "opencl", "ilgpu", "reference");
        return option;
    }
}

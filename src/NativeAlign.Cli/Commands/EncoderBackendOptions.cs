using System.CommandLine;
using NativeAlign.Backends;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// The <c>--backend</c>, <c>--device</c>, <c>--int8-activations</c> and <c>--max-tokens</c> options every command that
/// runs an encoder takes, so that each of them can run the encoder on the CPU, on an OpenCL device or on the float64
/// reference, with the same cap on input length.
/// </summary>
internal sealed class EncoderBackendOptions
{
    /// <summary>cpu (default), opencl or reference.</summary>
    public Option<string> Backend { get; } = CreateBackend();

    /// <summary>The OpenCL device index that <c>nativealign info</c> lists.</summary>
    public Option<int> Device { get; } = new("--device") { Description = "OpenCL device index for --backend opencl, as 'nativealign info' lists them.", DefaultValueFactory = _ => 0 };

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
    public SentenceEncoderOptions Options(ParseResult result) => new()
    {
        Backend = result.GetValue(Backend)!,
        Device = result.GetValue(Device),
        Int8Activations = result.GetValue(Int8Activations),
        MaxTokens = result.GetValue(MaxTokens),
    };

    /// <summary>The chosen backend on its own, for a command that runs retrieval without an encoder; the caller disposes it.</summary>
    public IComputeBackend CreateBackend(ParseResult result) =>
        ComputeBackends.Create(result.GetValue(Backend)!, result.GetValue(Device), result.GetValue(Int8Activations));

    /// <summary>With <c>--verbose</c>, one stderr line naming the backend, its device and the retrieval and transport calls it ran.</summary>
    public void Report(ParseResult result, IComputeBackend backend)
    {
        if (result.GetValue(Verbose))
        {
            Console.Error.WriteLine($"nativealign: backend {ComputeBackends.Describe(backend)}: {backend.Counts}");
        }
    }

    private static Option<string> CreateBackend()
    {
        var option = new Option<string>("--backend") { Description = "cpu (default), opencl (generated kernels on an OpenCL device, see --device) or reference (float64, slow).", DefaultValueFactory = _ => "cpu" };
        option.AcceptOnlyFromAmong("cpu", "opencl", "reference");
        return option;
    }
}

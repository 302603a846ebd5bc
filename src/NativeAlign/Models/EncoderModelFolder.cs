using NativeAlign.IO;

namespace NativeAlign.Models;

/// <summary>What <see cref="SentenceEncoder.Load"/> needs from a model folder: configuration, weights and the sentence head.</summary>
internal sealed record EncoderModelFolder(EncoderConfig Config, IModelWeights Weights, string WeightsPath, SentenceHeadSpec Head)
{
    public static EncoderModelFolder Open(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new ModelFormatException(directory, null, "model folder not found");
        }

        var config = EncoderConfigReader.Read(Path.Combine(directory, "config.json"));
        string index = Path.Combine(directory, "model.safetensors.index.json");
        string single = Path.Combine(directory, "model.safetensors");
        string? weightsPath = File.Exists(index) ? index : File.Exists(single) ? single : FindOnnx(directory);
        if (weightsPath is null)
        {
            throw new ModelFormatException(directory, null, "no weights found: expected model.safetensors, model.safetensors.index.json or onnx/*.onnx");
        }

        IModelWeights weights = weightsPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? OnnxWeights.Open(weightsPath)
            : SafetensorsWeights.Open(weightsPath);
        return new EncoderModelFolder(config, weights, weightsPath, new SentenceHeadSpec(PoolingMode.Mean, [], Normalize: false));
    }

    /// <summary>An ONNX export: <c>model.onnx</c> first (full precision), then the 4-bit <c>model_q4.onnx</c>, then any other.</summary>
    private static string? FindOnnx(string directory)
    {
        foreach (var folder in new[] { Path.Combine(directory, "onnx"), directory })
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var name in new[] { "model.onnx", "model_q4.onnx" })
            {
                if (File.Exists(Path.Combine(folder, name)))
                {
                    return Path.Combine(folder, name);
                }
            }

            var any = Directory.EnumerateFiles(folder, "*.onnx").Order(StringComparer.Ordinal).FirstOrDefault();
            if (any is not null)
            {
                return any;
            }
        }

        return null;
    }
}

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
        string weightsPath = File.Exists(index) ? index : File.Exists(single) ? single
            : throw new ModelFormatException(directory, null, "no weights found: expected model.safetensors, model.safetensors.index.json or onnx/*.onnx");
        var weights = SafetensorsWeights.Open(weightsPath);
        return new EncoderModelFolder(config, weights, weightsPath, new SentenceHeadSpec(PoolingMode.Mean, [], Normalize: false));
    }
}

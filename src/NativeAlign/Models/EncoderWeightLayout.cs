using NativeAlign.Tensors;
using static NativeAlign.Tensors.EncoderTensorNames;

namespace NativeAlign.Models;

/// <summary>
/// The tensors (by <see cref="EncoderTensorNames"/>) and shapes an encoder of a given <see cref="EncoderConfig"/> needs,
/// checked when a model folder is opened so that a defect is reported before any backend prepares a weight.
/// </summary>
public static class EncoderWeightLayout
{
    /// <summary>The per-layer suffixes with the shape each takes under a configuration.</summary>
    private static readonly (string Suffix, Func<EncoderConfig, int[]> Shape)[] LayerTensors =
    [
        (LayerSuffix.QueryWeight, c => [c.HiddenSize, c.HiddenSize]),
        (LayerSuffix.QueryBias, c => [c.HiddenSize]),
        (LayerSuffix.KeyWeight, c => [c.HiddenSize, c.HiddenSize]),
        (LayerSuffix.KeyBias, c => [c.HiddenSize]),
        (LayerSuffix.ValueWeight, c => [c.HiddenSize, c.HiddenSize]),
        (LayerSuffix.ValueBias, c => [c.HiddenSize]),
        (LayerSuffix.AttentionOutputWeight, c => [c.HiddenSize, c.HiddenSize]),
        (LayerSuffix.AttentionOutputBias, c => [c.HiddenSize]),
        (LayerSuffix.AttentionNormWeight, c => [c.HiddenSize]),
        (LayerSuffix.AttentionNormBias, c => [c.HiddenSize]),
        (LayerSuffix.IntermediateWeight, c => [c.IntermediateSize, c.HiddenSize]),
        (LayerSuffix.IntermediateBias, c => [c.IntermediateSize]),
        (LayerSuffix.OutputWeight, c => [c.HiddenSize, c.IntermediateSize]),
        (LayerSuffix.OutputBias, c => [c.HiddenSize]),
        (LayerSuffix.OutputNormWeight, c => [c.HiddenSize]),
        (LayerSuffix.OutputNormBias, c => [c.HiddenSize]),
    ];

    /// <summary>
    /// Every tensor an encoder of <paramref name="config"/> needs, with its shape. The pooler and the token type table are
    /// optional and not listed: checkpoints without them exist, and the encoder runs without them.
    /// </summary>
    public static IEnumerable<(string Name, int[] Shape)> Required(EncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        yield return (WordEmbeddings, [config.VocabularySize, config.HiddenSize]);
        yield return (PositionEmbeddings, [config.MaxPositions, config.HiddenSize]);
        yield return (EmbeddingsNormWeight, [config.HiddenSize]);
        yield return (EmbeddingsNormBias, [config.HiddenSize]);
        for (int layer = 0; layer < config.LayerCount; layer++)
        {
            foreach (var (suffix, shape) in LayerTensors)
            {
                yield return (Layer(layer, suffix), shape(config));
            }
        }
    }

    /// <summary>
    /// Checks that <paramref name="weights"/> hold every tensor <paramref name="config"/> needs with the right shape, the
    /// token type table (when present) with its shape, and the pooler either whole or not at all; the first defect is a
    /// <see cref="ModelFormatException"/> naming the tensor.
    /// </summary>
    public static void Validate(EncoderConfig config, IModelWeights weights, string? path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        foreach (var (name, shape) in Required(config))
        {
            Check(weights, name, shape, path, required: true);
        }

        Check(weights, TokenTypeEmbeddings, [config.TypeVocabularySize, config.HiddenSize], path, required: false);
        bool poolerWeight = Check(weights, PoolerWeight, [config.HiddenSize, config.HiddenSize], path, required: false);
        bool poolerBias = Check(weights, PoolerBias, [config.HiddenSize], path, required: false);
        if (poolerWeight != poolerBias)
        {
            throw new ModelFormatException(path, poolerWeight ? PoolerBias : PoolerWeight, "the pooler is only half present");
        }

        // Layers past num_hidden_layers would be left out without a word: config and weights disagree on the model.
        const string Prefix = "encoder.layer.";
        foreach (var name in weights.Names)
        {
            int dot = name.StartsWith(Prefix, StringComparison.Ordinal) ? name.IndexOf('.', Prefix.Length) : -1;
            if (dot > 0 && int.TryParse(name.AsSpan(Prefix.Length, dot - Prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer) && layer >= config.LayerCount)
            {
                throw new ModelFormatException(path, name, $"the weights have a layer {layer} but config.json says num_hidden_layers {config.LayerCount}");
            }
        }
    }

    /// <summary>Refuses a tensor holding a NaN or an infinity (a corrupt or badly converted checkpoint), naming it and the element.</summary>
    public static void RequireFinite(WeightTensor tensor, string? path, string name)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.IndexOfNonFinite() is >= 0 and var at)
        {
            throw new ModelFormatException(path, name, $"element {at} is NaN or infinite; weights must be finite numbers");
        }
    }

    private static bool Check(IModelWeights weights, string name, int[] shape, string? path, bool required)
    {
        if (!weights.TryGet(name, out var tensor))
        {
            return required ? throw new ModelFormatException(path, name, $"required tensor is missing (expected shape [{string.Join(", ", shape)}])") : false;
        }

        if (!tensor.Shape.SequenceEqual(shape))
        {
            throw new ModelFormatException(path, name, $"has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}] from config.json");
        }

        RequireFinite(tensor, path, name);
        return true;
    }
}

namespace NativeAlign.Models;

/// <summary>The canonical Hugging Face BERT tensor names (no model prefix) that BERT and XLM-R encoders use.</summary>
public static class EncoderTensorNames
{
    /// <summary>Word embedding table [vocab, hidden].</summary>
    public const string WordEmbeddings = "embeddings.word_embeddings.weight";

    /// <summary>Position embedding table [max_positions, hidden].</summary>
    public const string PositionEmbeddings = "embeddings.position_embeddings.weight";

    /// <summary>Token type embedding table [type_vocab, hidden].</summary>
    public const string TokenTypeEmbeddings = "embeddings.token_type_embeddings.weight";

    /// <summary>Embedding layer-norm scale [hidden].</summary>
    public const string EmbeddingsNormWeight = "embeddings.LayerNorm.weight";

    /// <summary>Embedding layer-norm shift [hidden].</summary>
    public const string EmbeddingsNormBias = "embeddings.LayerNorm.bias";

    /// <summary>Pooler dense weight [hidden, hidden] (optional in a checkpoint).</summary>
    public const string PoolerWeight = "pooler.dense.weight";

    /// <summary>Pooler dense bias [hidden] (optional in a checkpoint).</summary>
    public const string PoolerBias = "pooler.dense.bias";

    /// <summary>The name of a tensor in layer <paramref name="layer"/>: <paramref name="suffix"/> such as <c>attention.self.query.weight</c>.</summary>
    public static string Layer(int layer, string suffix) => $"encoder.layer.{layer}.{suffix}";

    /// <summary>The per-layer suffixes, each with a function giving its shape from a configuration.</summary>
    public static IReadOnlyList<(string Suffix, Func<EncoderConfig, int[]> Shape)> LayerTensors { get; } =
    [
        ("attention.self.query.weight", c => [c.HiddenSize, c.HiddenSize]),
        ("attention.self.query.bias", c => [c.HiddenSize]),
        ("attention.self.key.weight", c => [c.HiddenSize, c.HiddenSize]),
        ("attention.self.key.bias", c => [c.HiddenSize]),
        ("attention.self.value.weight", c => [c.HiddenSize, c.HiddenSize]),
        ("attention.self.value.bias", c => [c.HiddenSize]),
        ("attention.output.dense.weight", c => [c.HiddenSize, c.HiddenSize]),
        ("attention.output.dense.bias", c => [c.HiddenSize]),
        ("attention.output.LayerNorm.weight", c => [c.HiddenSize]),
        ("attention.output.LayerNorm.bias", c => [c.HiddenSize]),
        ("intermediate.dense.weight", c => [c.IntermediateSize, c.HiddenSize]),
        ("intermediate.dense.bias", c => [c.IntermediateSize]),
        ("output.dense.weight", c => [c.HiddenSize, c.IntermediateSize]),
        ("output.dense.bias", c => [c.HiddenSize]),
        ("output.LayerNorm.weight", c => [c.HiddenSize]),
        ("output.LayerNorm.bias", c => [c.HiddenSize]),
    ];

    /// <summary>Every tensor an encoder of <paramref name="config"/> needs, with its shape (pooler excluded: it is optional).</summary>
    public static IEnumerable<(string Name, int[] Shape)> Required(EncoderConfig config)
    {
        yield return (WordEmbeddings, [config.VocabularySize, config.HiddenSize]);
        yield return (PositionEmbeddings, [config.MaxPositions, config.HiddenSize]);
        yield return (TokenTypeEmbeddings, [config.TypeVocabularySize, config.HiddenSize]);
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
    /// Checks that <paramref name="weights"/> hold every tensor <paramref name="config"/> needs with the right shape, and
    /// the pooler either whole or not at all; the first defect is a <see cref="ModelFormatException"/> naming the tensor.
    /// </summary>
    public static void Validate(EncoderConfig config, IModelWeights weights, string? path)
    {
        foreach (var (name, shape) in Required(config))
        {
            Check(weights, name, shape, path, required: true);
        }

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

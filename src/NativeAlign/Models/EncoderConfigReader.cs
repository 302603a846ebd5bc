using System.Text.Json;
using NativeAlign.IO;

namespace NativeAlign.Models;

/// <summary>
/// Reads a Hugging Face <c>config.json</c> into an <see cref="EncoderConfig"/>. The shape of the network
/// (<c>vocab_size</c>, <c>hidden_size</c>, <c>num_hidden_layers</c>, <c>num_attention_heads</c>, <c>intermediate_size</c>,
/// <c>max_position_embeddings</c>) must be present. Four fields that the transformers configuration classes default when
/// absent take those same defaults, so the model means what its authors meant: <c>hidden_act</c> "gelu",
/// <c>layer_norm_eps</c> 1e-12, <c>type_vocab_size</c> 2, <c>pad_token_id</c> 0 for BERT and 1 for XLM-R/RoBERTa.
/// </summary>
public static class EncoderConfigReader
{
    /// <summary>The hidden activations the encoder implements.</summary>
    public static IReadOnlyList<string> SupportedActivations { get; } = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    /// <summary>Reads and validates <paramref name="path"/>; every defect is a <see cref="ModelFormatException"/> naming the field.</summary>
    public static EncoderConfig Read(string path)
    {
        using var document = JsonModelFile.Parse(path);
        return Read(document.RootElement, path);
    }

    /// <summary>Reads a parsed configuration; <paramref name="path"/> only labels errors.</summary>
    public static EncoderConfig Read(JsonElement root, string? path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, null, $"expected a JSON object at the top level, found {root.ValueKind}");
        }

        string modelType = JsonModelFile.OptionalString(root, "model_type", path)
            ?? throw new ModelFormatException(path, "model_type", "required field is missing (expected \"bert\", \"xlm-roberta\" or \"roberta\")");
        var architecture = modelType switch
        {
            "bert" => EncoderArchitecture.Bert,
            "xlm-roberta" or "xlm_roberta" or "roberta" => EncoderArchitecture.XlmRoberta,
            _ => throw new ModelFormatException(path, "model_type", $"unsupported architecture '{Shorten(modelType)}' (expected \"bert\", \"xlm-roberta\" or \"roberta\")"),
        };

        // Limits are generous for any real encoder and keep a hostile file from sizing huge buffers later.
        int vocab = JsonModelFile.RequiredInt(root, "vocab_size", path, 1, 10_000_000);
        int hidden = JsonModelFile.RequiredInt(root, "hidden_size", path, 1, 65_536);
        int layers = JsonModelFile.RequiredInt(root, "num_hidden_layers", path, 1, 1_000);
        int heads = JsonModelFile.RequiredInt(root, "num_attention_heads", path, 1, 1_024);
        int intermediate = JsonModelFile.RequiredInt(root, "intermediate_size", path, 1, 1_048_576);
        int maxPositions = JsonModelFile.RequiredInt(root, "max_position_embeddings", path, 1, 1_048_576);
        int typeVocab = JsonModelFile.OptionalInt(root, "type_vocab_size", path, 1, 1_024) ?? 2;
        int padId = JsonModelFile.OptionalInt(root, "pad_token_id", path, 0, 10_000_000) ?? (architecture == EncoderArchitecture.Bert ? 0 : 1);
        double epsilon = JsonModelFile.OptionalDouble(root, "layer_norm_eps", path) ?? 1e-12;
        string activation = JsonModelFile.OptionalString(root, "hidden_act", path) ?? "gelu";

        if (hidden % heads != 0)
        {
            throw new ModelFormatException(path, "num_attention_heads", $"{heads} heads do not divide hidden_size {hidden}");
        }

        if (!SupportedActivations.Contains(activation))
        {
            throw new ModelFormatException(path, "hidden_act", $"unsupported activation '{Shorten(activation)}' (expected one of {string.Join(", ", SupportedActivations)})");
        }

        if (epsilon <= 0 || epsilon > 1)
        {
            throw new ModelFormatException(path, "layer_norm_eps", $"{epsilon} is not in (0, 1]");
        }

        if (padId >= vocab)
        {
            throw new ModelFormatException(path, "pad_token_id", $"{padId} is not below vocab_size {vocab}");
        }

        string? positionType = JsonModelFile.OptionalString(root, "position_embedding_type", path);
        if (positionType is not null && positionType != "absolute")
        {
            throw new ModelFormatException(path, "position_embedding_type", $"'{Shorten(positionType)}' positions are not supported (expected \"absolute\")");
        }

        if (architecture == EncoderArchitecture.XlmRoberta && maxPositions <= padId + 1)
        {
            throw new ModelFormatException(path, "max_position_embeddings", $"{maxPositions} leaves no positions past the padding index {padId} that XLM-R positions start after");
        }

        return new EncoderConfig(architecture, vocab, hidden, layers, heads, intermediate, maxPositions, typeVocab, (float)epsilon, activation, padId);
    }

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}

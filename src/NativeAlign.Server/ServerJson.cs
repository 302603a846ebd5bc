using System.Text.Json;
using System.Text.Json.Serialization;

namespace NativeAlign.Server;

/// <summary>TEI's <c>/embed</c> body: <c>{"inputs": str | [str], "normalize": true, "truncate": false}</c>.</summary>
internal sealed class EmbedRequest
{
    [JsonPropertyName("inputs")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Inputs { get; set; }

    [JsonPropertyName("normalize")]
    public bool Normalize { get; set; } = true;

    [JsonPropertyName("truncate")]
    public bool? Truncate { get; set; }

    [JsonPropertyName("prompt_name")]
    public string? PromptName { get; set; }
}

/// <summary>TEI's <c>/tokenize</c> body.</summary>
internal sealed class TokenizeRequest
{
    [JsonPropertyName("inputs")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Inputs { get; set; }

    [JsonPropertyName("add_special_tokens")]
    public bool AddSpecialTokens { get; set; } = true;

    [JsonPropertyName("prompt_name")]
    public string? PromptName { get; set; }
}

/// <summary>TEI's <c>/similarity</c> body: <c>{"inputs": {"source_sentence": str, "sentences": [str]}, "parameters": {...}}</c>.</summary>
internal sealed class SimilarityRequest
{
    [JsonPropertyName("inputs")]
    public SimilarityInput? Inputs { get; set; }

    [JsonPropertyName("parameters")]
    public SimilarityParameters? Parameters { get; set; }
}

internal sealed class SimilarityInput
{
    [JsonPropertyName("source_sentence")]
    public string? SourceSentence { get; set; }

    [JsonPropertyName("sentences")]
    public string[]? Sentences { get; set; }
}

internal sealed class SimilarityParameters
{
    [JsonPropertyName("truncate")]
    public bool? Truncate { get; set; }

    [JsonPropertyName("prompt_name")]
    public string? PromptName { get; set; }
}

/// <summary>OpenAI's <c>/v1/embeddings</c> body.</summary>
internal sealed class OpenAIEmbeddingRequest
{
    [JsonPropertyName("input")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Input { get; set; }

    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("encoding_format")]
    public string? EncodingFormat { get; set; }

    [JsonPropertyName("dimensions")]
    public int? Dimensions { get; set; }

    [JsonPropertyName("user")]
    public string? User { get; set; }
}

/// <summary><c>/search</c> body: <c>{"queries": str | [str], "k": 10}</c>.</summary>
internal sealed class SearchRequest
{
    [JsonPropertyName("queries")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Queries { get; set; }

    [JsonPropertyName("k")]
    public int K { get; set; } = 10;
}

/// <summary><c>/align</c> body: <c>{"source": str | [str], "target": str | [str], "method": "itermax", "layer": null}</c>.</summary>
internal sealed class AlignRequest
{
    [JsonPropertyName("source")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Source { get; set; }

    [JsonPropertyName("target")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public string[]? Target { get; set; }

    [JsonPropertyName("method")]
    public string? Method { get; set; }

    [JsonPropertyName("layer")]
    public int? Layer { get; set; }
}

/// <summary>The word alignment of one pair: Pharaoh text (0-based whitespace words), links with scores, the words.</summary>
internal sealed class AlignResult
{
    [JsonPropertyName("alignment")]
    public string Alignment { get; set; } = "";

    [JsonPropertyName("links")]
    public AlignLink[] Links { get; set; } = [];

    [JsonPropertyName("source_words")]
    public string[] SourceWords { get; set; } = [];

    [JsonPropertyName("target_words")]
    public string[] TargetWords { get; set; } = [];
}

internal sealed class AlignLink
{
    [JsonPropertyName("source")]
    public int Source { get; set; }

    [JsonPropertyName("target")]
    public int Target { get; set; }

    [JsonPropertyName("score")]
    public float Score { get; set; }
}

/// <summary>One corpus line found by <c>/search</c>: its 0-based line index, cosine and text.</summary>
internal sealed class SearchHit
{
    [JsonPropertyName("index")]
    public int Index { get; set; }

    [JsonPropertyName("score")]
    public float Score { get; set; }

    [JsonPropertyName("text")]
    public string Text { get; set; } = "";
}

/// <summary>One token of TEI's <c>/tokenize</c> answer.</summary>
internal sealed class SimpleToken
{
    [JsonPropertyName("id")]
    public int Id { get; set; }

    [JsonPropertyName("text")]
    public string Text { get; set; } = "";

    [JsonPropertyName("special")]
    public bool Special { get; set; }

    [JsonPropertyName("start")]
    public int? Start { get; set; }

    [JsonPropertyName("stop")]
    public int? Stop { get; set; }
}

/// <summary>TEI's error body: <c>{"error": "...", "error_type": "Validation"}</c>.</summary>
internal sealed class ErrorResponse
{
    [JsonPropertyName("error")]
    public string Error { get; set; } = "";

    [JsonPropertyName("error_type")]
    public string ErrorType { get; set; } = "";
}

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed class OpenAIErrorResponse
{
    [JsonPropertyName("error")]
    public OpenAIError Error { get; set; } = new();
}

internal sealed class OpenAIError
{
    [JsonPropertyName("message")]
    public string Message { get; set; } = "";

    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    [JsonPropertyName("param")]
    public string? Param { get; set; }

    [JsonPropertyName("code")]
    public string? Code { get; set; }
}

/// <summary>TEI's <c>/info</c> answer (the fields that apply here).</summary>
internal sealed class InfoResponse
{
    [JsonPropertyName("model_id")]
    public string ModelId { get; set; } = "";

    [JsonPropertyName("model_dtype")]
    public string ModelDtype { get; set; } = "float32";

    [JsonPropertyName("model_type")]
    public Dictionary<string, Dictionary<string, string>> ModelType { get; set; } = [];

    [JsonPropertyName("max_concurrent_requests")]
    public int MaxConcurrentRequests { get; set; }

    [JsonPropertyName("max_input_length")]
    public int MaxInputLength { get; set; }

    [JsonPropertyName("max_batch_tokens")]
    public int MaxBatchTokens { get; set; }

    [JsonPropertyName("max_client_batch_size")]
    public int MaxClientBatchSize { get; set; }

    [JsonPropertyName("auto_truncate")]
    public bool AutoTruncate { get; set; }

    [JsonPropertyName("tokenization_workers")]
    public int TokenizationWorkers { get; set; }

    [JsonPropertyName("version")]
    public string Version { get; set; } = "";
}

/// <summary>
/// <c>"text"</c> or <c>["a", "b"]</c> as a string array, as TEI and OpenAI accept both; token-id arrays are refused with
/// a message saying so.
/// </summary>
internal sealed class StringOrArrayConverter : JsonConverter<string[]>
{
    public override string[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("expected a string or an array of strings");
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"item {list.Count}: expected a string (token-id inputs are not supported)");
            }

            list.Add(reader.GetString()!);
        }

        return [.. list];
    }

    public override void Write(Utf8JsonWriter writer, string[] value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var s in value)
        {
            writer.WriteStringValue(s);
        }

        writer.WriteEndArray();
    }
}

/// <summary>Source-generated (reflection-free, NativeAOT-safe) serialisation of the server's bodies.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, AllowTrailingCommas = false)]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(SimilarityRequest))]
[JsonSerializable(typeof(OpenAIEmbeddingRequest))]
[JsonSerializable(typeof(SimpleToken[][]))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(AlignRequest))]
[JsonSerializable(typeof(AlignResult[]))]
[JsonSerializable(typeof(SearchHit[][]))]
[JsonSerializable(typeof(float[]))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(OpenAIErrorResponse))]
[JsonSerializable(typeof(InfoResponse))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;

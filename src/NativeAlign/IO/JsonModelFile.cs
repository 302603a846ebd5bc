using System.Text.Json;

namespace NativeAlign.IO;

/// <summary>Reads small JSON model files (config.json, modules.json, index files) with caps on size and depth.</summary>
internal static class JsonModelFile
{
    /// <summary>Largest JSON file read whole; configuration files are a few kilobytes, shard indexes well under this.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Deepest nesting accepted; these files nest a handful of levels.</summary>
    public const int MaxDepth = 64;

    /// <summary>Parses <paramref name="path"/>; a missing, oversized or malformed file is a <see cref="ModelFormatException"/>.</summary>
    public static JsonDocument Parse(string path)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ModelFormatException(path, null, "is a directory, expected a JSON file");
            }

            ModelFileType.RequireRegularFile(path);

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > MaxBytes)
            {
                throw new ModelFormatException(path, null, $"is {stream.Length} bytes, more than the {MaxBytes} allowed for a JSON model file");
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelFormatException(path, null, $"cannot read: {e.Message}", e);
        }

        return Parse(path, bytes);
    }

    /// <summary>Parses JSON bytes read from <paramref name="path"/>.</summary>
    public static JsonDocument Parse(string? path, ReadOnlyMemory<byte> bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            throw new ModelFormatException(path, null, "is not valid UTF-8 JSON");
        }

        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

            // Escapes such as a lone \ud800 parse but cannot become .NET strings; find them here, once, not in every reader.
            CheckStrings(document.RootElement, path);
            return document;
        }
        catch (ModelFormatException)
        {
            document?.Dispose();
            throw;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, null, $"invalid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(path, null, $"invalid JSON: {e.Message}", e);
        }
    }

    /// <summary>Turns every string and property name into a .NET string once, so that an escape such as a lone \ud800 is a <see cref="ModelFormatException"/> here rather than an <see cref="InvalidOperationException"/> in a reader.</summary>
    internal static void CheckStrings(JsonElement element, string? path)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        CheckStrings(item, path);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        CheckStrings(property.Value, path);
                    }

                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            throw new ModelFormatException(path, null, $"invalid JSON string: {e.Message}", e);
        }
    }

    /// <summary>The root as an object, or an error naming the file.</summary>
    public static JsonElement RootObject(JsonDocument document, string? path)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, null, $"expected a JSON object at the top level, found {document.RootElement.ValueKind}");
        }

        return document.RootElement;
    }

    /// <summary>A required integer field within [min, max].</summary>
    public static int RequiredInt(JsonElement obj, string field, string? path, int min = 0, int max = int.MaxValue)
        => OptionalInt(obj, field, path, min, max) ?? throw new ModelFormatException(path, field, "required field is missing");

    /// <summary>An optional integer field within [min, max]; null when absent or JSON null.</summary>
    public static int? OptionalInt(JsonElement obj, string field, string? path, int min = 0, int max = int.MaxValue)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long n))
        {
            throw new ModelFormatException(path, field, $"expected an integer, found {Describe(value)}");
        }

        if (n < min || n > max)
        {
            throw new ModelFormatException(path, field, $"value {n} is outside the accepted range [{min}, {max}]");
        }

        return (int)n;
    }

    /// <summary>An optional finite number field; null when absent or JSON null.</summary>
    public static double? OptionalDouble(JsonElement obj, string field, string? path)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || !double.IsFinite(d))
        {
            throw new ModelFormatException(path, field, $"expected a finite number, found {Describe(value)}");
        }

        return d;
    }

    /// <summary>An optional string field; null when absent or JSON null.</summary>
    public static string? OptionalString(JsonElement obj, string field, string? path)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new ModelFormatException(path, field, $"expected a string, found {Describe(value)}");
        }

        return value.GetString()!;
    }

    /// <summary>An optional boolean field; null when absent or JSON null.</summary>
    public static bool? OptionalBool(JsonElement obj, string field, string? path)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException(path, field, $"expected true or false, found {Describe(value)}"),
        };
    }

    /// <summary>A short description of a JSON value for error messages (never the whole value).</summary>
    public static string Describe(JsonElement value)
    {
        string raw = value.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => value.GetRawText(),
        };
        return raw.Length > 60 ? raw[..60] + "…" : raw;
    }
}

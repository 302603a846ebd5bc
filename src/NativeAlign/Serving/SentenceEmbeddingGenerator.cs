using Microsoft.Extensions.AI;
using NativeAlign.Models;

namespace NativeAlign.Serving;

/// <summary>
/// A <see cref="SentenceEncoder"/> as Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, so
/// that code written against that abstraction (Semantic Kernel, vector stores, RAG pipelines) embeds in process with no
/// server. <see cref="EmbeddingGenerationOptions.Dimensions"/> keeps the first dimensions and, when the encoder
/// normalises, normalises them again (Matryoshka-style truncation, as OpenAI's <c>dimensions</c>).
/// </summary>
public sealed class SentenceEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly SentenceEncoder _encoder;
    private readonly bool _ownsEncoder;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Wraps <paramref name="encoder"/>; when <paramref name="ownsEncoder"/>, disposing the generator disposes it.</summary>
    /// <param name="encoder">The encoder.</param>
    /// <param name="modelId">The name reported in <see cref="EmbeddingGeneratorMetadata"/> and on each embedding.</param>
    /// <param name="ownsEncoder">Whether <see cref="Dispose"/> disposes the encoder too.</param>
    public SentenceEmbeddingGenerator(SentenceEncoder encoder, string? modelId = null, bool ownsEncoder = false)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        _encoder = encoder;
        _ownsEncoder = ownsEncoder;
        _metadata = new EmbeddingGeneratorMetadata("nativealign", null, modelId, encoder.Dimension);
    }

    /// <summary>The encoder embeddings come from.</summary>
    public SentenceEncoder Encoder => _encoder;

    /// <inheritdoc/>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        int dim = options?.Dimensions ?? _encoder.Dimension;
        if (dim < 1 || dim > _encoder.Dimension)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"dimensions {dim} must be between 1 and the model's {_encoder.Dimension}");
        }

        var embedded = await _encoder.EmbedAsync(values, cancellationToken).ConfigureAwait(false);
        var result = new GeneratedEmbeddings<Embedding<float>>(embedded.Count)
        {
            Usage = new UsageDetails { InputTokenCount = embedded.Tokens, TotalTokenCount = embedded.Tokens },
        };
        var created = DateTimeOffset.UtcNow;
        for (int i = 0; i < embedded.Count; i++)
        {
            var vector = embedded[i][..dim].ToArray();
            if (dim < embedded.Dimension && _encoder.Normalize)
            {
                VectorMath.NormalizeInPlace(vector);
            }

            result.Add(new Embedding<float>(vector) { ModelId = _metadata.DefaultModelId, CreatedAt = created });
        }

        return result;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(SentenceEncoder) ? _encoder
            : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsEncoder)
        {
            _encoder.Dispose();
        }
    }
}

/// <summary>Small vector helpers the serving layer shares.</summary>
public static class VectorMath
{
    /// <summary>Scales <paramref name="vector"/> to unit L2 length (left as it is when all zero), summing in double.</summary>
    public static void NormalizeInPlace(Span<float> vector)
    {
        double sum = 0;
        foreach (float v in vector)
        {
            sum += (double)v * v;
        }

        if (sum > 0)
        {
            float scale = (float)(1 / Math.Sqrt(sum));
            for (int i = 0; i < vector.Length; i++)
            {
                vector[i] *= scale;
            }
        }
    }

    /// <summary>The cosine of two vectors of equal length (0 when either is all zero), summed in double.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"vectors of {a.Length} and {b.Length} values", nameof(b));
        }

        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }
}

using NativeAlign.Tokenizers;

namespace NativeAlign.Models;

// The ways callers hand inputs over besides a span of strings: any sequence, asynchronously, into their own buffer,
// and as tokens prepared ahead (what a server does on its request threads before batching).
public sealed partial class SentenceEncoder
{
    /// <summary>Embeds each text of any sequence (a <see cref="List{T}"/>, a query's results); row i belongs to the i-th text.</summary>
    /// <param name="texts">The inputs, enumerated once.</param>
    /// <param name="progress">Receives the number of inputs finished after each batch.</param>
    /// <param name="cancellationToken">Checked between batches and between the encoder's layers.</param>
    public SentenceEmbeddings Embed(IEnumerable<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Embed(texts as string[] ?? [.. texts], progress, cancellationToken);
    }

    /// <summary>
    /// Embeds on the thread pool, so that a caller on an event loop or a request thread is not blocked while the
    /// encoder runs; cancelling <paramref name="cancellationToken"/> stops the work between batches and layers.
    /// </summary>
    public Task<SentenceEmbeddings> EmbedAsync(IEnumerable<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        string[] copy = [.. texts];
        return Task.Run(() => Embed(copy, null, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Embeds <paramref name="texts"/> into <paramref name="destination"/>, row-major [texts.Length × <see cref="Dimension"/>],
    /// for callers that keep their vectors in their own memory (a pooled array, a memory-mapped index).
    /// </summary>
    /// <returns>The number of tokens encoded.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than texts.Length × Dimension.</exception>
    public long EmbedInto(ReadOnlySpan<string> texts, Span<float> destination, CancellationToken cancellationToken = default)
    {
        long needed = (long)texts.Length * Dimension;
        if (destination.Length < needed)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; {texts.Length} embeddings of {Dimension} need {needed}", nameof(destination));
        }

        var result = Embed(texts, null, cancellationToken);
        result.Data.AsSpan().CopyTo(destination);
        return result.Tokens;
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/> exactly as <see cref="Embed(ReadOnlySpan{string}, IProgress{int}?, CancellationToken)"/>
    /// does (lower-casing when the model asks for it, cut to <see cref="MaxTokens"/> keeping the final separator), so
    /// that <see cref="EmbedIds"/> of its ids gives the same vector. <see cref="TokenizedText.TruncatedTokens"/> says how
    /// many tokens the cut removed.
    /// </summary>
    public TokenizedText Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = _tokenizer ?? throw new ModelFormatException(null, null, "the model folder has no tokenizer (tokenizer.json, vocab.txt or a SentencePiece .model); only token ids can be embedded");
        var tokens = Tokenize(tokenizer, _lowerCase ? text.ToLowerInvariant() : text);
        return tokens.Count > _maxTokens ? Truncate(tokens, _maxTokens) : tokens;
    }
}

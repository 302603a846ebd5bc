namespace NativeAlign.Tokenizers;

/// <summary>
/// Tokenized texts padded to one length, as an encoder consumes them: row-major [<see cref="Rows"/>, <see cref="Length"/>]
/// ids, attention mask (1 for a token, 0 for padding) and token type ids. Create with <see cref="Tokenizer.Pad"/>.
/// </summary>
public sealed class PaddedBatch
{
    internal PaddedBatch(int rows, int length, int[] ids, int[] attentionMask, int[] typeIds, IReadOnlyList<TokenizedText> items)
    {
        Rows = rows;
        Length = length;
        Ids = ids;
        AttentionMask = attentionMask;
        TypeIds = typeIds;
        Items = items;
    }

    /// <summary>Number of texts.</summary>
    public int Rows { get; }

    /// <summary>Tokens per row after padding.</summary>
    public int Length { get; }

    /// <summary>Ids, row-major; padding positions hold the pad id.</summary>
    public int[] Ids { get; }

    /// <summary>1 where a row has a token, 0 where it is padding; row-major.</summary>
    public int[] AttentionMask { get; }

    /// <summary>Token type ids, row-major; padding positions hold the pad type id.</summary>
    public int[] TypeIds { get; }

    /// <summary>The unpadded encodings, row by row (offsets and word ids are there).</summary>
    public IReadOnlyList<TokenizedText> Items { get; }
}

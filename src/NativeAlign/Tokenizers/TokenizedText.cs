namespace NativeAlign.Tokenizers;

/// <summary>A character span of the original input string, in UTF-16 code units: [<see cref="Start"/>, <see cref="End"/>).</summary>
/// <param name="Start">First code unit.</param>
/// <param name="End">One past the last code unit.</param>
public readonly record struct TextSpan(int Start, int End)
{
    /// <summary>Number of code units covered.</summary>
    public int Length => End - Start;
}

/// <summary>
/// One tokenized input: ids ready for the encoder (special tokens added, truncated to the model's limit),
/// and for every token the span of the original text it came from and the pre-tokenizer word it belongs to.
/// All arrays have <see cref="Count"/> elements.
/// </summary>
public sealed class TokenizedText
{
    /// <summary>Vocabulary ids, special tokens included.</summary>
    public required int[] Ids { get; init; }

    /// <summary>Token strings as the vocabulary spells them (with continuation prefix or metaspace).</summary>
    public required string[] Tokens { get; init; }

    /// <summary>Token type (segment) ids; all zero for a single sequence.</summary>
    public required int[] TypeIds { get; init; }

    /// <summary>Span of the original text each token covers; (0, 0) for special tokens.</summary>
    public required TextSpan[] Offsets { get; init; }

    /// <summary>Index of the pre-tokenizer word each token belongs to, or -1 for special and added tokens.</summary>
    public required int[] WordIds { get; init; }

    /// <summary>
    /// How many tokens truncation removed to fit the model's maximum length (0 when none). When the sentence encoder
    /// tokenized only the prefix of a very long text that truncation needs (see <see cref="Tokenizer.PrefixCharsPerToken"/>),
    /// the tokens removed from that prefix: a lower bound.
    /// </summary>
    public int TruncatedTokens { get; init; }

    /// <summary>Number of tokens.</summary>
    public int Count => Ids.Length;
}

/// <summary>Turns text into <see cref="TokenizedText"/>. Implementations are immutable and safe to share across threads.</summary>
public interface ITokenizer
{
    /// <summary>Tokenizes one input with the model's special tokens and truncation applied.</summary>
    TokenizedText Encode(string text);

    /// <summary>The id used for padding.</summary>
    int PadId { get; }

    /// <summary>Size of the vocabulary.</summary>
    int VocabularySize { get; }
}

namespace NativeAlign.Tokenizers;

/// <summary>One special token a post-processor adds around the sequence.</summary>
internal readonly record struct SpecialPiece(int Id, string Token, int TypeId);

/// <summary>
/// The single-sequence template of BertProcessing, RobertaProcessing and TemplateProcessing:
/// special tokens before the sequence, the sequence with its type id, special tokens after.
/// </summary>
internal sealed class SingleTemplate(SpecialPiece[] prefix, int sequenceTypeId, SpecialPiece[] suffix)
{
    public static readonly SingleTemplate None = new([], 0, []);

    public SpecialPiece[] Prefix { get; } = prefix;

    public int SequenceTypeId { get; } = sequenceTypeId;

    public SpecialPiece[] Suffix { get; } = suffix;

    /// <summary>How many tokens the template adds.</summary>
    public int AddedCount => Prefix.Length + Suffix.Length;
}

namespace NativeAlign.Tokenizers;

/// <summary>One special token a post-processor adds around the sequence.</summary>
internal readonly record struct SpecialPiece(int Id, string Token, int TypeId);

/// <summary>One element of a pair template: a special token, or sequence A (0) / B (1) with its type id.</summary>
internal readonly record struct TemplateItem(int Sequence, SpecialPiece Special, int TypeId)
{
    public bool IsSpecial => Sequence < 0;

    public static TemplateItem Of(SpecialPiece special, int typeId) => new(-1, special with { TypeId = typeId }, typeId);

    public static TemplateItem Seq(int sequence, int typeId) => new(sequence, default, typeId);
}

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

    /// <summary>The template for a pair of sequences (A, B); without one, A then B with type ids 0 and 1.</summary>
    public TemplateItem[] Pair { get; init; } = [TemplateItem.Seq(0, 0), TemplateItem.Seq(1, 1)];

    /// <summary>How many tokens the pair template adds.</summary>
    public int PairAddedCount => Pair.Count(i => i.IsSpecial);
}

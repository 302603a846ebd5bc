namespace NativeAlign.Alignment.Formats;

/// <summary>One link of an alignment file: 0-based word positions, whether it is sure or only possible, and an optional score.</summary>
/// <param name="Source">Source word position (0-based).</param>
/// <param name="Target">Target word position (0-based).</param>
/// <param name="Sure">True for a sure link (<c>i-j</c>), false for a possible one (<c>i?j</c> / <c>ipj</c>).</param>
/// <param name="Score">Score written after the link (<c>i-j:0.93</c>), when present.</param>
public readonly record struct AlignmentLink(int Source, int Target, bool Sure = true, float? Score = null);

/// <summary>The links of one sentence pair, with the sure and possible sets of Och &amp; Ney (sure ⊆ possible).</summary>
public sealed class SentenceAlignment
{
    /// <summary>Creates an alignment from its links (duplicates collapse; a pair both sure and possible counts as sure).</summary>
    public SentenceAlignment(IEnumerable<AlignmentLink> links)
    {
        ArgumentNullException.ThrowIfNull(links);
        Links = [.. links];
        foreach (var l in Links)
        {
            Possible.Add((l.Source, l.Target));
            if (l.Sure)
            {
                Sure.Add((l.Source, l.Target));
            }
        }
    }

    /// <summary>The links as read or given.</summary>
    public IReadOnlyList<AlignmentLink> Links { get; }

    /// <summary>Sure pairs S.</summary>
    public HashSet<(int Source, int Target)> Sure { get; } = [];

    /// <summary>Possible pairs P, which include the sure ones.</summary>
    public HashSet<(int Source, int Target)> Possible { get; } = [];
}

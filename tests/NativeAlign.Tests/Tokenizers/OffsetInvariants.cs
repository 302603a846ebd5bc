using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// Checks the offsets and word ids of an encoding by invariants (the peers return no offsets):
/// <list type="bullet">
/// <item>spans lie inside the text and never run backwards; two tokens overlap only when they were cut from characters
/// that normalization expanded (Hangul jamo, ⅓ → 1⁄3, byte pieces): such tokens form one cluster;</item>
/// <item>each token (or cluster), less its continuation prefix / metaspace, equals its span of the original text
/// normalized by the tokenizer's own normalizer;</item>
/// <item>word ids count up from 0 in steps of at most one, and word w's span normalizes to the peer's word w.</item>
/// </list>
/// </summary>
internal static class OffsetInvariants
{
    public static string? Check(string text, TokenizedText enc, Tokenizer tokenizer, string[]? peerWords, string continuationPrefix, string metaspace = "")
    {
        var unk = tokenizer.IdToToken(tokenizer.TokenToId("[UNK]") ?? tokenizer.TokenToId("<unk>") ?? -1);
        var previousWord = -1;
        var wordStart = new Dictionary<int, int>();
        var wordEnd = new Dictionary<int, int>();
        var clusterStart = -1;
        var clusterEnd = -1;
        var cluster = string.Empty;
        var clusterChecked = true;
        var lastStart = -1;

        string? Close()
        {
            if (clusterStart < 0 || !clusterChecked)
            {
                return null;
            }

            var normalized = Normalize(tokenizer, text[clusterStart..clusterEnd]);
            var expected = metaspace.Length > 0 ? cluster.Replace(metaspace, " ").Trim() : cluster;
            return FoldSigma(normalized) == FoldSigma(expected) ? null
                : $"tokens '{cluster}' span '{text[clusterStart..clusterEnd]}' ({clusterStart}..{clusterEnd}) which normalizes to '{normalized}'";
        }

        for (var t = 0; t < enc.Count; t++)
        {
            var span = enc.Offsets[t];
            var word = enc.WordIds[t];
            if (word < 0)
            {
                continue;
            }

            if (span.End < span.Start || span.Start < 0 || span.End > text.Length || span.Start < lastStart)
            {
                return $"token {t} '{enc.Tokens[t]}' span {span} runs backwards or leaves the text ({text.Length})";
            }

            if (word != previousWord && word != previousWord + 1)
            {
                return $"token {t} word id {word} after {previousWord}";
            }

            lastStart = span.Start;
            previousWord = word;
            wordStart.TryAdd(word, span.Start);
            wordEnd[word] = Math.Max(wordEnd.GetValueOrDefault(word), span.End);
            var token = enc.Tokens[t];
            if (continuationPrefix.Length > 0 && token.StartsWith(continuationPrefix, StringComparison.Ordinal))
            {
                token = token[continuationPrefix.Length..];
            }

            var opaque = token == unk || token.StartsWith("<0x", StringComparison.Ordinal);
            if (clusterStart >= 0 && span.Start < clusterEnd)
            {
                // Overlaps the cluster: part of the same expanded characters.
                cluster += token;
                clusterEnd = Math.Max(clusterEnd, span.End);
                clusterChecked &= !opaque;
                continue;
            }

            if (Close() is { } problem)
            {
                return problem;
            }

            clusterStart = span.Start;
            clusterEnd = span.End;
            cluster = token;
            clusterChecked = !opaque;
        }

        if (Close() is { } last)
        {
            return last;
        }

        if (peerWords is not null)
        {
            var words = previousWord + 1;
            if (words != peerWords.Length)
            {
                return $"{words} words, the peer's pre-tokenizer gave {peerWords.Length}";
            }

            for (var w = 0; w < words; w++)
            {
                var expected = metaspace.Length > 0 ? peerWords[w].Replace(metaspace, " ").Trim() : peerWords[w];
                var ours = Normalize(tokenizer, text[wordStart[w]..wordEnd[w]]);
                if (FoldSigma(ours) != FoldSigma(expected))
                {
                    return $"word {w} spans '{text[wordStart[w]..wordEnd[w]]}' -> '{ours}', the peer's word is '{peerWords[w]}'";
                }
            }
        }

        return null;
    }

    private static string Normalize(Tokenizer tokenizer, string s) =>
        (tokenizer.Normalizer?.NormalizeString(s) ?? s).Replace('\u2581', ' ').Trim();

    // A final sigma depends on its neighbours, which a span taken alone may not include.
    private static string FoldSigma(string s) => s.Replace('ς', 'σ');
}

using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// Checks the offsets and word ids of an encoding by invariants (the peer returns no offsets): each token's span of the
/// original text, normalized, reproduces the token without its continuation prefix / metaspace; spans never overlap or
/// run backwards (tokens cut from inside one character, e.g. Hangul jamo or byte pieces, share its span and are checked
/// together); word ids count up from 0 in steps of at most one, and word w's span normalizes to the peer's word w.
/// </summary>
internal static class OffsetInvariants
{
    public static string? Check(string text, TokenizedText enc, Tokenizer tokenizer, string[]? peerWords, string continuationPrefix, string metaspace = "")
    {
        var unk = tokenizer.IdToToken(tokenizer.TokenToId("[UNK]") ?? tokenizer.TokenToId("<unk>") ?? -1);
        var previousEnd = 0;
        var previousWord = -1;
        var wordStart = new Dictionary<int, int>();
        var wordEnd = new Dictionary<int, int>();
        var previousSpan = new TextSpan(-1, -1);
        var group = string.Empty;
        for (var t = 0; t < enc.Count; t++)
        {
            var span = enc.Offsets[t];
            var word = enc.WordIds[t];
            if (word < 0)
            {
                continue;
            }

            var sameSpan = span == previousSpan;
            if (!sameSpan)
            {
                group = string.Empty;
            }

            previousSpan = span;
            if (!sameSpan && span.Start < previousEnd || span.End < span.Start || span.End > text.Length)
            {
                return $"token {t} '{enc.Tokens[t]}' span {span} overlaps the previous token (ends {previousEnd}) or leaves the text ({text.Length})";
            }

            if (word != previousWord && word != previousWord + 1)
            {
                return $"token {t} word id {word} after {previousWord}";
            }

            previousWord = word;
            previousEnd = span.End;
            wordStart.TryAdd(word, span.Start);
            wordEnd[word] = span.End;
            var token = enc.Tokens[t];
            if (token == unk || token.StartsWith("<0x", StringComparison.Ordinal))
            {
                continue;
            }

            if (continuationPrefix.Length > 0 && token.StartsWith(continuationPrefix, StringComparison.Ordinal))
            {
                token = token[continuationPrefix.Length..];
            }

            if (metaspace.Length > 0)
            {
                token = token.Replace(metaspace, " ").Trim();
            }

            group += token;
            if (t + 1 < enc.Count && enc.Offsets[t + 1] == span && enc.WordIds[t + 1] == word)
            {
                continue;
            }

            var normalized = Normalize(tokenizer, text[span.Start..span.End]);
            if (FoldSigma(normalized) != FoldSigma(group))
            {
                return $"token {t} '{enc.Tokens[t]}' spans '{text[span.Start..span.End]}' which normalizes to '{normalized}'";
            }
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
                var expected = peerWords[w];
                if (metaspace.Length > 0)
                {
                    expected = expected.Replace(metaspace, " ").Trim();
                }

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

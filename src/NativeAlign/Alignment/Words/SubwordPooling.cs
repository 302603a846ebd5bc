using NativeAlign.Tokenizers;

namespace NativeAlign.Alignment.Words;

/// <summary>How the vectors of a word's subword tokens become one word vector.</summary>
public enum SubwordPoolingMode
{
    /// <summary>The mean of the word's subword vectors (SimAlign's and OTAlign's default).</summary>
    Average,

    /// <summary>The vector of the word's first subword.</summary>
    First,
}

/// <summary>Maps tokens to whitespace words and pools subword vectors into word vectors.</summary>
public static class SubwordPooling
{
    /// <summary>Character spans of the whitespace-separated words of <paramref name="text"/> (the gold standards' words).</summary>
    public static TextSpan[] WhitespaceWords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spans = new List<TextSpan>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            spans.Add(new TextSpan(start, i));
        }

        return [.. spans];
    }

    /// <summary>
    /// For every token of <paramref name="tokens"/>, the index of the whitespace word of <paramref name="text"/> its
    /// character span starts in, or −1 for special tokens (empty span) and tokens outside every word. The model's own
    /// pre-tokenizer words (<see cref="TokenizedText.WordIds"/>) may split punctuation off a word; the gold standards
    /// count whitespace words, so the mapping goes through character offsets instead.
    /// </summary>
    public static int[] TokenToWord(TokenizedText tokens, string text)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var words = WhitespaceWords(text);
        var map = new int[tokens.Count];
        int w = 0;
        for (int t = 0; t < tokens.Count; t++)
        {
            var span = tokens.Offsets[t];
            if (span.Length <= 0 || tokens.WordIds[t] < 0)
            {
                map[t] = -1;
                continue;
            }

            // Offsets rise monotonically except for special tokens, so the search resumes where it stopped.
            if (w >= words.Length || span.Start < words[w].Start)
            {
                w = 0;
            }

            while (w < words.Length && words[w].End <= span.Start)
            {
                w++;
            }

            map[t] = w < words.Length && words[w].Start <= span.Start ? w : -1;
        }

        return map;
    }

    /// <summary>
    /// Pools token vectors [tokens×dim] into word vectors [words×dim]. Tokens mapped to −1 are skipped; a word with no
    /// token (e.g. cut by truncation) gets a zero vector and is reported in the returned mask as false.
    /// </summary>
    /// <returns>For every word, whether any token contributed to it.</returns>
    public static bool[] Pool(
        ReadOnlySpan<float> tokenVectors, int tokens, int dim, ReadOnlySpan<int> tokenWord, int words, SubwordPoolingMode mode, Span<float> wordVectors)
    {
        if ((long)tokens * dim != tokenVectors.Length || tokenWord.Length != tokens || (long)words * dim != wordVectors.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"pooling shapes disagree: {tokens} tokens × {dim} = {tokenVectors.Length}? {tokenWord.Length} word ids? {words} words × {dim} = {wordVectors.Length}?");
        }

        wordVectors.Clear();
        var count = new int[words];
        for (int t = 0; t < tokens; t++)
        {
            int w = tokenWord[t];
            if (w < 0)
            {
                continue;
            }

            if (w >= words)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"token {t} maps to word {w} but there are only {words} words");
            }

            if (mode == SubwordPoolingMode.First && count[w] > 0)
            {
                continue;
            }

            var dst = wordVectors.Slice(w * dim, dim);
            var src = tokenVectors.Slice(t * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                dst[d] += src[d];
            }

            count[w]++;
        }

        var present = new bool[words];
        for (int w = 0; w < words; w++)
        {
            present[w] = count[w] > 0;
            if (count[w] > 1)
            {
                var dst = wordVectors.Slice(w * dim, dim);
                float inv = 1f / count[w];
                for (int d = 0; d < dim; d++)
                {
                    dst[d] *= inv;
                }
            }
        }

        return present;
    }

    /// <summary>Word-level links from token-level links: a word pair is linked when any of its token pairs is (awesome-align).</summary>
    public static WordLink[] TokenLinksToWordLinks(IEnumerable<WordLink> tokenLinks, ReadOnlySpan<int> srcTokenWord, ReadOnlySpan<int> tgtTokenWord)
    {
        ArgumentNullException.ThrowIfNull(tokenLinks);
        var best = new Dictionary<(int, int), float>();
        foreach (var l in tokenLinks)
        {
            if ((uint)l.Source >= (uint)srcTokenWord.Length || (uint)l.Target >= (uint)tgtTokenWord.Length)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"token link {l.Source}-{l.Target} is outside {srcTokenWord.Length}×{tgtTokenWord.Length} tokens");
            }

            int i = srcTokenWord[l.Source], j = tgtTokenWord[l.Target];
            if (i < 0 || j < 0)
            {
                continue;
            }

            best[(i, j)] = best.TryGetValue((i, j), out var s) ? MathF.Max(s, l.Score) : l.Score;
        }

        return [.. best.Select(kv => new WordLink(kv.Key.Item1, kv.Key.Item2, kv.Value)).OrderBy(l => l.Source).ThenBy(l => l.Target)];
    }

    /// <summary>Cosine similarity matrix [n×m] of row vectors a [n×dim] and b [m×dim]; zero vectors give 0.</summary>
    public static float[] CosineSimilarity(ReadOnlySpan<float> a, int n, ReadOnlySpan<float> b, int m, int dim)
    {
        var sim = DotProducts(a, n, b, m, dim);
        var na = Norms(a, n, dim);
        var nb = Norms(b, m, dim);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                float d = na[i] * nb[j];
                sim[(i * m) + j] = d > 0 ? sim[(i * m) + j] / d : 0f;
            }
        }

        return sim;
    }

    /// <summary>Dot-product matrix [n×m] of row vectors a [n×dim] and b [m×dim] (awesome-align's similarity).</summary>
    public static float[] DotProducts(ReadOnlySpan<float> a, int n, ReadOnlySpan<float> b, int m, int dim)
    {
        if ((long)n * dim != a.Length || (long)m * dim != b.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"similarity: expected {n}×{dim} and {m}×{dim} vectors, got {a.Length} and {b.Length} values");
        }

        var sim = new float[n * m];
        if (n > 0 && m > 0 && dim > 0)
        {
            Backends.Cpu.GemmF32.Compute(n, m, dim, a, dim, b, dim, transposeB: true, sim, m);
        }

        return sim;
    }

    /// <summary>L2 norm of each of <paramref name="n"/> row vectors (OTAlign's norm masses).</summary>
    public static float[] Norms(ReadOnlySpan<float> v, int n, int dim)
    {
        var norms = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            foreach (var x in v.Slice(i * dim, dim))
            {
                s += (double)x * x;
            }

            norms[i] = (float)Math.Sqrt(s);
        }

        return norms;
    }
}

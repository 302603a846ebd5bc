using NativeAlign.Alignment.Sentences;

namespace NativeAlign.Alignment.Spaces;

/// <summary>How translations are retrieved in bilingual lexicon induction.</summary>
public enum LexiconRetrieval
{
    /// <summary>Nearest neighbour by cosine.</summary>
    Cosine,

    /// <summary>Cross-domain similarity local scaling with k = 10 (Conneau et al. 2018).</summary>
    Csls,
}

/// <summary>Precision at 1 and 5 of bilingual lexicon induction.</summary>
/// <param name="PrecisionAt1">Share of evaluated source words whose best target is a gold translation.</param>
/// <param name="PrecisionAt5">Share whose 5 best targets contain a gold translation.</param>
/// <param name="Evaluated">Source words evaluated (dictionary entries whose source and some target are in the vocabularies).</param>
/// <param name="Skipped">Dictionary source words skipped because they or all their translations are out of vocabulary.</param>
public readonly record struct LexiconScores(double PrecisionAt1, double PrecisionAt5, int Evaluated, int Skipped);

/// <summary>
/// Bilingual lexicon induction evaluation (MUSE protocol): every distinct dictionary source word is looked up among all
/// target vocabulary vectors; it counts as correct at k when any of its gold translations is among the k retrieved.
/// </summary>
public static class LexiconInduction
{
    /// <summary>Evaluates mapped source vectors against target vectors (both row-major, any norm: they are normalised here).</summary>
    public static LexiconScores Evaluate(
        IReadOnlyList<string> sourceWords, ReadOnlySpan<float> sourceVectors, IReadOnlyList<string> targetWords, ReadOnlySpan<float> targetVectors,
        int dim, IEnumerable<(string Source, string Target)> dictionary, LexiconRetrieval retrieval = LexiconRetrieval.Csls)
    {
        ArgumentNullException.ThrowIfNull(sourceWords);
        ArgumentNullException.ThrowIfNull(targetWords);
        ArgumentNullException.ThrowIfNull(dictionary);
        SpaceTransforms.Check(sourceVectors, sourceWords.Count, dim);
        SpaceTransforms.Check(targetVectors, targetWords.Count, dim);
        var srcIndex = Index(sourceWords);
        var tgtIndex = Index(targetWords);
        var gold = new Dictionary<int, HashSet<long>>();
        var order = new List<int>();
        var skipped = new HashSet<string>();
        foreach (var (s, t) in dictionary)
        {
            if (!srcIndex.TryGetValue(s, out int si) || !tgtIndex.TryGetValue(t, out int ti))
            {
                skipped.Add(s);
                continue;
            }

            if (!gold.TryGetValue(si, out var set))
            {
                gold[si] = set = [];
                order.Add(si);
            }

            set.Add(ti);
        }

        skipped.RemoveWhere(s => srcIndex.TryGetValue(s, out int si) && gold.ContainsKey(si));
        if (order.Count == 0)
        {
            return new LexiconScores(0, 0, 0, skipped.Count);
        }

        var queries = new float[order.Count * dim];
        for (int q = 0; q < order.Count; q++)
        {
            sourceVectors.Slice(order[q] * dim, dim).CopyTo(queries.AsSpan(q * dim, dim));
        }

        var targets = targetVectors.ToArray();
        TopKSearch.Normalize(queries, order.Count, dim);
        TopKSearch.Normalize(targets, targetWords.Count, dim);
        int neighbours = Math.Min(5, targetWords.Count);
        TopKResult top;
        if (retrieval == LexiconRetrieval.Csls)
        {
            // CSLS's source-side penalty r_S(y) uses every source vocabulary word, not only the dictionary's.
            var allSources = sourceVectors.ToArray();
            TopKSearch.Normalize(allSources, sourceWords.Count, dim);
            var rS = MarginMiner.RowMeans(TopKSearch.Search(targets, targetWords.Count, allSources, sourceWords.Count, dim, Math.Min(10, sourceWords.Count)));
            using var search = new TopKSearch(queries, order.Count, dim, neighbours);
            search.AddChunk(targets, targetWords.Count, 0, rS, scale: 2f);
            top = search.Result;
        }
        else
        {
            top = TopKSearch.Search(queries, order.Count, targets, targetWords.Count, dim, neighbours);
        }

        int at1 = 0, at5 = 0;
        for (int q = 0; q < order.Count; q++)
        {
            var set = gold[order[q]];
            var idx = top.IndicesOf(q);
            at1 += set.Contains(idx[0]) ? 1 : 0;
            at5 += idx.ToArray().Any(set.Contains) ? 1 : 0;
        }

        return new LexiconScores((double)at1 / order.Count, (double)at5 / order.Count, order.Count, skipped.Count);
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> words)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < words.Count; i++)
        {
            index.TryAdd(words[i], i);
        }

        return index;
    }
}

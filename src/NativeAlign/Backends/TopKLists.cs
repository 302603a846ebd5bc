using System.Runtime.Intrinsics;
using NativeAlign.Tensors;

namespace NativeAlign.Backends;

/// <summary>
/// The running top-k lists every backend's <see cref="IComputeBackend.TopK"/> merges into, and the one order they keep:
/// descending score, equal scores by ascending index, NaN never selected, empty slots (−1, −∞).
/// </summary>
internal static class TopKLists
{
    /// <summary>Checks the op's operands and returns k.</summary>
    public static int Check(BackendMatrix queries, BackendMatrix corpus, ReadOnlySpan<float> bias, Span<long> indices, Span<float> scores, string backend)
    {
        if (queries.Columns != corpus.Columns)
        {
            throw new ArgumentException($"{backend} top-k: queries have {queries.Columns} columns, corpus rows {corpus.Columns}");
        }

        if (!bias.IsEmpty && bias.Length != corpus.Rows)
        {
            throw new ArgumentException($"{backend} top-k: a bias of {bias.Length} values for {corpus.Rows} corpus rows");
        }

        if (queries.Rows == 0)
        {
            return 0;
        }

        int k = indices.Length / queries.Rows;
        if (k < 1 || indices.Length != (long)k * queries.Rows || scores.Length != indices.Length)
        {
            throw new ArgumentException($"{backend} top-k: lists of {indices.Length} indices and {scores.Length} scores for {queries.Rows} queries");
        }

        return k;
    }

    /// <summary>Merges a row of scores (corpus rows firstIndex …) into one descending list; a vector compare skips blocks below the current k-th score.</summary>
    public static void MergeRow(ReadOnlySpan<float> row, long firstIndex, Span<long> idx, Span<float> sc)
    {
        int k = sc.Length;
        float floor = sc[k - 1];
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c <= row.Length - 16; c += 16)
            {
                if (Vector512.GreaterThanAny(Vector512.Create(row.Slice(c, 16)), Vector512.Create(floor)))
                {
                    for (int l = 0; l < 16; l++)
                    {
                        if (row[c + l] > floor)
                        {
                            Insert(row[c + l], firstIndex + c + l, idx, sc);
                            floor = sc[k - 1];
                        }
                    }
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; c <= row.Length - 8; c += 8)
            {
                if (Vector256.GreaterThanAny(Vector256.Create(row.Slice(c, 8)), Vector256.Create(floor)))
                {
                    for (int l = 0; l < 8; l++)
                    {
                        if (row[c + l] > floor)
                        {
                            Insert(row[c + l], firstIndex + c + l, idx, sc);
                            floor = sc[k - 1];
                        }
                    }
                }
            }
        }

        for (; c < row.Length; c++)
        {
            if (row[c] > floor)
            {
                Insert(row[c], firstIndex + c, idx, sc);
                floor = sc[k - 1];
            }
        }
    }

    /// <summary>
    /// Merges a list already in the order (descending score, ascending index) whose indices all exceed those of the
    /// running list — a later chunk's own top-k — into the running list; entries with index −1 are skipped.
    /// </summary>
    public static void MergeList(ReadOnlySpan<int> chunkIndices, ReadOnlySpan<float> chunkScores, long firstIndex, Span<long> idx, Span<float> sc)
    {
        for (int r = 0; r < chunkIndices.Length; r++)
        {
            if (chunkIndices[r] < 0)
            {
                continue;
            }

            // The chunk list is descending: once an entry does not beat the k-th, none after it does.
            if (!(chunkScores[r] > sc[^1]))
            {
                return;
            }

            Insert(chunkScores[r], firstIndex + chunkIndices[r], idx, sc);
        }
    }

    private static void Insert(float score, long index, Span<long> idx, Span<float> sc)
    {
        // Strictly greater than the entries it passes: an equal score already listed has the lower index and stays first.
        int p = sc.Length - 1;
        while (p > 0 && sc[p - 1] < score)
        {
            sc[p] = sc[p - 1];
            idx[p] = idx[p - 1];
            p--;
        }

        sc[p] = score;
        idx[p] = index;
    }
}

namespace NativeAlign.Models;

/// <summary>
/// Groups inputs into batches: sorted longest first, each batch within a token budget (batch size × padded length,
/// always at least one input), and cut where padding would cost more than another batch does. Every padded row goes
/// through every projection and feed-forward product, so a batch of 32 sentences of 6 to 35 tokens padded to 35
/// computes about twice the rows it needs; a few batches of similar lengths compute barely more than the real tokens.
/// </summary>
internal static class EncoderBatchPlanner
{
    /// <summary>
    /// The fixed cost of one more batch, in padded rows: per layer, each product decodes or packs its whole weight
    /// once per call and every kernel launch synchronises the threads, which is worth a few dozen rows of arithmetic
    /// on the default model.
    /// </summary>
    internal const int BatchCostRows = 48;

    /// <summary>Index lists, one per batch, over inputs of the given lengths.</summary>
    public static List<int[]> Plan(IReadOnlyList<int> lengths, int tokenBudget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        int n = order.Length;

        // Sorted descending, batches are runs order[i..j) padded to lengths[order[i]]. Exact minimum of
        // Σ (rows + BatchCostRows) over the cuts: best[j] is the cheapest plan of the first j inputs.
        var best = new long[n + 1];
        var cut = new int[n + 1];
        for (int j = 1; j <= n; j++)
        {
            best[j] = long.MaxValue;
            for (int i = j - 1; i >= 0; i--)
            {
                long padded = Math.Max(1, lengths[order[i]]);
                long rows = (j - i) * padded;
                if (rows > tokenBudget && i < j - 1)
                {
                    break; // longer inputs further left only make the batch larger
                }

                long cost = best[i] + rows + BatchCostRows;
                if (cost < best[j])
                {
                    best[j] = cost;
                    cut[j] = i;
                }
            }
        }

        var batches = new List<int[]>();
        for (int j = n; j > 0; j = cut[j])
        {
            batches.Add(order[cut[j]..j]);
        }

        batches.Reverse();
        return batches;
    }
}

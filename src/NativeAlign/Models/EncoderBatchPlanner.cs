namespace NativeAlign.Models;

/// <summary>
/// Groups inputs into batches: longest first so that each batch pads to similar lengths, and as many per batch as fit a
/// token budget (batch size × padded length), always at least one.
/// </summary>
internal static class EncoderBatchPlanner
{
    /// <summary>Index lists, one per batch, over inputs of the given lengths.</summary>
    public static List<int[]> Plan(IReadOnlyList<int> lengths, int tokenBudget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        var batches = new List<int[]>();
        int start = 0;
        while (start < order.Length)
        {
            // Sorted descending: the first input of a batch sets its padded length.
            int padded = Math.Max(1, lengths[order[start]]);
            int count = Math.Max(1, Math.Min(order.Length - start, tokenBudget / padded));
            batches.Add(order[start..(start + count)]);
            start += count;
        }

        return batches;
    }
}

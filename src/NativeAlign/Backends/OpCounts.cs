namespace NativeAlign.Backends;

/// <summary>
/// Per-op call counts of a backend, so a user (or <c>--verbose</c>) can see where retrieval and transport ran: calls,
/// the work items they covered (query × corpus rows scored, transport problems solved) and the items a device backend
/// handed to the host instead (an explicit fallback, never a silent one). Thread-safe.
/// </summary>
public sealed class OpCounts
{
    private readonly long[] _calls = new long[Enum.GetValues<BackendOp>().Length];
    private readonly long[] _items = new long[Enum.GetValues<BackendOp>().Length];
    private readonly long[] _fallbacks = new long[Enum.GetValues<BackendOp>().Length];

    /// <summary>Calls of <paramref name="op"/>.</summary>
    public long Calls(BackendOp op) => Interlocked.Read(ref _calls[(int)op]);

    /// <summary>Work items of <paramref name="op"/> run on this backend.</summary>
    public long Items(BackendOp op) => Interlocked.Read(ref _items[(int)op]);

    /// <summary>Work items of <paramref name="op"/> this backend could not run and solved on the host instead.</summary>
    public long Fallbacks(BackendOp op) => Interlocked.Read(ref _fallbacks[(int)op]);

    /// <summary>Records one call covering <paramref name="items"/> work items.</summary>
    public void Add(BackendOp op, long items)
    {
        Interlocked.Increment(ref _calls[(int)op]);
        Interlocked.Add(ref _items[(int)op], items);
    }

    /// <summary>Records <paramref name="items"/> work items handed to the host.</summary>
    public void AddFallback(BackendOp op, long items) => Interlocked.Add(ref _fallbacks[(int)op], items);

    /// <summary>The ops with calls, e.g. "TopK 12 calls (1.2e+07 scores), Sinkhorn 1 call (410 problems, 3 on the host)".</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        foreach (var op in Enum.GetValues<BackendOp>())
        {
            long calls = Calls(op);
            if (calls == 0)
            {
                continue;
            }

            string unit = op == BackendOp.TopK ? "scores" : op == BackendOp.Sinkhorn ? "problems" : "items";
            long fallbacks = Fallbacks(op);
            string host = fallbacks > 0 ? $", {fallbacks} on the host" : string.Empty;
            parts.Add($"{op} {calls} call{(calls == 1 ? string.Empty : "s")} ({Items(op):G3} {unit}{host})");
        }

        return parts.Count == 0 ? "no retrieval or transport ops" : string.Join(", ", parts);
    }
}

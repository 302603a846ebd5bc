using System.Diagnostics;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Shared machinery of the hardening fuzz tests, with the conventions of the model-loading fuzz tests: a fixed seed,
/// a CI-sized run that <c>NATIVEALIGN_FUZZ_ITERATIONS</c> enlarges, only <see cref="NativeAlignException"/> subclasses
/// may escape, and every input must finish within a second. On top, each input's managed allocation is measured and
/// must stay under <see cref="AllocationCap"/>: linear in the input's size, so that no length field read from the input
/// can make a parser allocate more than the file itself justifies.
/// </summary>
internal static class FuzzSupport
{
    public const int Seed = 20261122;

    /// <summary>Per-input time limit (the hang criterion of the hardening issue).</summary>
    public static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(1);

    public static int Iterations(int ci)
        => int.TryParse(Environment.GetEnvironmentVariable("NATIVEALIGN_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : ci;

    /// <summary>
    /// The most a parser may allocate for an input of <paramref name="inputBytes"/> bytes: 64 MiB of fixed overhead plus
    /// 64 bytes per input byte. A 1 KB file declaring a 2 GB piece therefore fails this check unless the declared length
    /// is refused before anything is allocated for it.
    /// </summary>
    public static long AllocationCap(long inputBytes) => NativeAlign.Fuzz.FuzzTargets.AllocationCap(inputBytes);

    /// <summary>One mutation: bit flips, overwrites, truncations, inserted junk, huge length fields, cut and duplicated ranges.</summary>
    public static byte[] MutateBytes(byte[] input, Random random, bool protobuf)
    {
        var bytes = new List<byte>(input);
        int rounds = 1 + random.Next(3);
        for (int r = 0; r < rounds && bytes.Count > 0; r++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Range(0, 1 + random.Next(16)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4:
                    byte[] huge = protobuf ? [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] : BitConverter.GetBytes(random.Next(2) == 0 ? ulong.MaxValue : (ulong)int.MaxValue + 1);
                    for (int i = 0; i < huge.Length && at + i < bytes.Count; i++)
                    {
                        bytes[at + i] = huge[i];
                    }

                    break;
                case 5:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(32)));
                    break;
                default:
                    int from = random.Next(bytes.Count);
                    int length = Math.Min(bytes.Count - from, 1 + random.Next(64));
                    bytes.InsertRange(at, bytes.GetRange(from, length));
                    break;
            }
        }

        return bytes.ToArray();
    }

    /// <summary>Outcomes of one format's run.</summary>
    internal sealed class Tally(string format)
    {
        public string Format { get; } = format;
        public int Accepted;
        public int Rejected;
        public double MaxMilliseconds;
        public long MaxAllocatedBytes;
        public List<string> Escapes { get; } = [];
        public List<string> Slow { get; } = [];
        public List<string> OverAllocated { get; } = [];
        public Dictionary<string, int> Faults { get; } = [];

        /// <summary>Counts one injected fault of kind <paramref name="name"/> (reported per format).</summary>
        public void Fault(string name) => Faults[name] = Faults.GetValueOrDefault(name) + 1;
    }

    /// <summary>
    /// Runs one input: times it, measures the managed bytes this thread allocates, and sorts the outcome. The action must
    /// run on the calling thread (allocation is measured per thread).
    /// </summary>
    public static void Run(Tally tally, int iteration, long inputBytes, Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        try
        {
            action();
            tally.Accepted++;
        }
        catch (NativeAlignException)
        {
            tally.Rejected++;
        }
        catch (Exception e)
        {
            if (tally.Escapes.Count < 5)
            {
                tally.Escapes.Add($"input {iteration}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }

        watch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        tally.MaxAllocatedBytes = Math.Max(tally.MaxAllocatedBytes, allocated);
        if (allocated > AllocationCap(inputBytes) && tally.OverAllocated.Count < 5)
        {
            tally.OverAllocated.Add($"input {iteration}: {allocated} bytes allocated for a {inputBytes}-byte input (cap {AllocationCap(inputBytes)})");
        }

        // The first inputs pay for JIT compilation; the limit applies once the code is warm.
        if (iteration >= 10)
        {
            tally.MaxMilliseconds = Math.Max(tally.MaxMilliseconds, watch.Elapsed.TotalMilliseconds);
            if (watch.Elapsed > PerInputLimit && tally.Slow.Count < 5)
            {
                tally.Slow.Add($"input {iteration}: {watch.Elapsed.TotalMilliseconds:F0} ms");
            }
        }
    }

    /// <summary>Prints the counts (the figures the hardening table reports) and asserts the criteria.</summary>
    public static void Report(int iterations, Tally tally)
    {
        string faults = string.Join(", ", tally.Faults.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value}"));
        TestContext.Out.WriteLine($"FUZZ {tally.Format}: {iterations} mutated inputs, {tally.Rejected} rejected with a typed error, {tally.Accepted} accepted, "
            + $"0 other exceptions expected ({tally.Escapes.Count} seen), slowest {tally.MaxMilliseconds:F1} ms, most allocated {tally.MaxAllocatedBytes / 1024.0 / 1024.0:F1} MiB; faults: {faults}");
        Assert.That(tally.Escapes, Is.Empty, $"{tally.Format}: untyped exceptions escaped");
        Assert.That(tally.Slow, Is.Empty, $"{tally.Format}: inputs took over {PerInputLimit.TotalSeconds} s (hang guard)");
        Assert.That(tally.OverAllocated, Is.Empty, $"{tally.Format}: allocation beyond the documented cap");
        Assert.That(tally.Accepted + tally.Rejected, Is.EqualTo(iterations));
        Assert.That(tally.Rejected, Is.GreaterThan(0), "the mutations must reach the validation");
        Assert.That(tally.Accepted, Is.GreaterThan(0), "some mutations must survive validation, or the runtime paths are never fuzzed");
    }
}

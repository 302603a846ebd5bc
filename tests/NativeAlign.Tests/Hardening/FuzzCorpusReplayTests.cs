using NativeAlign.Fuzz;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Replays the committed coverage-guided corpus (<c>tests/fuzz-corpus/TARGET/</c>, grown and minimised by
/// <c>scripts/fuzz.sh</c>) through the same <see cref="FuzzTargets"/> functions AFL++ drives, in process: only
/// <see cref="NativeAlignException"/> subclasses may escape, each input within <see cref="FuzzSupport.PerInputLimit"/> and
/// under <see cref="FuzzSupport.AllocationCap"/>. Every input runs twice, the first time to pay for JIT compilation.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static IEnumerable<string> Targets => FuzzTargets.All.Keys;

    [OneTimeTearDown]
    public void RemoveWorkDirectory() => FuzzTargets.DeleteWorkDirectory();

    [TestCaseSource(nameof(Targets))]
    public void CorpusGivesOnlyTypedErrorsWithinTimeAndMemory(string target)
    {
        string dir = Path.Combine(LoadingTestSupport.RepoRoot, "tests", "fuzz-corpus", target);
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray() : [];
        Assert.That(files, Is.Not.Empty, $"{dir}: the committed corpus of this target is missing");
        var run = FuzzTargets.All[target];
        var warm = new FuzzSupport.Tally(target);
        var tally = new FuzzSupport.Tally(target);
        foreach (var (file, i) in files.Select((f, i) => (f, i)))
        {
            var bytes = File.ReadAllBytes(file);
            FuzzSupport.Run(warm, i, bytes.Length, () => FuzzTargets.Run(run, bytes));
        }

        // FuzzSupport.Run times inputs from the tenth on: number the second pass past the warm-up.
        foreach (var (file, i) in files.Select((f, i) => (f, i)))
        {
            var bytes = File.ReadAllBytes(file);
            FuzzSupport.Run(tally, 10 + i, bytes.Length, () => FuzzTargets.Run(run, bytes));
        }

        TestContext.Out.WriteLine($"REPLAY {target}: {files.Length} inputs, {tally.Accepted} accepted, {tally.Rejected} rejected with a typed error, "
            + $"slowest {tally.MaxMilliseconds:F1} ms, most allocated {tally.MaxAllocatedBytes / 1024.0 / 1024.0:F1} MiB");
        Assert.That(warm.Escapes.Concat(tally.Escapes), Is.Empty, $"{target}: untyped exceptions escaped");
        Assert.That(warm.OverAllocated.Concat(tally.OverAllocated), Is.Empty, $"{target}: allocation beyond the documented cap");
        Assert.That(tally.Slow, Is.Empty, $"{target}: inputs took over {FuzzSupport.PerInputLimit.TotalSeconds} s (hang guard)");
        Assert.That(tally.Accepted + tally.Rejected, Is.EqualTo(files.Length));
    }
}

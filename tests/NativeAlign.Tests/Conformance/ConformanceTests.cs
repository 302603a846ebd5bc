using NativeAlign.Backends;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// The conformance suite in the manner of ggml's <c>test-backend-ops</c>: every case of <see cref="OpCases"/> on every
/// backend of <see cref="ConformanceBackends"/>, judged by <see cref="CaseRunner"/> against the float64 oracle.
/// A case a backend declares unsupported passes only if the backend then refuses it with a BackendException.
/// Each case carries the category <c>conformance-BACKEND</c>, so one backend's cases run alone with
/// <c>--filter "TestCategory=conformance-opencl"</c> (or <c>TestCategory~conformance-cpu</c> for every CPU entry).
/// </summary>
[TestFixture]
public sealed class ConformanceTests
{
    private static IEnumerable<TestCaseData> BackendsAndCases() =>
        from backend in ConformanceBackends.All
        from c in OpCases.All
        select new TestCaseData(backend, c).SetArgDisplayNames(backend.Name, c.Name).SetCategory("conformance-" + backend.Name);

    [TestCaseSource(nameof(BackendsAndCases))]
    public void Case(object backend, object opCase)
    {
        var c = (OpCase)opCase;
        var verdict = CaseRunner.Run(ConformanceBackends.Open((BackendUnderTest)backend), c);
        TestContext.Out.WriteLine(verdict.Detail);
        Assert.That(verdict.Failed, Is.False, $"{backend} {c.Name}: {verdict.Detail}");
    }

    [Test]
    public void CaseNamesAreUnique_AndEveryOpHasCases()
    {
        var duplicates = OpCases.All.GroupBy(c => c.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.That(duplicates, Is.Empty, "duplicate case names");
        var covered = OpCases.All.Select(c => c.Op).ToHashSet();
        Assert.That(Enum.GetValues<BackendOp>().Where(op => !covered.Contains(op)), Is.Empty, "ops without a case");

        // The NaN cases really plant NaN where it reaches the output (the padded-row ones plant it where it must not).
        Assert.That(OpCases.All.OfType<MatrixOpCase>().Count(c => c.Expected().Any(double.IsNaN)), Is.GreaterThanOrEqualTo(20), "cases whose oracle has NaN");
    }

    /// <summary>Prints the worst normalised MSE per backend and op (run by hand when revisiting <see cref="OpBounds"/>).</summary>
    [Test]
    [Explicit("a report for tuning the bounds, not a check")]
    public void ReportWorstErrors()
    {
        foreach (var backend in ConformanceBackends.All.Where(b => b.Missing() is null))
        {
            var be = ConformanceBackends.Open(backend);
            foreach (var group in OpCases.All.GroupBy(c => c.Op))
            {
                var worst = group.Select(c => (c, v: CaseRunner.Run(be, c))).Where(x => !double.IsNaN(x.v.Nmse)).OrderByDescending(x => x.v.Nmse).FirstOrDefault();
                TestContext.Out.WriteLine($"{backend.Name,-14} {group.Key,-13} worst {worst.v?.Nmse:E2} ({worst.c?.Name}) bound {OpBounds.For(group.Key):E0}");
            }
        }
    }
}

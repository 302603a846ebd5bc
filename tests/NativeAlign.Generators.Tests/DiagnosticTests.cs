using Microsoft.CodeAnalysis;

namespace NativeAlign.Generators.Tests;

/// <summary>
/// One test per diagnostic id: a kernel with exactly one unsupported construct must report exactly that id, at the
/// span marked [| |] in the source, and emit no descriptor.
/// </summary>
[TestFixture]
public sealed class DiagnosticTests
{
    private const string Prelude = """
        using NativeAlign.Kernels;
        namespace Demo;
        public static partial class K
        {
            static int s_counter;

        """;

    private const string Postlude = "\n}\n";

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("NAK0001", "is pattern", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { x[0] = [|n is 3|] ? 1 : 0; }");
        yield return Case("NAK0001", "half from int", "[Kernel] public static void M(GlobalBuffer<System.Half> x, int n) { x[0] = [|(System.Half)n|]; }");
        yield return Case("NAK0002", "foreach", "[Kernel] public static void M(GlobalBuffer<int> x) { [|foreach (int v in new int[] { 1, 2 }) { x[0] = v; }|] }");
        yield return Case("NAK0003", "try", "[Kernel] public static void M(GlobalBuffer<int> x) { [|try { x[0] = 1; } finally { x[1] = 2; }|] }");
        yield return Case("NAK0003", "throw", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { if (n < 0) { [|throw new System.ArgumentException();|] } x[0] = n; }");
        yield return Case("NAK0004", "local function", "[Kernel] public static void M(GlobalBuffer<int> x) { x[0] = 1; [|static int Twice(int v) => 2 * v;|] }");
        yield return Case("NAK0004", "lambda", "[Kernel] public static void M(GlobalBuffer<int> x) { System.Action a = null!; a = [|() => { }|]; x[0] = 1; }", extra: "NAK0014");
        yield return Case("NAK0005", "string", "[Kernel] public static void M(GlobalBuffer<int> x) { [|string s = \"abc\"|]; x[0] = 1; }");
        yield return Case("NAK0006", "allocation", "[Kernel] public static void M(GlobalBuffer<int> x) { [|new object()|]; x[0] = 1; }");
        yield return Case("NAK0007", "LINQ", "[Kernel] public static void M(GlobalBuffer<int> x) { x[0] = [|System.Linq.Enumerable.Count(new int[] { 1 })|]; }");
        yield return Case("NAK0008", "recursion", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { x[0] = F(n); }\n static int F(int v) => v <= 0 ? 0 : [|F(v - 1)|];");
        yield return Case("NAK0009", "instance call", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { x[0] = [|n.GetHashCode()|]; }");
        yield return Case("NAK0010", "static field", "[Kernel] public static void M(GlobalBuffer<int> x) { x[0] = [|s_counter|]; }");
        yield return Case("NAK0011", "double parameter", "[Kernel] public static void M(GlobalBuffer<float> x, [|double scale|]) { x[0] = 1f; }");
        yield return Case("NAK0011", "bool parameter", "[Kernel] public static void M(GlobalBuffer<float> x, [|bool flag|]) { x[0] = 1f; }");
        yield return Case("NAK0012", "non-void kernel", "[Kernel] public static [|int|] M(GlobalBuffer<int> x) { x[0] = 1; return 0; }");
        yield return Case("NAK0013", "external call", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { [|System.Console.WriteLine(n)|]; x[0] = n; }");
        yield return Case("NAK0015", "nested increment", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { x[0] = n + [|n++|]; }");
        yield return Case("NAK0015", "chained assignment", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { int a; x[0] = [|a = n|]; }");
        yield return Case("NAK0016", "unknown specialised parameter", "[Kernel, [|Specialize(\"width\", 32)|]] public static void M(GlobalBuffer<int> x, int n) { x[0] = n; }");
        yield return Case("NAK0016", "non-int specialised parameter", "[Kernel, [|Specialize(\"s\", 1, 2)|]] public static void M(GlobalBuffer<float> x, float s) { x[0] = s; }");
        yield return Case("NAK0016", "duplicate specialised value", "[Kernel, [|Specialize(\"n\", 64, 64)|]] public static void M(GlobalBuffer<int> x, int n) { x[0] = n; }");
        yield return Case("NAK0017", "allocation in a loop", "[Kernel] public static void M(GlobalBuffer<float> x, int n) { for (int i = 0; i < n; i++) { LocalBuffer<float> t = [|LocalMemory.Allocate<float>(8)|]; t[0] = 1f; x[0] = t[0]; } }");
        yield return Case("NAK0017", "variable length", "[Kernel] public static void M(GlobalBuffer<float> x, int n) { LocalBuffer<float> t = [|LocalMemory.Allocate<float>(n)|]; x[0] = 1f; }");
        yield return Case("NAK0025", "pattern case", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { switch (n) { case 1: x[0] = 1; break; [|case > 5:|] x[0] = 2; break; } }");
        yield return Case("NAK0025", "guarded case", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { switch (n) { [|case 1 when n > 0:|] x[0] = 1; break; default: break; } }");
        yield return Case("NAK0025", "switch on float", "[Kernel] public static void M(GlobalBuffer<int> x, float f) { switch ([|f|]) { case 1f: x[0] = 1; break; } }");
        yield return Case("NAK0025", "switch expression", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { x[0] = [|n switch { 1 => 2, _ => 3 }|]; }");
        yield return Case("NAK0025", "local shared between sections", "[Kernel] public static void M(GlobalBuffer<int> x, int n) { switch (n) { case 1: int t = 1; x[0] = t; break; default: [|t|] = 2; x[0] = t; break; } }");
        // A specialised kernel's body is translated once per value; its defect must still be reported once.
        yield return Case("NAK0002", "foreach in a specialised kernel", "[Kernel, Specialize(\"n\", 32, 64, 128)] public static void M(GlobalBuffer<int> x, int n) { [|foreach (int v in new int[] { 1, 2 }) { x[0] = v + n; }|] }");
        yield return Case("NAK0013", "external call in a specialised kernel", "[Kernel, Specialize(\"n\", 1, 2)] public static void M(GlobalBuffer<int> x, int n) { [|System.Console.WriteLine(n)|]; x[0] = n; }");
        yield return Case("NAK0014", "double local", "[Kernel] public static void M(GlobalBuffer<float> x, int n) { [|double d = n|]; x[0] = 1f; }");
    }

    private static TestCaseData Case(string id, string what, string member, string? extra = null) =>
        new TestCaseData(id, member, extra).SetName($"Diagnostic_{id}_{what.Replace(' ', '_')}_ReportedAtSpan");

    [TestCaseSource(nameof(Cases))]
    public void Diagnostic_IsReportedWithItsOwnIdAtTheOffendingSpan(string id, string member, string? alsoAllowed)
    {
        var (text, span) = GeneratorHarness.Marked(Prelude + member + Postlude);
        var (result, _) = GeneratorHarness.Run(GeneratorHarness.UserCompilation(GeneratorHarness.Parse(text)));

        var ours = result.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.That(ours, Has.Count.EqualTo(1), $"expected one {id}; got: {string.Join("; ", result.Diagnostics)}");
        Assert.That(ours[0].Location.SourceSpan, Is.EqualTo(span), $"{id} points at '{text.Substring(ours[0].Location.SourceSpan.Start, ours[0].Location.SourceSpan.Length)}'");
        Assert.That(ours[0].Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(ours[0].GetMessage(), Does.StartWith("Kernel 'M'"));
        Assert.That(result.Diagnostics.Where(d => d.Id != id && d.Id != alsoAllowed), Is.Empty, "no other generator diagnostic");
        Assert.That(result.GeneratedSources, Is.Empty, "a kernel with an error emits no descriptor");
    }

    [Test]
    public void EveryDiagnosticId_IsListedInTheReleaseFile_AndCoveredByATest()
    {
        string releases = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "generators", "NativeAlign.Generators", "AnalyzerReleases.Unshipped.md"));
        var listed = System.Text.RegularExpressions.Regex.Matches(releases, @"^(NAK\d{4}) \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToHashSet();
        var tested = Cases().Concat(MicroKernelGeneratorTests.DiagnosticCases()).Select(c => (string)c.Arguments[0]!).ToHashSet();
        Assert.That(listed, Is.Not.Empty);
        Assert.That(tested, Is.EquivalentTo(listed), "each documented id has a test and each tested id is documented");
    }
}

using Microsoft.CodeAnalysis;

namespace NativeAlign.Generators.Tests;

/// <summary>
/// Edits that cannot change a kernel's translation must leave every tracked step of the pipeline Cached or Unchanged
/// (no source re-emitted); a semantic edit must not (the control that shows the test can fail).
/// </summary>
[TestFixture]
public sealed class IncrementalityTests
{
    private const string Kernel = """
        using NativeAlign.Kernels;
        namespace Demo;
        public static partial class Ops
        {
            [Kernel(LocalSizeX = 64)]
            public static void Add(ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> c, int n)
            {
                int i = WorkItem.GlobalId(0);
                if (i < n)
                {
                    c[i] = a[i] + b[i];
                }
            }
        }
        """;

    private const string Unrelated = """
        namespace Demo;
        public static class Helpers
        {
            public static int Twice(int x) => 2 * x;
        }
        """;

    private static readonly string[] Steps = [KernelGenerator.TranslateStep, KernelGenerator.ModelStep, KernelGenerator.DiagnosticStep];

    [Test]
    public void CommentOnlyEdit_InsideTheKernel_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(Kernel, Kernel.Replace("int i = WorkItem.GlobalId(0);", "// one work-item per element\n        int i = WorkItem.GlobalId(0); /* trailing */", StringComparison.Ordinal), Unrelated, Unrelated);
        AssertAllCachedOrUnchanged(result);
    }

    [Test]
    public void UnrelatedFileEdit_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(Kernel, Kernel, Unrelated, Unrelated.Replace("2 * x", "x + x", StringComparison.Ordinal));
        AssertAllCachedOrUnchanged(result);
    }

    [Test]
    public void SemanticEdit_ModifiesTheModelAndTheOutput()
    {
        var result = RunTwice(Kernel, Kernel.Replace("a[i] + b[i]", "a[i] - b[i]", StringComparison.Ordinal), Unrelated, Unrelated);
        var reasons = result.TrackedSteps[KernelGenerator.ModelStep].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.That(reasons, Does.Contain(IncrementalStepRunReason.Modified));
        Assert.That(GeneratorHarness.OpenClSourceOf(result.GeneratedSources.Single()), Does.Contain("c[i] = a[i] - b[i];"));
    }

    private static GeneratorRunResult RunTwice(string kernelBefore, string kernelAfter, string otherBefore, string otherAfter)
    {
        var kernelTree = GeneratorHarness.Parse(kernelBefore, "Ops.cs");
        var otherTree = GeneratorHarness.Parse(otherBefore, "Helpers.cs");
        var compilation = GeneratorHarness.UserCompilation(kernelTree, otherTree);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.That(first.Diagnostics, Is.Empty);
        Assert.That(first.GeneratedSources, Has.Length.EqualTo(1));

        var edited = compilation
            .ReplaceSyntaxTree(kernelTree, GeneratorHarness.Parse(kernelAfter, "Ops.cs"))
            .ReplaceSyntaxTree(otherTree, GeneratorHarness.Parse(otherAfter, "Helpers.cs"));
        return driver.RunGenerators(edited).GetRunResult().Results.Single();
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result)
    {
        Assert.That(result.TrackedSteps.Keys, Is.SupersetOf(new[] { KernelGenerator.TranslateStep, KernelGenerator.ModelStep }), "steps carry their tracking names");
        foreach (string step in Steps.Where(result.TrackedSteps.ContainsKey))
        {
            foreach (var output in result.TrackedSteps[step].SelectMany(s => s.Outputs))
            {
                Assert.That(output.Reason, Is.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), $"step {step}");
            }
        }

        Assert.That(result.TrackedSteps[KernelGenerator.ModelStep].SelectMany(s => s.Outputs), Is.Not.Empty, "the model step ran on a kernel");
        foreach (var output in result.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs))
        {
            Assert.That(output.Reason, Is.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), "source output");
        }
    }
}

namespace NativeAlign.Generators.Tests;

/// <summary>A helper in another file than its kernel: editing only the helper must still change the kernel's OpenCL C.</summary>
[TestFixture]
public sealed class CrossFileHelperTests
{
    [Test]
    public void HelperEditInAnotherFile_RetranslatesTheKernel()
    {
        const string kernel = """
            using NativeAlign.Kernels;
            namespace Demo;
            public static partial class Ops
            {
                [Kernel] public static void Scale(GlobalBuffer<float> x) { int i = WorkItem.GlobalId(0); x[i] = Helpers.Twice(x[i]); }
            }
            """;
        const string helper = "namespace Demo; public static class Helpers { public static float Twice(float v) => v + v; }";
        var kernelTree = GeneratorHarness.Parse(kernel, "Ops.cs");
        var helperTree = GeneratorHarness.Parse(helper, "Helpers.cs");
        var compilation = GeneratorHarness.UserCompilation(kernelTree, helperTree);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        Assert.That(GeneratorHarness.OpenClSourceOf(driver.GetRunResult().Results.Single().GeneratedSources.Single()), Does.Contain("return v + v;"));

        var edited = compilation.ReplaceSyntaxTree(helperTree, GeneratorHarness.Parse(helper.Replace("v + v", "v * 2f", StringComparison.Ordinal), "Helpers.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.That(GeneratorHarness.OpenClSourceOf(result.GeneratedSources.Single()), Does.Contain("return v * 2.0f;"));
    }
}

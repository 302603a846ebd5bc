using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NativeAlign.Generators.Tests;

/// <summary>
/// The register-tile pipelines (<see cref="MicroKernelGenerator"/>): the emitted C# of a small GEMM tile and of attention
/// tiles against committed snapshots, emitted GEMM tiles of odd shapes compiled and run against a float64 product (the
/// attention tiles are run against float64 in NativeAlign.Tests' AttentionTileTests), one test per diagnostic id at its
/// span, the register budgets' boundaries, and incrementality.
/// </summary>
[TestFixture]
public sealed class MicroKernelGeneratorTests
{
    // The library's contract, restated so that the test checks the generated members implement it.
    private const string Interface = """
        namespace Demo;
        internal interface IGemmMicroKernel
        {
            static abstract int MR { get; }
            static abstract int NR { get; }
            static abstract unsafe void Multiply(float* pa, float* pb, int kc, float* c, nint ldc, bool accumulate);
        }
        """;

    private const string Tile2x16 = """
        using NativeAlign.Kernels;
        namespace Demo;

        /// <summary>A small AVX-512 tile.</summary>
        [GemmMicroKernel(Rows = 2, Columns = 16, VectorBits = 512)]
        internal readonly partial struct Tile2x16 : IGemmMicroKernel;
        """;

    // The library's attention contract, restated likewise.
    // The tiles call the engine's exp (NativeAlign.Backends.Cpu.SimdExp); its signatures stand in for the engine here.
    private const string AttentionInterface = """
        namespace Demo
        {
            internal interface IAttentionMicroKernel
            {
                static abstract int HeadSize { get; }
                static abstract int KeyBlock { get; }
                static abstract unsafe void AttendRow(float* q, float* k, float* v, nint stride, int length, float scale, float* scores, float* output);
            }
        }

        namespace NativeAlign.Backends.Cpu
        {
            using System.Runtime.Intrinsics;

            internal static class SimdExp
            {
                public const float LnFloatMin = -87.33654f;
                public static float Exp(float x, float floor = LnFloatMin) => x;
                public static Vector512<float> Exp(Vector512<float> x, Vector512<float> floor) => x;
                public static Vector256<float> Exp(Vector256<float> x, Vector256<float> floor) => x;
            }
        }
        """;

    private const string AttentionTile = """
        using NativeAlign.Kernels;
        namespace Demo;

        /// <summary>The MiniLM head size on AVX-512.</summary>
        [AttentionMicroKernel(HeadSize = 32, VectorBits = 512)]
        internal readonly partial struct Attention32 : IAttentionMicroKernel;
        """;

    private const string Unrelated = """
        namespace Demo;
        public static class Helpers
        {
            public static int Twice(int x) => 2 * x;
        }
        """;

    private static readonly string[] Steps =
    [
        MicroKernelGenerator.DescribeStep, MicroKernelGenerator.ModelStep, MicroKernelGenerator.DiagnosticStep,
        MicroKernelGenerator.AttentionDescribeStep, MicroKernelGenerator.AttentionModelStep, MicroKernelGenerator.AttentionDiagnosticStep,
    ];

    private static GeneratorDriver Driver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            [new MicroKernelGenerator().AsSourceGenerator()],
            parseOptions: (CSharpParseOptions)GeneratorHarness.Parse(string.Empty).Options,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    private static (GeneratorRunResult Result, Compilation Output) Run(params string[] sources)
    {
        var compilation = GeneratorHarness.UserCompilation(sources.Select((s, i) => GeneratorHarness.Parse(s, $"Source{i}.cs")).ToArray());
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult().Results.Single(), output);
    }

    [Test]
    public void Tile2x16At512Bits_EmittedCSharp_MatchesSnapshotExactly_AndCompiles()
    {
        var (result, output) = Run(Interface, Tile2x16);
        Assert.That(result.Diagnostics, Is.Empty);
        var generated = result.GeneratedSources.Single();
        Assert.That(generated.HintName, Is.EqualTo("Demo.Tile2x16.MicroKernel.g.cs"));
        Assert.That(generated.SourceText.ToString(), Is.EqualTo(GeneratorHarness.Snapshot("GemmTile2x16x512.g.cs.txt")));
        Assert.That(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning), Is.Empty, "the generated members implement the interface without warnings");
    }

    /// <summary>
    /// Odd shapes the production tiles do not cover (one row, one vector per row, three vectors per row, non-square
    /// scalar), compiled and run on packed panels of random values against a float64 product, both with and without
    /// accumulation into C, with C's leading dimension wider than the tile and sentinels around it.
    /// </summary>
    [TestCase(1, 16, 512, false)]
    [TestCase(3, 48, 512, false)]
    [TestCase(3, 48, 512, true)]
    [TestCase(5, 8, 256, false)]
    [TestCase(5, 8, 256, true)]
    [TestCase(2, 24, 256, false)]
    [TestCase(3, 2, 0, false)]
    public unsafe void GeneratedTile_ComputesThePackedProduct_AgainstFloat64(int rows, int columns, int bits, bool prefetchC)
    {
        string source = $$"""
            using NativeAlign.Kernels;
            namespace Demo;
            [GemmMicroKernel(Rows = {{rows}}, Columns = {{columns}}, VectorBits = {{bits}}, PrefetchC = {{(prefetchC ? "true" : "false")}})]
            public readonly partial struct Tile;
            """;
        var (result, output) = Run(source);
        Assert.That(result.Diagnostics, Is.Empty);

        // With PrefetchC, each row's first and last element (the ends of a possibly unaligned row) are prefetched; without, nothing is.
        string emittedText = result.GeneratedSources.Single().SourceText.ToString();
        for (int i = 0; i < rows; i++)
        {
            foreach (int column in new[] { 0, columns - 1 })
            {
                Assert.That(emittedText.Contains($"Sse.Prefetch0(c + ({i} * ldc) + {column});", StringComparison.Ordinal), Is.EqualTo(prefetchC), $"prefetch of C[{i},{column}]");
            }
        }
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.That(emitted.Success, Is.True, string.Join("\n", emitted.Diagnostics));

        var context = new AssemblyLoadContext("MicroKernelTile", isCollectible: true);
        try
        {
            image.Position = 0;
            var tile = context.LoadFromStream(image).GetType("Demo.Tile")!;
            Assert.That(tile.GetProperty("MR")!.GetValue(null), Is.EqualTo(rows));
            Assert.That(tile.GetProperty("NR")!.GetValue(null), Is.EqualTo(columns));
            var multiply = tile.GetMethod("Multiply")!;

            const int kc = 37;
            const int ldc = 67 + 5;
            var random = new Random(rows * 1000 + columns + bits);
            float[] a = Enumerable.Range(0, kc * rows).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            float[] b = Enumerable.Range(0, kc * columns).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            float[] initial = Enumerable.Range(0, (rows + 1) * ldc).Select(_ => (float)random.NextDouble()).ToArray();
            foreach (bool accumulate in new[] { false, true })
            {
                float[] c = (float[])initial.Clone();
                fixed (float* pa = a, pb = b, pc = c)
                {
                    multiply.Invoke(null, [Pointer.Box(pa, typeof(float*)), Pointer.Box(pb, typeof(float*)), kc, Pointer.Box(pc, typeof(float*)), (nint)ldc, accumulate]);
                }

                for (int i = 0; i <= rows; i++)
                {
                    for (int j = 0; j < ldc; j++)
                    {
                        int at = i * ldc + j;
                        if (i == rows || j >= columns)
                        {
                            Assert.That(c[at], Is.EqualTo(initial[at]), $"outside the tile at ({i},{j}): untouched");
                            continue;
                        }

                        // Packed layouts: A column-major in MR-row slivers, B row-major in NR-wide slivers.
                        double expected = accumulate ? initial[at] : 0.0;
                        for (int p = 0; p < kc; p++)
                        {
                            expected += (double)a[p * rows + i] * b[p * columns + j];
                        }

                        Assert.That(c[at], Is.EqualTo(expected).Within(1e-5), $"C[{i},{j}] accumulate={accumulate}");
                    }
                }
            }
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>The register budget's boundary, from the brief's formula: MR·NR/lanes + NR/lanes + 1 ≤ 32 (zmm), ≤ 16 (ymm); scalar MR·NR ≤ 16.</summary>
    [TestCase(14, 32, 512, false)] // 28 + 2 + 1 = 31
    [TestCase(15, 32, 512, true)] // 30 + 2 + 1 = 33
    [TestCase(30, 16, 512, false)] // 30 + 1 + 1 = 32
    [TestCase(31, 16, 512, true)] // 31 + 1 + 1 = 33
    [TestCase(7, 16, 256, true)] // 14 + 2 + 1 = 17
    [TestCase(6, 16, 256, false)] // 12 + 2 + 1 = 15
    [TestCase(4, 4, 0, false)] // 16
    [TestCase(17, 1, 0, true)] // 17
    [TestCase(int.MaxValue, 16, 512, true)] // must not overflow into a passing count
    [TestCase(65536, 65536, 0, true)]
    public void RegisterBudget_Boundary(int rows, int columns, int bits, bool exceeds)
    {
        string source = $$"""
            using NativeAlign.Kernels;
            namespace Demo;
            [GemmMicroKernel(Rows = {{rows}}, Columns = {{columns}}, VectorBits = {{bits}})]
            internal readonly partial struct Tile;
            """;
        var (result, _) = Run(source);
        Assert.That(result.Diagnostics.Any(d => d.Id == "NAK0021"), Is.EqualTo(exceeds), string.Join("; ", result.Diagnostics));
        Assert.That(result.GeneratedSources, exceeds ? Is.Empty : Has.Length.EqualTo(1));
    }

    /// <summary>The emitted attention tiles, vector and scalar, against committed snapshots; both compile against the contract.</summary>
    [TestCase(512, "AttentionTile32x512.g.cs.txt")]
    [TestCase(256, "AttentionTile32x256.g.cs.txt")]
    [TestCase(0, "AttentionTile32Scalar.g.cs.txt")]
    public void AttentionTile_EmittedCSharp_MatchesSnapshotExactly_AndCompiles(int bits, string snapshot)
    {
        var (result, output) = Run(AttentionInterface, AttentionTile.Replace("VectorBits = 512", "VectorBits = " + bits, StringComparison.Ordinal));
        Assert.That(result.Diagnostics, Is.Empty);
        var generated = result.GeneratedSources.Single();
        Assert.That(generated.HintName, Is.EqualTo("Demo.Attention32.AttentionMicroKernel.g.cs"));
        Assert.That(generated.SourceText.ToString(), Is.EqualTo(GeneratorHarness.Snapshot(snapshot)));
        Assert.That(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning), Is.Empty, "the generated members implement the interface without warnings");
    }

    /// <summary>
    /// The attention budget, from the description's formula: 2·HeadSize/lanes (query + accumulator) + 1 dot partial + 1
    /// broadcast ≤ 32 zmm or 16 ymm; a scalar tile streams the head from L1 and always fits.
    /// </summary>
    [TestCase(32, 512, false)] // 2 + 2 + 2 = 6
    [TestCase(64, 512, false)] // 4 + 4 + 2 = 10
    [TestCase(128, 512, false)] // 8 + 8 + 2 = 18
    [TestCase(32, 256, false)] // 4 + 4 + 2 = 10
    [TestCase(64, 256, true)] // 8 + 8 + 2 = 18 > 16
    [TestCase(128, 256, true)] // 16 + 16 + 2 = 34
    [TestCase(32, 0, false)]
    [TestCase(64, 0, false)]
    [TestCase(128, 0, false)]
    public void AttentionRegisterBudget_Boundary(int headSize, int bits, bool exceeds)
    {
        string source = $$"""
            using NativeAlign.Kernels;
            namespace Demo;
            [AttentionMicroKernel(HeadSize = {{headSize}}, VectorBits = {{bits}})]
            internal readonly partial struct Tile;
            """;
        var (result, _) = Run(source);
        Assert.That(result.Diagnostics.Any(d => d.Id == "NAK0024"), Is.EqualTo(exceeds), string.Join("; ", result.Diagnostics));
        Assert.That(result.Diagnostics.Where(d => d.Id != "NAK0024"), Is.Empty);
        Assert.That(result.GeneratedSources, exceeds ? Is.Empty : Has.Length.EqualTo(1));
    }

    internal static IEnumerable<TestCaseData> DiagnosticCases()
    {
        yield return Case("NAK0018", "not partial", "[GemmMicroKernel(Rows = 2, Columns = 16, VectorBits = 512)] internal struct [|Tile|] { }");
        yield return Case("NAK0018", "nested", "internal static partial class Outer { [GemmMicroKernel(Rows = 2, Columns = 16, VectorBits = 512)] internal partial struct [|Tile|] { } }");
        yield return Case("NAK0019", "unsupported width", "[[|GemmMicroKernel(Rows = 2, Columns = 16, VectorBits = 128)|]] internal partial struct Tile { }");
        yield return Case("NAK0019", "no rows", "[[|GemmMicroKernel(Columns = 16, VectorBits = 512)|]] internal partial struct Tile { }");
        yield return Case("NAK0020", "columns not lane multiple", "[[|GemmMicroKernel(Rows = 2, Columns = 12, VectorBits = 512)|]] internal partial struct Tile { }");
        yield return Case("NAK0020", "ymm columns not lane multiple", "[[|GemmMicroKernel(Rows = 2, Columns = 20, VectorBits = 256)|]] internal partial struct Tile { }");
        yield return Case("NAK0021", "zmm budget", "[[|GemmMicroKernel(Rows = 16, Columns = 32, VectorBits = 512)|]] internal partial struct Tile { }");
        yield return Case("NAK0021", "ymm budget", "[[|GemmMicroKernel(Rows = 8, Columns = 16, VectorBits = 256)|]] internal partial struct Tile { }");
        yield return Case("NAK0021", "scalar budget", "[[|GemmMicroKernel(Rows = 5, Columns = 4, VectorBits = 0)|]] internal partial struct Tile { }");
        yield return Case("NAK0018", "attention not partial", "[AttentionMicroKernel(HeadSize = 32, VectorBits = 512)] internal struct [|Tile|] { }");
        yield return Case("NAK0022", "head size 48", "[AttentionMicroKernel([|HeadSize = 48|], VectorBits = 512)] internal partial struct Tile { }");
        yield return Case("NAK0022", "head size 256", "[AttentionMicroKernel(VectorBits = 0, [|HeadSize = 256|])] internal partial struct Tile { }");
        yield return Case("NAK0022", "no head size", "[[|AttentionMicroKernel(VectorBits = 512)|]] internal partial struct Tile { }");
        yield return Case("NAK0023", "width 128", "[AttentionMicroKernel(HeadSize = 32, [|VectorBits = 128|])] internal partial struct Tile { }");
        yield return Case("NAK0023", "width 1024", "[AttentionMicroKernel(HeadSize = 128, [|VectorBits = 1024|])] internal partial struct Tile { }");
        yield return Case("NAK0024", "ymm d64", "[[|AttentionMicroKernel(HeadSize = 64, VectorBits = 256)|]] internal partial struct Tile { }");
        yield return Case("NAK0024", "ymm d128", "[[|AttentionMicroKernel(HeadSize = 128, VectorBits = 256)|]] internal partial struct Tile { }");
    }

    private static TestCaseData Case(string id, string what, string member) =>
        new TestCaseData(id, member).SetName($"MicroKernelDiagnostic_{id}_{what.Replace(' ', '_')}_ReportedAtSpan");

    [TestCaseSource(nameof(DiagnosticCases))]
    public void Diagnostic_IsReportedWithItsOwnIdAtTheOffendingSpan(string id, string member)
    {
        var (text, span) = GeneratorHarness.Marked("using NativeAlign.Kernels;\nnamespace Demo;\n" + member + "\n");
        var compilation = GeneratorHarness.UserCompilation(GeneratorHarness.Parse(text));
        var result = Driver().RunGenerators(compilation).GetRunResult().Results.Single();

        var ours = result.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.That(ours, Has.Count.EqualTo(1), $"expected one {id}; got: {string.Join("; ", result.Diagnostics)}");
        Assert.That(ours[0].Location.SourceSpan, Is.EqualTo(span), $"{id} points at '{text.Substring(ours[0].Location.SourceSpan.Start, ours[0].Location.SourceSpan.Length)}'");
        Assert.That(ours[0].Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(ours[0].GetMessage(), Does.StartWith("Micro-kernel 'Tile'"));
        Assert.That(result.Diagnostics.Where(d => d.Id != id), Is.Empty, "no other generator diagnostic");
        Assert.That(result.GeneratedSources, Is.Empty, "an invalid description emits no tile");
    }

    [Test]
    public void CommentOnlyEdit_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(Tile2x16, Tile2x16.Replace("[GemmMicroKernel(", "// two rows, one zmm per row\n[GemmMicroKernel(/* rows first */", StringComparison.Ordinal), Unrelated);
        AssertAllCachedOrUnchanged(result);
    }

    [Test]
    public void UnrelatedFileEdit_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(Tile2x16, Tile2x16, Unrelated.Replace("2 * x", "x + x", StringComparison.Ordinal));
        AssertAllCachedOrUnchanged(result);
    }

    [Test]
    public void DescriptionEdit_ModifiesTheModelAndTheOutput()
    {
        var result = RunTwice(Tile2x16, Tile2x16.Replace("Rows = 2", "Rows = 3", StringComparison.Ordinal), Unrelated);
        var reasons = result.TrackedSteps[MicroKernelGenerator.ModelStep].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.That(reasons, Does.Contain(IncrementalStepRunReason.Modified));
        Assert.That(result.GeneratedSources.Single().SourceText.ToString(), Does.Contain("public static int MR => 3;"));
    }

    [Test]
    public void AttentionCommentOnlyEdit_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(AttentionTile, AttentionTile.Replace("[AttentionMicroKernel(", "// q and o in zmm\n[AttentionMicroKernel(/* head first */", StringComparison.Ordinal), Unrelated, MicroKernelGenerator.AttentionModelStep);
        AssertAllCachedOrUnchanged(result, MicroKernelGenerator.AttentionModelStep);
    }

    [Test]
    public void AttentionUnrelatedFileEdit_LeavesEveryStepCachedOrUnchanged()
    {
        var result = RunTwice(AttentionTile, AttentionTile, Unrelated.Replace("2 * x", "x + x", StringComparison.Ordinal), MicroKernelGenerator.AttentionModelStep);
        AssertAllCachedOrUnchanged(result, MicroKernelGenerator.AttentionModelStep);
    }

    [Test]
    public void AttentionDescriptionEdit_ModifiesTheModelAndTheOutput()
    {
        var result = RunTwice(AttentionTile, AttentionTile.Replace("HeadSize = 32", "HeadSize = 64", StringComparison.Ordinal), Unrelated, MicroKernelGenerator.AttentionModelStep);
        var reasons = result.TrackedSteps[MicroKernelGenerator.AttentionModelStep].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.That(reasons, Does.Contain(IncrementalStepRunReason.Modified));
        Assert.That(result.GeneratedSources.Single().SourceText.ToString(), Does.Contain("public static int HeadSize => 64;"));
    }

    private static GeneratorRunResult RunTwice(string tileBefore, string tileAfter, string otherAfter, string modelStep = MicroKernelGenerator.ModelStep)
    {
        var interfaceTree = GeneratorHarness.Parse(modelStep == MicroKernelGenerator.ModelStep ? Interface : AttentionInterface, "IMicroKernel.cs");
        var tileTree = GeneratorHarness.Parse(tileBefore, "Tile.cs");
        var otherTree = GeneratorHarness.Parse(Unrelated, "Helpers.cs");
        var compilation = GeneratorHarness.UserCompilation(interfaceTree, tileTree, otherTree);
        var driver = Driver(trackSteps: true).RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.That(first.Diagnostics, Is.Empty);
        Assert.That(first.GeneratedSources, Has.Length.EqualTo(1));

        var edited = compilation
            .ReplaceSyntaxTree(tileTree, GeneratorHarness.Parse(tileAfter, "Tile.cs"))
            .ReplaceSyntaxTree(otherTree, GeneratorHarness.Parse(otherAfter, "Helpers.cs"));
        return driver.RunGenerators(edited).GetRunResult().Results.Single();
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result, string modelStep = MicroKernelGenerator.ModelStep)
    {
        string describeStep = modelStep == MicroKernelGenerator.ModelStep ? MicroKernelGenerator.DescribeStep : MicroKernelGenerator.AttentionDescribeStep;
        Assert.That(result.TrackedSteps.Keys, Is.SupersetOf(new[] { describeStep, modelStep }), "steps carry their tracking names");
        foreach (string step in Steps.Where(result.TrackedSteps.ContainsKey))
        {
            foreach (var output in result.TrackedSteps[step].SelectMany(s => s.Outputs))
            {
                Assert.That(output.Reason, Is.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), $"step {step}");
            }
        }

        Assert.That(result.TrackedSteps[modelStep].SelectMany(s => s.Outputs), Is.Not.Empty, "the model step ran on a tile");
        foreach (var output in result.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs))
        {
            Assert.That(output.Reason, Is.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), "source output");
        }
    }
}

using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace NativeAlign.Generators.Tests;

/// <summary>Builds compilations and runs <see cref="KernelGenerator"/> through <see cref="CSharpGeneratorDriver"/> directly.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    private static readonly Lazy<ImmutableArray<MetadataReference>> PlatformReferences = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray());

    /// <summary>The implicit usings of the kernels project (ImplicitUsings=enable).</summary>
    public const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>The kernels project's sources as the build sees them (copied next to the test assembly).</summary>
    public static IReadOnlyList<SyntaxTree> KernelProjectTrees()
    {
        string root = Path.Combine(AppContext.BaseDirectory, "KernelSources");
        var trees = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => Parse(File.ReadAllText(path), path))
            .ToList();
        trees.Add(Parse(ImplicitUsings, "GlobalUsings.cs"));
        return trees;
    }

    /// <summary>A user compilation that references the real NativeAlign.Kernels assembly.</summary>
    public static CSharpCompilation UserCompilation(params SyntaxTree[] trees) =>
        Compilation(trees, [MetadataReference.CreateFromFile(typeof(NativeAlign.Kernels.KernelAttribute).Assembly.Location)]);

    public static CSharpCompilation Compilation(IEnumerable<SyntaxTree> trees, IEnumerable<MetadataReference> extra) =>
        CSharpCompilation.Create(
            "KernelTests",
            trees.Append(Parse(ImplicitUsings, "GlobalUsings.cs")).DistinctBy(t => t.FilePath),
            PlatformReferences.Value.AddRange(extra),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    public static SyntaxTree Parse(string text, string path = "Kernel.cs") => CSharpSyntaxTree.ParseText(SourceText.From(text), ParseOptions, path);

    public static GeneratorDriver Driver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            [new KernelGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once; returns its result and the compiler's diagnostics for the output compilation.</summary>
    public static (GeneratorRunResult Result, ImmutableArray<Diagnostic> CompilerDiagnostics) Run(Compilation compilation)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult().Results.Single(), output.GetDiagnostics());
    }

    /// <summary>The OpenCL C text a generated descriptor holds in its <c>OpenClSource</c> property.</summary>
    public static string OpenClSourceOf(GeneratedSourceResult generated)
    {
        var property = generated.SyntaxTree.GetRoot().DescendantNodes().OfType<PropertyDeclarationSyntax>()
            .Single(p => p.Identifier.Text == "OpenClSource");
        var literal = (LiteralExpressionSyntax)property.ExpressionBody!.Expression;
        return literal.Token.ValueText;
    }

    /// <summary>Reads a committed snapshot, normalising line endings a checkout may have changed.</summary>
    public static string Snapshot(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Snapshots", name)).Replace("\r\n", "\n", StringComparison.Ordinal);

    /// <summary>
    /// Removes the markers <c>[|</c> and <c>|]</c> from <paramref name="marked"/> and returns the text with the span they enclosed,
    /// so a test can say where a diagnostic must point.
    /// </summary>
    public static (string Text, TextSpan Span) Marked(string marked)
    {
        int start = marked.IndexOf("[|", StringComparison.Ordinal);
        int end = marked.IndexOf("|]", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0).And.LessThan(end), "test source needs one [| ... |] marker");
        string text = marked.Remove(end, 2).Remove(start, 2);
        return (text, TextSpan.FromBounds(start, end - 2));
    }
}

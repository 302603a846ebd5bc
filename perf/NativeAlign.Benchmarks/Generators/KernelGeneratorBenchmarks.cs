using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NativeAlign.Generators;

namespace NativeAlign.Benchmarks.Generators;

/// <summary>
/// Time the kernel generator adds to a build of kernels/NativeAlign.Kernels: a full run on a fresh compilation (what a
/// command-line build pays, binding of the kernel bodies included) and an incremental run after a comment-only edit
/// (what an IDE pays per keystroke). Run: <c>dotnet run -c Release --project perf/NativeAlign.Benchmarks -- --filter '*KernelGenerator*'</c>.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class KernelGeneratorBenchmarks
{
    private CSharpCompilation _compilation = null!;
    private CSharpCompilation _edited = null!;
    private GeneratorDriver _warmDriver = null!;
    private int _fresh;

    [GlobalSetup]
    public void Setup()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "NativeAlign.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("run from inside the repository");
        }

        string kernels = Path.Combine(root, "kernels", "NativeAlign.Kernels");
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = Directory.GetFiles(kernels, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(p => CSharpSyntaxTree.ParseText(File.ReadAllText(p), parse, p))
            .Append(CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.Linq; global using System.Threading;", parse, "GlobalUsings.cs"))
            .ToList();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p));
        _compilation = CSharpCompilation.Create("NativeAlign.Kernels", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));

        var rows = trees.First(t => t.FilePath.EndsWith("RowKernels.cs", StringComparison.Ordinal));
        _edited = _compilation.ReplaceSyntaxTree(rows, CSharpSyntaxTree.ParseText(rows.GetText().ToString().Replace(
            "int lane = WorkItem.LocalId(0);", "int lane = WorkItem.LocalId(0); // edited", StringComparison.Ordinal), parse, rows.FilePath));
        _warmDriver = NewDriver().RunGenerators(_compilation);
        if (_warmDriver.GetRunResult().GeneratedTrees.Length == 0)
        {
            throw new InvalidOperationException("the generator produced nothing; the setup is wrong");
        }
    }

    /// <summary>A fresh compilation (no bound trees cached) and a fresh driver: one command-line build.</summary>
    [Benchmark]
    public int FullRun() =>
        NewDriver().RunGenerators(_compilation.WithAssemblyName("K" + _fresh++)).GetRunResult().GeneratedTrees.Length;

    /// <summary>The warm driver after a comment-only edit in one kernel file.</summary>
    [Benchmark]
    public int CommentEdit() => _warmDriver.RunGenerators(_edited).GetRunResult().GeneratedTrees.Length;

    private static GeneratorDriver NewDriver() =>
        CSharpGeneratorDriver.Create([new KernelGenerator().AsSourceGenerator()], parseOptions: new CSharpParseOptions(LanguageVersion.Preview));
}

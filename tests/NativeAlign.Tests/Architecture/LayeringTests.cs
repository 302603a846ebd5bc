using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Architecture;

/// <summary>
/// The engine's folders form a DAG, one per step of the data flow, and no folder uses a higher one. Checked on the
/// library's source with the compiler's semantic model (every name that binds to a NativeAlign symbol), so an upward
/// reference is caught however it is written: a <c>using</c>, a fully or partly qualified name, a <c>using static</c>
/// or an alias.
/// </summary>
[TestFixture]
public sealed class LayeringTests
{
    /// <summary>
    /// Layer of each top-level namespace under <c>NativeAlign</c> (the root namespace holds the exception types). IO sits
    /// right above Tensors because backends write their program caches atomically through it and it needs nothing of
    /// theirs; Tokenizers need neither backends nor models.
    /// </summary>
    private static readonly Dictionary<string, int> Layers = new(StringComparer.Ordinal)
    {
        [""] = 0,
        ["Tensors"] = 0,
        ["IO"] = 1,
        ["Backends"] = 2,
        ["Tokenizers"] = 2,
        ["Models"] = 3,
        ["Platform"] = 3,
        ["Training"] = 4,
        ["Alignment"] = 4,
        ["Serving"] = 5,
    };

    private static readonly Lazy<CSharpCompilation> Library = new(() => Compile(LibraryTrees()));

    [Test]
    public void NoFolderOfTheLibraryUsesAHigherOne()
    {
        var violations = Violations(Library.Value);
        Assert.That(violations, Is.Empty, "upward references:\n" + string.Join("\n", violations));
    }

    [Test]
    public void EveryFileDeclaresTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (var tree in Library.Value.SyntaxTrees)
        {
            string expected = "NativeAlign" + string.Concat(FolderOf(tree).Split('/', StringSplitOptions.RemoveEmptyEntries).Select(s => "." + s));
            foreach (var ns in tree.GetRoot().DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>())
            {
                if (ns.Name.ToString() != expected)
                {
                    wrong.Add($"{Relative(tree)}: namespace {ns.Name}, expected {expected}");
                }
            }
        }

        Assert.That(wrong, Is.Empty, string.Join("\n", wrong));
    }

    [TestCase("using NativeAlign.Models;\n", "Backends/HostBackend.cs")]
    [TestCase("using static NativeAlign.Alignment.Sentences.TopKSearch;\n", "IO/SpillFile.cs")]
    [TestCase("using Cfg = NativeAlign.Models.EncoderConfig;\n", "Tensors/HostMatrix.cs")]
    public void APlantedUpwardReferenceIsFound(string planted, string file)
    {
        var trees = LibraryTrees().Select(t => Relative(t) == "src/NativeAlign/" + file
            ? CSharpSyntaxTree.ParseText(planted + t.GetText(), (CSharpParseOptions)t.Options, t.FilePath)
            : t);
        var violations = Violations(Compile(trees), "src/NativeAlign/" + file);
        Assert.That(violations, Has.Some.Contains(file), "the planted reference was not reported");
    }

    [Test]
    public void APlantedQualifiedNameIsFound()
    {
        // No using at all: a partly qualified name inside namespace NativeAlign.IO binds to NativeAlign.Models.
        const string file = "src/NativeAlign/IO/FileRange.cs";
        var trees = LibraryTrees().Select(t => Relative(t) == file
            ? CSharpSyntaxTree.ParseText(t.GetText() + "\nnamespace NativeAlign.IO { internal static class Planted { internal static int Layers(Models.EncoderConfig c) => c.LayerCount; } }\n", (CSharpParseOptions)t.Options, t.FilePath)
            : t);
        Assert.That(Violations(Compile(trees), file), Has.Some.Contains("FileRange.cs"));
    }

    /// <summary>Every upward reference in the compilation's files (or only in <paramref name="onlyFile"/>, repository-relative).</summary>
    private static List<string> Violations(CSharpCompilation compilation, string? onlyFile = null)
    {
        var found = new List<string>();
        foreach (var tree in compilation.SyntaxTrees.Where(t => onlyFile is null || Relative(t) == onlyFile))
        {
            int own = LayerOfFolder(tree);
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(name);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                var ns = symbol is INamespaceSymbol n ? n : symbol?.ContainingNamespace;
                if (ns is null || LayerOfNamespace(ns.ToDisplayString()) is not int target || target <= own)
                {
                    continue;
                }

                int line = name.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                found.Add($"{Relative(tree)}:{line} ({FolderOf(tree)}, layer {own}) uses {ns.ToDisplayString()} (layer {target})");
            }
        }

        return found.Distinct().ToList();
    }

    private static int LayerOfFolder(SyntaxTree tree)
    {
        string top = FolderOf(tree).Split('/')[0];
        return Layers.TryGetValue(top, out int layer) ? layer : throw new AssertionException($"{Relative(tree)}: folder '{top}' has no layer; add it to {nameof(LayeringTests)}.{nameof(Layers)}");
    }

    private static int? LayerOfNamespace(string ns)
    {
        if (ns != "NativeAlign" && !ns.StartsWith("NativeAlign.", StringComparison.Ordinal))
        {
            return null;
        }

        string top = ns == "NativeAlign" ? "" : ns["NativeAlign.".Length..].Split('.')[0];
        // NativeAlign.Kernels is the separate kernels assembly, below everything here.
        return Layers.TryGetValue(top, out int layer) ? layer : null;
    }

    private static string Root => Path.Combine(LoadingTestSupport.RepoRoot, "src", "NativeAlign");

    private static string Relative(SyntaxTree tree) => Path.GetRelativePath(LoadingTestSupport.RepoRoot, tree.FilePath).Replace('\\', '/');

    private static string FolderOf(SyntaxTree tree) => (Path.GetDirectoryName(Path.GetRelativePath(Root, tree.FilePath)) ?? "").Replace('\\', '/');

    private static IEnumerable<SyntaxTree> LibraryTrees()
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        string[] skip = [Path.Combine(Root, "bin") + Path.DirectorySeparatorChar, Path.Combine(Root, "obj") + Path.DirectorySeparatorChar];
        return Directory.EnumerateFiles(Root, "*.cs", SearchOption.AllDirectories)
            .Where(p => !skip.Any(s => p.StartsWith(s, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .Select(p => CSharpSyntaxTree.ParseText(File.ReadAllText(p), options, p))
            .ToList();
    }

    private static CSharpCompilation Compile(IEnumerable<SyntaxTree> trees)
    {
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll" or "Microsoft.Win32.Primitives.dll")
            .Append(typeof(NativeAlign.Kernels.KernelAttribute).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
        var all = trees.Append(CSharpSyntaxTree.ParseText(implicitUsings, new CSharpParseOptions(LanguageVersion.Preview), Path.Combine(Root, "GlobalUsings.g.cs")));
        return CSharpCompilation.Create("LayeringCheck", all, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    }
}

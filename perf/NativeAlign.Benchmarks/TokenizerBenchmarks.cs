using BenchmarkDotNet.Attributes;
using NativeAlign.Tokenizers;

namespace NativeAlign.Benchmarks;

/// <summary>
/// Single-thread tokenization of every line of ../shared/data/tatoeba (all files) with the default model's
/// tokenizer.json; the peer is perf/peers/bench-tokenize.mjs on the same lines. Run:
/// <c>dotnet run -c Release --project perf/NativeAlign.Benchmarks -- --filter '*Tokenizer*'</c>.
/// </summary>
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[MemoryDiagnoser]
[MedianColumn]
public class TokenizerBenchmarks
{
    private Tokenizer _tokenizer = null!;
    private string[] _lines = [];

    [GlobalSetup]
    public void Setup()
    {
        var root = FindRoot();
        _tokenizer = TokenizerLoader.FromModelFolder(Path.Combine(root, "models", "all-MiniLM-L6-v2"));
        var dir = Path.Combine(root, "..", "shared", "data", "tatoeba");
        _lines = Directory.GetFiles(dir, "tatoeba.*").Order(StringComparer.Ordinal)
            .SelectMany(f => File.ReadAllText(f).Split('\n').Where(l => l.Length > 0).Select(l => l.TrimEnd('\r')))
            .ToArray();
    }

    /// <summary>All Tatoeba lines, one thread, the model's truncation (128).</summary>
    [Benchmark]
    public int EncodeAllLinesSingleThread()
    {
        var total = 0;
        foreach (var line in _lines)
        {
            total += _tokenizer.Encode(line).Count;
        }

        return total;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NativeAlign.sln not found above " + AppContext.BaseDirectory);
    }
}

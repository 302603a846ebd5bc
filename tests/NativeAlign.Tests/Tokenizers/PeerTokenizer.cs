using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>One line as the peer tokenized it.</summary>
internal sealed record PeerEncoding(int[] Ids, string[] Tokens, string[] Words, int[]? TypeIds);

/// <summary>Locates the repository, the shared data and the peers; runs the peer tokenizer script.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>
    /// The public evaluation data (Tatoeba, word-alignment gold): <c>NATIVEALIGN_DATA</c> when set (scripts/test.sh sets
    /// it), else <c>shared/data</c> beside the repository, where the project's workspace keeps it.
    /// </summary>
    public static string SharedData =>
        Environment.GetEnvironmentVariable("NATIVEALIGN_DATA") is { Length: > 0 } data
            ? Path.GetFullPath(data)
            : Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));

    public static string DefaultModel => Path.Combine(RepositoryRoot, "models", "all-MiniLM-L6-v2");

    public static string Fixtures => Path.Combine(RepositoryRoot, "tests", "NativeAlign.Tests", "Tokenizers", "fixtures");

    public static string PeersDir => Path.Combine(RepositoryRoot, "perf", "peers");

    /// <summary>The default model's tokenizer.json; fails (setup is incomplete) when it is absent.</summary>
    public static string DefaultTokenizerJson()
    {
        var path = Path.Combine(DefaultModel, "tokenizer.json");
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} is missing: run scripts/setup.sh (it fetches the default model)");
        }

        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NativeAlign.sln not found above the test directory");
    }
}

internal static class PeerTokenizer
{
    /// <summary>Runs perf/peers/tokenize.mjs on <paramref name="input"/>; ignores the test only when node itself is absent.</summary>
    public static List<PeerEncoding> Run(string tokenizerJson, string input, bool jsonStrings, bool pairs = false)
    {
        var node = FindOnPath("node");
        if (node is null)
        {
            Assert.Ignore("node is not installed: the @huggingface/tokenizers peer cannot run");
        }

        if (!Directory.Exists(Path.Combine(TestPaths.PeersDir, "node_modules", "@huggingface", "tokenizers")))
        {
            Assert.Fail("perf/peers/node_modules/@huggingface/tokenizers is missing: run scripts/setup.sh");
        }

        var psi = new ProcessStartInfo(node!)
        {
            WorkingDirectory = TestPaths.PeersDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(TestPaths.PeersDir, "tokenize.mjs"));
        psi.ArgumentList.Add(tokenizerJson);
        psi.ArgumentList.Add(input);
        if (pairs)
        {
            psi.ArgumentList.Add("--pairs");
        }
        else if (jsonStrings)
        {
            psi.ArgumentList.Add("--strings");
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<PeerEncoding>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(Parse(line));
        }

        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(0), () => "peer failed: " + stderr.Result);
        return lines;
    }

    private static PeerEncoding Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        return new PeerEncoding(
            root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            root.GetProperty("tokens").EnumerateArray().Select(e => JsonText.Unescape(e.GetRawText())).ToArray(),
            root.GetProperty("words").EnumerateArray().Select(e => JsonText.Unescape(e.GetRawText())).ToArray(),
            root.TryGetProperty("type_ids", out var types) && types.ValueKind == JsonValueKind.Array ? types.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}

/// <summary>Decodes JSON string literals keeping lone surrogates (System.Text.Json refuses them, JavaScript writes them).</summary>
internal static class JsonText
{
    public static string Unescape(string literal)
    {
        var sb = new StringBuilder(literal.Length);
        for (var i = 1; i < literal.Length - 1; i++)
        {
            var c = literal[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            c = literal[++i];
            switch (c)
            {
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'u':
                    sb.Append((char)int.Parse(literal.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    /// <summary>A JSON string literal with every non-ASCII unit escaped, so that lone surrogates survive.</summary>
    public static string Quote(string s)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c < 0x20 || c >= 0x7F)
            {
                sb.Append($"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Reads a file whose lines are JSON strings.</summary>
    public static List<string> ReadStrings(string path) =>
        File.ReadAllText(path, Encoding.UTF8).Split('\n').Where(l => l.Length > 0).Select(Unescape).ToList();

    /// <summary>Reads a text file as the peer script does: '\n'-separated lines, a trailing '\r' dropped.</summary>
    public static List<string> ReadLines(string path)
    {
        var lines = File.ReadAllText(path, new UTF8Encoding(false)).Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines.Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
    }
}

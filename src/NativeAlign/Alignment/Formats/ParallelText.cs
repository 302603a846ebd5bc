using System.Text;

namespace NativeAlign.Alignment.Formats;

/// <summary>A parallel corpus: line i of <see cref="Source"/> translates line i of <see cref="Target"/>.</summary>
/// <param name="Source">Source lines.</param>
/// <param name="Target">Target lines.</param>
public sealed record ParallelText(IReadOnlyList<string> Source, IReadOnlyList<string> Target)
{
    /// <summary>Separator of the one-file form.</summary>
    public const string Separator = "|||";

    /// <summary>
    /// Reads two line-aligned files. Their line counts are compared before anything is returned, so a mismatch is
    /// reported before any work starts.
    /// </summary>
    public static ParallelText ReadPair(string sourcePath, string targetPath) => FromPair(ReadAll(sourcePath), ReadAll(targetPath), sourcePath, targetPath);

    /// <summary>Two line-aligned lists of lines, read already; <paramref name="sourceName"/> and <paramref name="targetName"/> name them in errors.</summary>
    public static ParallelText FromPair(IReadOnlyList<string> source, IReadOnlyList<string> target, string sourceName, string targetName)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (source.Count != target.Count)
        {
            throw new InputFormatException(targetName, null, $"has {target.Count} lines but the source file {sourceName} has {source.Count}; parallel files must have the same number of lines");
        }

        return new ParallelText(source, target);
    }

    /// <summary>Reads <c>source ||| target</c> lines; a line without exactly one separator is an error naming the line.</summary>
    public static ParallelText ReadJoined(string path) => FromJoined(ReadAll(path), path);

    /// <summary><c>source ||| target</c> lines read already; <paramref name="name"/> names them in errors.</summary>
    public static ParallelText FromJoined(IReadOnlyList<string> lines, string? name)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var src = new List<string>(lines.Count);
        var tgt = new List<string>(lines.Count);
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            int at = line.IndexOf(Separator, StringComparison.Ordinal);
            if (at < 0 || line.IndexOf(Separator, at + Separator.Length, StringComparison.Ordinal) >= 0)
            {
                throw new InputFormatException(name, i + 1, $"expected 'source {Separator} target' with exactly one '{Separator}'");
            }

            src.Add(line[..at].Trim());
            tgt.Add(line[(at + Separator.Length)..].Trim());
        }

        return new ParallelText(src, tgt);
    }

    /// <summary>Number of whitespace-separated words of each source line.</summary>
    public IReadOnlyList<int> SourceWordCounts => [.. Source.Select(WordCount)];

    /// <summary>Number of whitespace-separated words of each target line.</summary>
    public IReadOnlyList<int> TargetWordCounts => [.. Target.Select(WordCount)];

    /// <summary>Whitespace words of a line, the unit every alignment position refers to.</summary>
    public static int WordCount(string line) => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    private static List<string> ReadAll(string path)
    {
        if (Directory.Exists(path))
        {
            throw new InputFormatException(path, null, "is a directory; expected a file");
        }

        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "file not found");
        }

        try
        {
            var lines = new List<string>();
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            while (reader.ReadLine() is { } line)
            {
                lines.Add(line);
            }

            return lines;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }
}

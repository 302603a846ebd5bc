using System.Globalization;
using System.Text;
using NativeAlign.Alignment.Words;
using NativeAlign.IO;

namespace NativeAlign.Alignment.Formats;

/// <summary>
/// Pharaoh alignment files: one line per sentence pair, whitespace-separated links <c>i-j</c> (sure), <c>i?j</c> or
/// <c>ipj</c> (possible), 0-indexed unless read with <c>oneIndexed</c> (the En-Fr and Ro-En gold standards count from
/// 1). A link may carry a score as <c>i-j:0.8125</c>, as written by <see cref="FormatLine"/> with scores on.
/// </summary>
public static class PharaohFormat
{
    /// <summary>Largest word position accepted; longer "sentences" are malformed input, not text.</summary>
    public const int MaxPosition = 1 << 20;

    /// <summary>Reads every line of <paramref name="path"/>.</summary>
    /// <exception cref="InputFormatException">The file is missing or a link is malformed (file and line named).</exception>
    public static List<SentenceAlignment> Read(string path, bool oneIndexed = false)
    {
        var result = new List<SentenceAlignment>();
        long lineNo = 0;
        foreach (var line in ReadLines(path))
        {
            lineNo++;
            result.Add(ParseLine(line, oneIndexed, path, lineNo));
        }

        return result;
    }

    internal static IEnumerable<string> ReadLines(string path)
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
            return File.ReadLines(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Parses one line; <paramref name="path"/> and <paramref name="lineNo"/> only name the place in errors.</summary>
    public static SentenceAlignment ParseLine(string line, bool oneIndexed, string? path = null, long? lineNo = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        var links = new List<AlignmentLink>();
        foreach (var word in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var token = word.AsSpan();

            float? score = null;
            int colon = token.IndexOf(':');
            if (colon >= 0)
            {
                if (!float.TryParse(token[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || !float.IsFinite(s))
                {
                    throw new InputFormatException(path, lineNo, $"link '{token}': the score after ':' is not a number");
                }

                score = s;
                token = token[..colon];
            }

            int sep = token.IndexOfAny('-', '?', 'p');
            if (sep <= 0 || sep == token.Length - 1)
            {
                throw new InputFormatException(path, lineNo, $"link '{token}' is not i-j, i?j or ipj");
            }

            bool sure = token[sep] == '-';
            if (!int.TryParse(token[..sep], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                || !int.TryParse(token[(sep + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int j))
            {
                throw new InputFormatException(path, lineNo, $"link '{token}' does not hold two non-negative integers");
            }

            if (oneIndexed)
            {
                if (i == 0 || j == 0)
                {
                    throw new InputFormatException(path, lineNo, $"link '{token}' has position 0 but the file is read as 1-indexed");
                }

                i--;
                j--;
            }

            if (i >= MaxPosition || j >= MaxPosition)
            {
                throw new InputFormatException(path, lineNo, $"link '{token}' has a position beyond {MaxPosition}");
            }

            links.Add(new AlignmentLink(i, j, sure, score));
        }

        return new SentenceAlignment(links);
    }

    /// <summary>Formats one sentence's links as a Pharaoh line (0-indexed <c>i-j</c>, sorted), with <c>:score</c> when asked.</summary>
    public static string FormatLine(IEnumerable<WordLink> links, bool scores = false)
    {
        ArgumentNullException.ThrowIfNull(links);
        var sb = new StringBuilder();
        foreach (var l in links.OrderBy(l => l.Source).ThenBy(l => l.Target))
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(CultureInfo.InvariantCulture, $"{l.Source}-{l.Target}");
            if (scores)
            {
                sb.Append(CultureInfo.InvariantCulture, $":{l.Score:0.####}");
            }
        }

        return sb.ToString();
    }

    /// <summary>Writes one line per sentence to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Write(string path, IEnumerable<IEnumerable<WordLink>> sentences, bool scores = false)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        using var file = AtomicFile.Create(path);
        Write(file.Stream, sentences, scores);
        file.Commit();
    }

    /// <summary>Writes one line per sentence to <paramref name="stream"/> as UTF-8, '\n' line ends; the stream stays open.</summary>
    public static void Write(Stream stream, IEnumerable<IEnumerable<WordLink>> sentences, bool scores = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sentences);
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        w.NewLine = "\n";
        foreach (var s in sentences)
        {
            w.WriteLine(FormatLine(s, scores));
        }
    }

    /// <summary>
    /// Checks every link against the sentence lengths; all offending lines are reported in one error (file, line, link
    /// and the sentence's word counts).
    /// </summary>
    public static void CheckRanges(IReadOnlyList<SentenceAlignment> alignments, IReadOnlyList<int> srcWords, IReadOnlyList<int> tgtWords, string? path)
    {
        ArgumentNullException.ThrowIfNull(alignments);
        var problems = new List<string>();
        for (int s = 0; s < alignments.Count && s < srcWords.Count; s++)
        {
            foreach (var l in alignments[s].Links)
            {
                if (l.Source >= srcWords[s] || l.Target >= tgtWords[s])
                {
                    problems.Add($"line {s + 1}: link {l.Source}-{l.Target} (0-based) is outside the sentence pair of {srcWords[s]}×{tgtWords[s]} words");
                    break;
                }
            }
        }

        if (problems.Count > 0)
        {
            var shown = string.Join("; ", problems.Take(20));
            throw new InputFormatException(path, null, $"{problems.Count} line(s) with links out of range: {shown}{(problems.Count > 20 ? "; …" : string.Empty)}");
        }
    }
}

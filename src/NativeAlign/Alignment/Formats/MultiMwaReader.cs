using System.Globalization;

namespace NativeAlign.Alignment.Formats;

/// <summary>One sentence pair of a MultiMWA TSV file.</summary>
/// <param name="Id">The pair's id (column 1).</param>
/// <param name="Source">Source sentence (column 2), words separated by spaces.</param>
/// <param name="Target">Target sentence (column 4).</param>
/// <param name="Gold">Sure links (column 8) and possible links (column 9), 0-indexed.</param>
public sealed record MultiMwaPair(string Id, string Source, string Target, SentenceAlignment Gold);

/// <summary>
/// Reads MultiMWA gold (Lan et al. 2021, as distributed with OTAlign): tab-separated id, source, N/A, target, N/A,
/// two flags, sure links (<c>i-j</c>, 0-indexed) and possible links (same form, may be empty or absent).
/// </summary>
public static class MultiMwaReader
{
    /// <summary>Reads and validates every line: at least 8 columns, links well formed and inside both sentences.</summary>
    public static List<MultiMwaPair> Read(string path)
    {
        var result = new List<MultiMwaPair>();
        long lineNo = 0;
        foreach (var line in PharaohFormat.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }

            var cols = line.Split('\t');
            if (cols.Length < 8)
            {
                throw new InputFormatException(path, lineNo, $"expected at least 8 tab-separated columns (id, source, -, target, -, -, -, sure links), got {cols.Length}");
            }

            var sure = PharaohFormat.ParseLine(cols[7], oneIndexed: false, path, lineNo);
            var links = sure.Links.Select(l => l with { Sure = true }).ToList();
            if (cols.Length > 8)
            {
                var possible = PharaohFormat.ParseLine(cols[8], oneIndexed: false, path, lineNo);
                links.AddRange(possible.Links.Select(l => l with { Sure = false }));
            }

            int n = Count(cols[1]), m = Count(cols[3]);
            foreach (var l in links)
            {
                if (l.Source >= n || l.Target >= m)
                {
                    throw new InputFormatException(path, lineNo, string.Create(CultureInfo.InvariantCulture, $"link {l.Source}-{l.Target} is outside the sentence pair of {n}×{m} words"));
                }
            }

            result.Add(new MultiMwaPair(cols[0], cols[1], cols[3], new SentenceAlignment(links)));
        }

        return result;
    }

    private static int Count(string sentence) => sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
}

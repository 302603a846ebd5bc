namespace NativeAlign.Alignment.Formats;

/// <summary>A bilingual dictionary file: one <c>source&lt;TAB&gt;target</c> pair per line (MUSE style); blank lines are skipped.</summary>
public static class TsvDictionary
{
    /// <summary>Reads the pairs in file order (a source word may have several translations).</summary>
    public static List<(string Source, string Target)> Read(string path)
    {
        var pairs = new List<(string, string)>();
        long lineNo = 0;
        foreach (var line in PharaohFormat.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var cols = line.Split('\t');
            if (cols.Length != 2 || cols[0].Trim().Length == 0 || cols[1].Trim().Length == 0)
            {
                throw new InputFormatException(path, lineNo, $"expected 'source<TAB>target', got {cols.Length} tab-separated field(s)");
            }

            pairs.Add((cols[0].Trim(), cols[1].Trim()));
        }

        return pairs;
    }
}

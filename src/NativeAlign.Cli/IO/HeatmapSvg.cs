using System.Globalization;
using System.Security;
using System.Text;
using NativeAlign.Alignment.Words;

namespace NativeAlign.Cli.IO;

/// <summary>
/// Draws a word similarity matrix as an SVG heatmap, as the SimAlign / awesome-align figures do: source words down
/// the left, target words along the top (rotated), one cell per word pair shaded by cosine, links outlined.
/// </summary>
internal static class HeatmapSvg
{
    private const int Cell = 22;

    /// <summary>The SVG document for an n×m row-major <paramref name="cosine"/> matrix and its <paramref name="links"/>.</summary>
    public static string Render(IReadOnlyList<string> sourceWords, IReadOnlyList<string> targetWords, ReadOnlySpan<float> cosine, IEnumerable<WordLink> links, string title)
    {
        int n = sourceWords.Count, m = targetWords.Count;
        var c = CultureInfo.InvariantCulture;

        // Label room from the longest word (about 7 px per character at 12 px), so nothing is clipped.
        int left = 16 + (7 * Math.Min(40, sourceWords.DefaultIfEmpty(string.Empty).Max(w => w.Length)));
        int top = 40 + (7 * Math.Min(40, targetWords.DefaultIfEmpty(string.Empty).Max(w => w.Length)));
        int width = Math.Max(left + (m * Cell) + 90, 16 + (8 * title.Length)), height = top + (n * Cell) + 20;
        float lo = 0f, hi = 1f;
        if (cosine.Length > 0)
        {
            lo = float.PositiveInfinity;
            hi = float.NegativeInfinity;
            foreach (var v in cosine)
            {
                lo = Math.Min(lo, v);
                hi = Math.Max(hi, v);
            }
        }

        var sb = new StringBuilder();
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n");
        sb.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"8\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>\n");
        for (int j = 0; j < m; j++)
        {
            double x = left + (j * Cell) + (Cell / 2.0) + 4;
            sb.Append(c, $"<text transform=\"translate({x:0.#},{top - 6}) rotate(-60)\">{Escape(Clip(targetWords[j]))}</text>\n");
        }

        for (int i = 0; i < n; i++)
        {
            double y = top + (i * Cell) + (Cell / 2.0) + 4;
            sb.Append(c, $"<text x=\"{left - 6}\" y=\"{y:0.#}\" text-anchor=\"end\">{Escape(Clip(sourceWords[i]))}</text>\n");
            for (int j = 0; j < m; j++)
            {
                float v = cosine[(i * m) + j];
                sb.Append(c, $"<rect x=\"{left + (j * Cell)}\" y=\"{top + (i * Cell)}\" width=\"{Cell}\" height=\"{Cell}\" fill=\"{Colour(Scale(v, lo, hi))}\"><title>{Escape(sourceWords[i])} / {Escape(targetWords[j])}: {v:0.000}</title></rect>\n");
            }
        }

        foreach (var l in links)
        {
            if ((uint)l.Source < (uint)n && (uint)l.Target < (uint)m)
            {
                sb.Append(c, $"<rect x=\"{left + (l.Target * Cell) + 2}\" y=\"{top + (l.Source * Cell) + 2}\" width=\"{Cell - 4}\" height=\"{Cell - 4}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"/>\n");
            }
        }

        // Colour scale: the matrix's minimum at the bottom, maximum at the top.
        int barX = left + (m * Cell) + 24, barH = Math.Max(60, n * Cell);
        for (int s = 0; s < 20; s++)
        {
            sb.Append(c, $"<rect x=\"{barX}\" y=\"{top + (s * barH / 20.0):0.#}\" width=\"14\" height=\"{(barH / 20.0) + 0.5:0.#}\" fill=\"{Colour(1 - (s / 19.0))}\"/>\n");
        }

        sb.Append(c, $"<text x=\"{barX + 18}\" y=\"{top + 10}\">{hi:0.00}</text>\n");
        sb.Append(c, $"<text x=\"{barX + 18}\" y=\"{top + barH}\">{lo:0.00}</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static double Scale(float v, float lo, float hi) => hi > lo ? (v - lo) / (hi - lo) : 0.5;

    /// <summary>White (0) to dark blue (1), linear in RGB.</summary>
    private static string Colour(double t)
    {
        t = Math.Clamp(t, 0, 1);
        int r = (int)Math.Round(247 + ((8 - 247) * t)), g = (int)Math.Round(251 + ((48 - 251) * t)), b = (int)Math.Round(255 + ((107 - 255) * t));
        return $"#{r:x2}{g:x2}{b:x2}";
    }

    private static string Clip(string word) => word.Length <= 40 ? word : word[..39] + "…";

    private static string Escape(string s) => SecurityElement.Escape(s) ?? string.Empty;
}

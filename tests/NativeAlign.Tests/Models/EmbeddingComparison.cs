namespace NativeAlign.Tests.Models;

/// <summary>Float64 comparisons of embeddings produced by two implementations or two settings.</summary>
internal static class EmbeddingComparison
{
    /// <summary>Cosine of two vectors, accumulated in float64.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}

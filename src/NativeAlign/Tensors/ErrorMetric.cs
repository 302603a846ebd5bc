namespace NativeAlign.Tensors;

/// <summary>
/// The error measure every op is held to against its float64 oracle (as ggml's <c>test-backend-ops</c> does): the
/// normalised mean squared error Σ(actual − expected)² / Σ expected², which is scale-free, so one bound per op serves
/// every shape. An all-zero oracle gives the plain squared error; a NaN anywhere gives NaN.
/// </summary>
internal static class ErrorMetric
{
    /// <summary>Normalised MSE of <paramref name="actual"/> against a float64 <paramref name="expected"/>.</summary>
    public static double NormalisedMse(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        if (actual.Length != expected.Length)
        {
            throw new ArgumentException($"{actual.Length} values against an oracle of {expected.Length}", nameof(actual));
        }

        double error = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            error += d * d;
            norm += expected[i] * expected[i];
        }

        return norm == 0 ? error : error / norm;
    }

    /// <summary>Normalised MSE of <paramref name="actual"/> against float32 reference values.</summary>
    public static double NormalisedMse(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        var wide = new double[expected.Length];
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = expected[i];
        }

        return NormalisedMse(actual, wide);
    }
}

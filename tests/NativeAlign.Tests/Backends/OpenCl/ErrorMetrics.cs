namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>The op-test error measure: normalised mean squared error against a float64 oracle; NaN anywhere fails.</summary>
internal static class ErrorMetrics
{
    /// <summary>Σ(actual − expected)² / Σ expected² (or the plain squared error when the oracle is all zeros).</summary>
    public static double NormalisedMse(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), "length");
        double error = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(float.IsNaN(actual[i]), Is.False, $"NaN at {i}");
            double d = actual[i] - expected[i];
            error += d * d;
            norm += expected[i] * expected[i];
        }

        return norm == 0 ? error : error / norm;
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double bound, string what)
    {
        double nmse = NormalisedMse(actual, expected);
        Assert.That(nmse, Is.LessThanOrEqualTo(bound), $"{what}: normalised MSE {nmse:E3} exceeds {bound:E1}");
    }
}

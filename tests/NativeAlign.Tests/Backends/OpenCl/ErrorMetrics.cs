using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>The op-test error measure: normalised mean squared error against a float64 oracle; NaN anywhere fails.</summary>
internal static class ErrorMetrics
{
    /// <summary><see cref="ErrorMetric.NormalisedMse(ReadOnlySpan{float}, ReadOnlySpan{double})"/>, failing on any NaN first.</summary>
    public static double NormalisedMse(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), "length");
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(float.IsNaN(actual[i]), Is.False, $"NaN at {i}");
        }

        return ErrorMetric.NormalisedMse(actual, expected);
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double bound, string what)
    {
        double nmse = NormalisedMse(actual, expected);
        Assert.That(nmse, Is.LessThanOrEqualTo(bound), $"{what}: normalised MSE {nmse:E3} exceeds {bound:E1}");
    }
}

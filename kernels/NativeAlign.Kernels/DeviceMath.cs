namespace NativeAlign.Kernels;

/// <summary>
/// Device math functions that <see cref="MathF"/> lacks. Each maps to an OpenCL C built-in; the C# body is the CPU
/// reference, computed in double and rounded once, so it is at least as accurate as the device's built-in.
/// </summary>
public static class DeviceMath
{
    /// <summary>The error function (<c>erf</c>), as exact GELU needs.</summary>
    [OpenClBuiltin("erf")]
    public static float Erf(float x) => (float)Erf((double)x);

    /// <summary>
    /// The error function in double precision: the Maclaurin series below |x| = 2.5 (terms stay below 10, so
    /// cancellation costs under two digits), the continued fraction of erfc above it; |x| ≥ 6 rounds to ±1.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        double a = Math.Abs(x);
        if (a >= 6)
        {
            return Math.Sign(x);
        }

        if (a < 2.5)
        {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = x; // (-1)^n x^(2n+1) / n!
            double sum = x;
            double x2 = x * x;
            for (int n = 1; n < 80; n++)
            {
                term *= -x2 / n;
                double next = term / ((2 * n) + 1);
                sum += next;
                if (Math.Abs(next) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }

            return sum * 1.1283791670955126; // 2/sqrt(pi)
        }

        // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))), evaluated bottom-up.
        double fraction = a;
        for (int k = 120; k >= 1; k--)
        {
            fraction = a + (k / 2.0 / fraction);
        }

        double erfc = Math.Exp(-a * a) / (1.7724538509055160 * fraction);
        return Math.Sign(x) * (1 - erfc);
    }
}

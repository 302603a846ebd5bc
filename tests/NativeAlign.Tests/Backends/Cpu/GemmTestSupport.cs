using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>Float64 oracle, guarded output buffers and error metrics shared by the GEMM tests.</summary>
internal static class GemmTestSupport
{
    /// <summary>Written around and between the rows of C; any change means an out-of-bounds write.</summary>
    public const float Sentinel = -31337.5f;

    /// <summary>Guard elements before and after the output.</summary>
    public const int Guard = 64;

    /// <summary>The acceptance bound of the issue for GEMM.</summary>
    public const double NmseBound = 5e-4;

    /// <summary>Worst normalised MSE seen by any test in this run, for the report.</summary>
    public static double WorstNmse { get; private set; }

    public static readonly GemmKernelPath[] Paths = [GemmKernelPath.Scalar, GemmKernelPath.Vector256, GemmKernelPath.Vector512];

    public static GemmKernelPath RequirePath(string name)
    {
        GemmKernelPath path = Enum.Parse<GemmKernelPath>(name);
        if (!GemmPaths.IsSupported(path))
        {
            Assert.Ignore($"{path} is not hardware-accelerated on this machine");
        }

        return path;
    }

    public static float[] RandomArray(Random random, int length, float scale = 1f)
    {
        var result = new float[length];
        for (int i = 0; i < length; i++)
        {
            result[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return result;
    }

    /// <summary>An output buffer of rows×ld elements plus guards, all set to the sentinel.</summary>
    public static float[] GuardedOutput(int rows, int cols, int ld)
    {
        long len = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        var buffer = new float[len + (2 * Guard)];
        Array.Fill(buffer, Sentinel);
        return buffer;
    }

    /// <summary>The output window of a guarded buffer.</summary>
    public static Span<float> Window(float[] buffer) => buffer.AsSpan(Guard, buffer.Length - (2 * Guard));

    /// <summary>Double-precision erf: Maclaurin series below 2.5, continued fraction for erfc above (both ~1e-15).</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                double add = term / ((2 * n) + 1);
                sum += add;
                if (Math.Abs(add) < 1e-18)
                {
                    break;
                }
            }

            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 80; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }

            r = 1 - (Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f));
        }

        return x < 0 ? -r : r;
    }

    /// <summary>C = act(A·op(B) + bias) + residual in float64; op(B)[p, j] is given by <paramref name="bAt"/>.</summary>
    public static double[] Reference(
        int m, int n, int k, float[] a, int lda, Func<int, int, double> bAt, float[]? bias, GemmActivation activation, float[]? residual, int ldr)
    {
        var result = new double[(long)m * n];
        var column = new double[k];
        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < k; p++)
            {
                column[p] = bAt(p, j);
            }

            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    sum += a[((long)i * lda) + p] * column[p];
                }

                if (bias is not null)
                {
                    sum += bias[j];
                }

                if (activation == GemmActivation.Gelu)
                {
                    sum = 0.5 * sum * (1 + Erf(sum / Math.Sqrt(2)));
                }

                if (residual is not null)
                {
                    sum += residual[((long)i * ldr) + j];
                }

                result[((long)i * n) + j] = sum;
            }
        }

        return result;
    }

    /// <summary>Asserts no NaN, untouched sentinels, and normalised MSE within the bound; returns the NMSE.</summary>
    public static double AssertMatches(double[] expected, float[] guarded, int m, int n, int ldc, string what)
    {
        for (int g = 0; g < Guard; g++)
        {
            if (guarded[g] != Sentinel || guarded[guarded.Length - 1 - g] != Sentinel)
            {
                Assert.Fail($"{what}: write outside C (guard element {g})");
            }
        }

        Span<float> c = Window(guarded);
        var inside = new float[(long)m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc && ((long)i * ldc) + j < c.Length; j++)
            {
                float v = c[(i * ldc) + j];
                if (j >= n)
                {
                    if (v != Sentinel)
                    {
                        Assert.Fail($"{what}: write between rows at ({i}, {j})");
                    }

                    continue;
                }

                if (float.IsNaN(v) || float.IsInfinity(v))
                {
                    Assert.Fail($"{what}: non-finite output {v} at ({i}, {j})");
                }

                inside[((long)i * n) + j] = v;
            }
        }

        double nmse = ErrorMetric.NormalisedMse(inside, expected.AsSpan(0, inside.Length));
        if (nmse > WorstNmse)
        {
            WorstNmse = nmse;
        }

        Assert.That(nmse, Is.LessThanOrEqualTo(NmseBound), $"{what}: normalised MSE");
        return nmse;
    }

    /// <summary>A random 4-bit matrix; padding nibbles of a partial last block are random too, so reading them shows.</summary>
    public static Q4Matrix RandomQ4(Random random, int rows, int cols, int blockSize, bool zeroPoints)
    {
        int blocks = (cols + blockSize - 1) / blockSize;
        byte[] packed = new byte[rows * blocks * blockSize / 2];
        random.NextBytes(packed);
        float[] scales = RandomArray(random, rows * blocks, 0.1f);
        byte[]? zeros = null;
        if (zeroPoints)
        {
            zeros = new byte[rows * ((blocks + 1) / 2)];
            random.NextBytes(zeros);
        }

        return new Q4Matrix(rows, cols, blockSize, packed, scales, zeros, "test.weight");
    }

    /// <summary>W[row, col] in float64, decoded here from the layout's definition (independently of the kernels).</summary>
    public static double[] DequantizeDouble(Q4Matrix w)
    {
        var result = new double[(long)w.Rows * w.Columns];
        ReadOnlySpan<byte> packed = w.Packed.Span;
        int half = w.BlockSize / 2, zeroBytes = (w.BlocksPerRow + 1) / 2;
        for (int r = 0; r < w.Rows; r++)
        {
            for (int col = 0; col < w.Columns; col++)
            {
                int blk = col / w.BlockSize, inBlock = col % w.BlockSize;
                byte b = packed[(((r * w.BlocksPerRow) + blk) * half) + (inBlock / 2)];
                int q = inBlock % 2 == 0 ? b & 0x0F : b >> 4;
                int zero = 8;
                if (w.ZeroPoints is not null)
                {
                    byte z = w.ZeroPoints[(r * zeroBytes) + (blk / 2)];
                    zero = blk % 2 == 0 ? z & 0x0F : z >> 4;
                }

                result[((long)r * w.Columns) + col] = (q - zero) * (double)w.Scales[(r * w.BlocksPerRow) + blk];
            }
        }

        return result;
    }
}

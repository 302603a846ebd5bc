using NativeAlign.Kernels;
using NativeAlign.Kernels.Gemm;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// The 4-bit weight GEMM on the OpenCL device. The test draws the integer nibbles, zero points and scales itself, packs
/// them in the MatMulNBits layout, and computes the float64 oracle from the drawn values (not from any unpacking
/// code), so a packing or decoding mistake on either side shows. Bound: 5e-4 normalised MSE.
/// </summary>
[TestFixture]
public sealed class Q4GemmKernelTests
{
    [TestCase(1, 1, 16, 32, false, "MatMulQ4TransposedB_blockSize32")]
    [TestCase(7, 33, 100, 32, true, "MatMulQ4TransposedB_blockSize32")]
    [TestCase(16, 40, 384, 64, true, "MatMulQ4TransposedB_blockSize64")]
    [TestCase(5, 24, 300, 128, false, "MatMulQ4TransposedB_blockSize128")]
    [TestCase(9, 17, 90, 16, true, "MatMulQ4TransposedB")]
    [TestCase(6, 10, 45, 16, true, "MatMulQ4TransposedB")]
    [TestCase(3, 5, 33, 32, false, "MatMulQ4TransposedB_blockSize32")]
    public void MatMulQ4TransposedB_Device_MatchesFloat64OracleFromTheDrawnValues(int m, int n, int k, int blockSize, bool zeroPoints, string entryPoint)
    {
        var (a, packed, scales, packedZeros, oracle) = Draw(m, n, k, blockSize, zeroPoints);

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var da = context.Upload<float>(a);
        using var dPacked = context.Upload<byte>(packed);
        using var dScales = context.Upload<float>(scales);
        using var dZeros = context.Upload<byte>(packedZeros);
        using var dc = context.Allocate<float>(m * n);
        var kernel = new GemmKernels.MatMulQ4TransposedBKernel(da, dPacked, dScales, dZeros, dc, m, n, k, blockSize, zeroPoints ? 1 : 0);
        Assert.That(GemmKernels.MatMulQ4TransposedBKernel.SelectEntryPoint(kernel), Is.EqualTo(entryPoint));
        context.Run(kernel, GemmKernels.LaunchRange(m, n));
        ErrorMetrics.AssertClose(dc.ToArray(), oracle, 5e-4, "device");
    }

    [TestCase(5, 6, 37, 16, true)]
    [TestCase(4, 9, 70, 32, false)]
    public void MatMulQ4TransposedB_CpuReference_MatchesFloat64Oracle(int m, int n, int k, int blockSize, bool zeroPoints)
    {
        var (a, packed, scales, packedZeros, oracle) = Draw(m, n, k, blockSize, zeroPoints);
        var c = new float[m * n];
        CpuReferenceRunner.Run(GemmKernels.LaunchRange(m, n), new NDRange(GemmKernels.GroupEdge, GemmKernels.GroupEdge),
            () => GemmKernels.MatMulQ4TransposedB(new(a), new(packed), new(scales), new(packedZeros), new(c), m, n, k, blockSize, zeroPoints ? 1 : 0));
        ErrorMetrics.AssertClose(c, oracle, 5e-4, "CPU reference");
    }

    /// <summary>Draws activations and a packed 4-bit weight, and computes the float64 oracle from the drawn integers.</summary>
    private static (float[] A, byte[] Packed, float[] Scales, byte[] PackedZeros, double[] Oracle) Draw(int m, int n, int k, int blockSize, bool zeroPoints)
    {
        var random = new Random((m * 100) + (n * 10) + k + blockSize);
        int blocksPerRow = (k + blockSize - 1) / blockSize;
        var nibbles = new int[n, blocksPerRow * blockSize];
        var zeros = new int[n, blocksPerRow];
        var scales = new float[n * blocksPerRow];
        var packed = new byte[n * blocksPerRow * (blockSize / 2)];
        var packedZeros = new byte[zeroPoints ? n * ((blocksPerRow + 1) / 2) : 1];
        for (int r = 0; r < n; r++)
        {
            for (int b = 0; b < blocksPerRow; b++)
            {
                scales[(r * blocksPerRow) + b] = (float)(0.01 + (random.NextDouble() * 0.05));
                zeros[r, b] = zeroPoints ? random.Next(16) : 8;
                if (zeroPoints)
                {
                    packedZeros[(r * ((blocksPerRow + 1) / 2)) + (b / 2)] |= (byte)(zeros[r, b] << (b % 2 * 4));
                }

                for (int i = 0; i < blockSize; i++)
                {
                    int value = random.Next(16);
                    nibbles[r, (b * blockSize) + i] = value;
                    packed[(((r * blocksPerRow) + b) * (blockSize / 2)) + (i / 2)] |= (byte)(value << (i % 2 * 4));
                }
            }
        }

        var a = Enumerable.Range(0, m * k).Select(_ => (float)((random.NextDouble() - 0.5) * 2)).ToArray();
        var oracle = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int q = 0; q < k; q++)
                {
                    double w = (nibbles[j, q] - zeros[j, q / blockSize]) * (double)scales[(j * blocksPerRow) + (q / blockSize)];
                    sum += a[(i * k) + q] * w;
                }

                oracle[(i * n) + j] = sum;
            }
        }

        return (a, packed, scales, packedZeros, oracle);
    }
}

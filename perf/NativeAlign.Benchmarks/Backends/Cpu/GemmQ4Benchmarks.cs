using BenchmarkDotNet.Attributes;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Benchmarks.Backends.Cpu;

/// <summary>
/// 4-bit weight × f32 activations, block size 32 with zero points (the default model's MatMulNBits export), from the
/// batch-1 GEMV (memory-bound: the figure that matters is bytes of weight per second) to a 128-token batch.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmQ4Benchmarks : IFlopCounted
{
    private float[] a = [], c = [];
    private Q4Matrix? weight;

    [Params(1, 8, 32, 128)]
    public int M { get; set; } = 1;

    /// <summary>"N x K" of the weight.</summary>
    [Params("1536x384", "384x1536", "3072x768")]
    public string Weight { get; set; } = "384x384";

    [Params("Vector512", "Vector256")]
    public string Path { get; set; } = "Vector512";

    public double Flops => 2.0 * M * ParseWeight(Weight).N * ParseWeight(Weight).K;

    /// <summary>"N x K" as numbers.</summary>
    internal static (int N, int K) ParseWeight(string weight)
    {
        int[] parts = weight.Split('x').Select(int.Parse).ToArray();
        return (parts[0], parts[1]);
    }

    /// <summary>A random N × K 4-bit weight, block 32 with zero points, and random activations for m rows.</summary>
    internal static (Q4Matrix Weight, float[] A) RandomProblem(int m, int n, int k)
    {
        var random = new Random(42);
        const int blockSize = 32;
        int blocks = (k + blockSize - 1) / blockSize;
        byte[] packed = new byte[n * blocks * blockSize / 2];
        random.NextBytes(packed);
        float[] scales = Enumerable.Range(0, n * blocks).Select(_ => (float)random.NextDouble() * 0.02f).ToArray();
        byte[] zeros = new byte[n * ((blocks + 1) / 2)];
        random.NextBytes(zeros);
        var weight = new Q4Matrix(n, k, blockSize, packed, scales, zeros, "bench.weight");
        return (weight, Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray());
    }

    [GlobalSetup]
    public void Setup()
    {
        (int n, int k) = ParseWeight(Weight);
        (weight, a) = RandomProblem(M, n, k);
        c = new float[M * n];
    }

    [Benchmark]
    public void MatMulNBits() => GemmQ4.Compute(Enum.Parse<GemmKernelPath>(Path), 0, M, a, weight!.Columns, weight, c, weight.Rows);
}

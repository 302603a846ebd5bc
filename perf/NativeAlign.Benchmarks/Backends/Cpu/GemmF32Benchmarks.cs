using BenchmarkDotNet.Attributes;
using NativeAlign.Backends.Cpu;

namespace NativeAlign.Benchmarks.Backends.Cpu;

/// <summary>Random operands for an M×N×K product with B in Linear layout [N×K].</summary>
public abstract class GemmF32BenchmarkBase : IFlopCounted
{
    private protected float[] A = [], B = [], C = [], Bias = [];

    /// <summary>"M x N x K".</summary>
    public abstract string Shape { get; set; }

    private protected int M, N, K;

    public double Flops
    {
        get
        {
            Parse();
            return 2.0 * M * N * K;
        }
    }

    private void Parse()
    {
        int[] parts = Shape.Split('x').Select(int.Parse).ToArray();
        (M, N, K) = (parts[0], parts[1], parts[2]);
    }

    [GlobalSetup]
    public void Setup()
    {
        Parse();
        var random = new Random(42);
        A = Enumerable.Range(0, M * K).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        B = Enumerable.Range(0, N * K).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        Bias = Enumerable.Range(0, N).Select(_ => (float)random.NextDouble()).ToArray();
        C = new float[M * N];
    }
}

/// <summary>
/// The peer shapes with all cores on the automatically chosen path, B transposed as the encoder uses it:
/// perf/run-gemm.sh compares these with numpy/OpenBLAS (perf/peers/sgemm_numpy.py) run in the same session.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmF32PeerShapes : GemmF32BenchmarkBase
{
    /// <summary>All 18 shapes, or those listed (comma-separated) in GEMM_SHAPES so a script can interleave with the peer.</summary>
    public static IEnumerable<string> Shapes()
    {
        string[] all =
        [
            "128x384x384", "128x1536x384", "128x384x1536", "128x768x768", "128x3072x768", "128x768x3072",
            "512x384x384", "512x1536x384", "512x384x1536", "512x768x768", "512x3072x768", "512x768x3072",
            "2048x384x384", "2048x1536x384", "2048x384x1536", "2048x768x768", "2048x3072x768", "2048x768x3072",
        ];
        string? only = Environment.GetEnvironmentVariable("GEMM_SHAPES");
        return string.IsNullOrWhiteSpace(only) ? all : only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [ParamsSource(nameof(Shapes))]
    public override string Shape { get; set; } = "128x384x384";

    [Benchmark]
    public void Sgemm() => GemmF32.Compute(M, N, K, A, K, B, K, true, C, N);
}

/// <summary>Each instruction-set path on representative shapes, all cores and one core (AVX-512 is not always faster).</summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmF32Paths : GemmF32BenchmarkBase
{
    [Params("128x384x384", "512x1536x384", "512x768x3072", "2048x3072x768")]
    public override string Shape { get; set; } = "128x384x384";

    [Params("Vector512", "Vector256")]
    public string Path { get; set; } = "Vector512";

    [Params(1, 0)]
    public int Threads { get; set; }

    [Benchmark]
    public void Sgemm() => GemmF32.Compute(Enum.Parse<GemmKernelPath>(Path), Threads, M, N, K, A, K, B, K, true, C, N);
}

/// <summary>Scalar path (portability fallback) and both B layouts plus the fused GELU epilogue, on a small shape.</summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmF32Variants : GemmF32BenchmarkBase
{
    [Params("128x384x384")]
    public override string Shape { get; set; } = "128x384x384";

    [Params("Scalar", "Vector256", "Vector512")]
    public string Path { get; set; } = "Vector512";

    [Params(true, false)]
    public bool TransposeB { get; set; }

    [Benchmark(Baseline = true)]
    public void Plain() => GemmF32.Compute(Enum.Parse<GemmKernelPath>(Path), 0, M, N, K, A, K, B, TransposeB ? K : N, TransposeB, C, N);

    [Benchmark]
    public void BiasGelu() => GemmF32.Compute(
        Enum.Parse<GemmKernelPath>(Path), 0, M, N, K, A, K, B, TransposeB ? K : N, TransposeB, C, N, new GemmEpilogue { Bias = Bias, Activation = GemmActivation.Gelu });
}

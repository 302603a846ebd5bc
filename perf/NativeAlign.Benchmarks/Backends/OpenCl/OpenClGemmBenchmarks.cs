using BenchmarkDotNet.Attributes;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Benchmarks.Backends.Cpu;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Gemm;
using NativeAlign.Tensors;

namespace NativeAlign.Benchmarks.Backends.OpenCl;

/// <summary>
/// The encoder's two products on OpenCL device 0 (PoCL here: the same CPU cores, so a correctness-smoke figure, not a
/// GPU one) next to the CPU backend's GEMM on the same operands in the same run: f32 weights and the default model's
/// 4-bit weights (block 32, zero points). Shapes are "M x N x K" with M the tokens of a batch and N x K the weight
/// ([out, in], used transposed). A device run is the launch plus clFinish; operands stay on the device.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class OpenClGemmBenchmarks : IFlopCounted, IDisposable
{
    private float[] a = [], b = [], c = [];
    private Q4Matrix? q4;
    private OpenClContext? context;
    private OpenClBuffer<float>? deviceA, deviceB, deviceC, deviceScales;
    private OpenClBuffer<byte>? devicePacked, deviceZeros;
    private int m, n, k;

    /// <summary>"M x N x K".</summary>
    [Params("128x384x384", "512x384x384", "512x1536x384", "512x384x1536")]
    public string Shape { get; set; } = "128x384x384";

    /// <summary>f32 or q4 weights.</summary>
    [Params("f32", "q4")]
    public string Weights { get; set; } = "f32";

    public double Flops
    {
        get
        {
            Parse();
            return 2.0 * m * n * k;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        Parse();
        (q4, a) = GemmQ4Benchmarks.RandomProblem(m, n, k);
        var random = new Random(43);
        b = Enumerable.Range(0, n * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        c = new float[m * n];

        context = OpenClContext.Create(0);
        deviceA = context.Upload<float>(a);
        deviceB = context.Upload<float>(b);
        deviceC = context.Allocate<float>(m * n);
        devicePacked = context.Upload<byte>(q4.Packed.ToArray());
        deviceScales = context.Upload<float>(q4.Scales);
        deviceZeros = context.Upload<byte>(q4.ZeroPoints!);

        // Build the programs (or load them from the binary cache) before the first measured run.
        Device();
    }

    [Benchmark(Baseline = true)]
    public void CpuBackend()
    {
        if (Weights == "q4")
        {
            GemmQ4.Compute(m, a, k, q4!, c, n);
        }
        else
        {
            GemmF32.Compute(m, n, k, a, k, b, k, true, c, n);
        }
    }

    [Benchmark]
    public void Device()
    {
        var range = GemmKernels.LaunchRange(m, n);
        if (Weights == "q4")
        {
            context!.Run(new GemmKernels.MatMulQ4TransposedBKernel(deviceA!, devicePacked!, deviceScales!, deviceZeros!, deviceC!, m, n, k, q4!.BlockSize, 1), range);
        }
        else
        {
            context!.Run(new GemmKernels.MatMulTransposedBKernel(deviceA!, deviceB!, deviceC!, m, n, k), range);
        }

        context.Finish();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        deviceA?.Dispose();
        deviceB?.Dispose();
        deviceC?.Dispose();
        devicePacked?.Dispose();
        deviceScales?.Dispose();
        deviceZeros?.Dispose();
        context?.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Parse()
    {
        int[] parts = Shape.Split('x').Select(int.Parse).ToArray();
        (m, n, k) = (parts[0], parts[1], parts[2]);
    }
}

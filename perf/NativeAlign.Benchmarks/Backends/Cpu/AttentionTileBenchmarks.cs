using BenchmarkDotNet.Attributes;
using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Benchmarks.Backends.Cpu;

/// <summary>
/// The fused CPU attention through the generated register tiles (AVX-512 and AVX2) against the generic span kernels,
/// one sequence of <see cref="T"/> tokens with 12 heads of <see cref="D"/> floats (MiniLM's layout at d = 32), through
/// <see cref="CpuBackend.Attention"/> as the encoder calls it, so the calling-thread/parallel split is the production one.
/// AVX2 has no d = 64 tile (it would exceed the 16 ymm registers), so <c>Tile256</c> at d = 64 runs the generic code.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class AttentionTileBenchmarks : IFlopCounted
{
    private const int Heads = 12;

    private CpuBackend _backend = new();
    private HostMatrix _q = new(0, 0), _k = new(0, 0), _v = new(0, 0), _output = new(0, 0);
    private int[] _lengths = [];

    /// <summary>Tokens in the sequence.</summary>
    [Params(16, 128)]
    public int T { get; set; } = 16;

    /// <summary>Head size.</summary>
    [Params(32, 64)]
    public int D { get; set; } = 32;

    /// <summary>Tile512, Tile256 (generated tiles on that path) or Generic (the span kernels).</summary>
    [Params("Tile512", "Tile256", "Generic")]
    public string Kernel { get; set; } = "Tile512";

    /// <summary>QKᵀ and ×V: 2·T·T·D multiply-adds each, per head.</summary>
    public double Flops => 4.0 * T * T * D * Heads;

    [GlobalSetup]
    public void Setup()
    {
        _backend = Kernel switch
        {
            "Tile512" => new CpuBackend { AttentionPath = GemmKernelPath.Vector512 },
            "Tile256" => new CpuBackend { AttentionPath = GemmKernelPath.Vector256 },
            _ => new CpuBackend { AttentionTiles = false },
        };
        var random = new Random(42);
        int width = Heads * D;
        HostMatrix Fill() => new(T, width, Enumerable.Range(0, T * width).Select(_ => (float)random.NextDouble() - 0.5f).ToArray());
        (_q, _k, _v) = (Fill(), Fill(), Fill());
        _output = new HostMatrix(T, width);
        _lengths = [T];
    }

    [Benchmark]
    public void Attention() => _backend.Attention(_q, _k, _v, new AttentionShape(1, T, Heads, D), _lengths, _output);
}

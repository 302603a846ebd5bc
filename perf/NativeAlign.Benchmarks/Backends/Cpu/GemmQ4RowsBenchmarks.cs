using BenchmarkDotNet.Attributes;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Benchmarks.Backends.Cpu;

/// <summary>
/// The row-group 4-bit product with float activations against the same product with activations quantised to int8,
/// at the default model's shapes (block 32 with zero points): a sentence (13 tokens), a 32-token input and a batch.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmQ4RowsBenchmarks : IFlopCounted
{
    private float[] a = [], c = [];
    private Q4Panels? panels;

    [Params(1, 13, 32, 128)]
    public int M { get; set; } = 13;

    /// <summary>"N x K" of the weight.</summary>
    [Params("1536x384", "384x1536", "384x384")]
    public string Weight { get; set; } = "1536x384";

    /// <summary>F32 (pairs layout) or Int8 (octets layout, A quantised per call).</summary>
    [Params("F32", "Int8")]
    public string Activations { get; set; } = "F32";

    public double Flops => 2.0 * M * GemmQ4Benchmarks.ParseWeight(Weight).N * GemmQ4Benchmarks.ParseWeight(Weight).K;

    [GlobalSetup]
    public void Setup()
    {
        (int n, int k) = GemmQ4Benchmarks.ParseWeight(Weight);
        (Q4Matrix weight, a) = GemmQ4Benchmarks.RandomProblem(M, n, k);
        panels = Q4Panels.From(weight, Activations == "Int8" ? Q4PanelLayout.Octets : Q4PanelLayout.Pairs);
        c = new float[M * n];
    }

    [Benchmark]
    public void RowGroups() => GemmQ4Rows.Compute(GemmKernelPath.Auto, 0, M, a, panels!.Columns, panels, c, panels.Rows);
}

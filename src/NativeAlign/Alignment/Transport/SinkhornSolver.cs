using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Alignment.Transport;

/// <summary>
/// Entropic optimal transport — balanced, unbalanced (KL-relaxed marginals) and partial — for one matrix or for a batch
/// of many small ones. Costs are row-major rows×cols float32; the plan has the same layout. Every variant iterates on
/// log-domain potentials, so small ε or large costs never underflow, and follows POT 0.8.2's initialisation, update
/// order and stopping rule (<see cref="SinkhornOptions.Tolerance"/>).
/// </summary>
/// <remarks>
/// A batch runs on any <see cref="IComputeBackend"/> (<see cref="BackendOp.Sinkhorn"/>): the CPU backend solves the
/// problems in parallel with SIMD kernels, the OpenCL backend one work-group per problem on the device.
/// </remarks>
public static class SinkhornSolver
{
    /// <summary>Solves one problem on the CPU: <paramref name="plan"/> receives the transport plan.</summary>
    /// <param name="cost">Cost matrix, rows×cols, row-major.</param>
    /// <param name="rows">Number of source points.</param>
    /// <param name="cols">Number of target points.</param>
    /// <param name="a">Source marginal (length rows, non-negative, positive sum).</param>
    /// <param name="b">Target marginal (length cols, non-negative, positive sum).</param>
    /// <param name="plan">Output, rows×cols.</param>
    /// <param name="options">Problem kind and parameters.</param>
    /// <exception cref="NativeAlignException">Shapes or parameters are invalid (usage error).</exception>
    public static SinkhornResult Solve(
        ReadOnlySpan<float> cost, int rows, int cols, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions options) =>
        CpuSinkhorn.Solve(cost, rows, cols, a, b, plan, options);

    /// <summary>
    /// Solves every problem of <paramref name="batch"/> with the same options on the CPU, spread over
    /// <paramref name="threads"/> threads (0 = all cores). Results go to <see cref="SinkhornBatch.Plans"/> and
    /// <see cref="SinkhornBatch.Iterations"/>.
    /// </summary>
    public static void SolveBatch(SinkhornBatch batch, SinkhornOptions options, int threads = 0) =>
        CpuSinkhorn.SolveBatch(batch, options, threads);

    /// <summary>Solves every problem of <paramref name="batch"/> on <paramref name="backend"/>.</summary>
    public static void SolveBatch(SinkhornBatch batch, SinkhornOptions options, IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        backend.Sinkhorn(batch, options);
    }
}

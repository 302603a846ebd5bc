namespace NativeAlign.Tensors;

/// <summary>Which entropic transport problem a Sinkhorn solve addresses.</summary>
public enum TransportKind
{
    /// <summary>Balanced optimal transport: both marginals are met exactly (Cuturi 2013; POT <c>ot.sinkhorn</c>).</summary>
    Balanced,

    /// <summary>
    /// Unbalanced transport: marginals are relaxed by KL penalties of weight <see cref="SinkhornOptions.MarginalRelaxation"/>
    /// (Chizat et al. 2018; POT <c>ot.unbalanced.sinkhorn_unbalanced</c>).
    /// </summary>
    Unbalanced,

    /// <summary>
    /// Partial transport: only <see cref="SinkhornOptions.TransportedMass"/> is moved, each marginal is an upper bound
    /// (Benamou et al. 2015 iterative Bregman projections; POT <c>ot.partial.entropic_partial_wasserstein</c>).
    /// </summary>
    Partial,
}

/// <summary>Parameters of an entropic transport solve. The defaults are POT's.</summary>
public sealed record SinkhornOptions
{
    /// <summary>The problem solved.</summary>
    public TransportKind Kind { get; init; } = TransportKind.Balanced;

    /// <summary>Entropic regularisation ε (POT's <c>reg</c>); must be positive.</summary>
    public float Epsilon { get; init; } = 0.1f;

    /// <summary>Maximum number of iterations (POT's <c>numItermax</c>).</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>
    /// Stopping threshold (POT's <c>stopThr</c>), with POT's meaning per kind: balanced — L2 norm of the column-marginal
    /// violation, checked every 10th iteration; unbalanced — mean relative change of the scalings, every iteration;
    /// partial — Frobenius norm of the plan's change over one iteration, every 10th iteration. 0 runs all iterations.
    /// </summary>
    public float Tolerance { get; init; } = 1e-9f;

    /// <summary>KL marginal penalty τ of the unbalanced problem (POT's <c>reg_m</c>); must be positive.</summary>
    public float MarginalRelaxation { get; init; } = 1f;

    /// <summary>Mass moved by the partial problem (POT's <c>m</c>); null means min(Σa, Σb).</summary>
    public float? TransportedMass { get; init; }
}

/// <summary>Outcome of one solve.</summary>
/// <param name="Iterations">Iterations run.</param>
/// <param name="Converged">Whether the stopping threshold was reached before <see cref="SinkhornOptions.MaxIterations"/>.</param>
public readonly record struct SinkhornResult(int Iterations, bool Converged);

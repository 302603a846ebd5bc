using System.Runtime.InteropServices;
using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// The suite must be able to fail: a real backend wrapped in a decorator that makes one op slightly wrong (the
/// largest output element or plan cell scaled by 1.01; the bias of Linear or top-k dropped; top-k ties in reverse
/// order; one float written just past the output) has every affected case of that op reported as a failure by
/// <see cref="CaseRunner"/>, and every other case still passes.
/// </summary>
[TestFixture]
public sealed class PlantedMutationTests
{
    private readonly CpuBackend _cpu = new();

    [Test]
    public void TheDecoratorItself_IsTransparent()
    {
        var same = new MutatedBackend(_cpu, Mutation.None, BackendOp.Linear);
        var failed = OpCases.All.Select(c => (c, v: CaseRunner.Run(same, c))).Where(x => x.v.Failed).Select(x => $"{x.c.Name}: {x.v.Detail}").ToArray();
        Assert.That(failed, Is.Empty);
    }

    [TestCaseSource(nameof(Ops))]
    public void OneElementOnePercentOff_FailsEveryCaseOfThatOp(BackendOp op)
    {
        var mutant = new MutatedBackend(_cpu, Mutation.ScaleLargestOutput, op);
        int caught = 0;
        foreach (var c in OpCases.All.OfType<MatrixOpCase>().Where(c => c.Op == op))
        {
            mutant.Changes = 0;
            var verdict = CaseRunner.Run(mutant, c);
            if (mutant.Changes == 0)
            {
                continue; // an empty or all-zero output: nothing to scale
            }

            Assert.That(verdict.Failed, Is.True, $"{c.Name}: the mutation went unnoticed ({verdict.Detail})");
            caught++;
        }

        Assert.That(caught, Is.GreaterThan(0), $"no {op} case had an output the mutation could change");
    }

    [Test]
    public void LinearWithoutItsBias_FailsEveryBiasedCase()
    {
        var mutant = new MutatedBackend(_cpu, Mutation.DropLinearBias, BackendOp.Linear);
        var linear = OpCases.All.OfType<LinearCase>().Where(c => c.M > 0).ToArray();
        foreach (var c in linear)
        {
            var verdict = CaseRunner.Run(mutant, c);
            Assert.That(verdict.Failed, Is.EqualTo(c.Bias), $"{c.Name}: {verdict.Detail}");
        }

        Assert.That(linear.Count(c => c.Bias), Is.GreaterThan(20));
    }

    [Test]
    public void TopKWithoutItsBias_FailsEveryBiasedCase_AndReversedTies_FailEveryTieCase()
    {
        var topK = OpCases.All.OfType<TopKCase>().ToArray();
        var noBias = new MutatedBackend(_cpu, Mutation.DropTopKBias, BackendOp.TopK);
        foreach (var c in topK)
        {
            Assert.That(CaseRunner.Run(noBias, c).Failed, Is.EqualTo(c.Bias), $"{c.Name} without bias");
        }

        var swapped = new MutatedBackend(_cpu, Mutation.SwapTopKTies, BackendOp.TopK);
        foreach (var c in topK.Where(c => c.Ties.Length > 0 && c.K > 1))
        {
            swapped.Changes = 0;
            var verdict = CaseRunner.Run(swapped, c);
            Assert.That(swapped.Changes, Is.GreaterThan(0), $"{c.Name}: no tie reached the lists");
            Assert.That(verdict.Failed, Is.True, $"{c.Name} with ties reversed: {verdict.Detail}");
        }
    }

    [Test]
    public void APlanCellOnePercentOff_FailsEverySinkhornCase()
    {
        var mutant = new MutatedBackend(_cpu, Mutation.ScaleLargestOutput, BackendOp.Sinkhorn);
        foreach (var c in OpCases.All.OfType<SinkhornCase>())
        {
            var verdict = CaseRunner.Run(mutant, c);
            Assert.That(verdict.Failed, Is.True, $"{c.Name}: {verdict.Detail}");
        }
    }

    [TestCaseSource(nameof(Ops))]
    public void OneFloatWrittenPastTheOutput_IsCaughtByTheSentinel(BackendOp op)
    {
        var mutant = new MutatedBackend(_cpu, Mutation.WritePastOutput, op);
        foreach (var c in OpCases.All.OfType<MatrixOpCase>().Where(c => c.Op == op))
        {
            var verdict = CaseRunner.Run(mutant, c);
            Assert.That(verdict.Failed && verdict.Detail.StartsWith("write past the output", StringComparison.Ordinal), $"{c.Name}: {verdict.Detail}");
        }
    }

    private static IEnumerable<BackendOp> Ops() => OpCases.All.OfType<MatrixOpCase>().Select(c => c.Op).Distinct();
}

internal enum Mutation
{
    None,
    ScaleLargestOutput,
    DropLinearBias,
    WritePastOutput,
    DropTopKBias,
    SwapTopKTies,
}

/// <summary>A backend that forwards every call to <paramref name="inner"/>, perturbing <paramref name="target"/> as <paramref name="mutation"/> says.</summary>
internal sealed class MutatedBackend(IComputeBackend inner, Mutation mutation, BackendOp target) : IComputeBackend
{
    /// <summary>How many outputs the mutation actually changed since last reset.</summary>
    public int Changes { get; set; }

    public string Name => inner.Name + "-mutated";

    public string? Unsupported(OpSpec op) => inner.Unsupported(op);

    public BackendMatrix Allocate(int rows, int columns) => inner.Allocate(rows, columns);

    public BackendMatrix View(BackendMatrix storage, int rows, int columns) => inner.View(storage, rows, columns);

    public BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns) => inner.Borrow(data, rows, columns);

    public OpCounts Counts => inner.Counts;

    public void Upload(ReadOnlySpan<float> source, BackendMatrix destination) => inner.Upload(source, destination);

    public void Download(BackendMatrix source, Span<float> destination) => inner.Download(source, destination);

    public BackendWeight PrepareWeight(WeightTensor weight) => inner.PrepareWeight(weight);

    public void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
    {
        inner.EmbeddingSum(ids, positionIds, typeIds, words, positions, types, output);
        After(BackendOp.EmbeddingSum, output);
    }

    public void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output)
    {
        bool drop = mutation == Mutation.DropLinearBias && target == BackendOp.Linear;
        inner.Linear(input, weight, drop ? null : bias, activation, residual, output);
        After(BackendOp.Linear, output);
    }

    public void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output)
    {
        inner.LayerNorm(input, gain, bias, epsilon, output);
        After(BackendOp.LayerNorm, output);
    }

    public void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output)
    {
        inner.Activate(input, activation, output);
        After(BackendOp.Activation, output);
    }

    public void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        inner.Attention(q, k, v, shape, lengths, output);
        After(BackendOp.Attention, output);
    }

    public void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        inner.MeanPool(input, sequenceLength, lengths, output);
        After(BackendOp.MeanPool, output);
    }

    public void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output)
    {
        inner.ClsPool(input, sequenceLength, output);
        After(BackendOp.ClsPool, output);
    }

    public void L2Normalize(BackendMatrix input, BackendMatrix output)
    {
        inner.L2Normalize(input, output);
        After(BackendOp.L2Normalize, output);
    }

    public void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores)
    {
        bool drop = mutation == Mutation.DropTopKBias && target == BackendOp.TopK;
        inner.TopK(queries, corpus, firstIndex, drop ? default : bias, scale, indices, scores);
        if (mutation == Mutation.SwapTopKTies && target == BackendOp.TopK)
        {
            // The tie rule reversed: equal neighbours swap, so the higher index comes first.
            int k = queries.Rows == 0 ? 0 : indices.Length / queries.Rows;
            for (int i = 0; i < queries.Rows; i++)
            {
                for (int r = (i * k) + 1; r < (i + 1) * k; r++)
                {
                    if (indices[r] >= 0 && scores[r] == scores[r - 1])
                    {
                        (indices[r], indices[r - 1]) = (indices[r - 1], indices[r]);
                        Changes++;
                    }
                }
            }
        }
    }

    public void Sinkhorn(SinkhornBatch batch, SinkhornOptions options)
    {
        inner.Sinkhorn(batch, options);
        if (mutation == Mutation.ScaleLargestOutput && target == BackendOp.Sinkhorn)
        {
            // The largest cell of the whole batch, one element as for the matrix ops.
            var plans = batch.Plans;
            int at = -1;
            for (int c = 0; c < plans.Length; c++)
            {
                at = at < 0 || plans[c] > plans[at] ? c : at;
            }

            if (at >= 0 && plans[at] != 0)
            {
                plans[at] *= 1.01f;
                Changes++;
            }
        }
    }

    public void Dispose()
    {
    }

    private void After(BackendOp op, BackendMatrix output)
    {
        if (op != target)
        {
            return;
        }

        switch (mutation)
        {
            case Mutation.ScaleLargestOutput:
                ScaleLargest(output);
                break;
            case Mutation.WritePastOutput:
                // The host backends' matrices are windows on an array: write the float just after the window, as an
                // off-by-one kernel would.
                var host = (HostMatrix)output;
                if (!MemoryMarshal.TryGetArray<float>(host.Data, out var segment) || segment.Offset + segment.Count >= segment.Array!.Length)
                {
                    throw new InvalidOperationException("the output has no storage after it");
                }

                segment.Array[segment.Offset + segment.Count] = 1f;
                Changes++;
                break;
        }
    }

    private void ScaleLargest(BackendMatrix output)
    {
        var values = new float[output.Rows * output.Columns];
        inner.Download(output, values);
        int at = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i]) && (at < 0 || Math.Abs(values[i]) > Math.Abs(values[at])))
            {
                at = i;
            }
        }

        if (at < 0 || values[at] == 0)
        {
            return;
        }

        values[at] *= 1.01f;
        inner.Upload(values, output);
        Changes++;
    }
}

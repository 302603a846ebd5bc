using NativeAlign.Backends;
using NativeAlign.Backends.Reference;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Models;

/// <summary>A model binds to its backend at load: an op or shape the backend cannot run is a typed error then.</summary>
[TestFixture]
public sealed class BackendBindingTests
{
    private static string Folder => EncoderPyTorchParityTests.FixtureFolder("bert");

    [Test]
    public void AnAttentionShapeTheBackendCannotRun_FailsAtLoad_NamingOpShapeAndBackend()
    {
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json"));
        using var weights = SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors"));
        using var backend = new RefusingBackend(op => op.Op == BackendOp.Attention && op.HeadSize > 4 ? "heads wider than 4" : null);

        var e = Assert.Throws<BackendException>(() => TransformerEncoder.Create(config, weights, backend, "model.safetensors"));
        Assert.That(e!.Message, Does.Contain("refusing").And.Contain("Attention").And.Contain($"head size {config.HeadSize}").And.Contain("heads wider than 4"));
        Assert.That(backend.OpsRun, Is.Zero, "nothing ran before the refusal");
    }

    [Test]
    public void AWeightTypeTheBackendCannotRead_FailsAtLoad_NamingTheTensorAndItsShape()
    {
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json"));
        using var weights = SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors"));
        using var backend = new RefusingBackend(op => op.Op == BackendOp.Linear && op.Rows == config.IntermediateSize ? "no wide products" : null);

        var e = Assert.Throws<BackendException>(() => TransformerEncoder.Create(config, weights, backend, "model.safetensors"));
        Assert.That(e!.Message, Does.Contain("encoder.layer.0.intermediate.dense.weight").And.Contain($"[{config.IntermediateSize}, {config.HiddenSize}]"));
    }

    [Test]
    public void ABackendThatRunsEverything_Binds()
    {
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json"));
        using var weights = SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors"));
        using var backend = new RefusingBackend(_ => null);
        using var encoder = TransformerEncoder.Create(config, weights, backend, "model.safetensors");
        Assert.That(backend.Asked, Has.Some.Matches<OpSpec>(o => o.Op == BackendOp.Attention && o.HeadSize == config.HeadSize));
    }

    /// <summary>The reference backend, refusing what <c>refuse</c> names and recording what it was asked.</summary>
    private sealed class RefusingBackend(Func<OpSpec, string?> refuse) : IComputeBackend
    {
        private readonly ReferenceBackend _inner = new();

        public List<OpSpec> Asked { get; } = [];

        public int OpsRun { get; private set; }

        public string Name => "refusing";

        public string? Unsupported(OpSpec op)
        {
            Asked.Add(op);
            return refuse(op);
        }

        public BackendMatrix Allocate(int rows, int columns) => _inner.Allocate(rows, columns);

        public BackendMatrix View(BackendMatrix storage, int rows, int columns) => _inner.View(storage, rows, columns);

        public void Upload(ReadOnlySpan<float> source, BackendMatrix destination) => _inner.Upload(source, destination);

        public void Download(BackendMatrix source, Span<float> destination) => _inner.Download(source, destination);

        public BackendWeight PrepareWeight(WeightTensor weight) => _inner.PrepareWeight(weight);

        public void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
        {
            OpsRun++;
            _inner.EmbeddingSum(ids, positionIds, typeIds, words, positions, types, output);
        }

        public void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output) =>
            Count(() => _inner.Linear(input, weight, bias, activation, residual, output));

        public void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output) =>
            Count(() => _inner.LayerNorm(input, gain, bias, epsilon, output));

        public void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output) => Count(() => _inner.Activate(input, activation, output));

        public void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output)
        {
            OpsRun++;
            _inner.Attention(q, k, v, shape, lengths, output);
        }

        public void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output)
        {
            OpsRun++;
            _inner.MeanPool(input, sequenceLength, lengths, output);
        }

        public void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output) => Count(() => _inner.ClsPool(input, sequenceLength, output));

        public void L2Normalize(BackendMatrix input, BackendMatrix output) => Count(() => _inner.L2Normalize(input, output));

        public OpCounts Counts => _inner.Counts;

        public BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns) => _inner.Borrow(data, rows, columns);

        public void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores)
        {
            OpsRun++;
            _inner.TopK(queries, corpus, firstIndex, bias, scale, indices, scores);
        }

        public void Sinkhorn(SinkhornBatch batch, SinkhornOptions options) => Count(() => _inner.Sinkhorn(batch, options));

        public void Dispose() => _inner.Dispose();

        private void Count(Action run)
        {
            OpsRun++;
            run();
        }
    }
}

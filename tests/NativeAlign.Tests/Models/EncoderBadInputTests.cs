using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Models;

/// <summary>Bad models and inputs at the encoder: each a typed error naming what is wrong, or documented truncation.</summary>
[TestFixture]
public sealed class EncoderBadInputTests
{
    private static string Folder => EncoderPyTorchParityTests.FixtureFolder("bert");

    [TestCase("encoder.layer.1.attention.self.key.weight")]
    [TestCase("embeddings.LayerNorm.bias")]
    [TestCase("embeddings.position_embeddings.weight")]
    public void MissingTensorIsNamed(string name)
    {
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json"));
        var weights = new EditedWeights(SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors")), hide: name);
        var e = Assert.Throws<ModelFormatException>(() => SentenceEncoder.Create(config, weights, null, SentenceHeadSpec.MeanOnly));
        Assert.That(e!.Item, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain("missing"));
        Assert.That(weights.Disposed, Is.True, "a failed build must release the weights it took");
    }

    [Test]
    public void MisshapedTensorIsNamedWithBothShapes()
    {
        // config.json says 64 intermediate features; claim 63 and the first layer's FFN weights no longer fit.
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json")) with { IntermediateSize = 63 };
        var weights = SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors"));
        var e = Assert.Throws<ModelFormatException>(() => SentenceEncoder.Create(config, weights, null, SentenceHeadSpec.MeanOnly));
        Assert.That(e!.Item, Is.EqualTo("encoder.layer.0.intermediate.dense.weight"));
        Assert.That(e.Message, Does.Contain("[64, 32]").And.Contain("[63, 32]"));
    }

    [Test]
    public void PoolerPoolingWithoutPoolerWeightsIsNamed()
    {
        var config = EncoderConfigReader.Read(Path.Combine(Folder, "config.json"));
        var weights = new EditedWeights(SafetensorsWeights.Open(Path.Combine(Folder, "model.safetensors")), hide: "pooler.dense.weight");
        var e = Assert.Throws<ModelFormatException>(() => SentenceEncoder.Create(config, weights, null, new SentenceHeadSpec([SentencePoolingMode.Cls], true, [], false)));
        Assert.That(e!.Item, Is.EqualTo("pooler.dense.weight"));
    }

    [Test]
    public void UnknownArchitectureIsATypedError()
    {
        string dir = Path.Combine(Path.GetTempPath(), "na-arch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var config = File.ReadAllText(Path.Combine(Folder, "config.json")).Replace("\"bert\"", "\"gpt2\"", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            File.Copy(Path.Combine(Folder, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
            var e = Assert.Throws<ModelFormatException>(() => SentenceEncoder.Load(dir));
            Assert.That(e!.Message, Does.Contain("gpt2"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void InputsLongerThanThePositionTableAreTruncatedAndCounted()
    {
        using var encoder = EncoderPyTorchParityTests.Open("bert", "f32", "cpu");
        int max = encoder.Config.MaxSequenceLength;
        Assert.That(max, Is.EqualTo(40));
        var rng = new Random(3);
        var longInput = Enumerable.Range(0, max + 11).Select(_ => rng.Next(1, 50)).ToArray();
        var shortInput = new[] { 5, 6, 7 };
        var result = encoder.EmbedIds([shortInput, longInput]);
        Assert.That(result.TruncatedInputs, Is.EqualTo(1));
        Assert.That(result.TruncatedTokens, Is.EqualTo(11));

        // Documented behaviour: the first max − 1 tokens and the last (separator) token are kept.
        int[] kept = [.. longInput.AsSpan(0, max - 1), longInput[^1]];
        var expected = encoder.EmbedIds([kept]);
        Assert.That(result[1].ToArray(), Is.EqualTo(expected[0].ToArray()).Within(1e-6f));
    }

    [Test]
    public void HiddenStatesRejectOverlongInputsInsteadOfGuessing()
    {
        using var encoder = EncoderPyTorchParityTests.Open("xlmr", "f32", "cpu");
        var tooLong = Enumerable.Repeat(5, encoder.Config.MaxSequenceLength + 1).ToArray();
        var e = Assert.Throws<NativeAlignException>(() => encoder.HiddenStates([tooLong]));
        Assert.That(e!.Kind, Is.EqualTo(ErrorKind.Usage));
        Assert.That(e.Message, Does.Contain("32"));
    }

    [Test]
    public void IdOutsideTheVocabularyIsAnInputError()
    {
        using var encoder = EncoderPyTorchParityTests.Open("bert", "f32", "cpu");
        var e = Assert.Throws<InputFormatException>(() => encoder.EmbedIds([[1, 2, 50]]));
        Assert.That(e!.Message, Does.Contain("embeddings.word_embeddings.weight").And.Contain("50"));
        Assert.Throws<InputFormatException>(() => encoder.EmbedIds([[1, -1]]));
    }

    [Test]
    public void LayerOutOfRangeIsAUsageError()
    {
        var e = Assert.Throws<NativeAlignException>(() => EncoderPyTorchParityTests.Open("bert", "f32", "cpu", layer: 3));
        Assert.That(e!.Kind, Is.EqualTo(ErrorKind.Usage));
        Assert.That(e.Message, Does.Contain("2 layers"));
        using var encoder = EncoderPyTorchParityTests.Open("bert", "f32", "cpu");
        Assert.Throws<NativeAlignException>(() => encoder.HiddenStates([[1, 2]], layer: -4));
        Assert.DoesNotThrow(() => encoder.HiddenStates([[1, 2]], layer: -3));
    }

    [Test]
    public void UseAfterDisposeIsRefused()
    {
        var encoder = EncoderPyTorchParityTests.Open("bert", "f32", "cpu");
        encoder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => encoder.EmbedIds([[1, 2]]));
        Assert.DoesNotThrow(encoder.Dispose);
    }

    [Test]
    public void ConcurrentCallsGiveTheSameResultsAsSequentialOnes()
    {
        using var encoder = EncoderPyTorchParityTests.Open("xlmr", "f32", "cpu");
        var rng = new Random(11);
        var inputs = Enumerable.Range(0, 24).Select(i => Enumerable.Range(0, 2 + (i % 20)).Select(_ => rng.Next(2, 60)).ToArray()).ToArray();
        var sequential = inputs.Select(x => encoder.EmbedIds([x])[0].ToArray()).ToArray();
        var parallel = new float[inputs.Length][];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i => parallel[i] = encoder.EmbedIds([inputs[i]])[0].ToArray());
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.That(parallel[i], Is.EqualTo(sequential[i]).Within(1e-6f), $"input {i}");
        }
    }

    /// <summary>Weights with one tensor hidden; records disposal.</summary>
    private sealed class EditedWeights(IModelWeights inner, string hide) : IModelWeights
    {
        public bool Disposed { get; private set; }

        public IReadOnlyCollection<string> Names => inner.Names.Where(n => n != hide).ToArray();

        public bool TryGet(string name, out WeightTensor tensor)
        {
            if (name == hide)
            {
                tensor = null!;
                return false;
            }

            return inner.TryGet(name, out tensor);
        }

        public void Dispose()
        {
            Disposed = true;
            inner.Dispose();
        }
    }
}

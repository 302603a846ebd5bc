using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NativeAlign.Models;
using NativeAlign.Serving;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Serving;

/// <summary>The library the .NET way: IEmbeddingGenerator from DI, the IEnumerable and async overloads, a caller's buffer.</summary>
[TestFixture]
public sealed class SentenceEmbeddingGeneratorTests
{
    private static readonly List<string> Texts = ["A cat sits on the mat.", "Der Hund schläft.", "Stock markets fell sharply today."];

    [Test]
    public async Task TheRegisteredGeneratorGivesTheEncodersVectors()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var services = new ServiceCollection().AddNativeAlignEmbeddings(model, new SentenceEncoderOptions { Normalize = true });
        await using var provider = services.BuildServiceProvider();
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        Assert.That(generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions, Is.EqualTo(384));

        var generated = await generator.GenerateAsync(Texts);
        using var reference = SentenceEncoder.Load(model, new SentenceEncoderOptions { Normalize = true });
        var expected = reference.Embed(Texts.ToArray());
        for (int i = 0; i < Texts.Count; i++)
        {
            Assert.That(VectorMath.Cosine(generated[i].Vector.Span, expected[i]), Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
        }

        Assert.That(generated.Usage?.InputTokenCount, Is.EqualTo(expected.Tokens));

        var shortened = await generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 32 });
        var prefix = expected[1][..32].ToArray();
        VectorMath.NormalizeInPlace(prefix);
        Assert.That(shortened[1].Vector.ToArray(), Is.EqualTo(prefix).Within(1e-6f));
        Assert.ThrowsAsync<NativeAlignException>(() => generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 385 }));
    }

    [Test]
    public async Task ListAsyncAndCallerBufferOverloadsAgreeWithTheSpanOne()
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel());
        var expected = encoder.Embed(Texts.ToArray());
        Assert.That(encoder.Embed(Texts).Data, Is.EqualTo(expected.Data).Within(1e-6f), "a List<string>");
        Assert.That((await encoder.EmbedAsync(Texts.Where(_ => true))).Data, Is.EqualTo(expected.Data).Within(1e-6f), "a lazy sequence, asynchronously");

        var buffer = new float[Texts.Count * encoder.Dimension + 5];
        buffer[^1] = 42;
        long tokens = encoder.EmbedInto(Texts.ToArray(), buffer);
        Assert.That(tokens, Is.EqualTo(expected.Tokens));
        Assert.That(buffer[..^5], Is.EqualTo(expected.Data).Within(1e-6f));
        Assert.That(buffer[^1], Is.EqualTo(42), "nothing written past the rows");
        Assert.Throws<ArgumentException>(() => encoder.EmbedInto(Texts.ToArray(), new float[10]));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.That(async () => await encoder.EmbedAsync(Texts, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
    }
}

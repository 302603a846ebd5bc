using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary>The public API on the default model: token states carry the tokenizer's alignment; text and id paths agree.</summary>
[TestFixture]
public sealed class SentenceEncoderApiTests
{
    [Test]
    public void EncodeTokensReturnsOneStatePerTokenWithWordIdsAndOffsets()
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel());
        const string text = "Tokenization splits unbelievable words.";
        var tokens = encoder.EncodeTokens(text, layer: 3);
        Assert.That(tokens.Layer, Is.EqualTo(3));
        Assert.That(tokens.States, Has.Length.EqualTo(tokens.Tokens.Count * encoder.Config.HiddenSize));
        Assert.That(tokens.Tokens.WordIds[0], Is.EqualTo(-1), "[CLS] belongs to no word");
        Assert.That(tokens.Tokens.WordIds.Where(w => w >= 0).Distinct().Count(), Is.EqualTo(5), "four words and the full stop");
        var first = tokens.Tokens.Offsets[1];
        Assert.That(text[first.Start..first.End], Is.EqualTo("Token"), "offsets point into the original (not lower-cased) text");

        var direct = encoder.HiddenStates([tokens.Tokens.Ids], layer: 3)[0];
        Assert.That(tokens.States, Is.EqualTo(direct).Within(1e-6f));
        Assert.That(encoder.HiddenStates([tokens.Tokens.Ids], layer: 3)[0], Is.Not.EqualTo(encoder.HiddenStates([tokens.Tokens.Ids], layer: -1)[0]));
    }

    [Test]
    public void EmbedOfTextEqualsEmbedOfItsIds()
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel(), new SentenceEncoderOptions { Normalize = true });
        string[] texts = ["Hello world.", "A much longer sentence with several more tokens than the first one.", ""];
        var fromText = encoder.Embed(texts);
        var fromIds = encoder.EmbedIds(texts.Select(t => encoder.Tokenizer!.Encode(t).Ids).ToArray());
        Assert.That(fromText.Data, Is.EqualTo(fromIds.Data).Within(1e-6f));
        Assert.That(fromText.Count, Is.EqualTo(3));
        Assert.That(encoder.Dimension, Is.EqualTo(384));
    }
}

using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary>
/// Dispose called from inside a call on the same encoder — a synchronous progress callback — must fail fast with
/// <see cref="InvalidOperationException"/>, not wait for the call it is part of (which used to hang for ever).
/// </summary>
[TestFixture]
public sealed class SentenceEncoderDisposeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static string TinyModel => Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Models", "Fixtures", "encoder-bert");

    /// <summary>An <see cref="IProgress{T}"/> that runs on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class InlineProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    /// <summary>Runs <paramref name="call"/> on a background thread and returns what it threw; fails if it does not end within <see cref="Limit"/>.</summary>
    private static Exception? RunWithLimit(Action call)
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try
            {
                call();
            }
            catch (Exception e)
            {
                thrown = e;
            }
        }) { IsBackground = true };
        thread.Start();
        Assert.That(thread.Join(Limit), Is.True, $"the call did not return within {Limit.TotalSeconds} s: Dispose inside the progress callback deadlocked");
        return thrown;
    }

    [Test]
    public void DisposeFromEmbedIdsProgressCallbackThrowsInsteadOfHanging()
    {
        var encoder = SentenceEncoder.Load(TinyModel);
        int[][] ids = [[1, 7, 8, 2], [1, 9, 2]];
        var thrown = RunWithLimit(() => encoder.EmbedIds(ids, progress: new InlineProgress(_ => encoder.Dispose())));
        Assert.That(thrown, Is.TypeOf<InvalidOperationException>().With.Message.Contains("Dispose"));

        // The refused Dispose left the encoder whole: it still embeds, and a Dispose after the call works.
        var again = encoder.EmbedIds(ids);
        Assert.That(again.Count, Is.EqualTo(2));
        Assert.That(RunWithLimit(encoder.Dispose), Is.Null);
        Assert.Throws<ObjectDisposedException>(() => encoder.EmbedIds(ids));
    }

    [Test]
    public void DisposeFromEmbedProgressCallbackThrowsInsteadOfHanging()
    {
        var encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel());
        string[] texts = ["Hello world.", "A second sentence."];
        var thrown = RunWithLimit(() => encoder.Embed(texts, new InlineProgress(_ => encoder.Dispose())));
        Assert.That(thrown, Is.TypeOf<InvalidOperationException>());
        Assert.That(RunWithLimit(encoder.Dispose), Is.Null);
    }

    [Test]
    public void DisposeOnAnotherThreadWaitsForTheCallInProgress()
    {
        var encoder = SentenceEncoder.Load(TinyModel);
        int[][] ids = [[1, 7, 8, 2], [1, 9, 2]];
        Thread? disposer = null;
        var embedded = encoder.EmbedIds(ids, progress: new InlineProgress(_ =>
        {
            if (disposer is null)
            {
                disposer = new Thread(encoder.Dispose) { IsBackground = true };
                disposer.Start();
                // The other thread's Dispose must wait for this call rather than release the weights under it.
                Assert.That(disposer.Join(TimeSpan.FromMilliseconds(200)), Is.False, "Dispose on another thread returned while a call was running");
            }
        }));
        Assert.That(embedded.Data.All(float.IsFinite), Is.True);
        Assert.That(disposer!.Join(Limit), Is.True, "Dispose did not finish after the call returned");
    }
}

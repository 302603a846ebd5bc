using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary>
/// A steady stream of single-sentence calls reuses its activations (see <c>ActivationWorkspace</c>): what a call still
/// allocates is the tokenizer's output, the per-call id arrays and the result, a few KiB, where one layer's
/// activations alone are [T × 1536] floats.
/// </summary>
[TestFixture]
public sealed class EmbedAllocationTests
{
    /// <summary>
    /// Bytes one steady-state call of the default model (6 layers, hidden 384, FFN 1536) may allocate. One set of a
    /// sentence's activation matrices is 13 tokens × (6·384 + 1536) floats ≈ 200 KB, and the calls below vary in length
    /// up to 20 tokens: a call that allocated any activation matrix afresh would exceed the bound several times over.
    /// </summary>
    private const long BoundPerCall = 16 * 1024;

    [Test]
    public void SteadyStateSingleSentenceEmbed_AllocatesNoActivationMatrices()
    {
        using var encoder = SentenceEncoder.Load(LoadingTestSupport.DefaultModel);
        string[] sentences = ["A cat sits on the mat.", "The quick brown fox jumps over the lazy dog again and again.", "Hello.", "Where is the station?"];
        for (int i = 0; i < 40; i++)
        {
            encoder.Embed([sentences[i % sentences.Length]]);
        }

        const int calls = 200;
        long thread = GC.GetAllocatedBytesForCurrentThread();
        long total = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < calls; i++)
        {
            encoder.Embed([sentences[i % sentences.Length]]);
        }

        double perCallThread = (GC.GetAllocatedBytesForCurrentThread() - thread) / (double)calls;
        double perCallTotal = (GC.GetTotalAllocatedBytes(precise: true) - total) / (double)calls;
        TestContext.Out.WriteLine($"per call: {perCallThread:F0} B on the calling thread, {perCallTotal:F0} B on all threads");
        Assert.That(perCallThread, Is.LessThan(BoundPerCall), "calling thread");
        Assert.That(perCallTotal, Is.LessThan(BoundPerCall), "all threads (the worker team's included)");
    }
}

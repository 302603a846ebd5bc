using NativeAlign.Alignment.Sentences;
using NativeAlign.Alignment.Words;
using NativeAlign.Backends;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Models;
using NativeAlign.Tensors;
using NativeAlign.Tests.Backends.OpenCl;
using NativeAlign.Tests.IO;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Alignment;

/// <summary>
/// Retrieval and transport on the OpenCL device against the CPU backend (whose results are checked against FAISS and
/// POT elsewhere), on the shared evaluation data: the same vectors go in (CPU embeddings of the shared Tatoeba and
/// En–Fr text), so the only difference is where top-k and Sinkhorn run. Mining must give the same pairs, CSLS and
/// Tatoeba retrieval the same neighbours, and ot / uot / pot the same links.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DeviceAlignmentParityTests
{
    private SentenceEncoder _encoder = null!;
    private OpenClTestDevice _device = null!;
    private OpenClBackend _openCl = null!;

    [OneTimeSetUp]
    public void Open()
    {
        OpenClTestDevice.RequireDevice();
        _encoder = SentenceEncoder.Load(LoadingTestSupport.RequireDefaultModel(), new SentenceEncoderOptions { Normalize = true });
        _device = OpenClTestDevice.Open();
        _openCl = OpenClBackend.Create(_device.Context);
    }

    [OneTimeTearDown]
    public void Close()
    {
        _openCl?.Dispose();
        _device?.Dispose();
        _encoder?.Dispose();
    }

    private SentenceEmbeddings Tatoeba(string file) =>
        _encoder.Embed([.. File.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", file))]);

    [Test]
    public void MiningAndRetrieval_OnTheSharedTatoebaText_AreTheCpuResults()
    {
        var deu = Tatoeba("tatoeba.deu-eng.deu");
        var eng = Tatoeba("tatoeba.deu-eng.eng");
        Assert.That(deu.Count, Is.EqualTo(1000));

        var options = new MiningOptions { K = 4, ChunkRows = 300 };
        var cpuPairs = MarginMiner.Mine(deu.Data, deu.Count, eng.Data, eng.Count, deu.Dimension, options);
        var devicePairs = MarginMiner.Mine(deu.Data, deu.Count, eng.Data, eng.Count, deu.Dimension, options with { Backend = _openCl });
        Assert.That(devicePairs.Select(p => (p.Source, p.Target)), Is.EqualTo(cpuPairs.Select(p => (p.Source, p.Target))), "mined pairs");
        Assert.That(devicePairs.Select(p => p.Score), Is.EqualTo(cpuPairs.Select(p => p.Score)).Within(2e-6f), "margin scores");

        var cpuCsls = Csls.Retrieve(deu.Data, deu.Count, eng.Data, eng.Count, deu.Dimension, k: 10, neighbours: 5);
        var deviceCsls = Csls.Retrieve(deu.Data, deu.Count, eng.Data, eng.Count, deu.Dimension, k: 10, neighbours: 5, backend: _openCl);
        Assert.That(deviceCsls.Indices, Is.EqualTo(cpuCsls.Indices), "CSLS neighbours");

        var cpuTop = TopKSearch.Search(eng.Data, eng.Count, deu.Data, deu.Count, deu.Dimension, 1);
        var deviceTop = TopKSearch.Search(eng.Data, eng.Count, deu.Data, deu.Count, deu.Dimension, 1, backend: _openCl);
        Assert.That(deviceTop.Indices, Is.EqualTo(cpuTop.Indices), "Tatoeba eng→deu nearest neighbours");
        Assert.That(_openCl.Counts.Calls(BackendOp.TopK), Is.GreaterThanOrEqualTo(8), _openCl.Counts.ToString());
    }

    [TestCase(WordAlignmentMethod.Ot)]
    [TestCase(WordAlignmentMethod.Uot)]
    [TestCase(WordAlignmentMethod.Pot)]
    public void Transport_OnTheSharedEnFrText_GivesTheCpuLinks(WordAlignmentMethod method)
    {
        var lines = File.ReadLines(Path.Combine(TestPaths.SharedData, "word-alignment", "enfr.src-tgt")).Take(150).ToList();
        var aligner = new TextAligner(_encoder);
        var cosines = new List<float[]>();
        var shapes = new List<(int Source, int Target)>();
        foreach (var line in lines)
        {
            var parts = line.Split("|||");
            var pair = aligner.Align(parts[0].Trim(), parts[1].Trim());
            cosines.Add(pair.Cosine);
            shapes.Add((pair.SourceWords.Length, pair.TargetWords.Length));
        }

        var options = new WordAlignerOptions { Method = method };
        var cpu = WordAligner.AlignBatch(cosines, shapes, options);
        long before = _openCl.Counts.Items(BackendOp.Sinkhorn);
        var device = WordAligner.AlignBatch(cosines, shapes, options, backend: _openCl);
        Assert.That(_openCl.Counts.Items(BackendOp.Sinkhorn) - before, Is.EqualTo(lines.Count), "every problem solved on the device");
        int links = 0;
        for (int p = 0; p < lines.Count; p++)
        {
            Assert.That(device[p].Select(l => (l.Source, l.Target)), Is.EqualTo(cpu[p].Select(l => (l.Source, l.Target))), $"pair {p}: {lines[p]}");
            links += cpu[p].Length;
        }

        Assert.That(links, Is.GreaterThan(lines.Count), "the comparison covers real links");
    }
}

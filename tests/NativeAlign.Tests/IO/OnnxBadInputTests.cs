using System.Text;
using NativeAlign.IO;

namespace NativeAlign.Tests.IO;

/// <summary>Defective ONNX files: each is a <see cref="ModelFormatException"/> naming the file and, where there is one, the tensor or node.</summary>
public sealed class OnnxBadInputTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("na-onnx-bad-").FullName;
        foreach (var f in new[] { "tiny_bert_q4.onnx", "tiny_bert_q4.onnx_data", "tiny_bert_opset17.onnx" })
        {
            File.Copy(Path.Combine(LoadingTestSupport.Fixtures, "onnx", f), Path.Combine(_dir, f));
        }
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Q4 => Path.Combine(_dir, "tiny_bert_q4.onnx");

    [Test]
    public void TruncatedModelIsRejected()
    {
        var bytes = File.ReadAllBytes(Q4);
        File.WriteAllBytes(Q4, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(Q4));
        TestContext.Out.WriteLine(ex.Message);
    }

    [Test]
    public void EmptyAndNonOnnxFilesAreRejected()
    {
        File.WriteAllBytes(Q4, []);
        Assert.That(Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose())!.Message, Does.Contain("empty"));
        File.WriteAllText(Q4, "{\"this is\": \"json, not protobuf\"}");
        Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose());
    }

    [Test]
    public void TruncatedExternalDataNamesTheTensor()
    {
        string data = Path.Combine(_dir, "tiny_bert_q4.onnx_data");
        var bytes = File.ReadAllBytes(data);
        File.WriteAllBytes(data, bytes[..(bytes.Length - 100)]);
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose())!;
        Assert.That(ex.Item, Is.Not.Null);
        Assert.That(ex.Message, Does.Contain("lies outside tiny_bert_q4.onnx_data"));
    }

    [Test]
    public void MissingExternalDataIsNamed()
    {
        File.Delete(Path.Combine(_dir, "tiny_bert_q4.onnx_data"));
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose())!;
        Assert.That(ex.Path, Does.EndWith("tiny_bert_q4.onnx_data"));
    }

    [Test]
    public void ExternalDataOutsideTheFolderIsRefused()
    {
        // Same length as the real location, so only the text changes.
        var bytes = File.ReadAllBytes(Q4);
        var text = Encoding.Latin1.GetString(bytes).Replace("tiny_bert_q4.onnx_data", "../../../../etc/passwd", StringComparison.Ordinal);
        File.WriteAllBytes(Q4, Encoding.Latin1.GetBytes(text));
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Q4).Dispose())!;
        Assert.That(ex.Message, Does.Contain("not a relative path inside the model folder"));
    }

    [Test]
    public void GraphWithoutInputIdsIsNamed()
    {
        using var model = OnnxModel.Open(Q4);
        model.GraphInputs.Remove("input_ids");
        var ex = Assert.Throws<ModelFormatException>(() => OnnxEncoderGraph.Map(model, out _, out _))!;
        Assert.That(ex.Item, Is.EqualTo("input_ids"));
    }

    [Test]
    public void NonFourBitMatMulNBitsIsNamed()
    {
        using var model = OnnxModel.Open(Q4);
        var node = model.Nodes.First(n => n.OpType == "MatMulNBits");
        node.Attributes["bits"].Int = 8;
        var ex = Assert.Throws<ModelFormatException>(() => OnnxEncoderGraph.Map(model, out _, out _))!;
        Assert.That(ex.Item, Is.EqualTo(node.Name));
        Assert.That(ex.Message, Does.Contain("only 4-bit"));
    }

    [Test]
    public void MisshapedPackedWeightsAreNamed()
    {
        using var model = OnnxModel.Open(Q4);
        var node = model.Nodes.First(n => n.OpType == "MatMulNBits");
        node.Attributes["K"].Int = 48;
        var ex = Assert.Throws<ModelFormatException>(() => OnnxEncoderGraph.Map(model, out _, out _))!;
        Assert.That(ex.Item, Is.EqualTo(node.Inputs[1]));
        Assert.That(ex.Message, Does.Contain("expected UInt8 [24, 3, 8]"));
    }

    [Test]
    public void MissingLayerNormIsNamed()
    {
        using var model = OnnxModel.Open(Path.Combine(_dir, "tiny_bert_opset17.onnx"));
        model.Nodes.RemoveAll(n => n.OpType == "LayerNormalization");
        var ex = Assert.Throws<ModelFormatException>(() => OnnxEncoderGraph.Map(model, out _, out _))!;
        Assert.That(ex.Message, Does.Contain("not followed by a layer normalization"));
    }
}

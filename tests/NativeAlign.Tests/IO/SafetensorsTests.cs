using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Tests.IO;

/// <summary>
/// Safetensors reading against files written by an independent numpy writer
/// (Fixtures/make_safetensors_fixtures.py), whose expected values come from the same script.
/// </summary>
public sealed class SafetensorsTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-safetensors-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string SmallPath => Path.Combine(LoadingTestSupport.Fixtures, "small.safetensors");

    [Test]
    public void EveryWeightLoadsUnderItsCanonicalNameWithTheWritersValues()
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LoadingTestSupport.Fixtures, "small.expected.json")));
        using var weights = SafetensorsWeights.Open(SmallPath);
        int checkedCount = 0;
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            string canonical = entry.Name["bert.".Length..].Replace("LayerNorm.gamma", "LayerNorm.weight").Replace("LayerNorm.beta", "LayerNorm.bias");
            if (dtype == "I64")
            {
                Assert.That(weights.Names, Does.Not.Contain(canonical), "integer buffers are not weights");
                continue;
            }

            Assert.That(weights.TryGet(canonical, out var tensor), Is.True, canonical);
            Assert.That(tensor.Name, Is.EqualTo(canonical));
            Assert.That(tensor.Type.ToString().ToUpperInvariant(), Is.EqualTo(dtype), canonical);
            Assert.That(tensor.Shape, Is.EqualTo(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray()), canonical);
            var want = entry.Value.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var got = tensor.ToFloat32();
            Assert.That(got.Length, Is.EqualTo(want.Length), canonical);
            for (int i = 0; i < want.Length; i++)
            {
                // The stored values are exactly representable in float32, so the widening must be exact.
                Assert.That((double)got[i], Is.EqualTo(want[i]), $"{canonical}[{i}]");
            }

            checkedCount++;
        }

        Assert.That(checkedCount, Is.EqualTo(7));
        Assert.That(weights.Names, Has.Count.EqualTo(7));
    }

    [Test]
    public void TensorDataIsAViewOverTheMapNotACopy()
    {
        using var weights = SafetensorsWeights.Open(SmallPath);
        Assert.That(weights.TryGet("embeddings.word_embeddings.weight", out var tensor), Is.True);
        Assert.That(MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(tensor.Data, out _), Is.True, "data should come from a MemoryManager over the map");
        Assert.That(MemoryMarshal.TryGetArray(tensor.Data, out _), Is.False, "data must not be a managed copy");
    }

    [Test]
    public void FileLevelViewKeepsRawNamesDtypesAndMetadata()
    {
        using var file = SafetensorsFile.Open(SmallPath);
        Assert.That(file.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(file.TryGetInfo("bert.embeddings.position_ids", out var ids), Is.True);
        Assert.That(ids.DType, Is.EqualTo("I64"));
        Assert.That(ids.Shape, Is.EqualTo(new long[] { 1, 8 }));
        var ex = Assert.Throws<ModelFormatException>(() => file.GetWeight("bert.embeddings.position_ids"))!;
        Assert.That(ex.Item, Is.EqualTo("bert.embeddings.position_ids"));
        Assert.That(ex.Message, Does.Contain("I64"));
    }

    [Test]
    public void ShardedIndexJoinsTheShards()
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LoadingTestSupport.Fixtures, "sharded.expected.json")));
        using var weights = SafetensorsWeights.Open(Path.Combine(LoadingTestSupport.Fixtures, "sharded", "model.safetensors.index.json"));
        Assert.That(weights.Files, Has.Count.EqualTo(2));
        Assert.That(weights.Names, Has.Count.EqualTo(4));
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            string canonical = entry.Name["roberta.".Length..];
            Assert.That(weights.TryGet(canonical, out var tensor), Is.True, canonical);
            var want = entry.Value.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.That(tensor.ToFloat32(), Is.EqualTo(want), canonical);
        }
    }

    // ---- bad input: each defect is a ModelFormatException naming the file (and the tensor when there is one) ----

    private static (JsonObject Header, byte[] Data) Split(byte[] file)
    {
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = JsonNode.Parse(file.AsSpan(8, (int)n))!.AsObject();
        return (header, file[(8 + (int)n)..]);
    }

    private static byte[] Join(string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var result = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        data.CopyTo(result, 8 + header.Length);
        return result;
    }

    private ModelFormatException OpenBad(byte[] bytes, string name = "bad.safetensors")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelFormatException>(() => SafetensorsWeights.Open(path).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(path), "the error must name the file");
        Assert.That(ex.Kind, Is.EqualTo(ErrorKind.Model));
        return ex;
    }

    private byte[] WithEntry(string tensor, Action<JsonObject> edit)
    {
        var (header, data) = Split(File.ReadAllBytes(SmallPath));
        edit(header[tensor]!.AsObject());
        return Join(header.ToJsonString(), data);
    }

    [Test]
    public void EmptyAndTinyFilesAreRejected()
    {
        Assert.That(OpenBad([]).Message, Does.Contain("shorter than the 8-byte header"));
        Assert.That(OpenBad([1, 2, 3]).Message, Does.Contain("shorter than the 8-byte header"));
    }

    [Test]
    public void HeaderLengthPastTheEndIsRejected()
    {
        var bytes = File.ReadAllBytes(SmallPath);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        Assert.That(OpenBad(bytes).Message, Does.Contain("runs past the end of the file"));
    }

    [Test]
    public void HugeHeaderLengthIsCappedBeforeAnyAllocation()
    {
        var bytes = File.ReadAllBytes(SmallPath);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        Assert.That(OpenBad(bytes).Message, Does.Contain("exceeds the"));
    }

    [Test]
    public void TruncatedDataIsRejectedNamingTheTensor()
    {
        var bytes = File.ReadAllBytes(SmallPath);
        var ex = OpenBad(bytes[..^10]);
        Assert.That(ex.Message, Does.Contain("run past the end of the data"));
        Assert.That(ex.Item, Is.Not.Null);
    }

    [Test]
    public void InvalidJsonHeaderIsRejected()
    {
        var bytes = File.ReadAllBytes(SmallPath);
        bytes[8] = (byte)'x';
        Assert.That(OpenBad(bytes).Message, Does.Contain("invalid JSON"));
        Assert.That(OpenBad(Join("[1,2]", [])).Message, Does.Contain("expected a JSON object"));
    }

    [Test]
    public void UnknownDtypeIsRejectedNamingTheTensor()
    {
        var ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["dtype"] = "F42"));
        Assert.That(ex.Item, Is.EqualTo("bert.pooler.dense.bias"));
        Assert.That(ex.Message, Does.Contain("unknown dtype 'F42'"));
    }

    [Test]
    public void OverlappingOffsetsAreRejected()
    {
        var (header, data) = Split(File.ReadAllBytes(SmallPath));
        var a = header["bert.embeddings.word_embeddings.weight"]!.AsObject();
        var b = header["bert.pooler.dense.bias"]!.AsObject();
        long begin = a["data_offsets"]![0]!.GetValue<long>();
        b["data_offsets"] = new JsonArray(begin + 4, begin + 20);
        var ex = OpenBad(Join(header.ToJsonString(), data));
        Assert.That(ex.Message, Does.Contain("overlaps tensor"));
    }

    [Test]
    public void OutOfRangeOffsetsAreRejected()
    {
        var ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["data_offsets"] = new JsonArray(100_000, 100_016)));
        Assert.That(ex.Item, Is.EqualTo("bert.pooler.dense.bias"));
        Assert.That(ex.Message, Does.Contain("run past the end of the data"));
        Assert.That(OpenBad(WithEntry("bert.pooler.dense.bias", e => e["data_offsets"] = new JsonArray(16, 0))).Message, Does.Contain("0 <= begin <= end"));
        Assert.That(OpenBad(WithEntry("bert.pooler.dense.bias", e => e["data_offsets"] = new JsonArray(-16, 0))).Message, Does.Contain("0 <= begin <= end"));
        Assert.That(OpenBad(WithEntry("bert.pooler.dense.bias", e => e["data_offsets"] = new JsonArray(0))).Message, Does.Contain("data_offsets"));
    }

    [Test]
    public void MisalignedOffsetsAreRejected()
    {
        var (header, data) = Split(File.ReadAllBytes(SmallPath));
        var bias = header["bert.pooler.dense.bias"]!.AsObject();
        long begin = bias["data_offsets"]![0]!.GetValue<long>();

        // Move the F32 tensor two bytes on, into a gap made by appending to the data, so only alignment is wrong.
        long start = ((data.Length + 3) / 4 * 4) + 2;
        bias["data_offsets"] = new JsonArray(start, start + 16);
        var grown = data.Concat(new byte[start + 16 - data.Length]).ToArray();
        var ex = OpenBad(Join(header.ToJsonString(), grown));
        Assert.That(ex.Item, Is.EqualTo("bert.pooler.dense.bias"));
        Assert.That(ex.Message, Does.Contain("not aligned"));
        Assert.That(begin % 4, Is.Zero);
    }

    [Test]
    public void ShapeThatDisagreesWithTheByteRangeIsRejected()
    {
        var ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["shape"] = new JsonArray(5)));
        Assert.That(ex.Item, Is.EqualTo("bert.pooler.dense.bias"));
        Assert.That(ex.Message, Does.Contain("needs 20 bytes but data_offsets give 16"));
        ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["shape"] = new JsonArray(1L << 40, 1L << 40, 1L << 40)));
        Assert.That(ex.Message, Does.Contain("more than the file holds"));
        ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["shape"] = new JsonArray(-4)));
        Assert.That(ex.Message, Does.Contain("non-negative integer"));
        ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e["shape"] = new JsonArray(Enumerable.Range(0, 40).Select(_ => (JsonNode?)1).ToArray())));
        Assert.That(ex.Message, Does.Contain("dimensions, more than"));
    }

    [Test]
    public void MissingFieldsAreRejectedNamingTheTensor()
    {
        foreach (var field in new[] { "dtype", "shape", "data_offsets" })
        {
            var ex = OpenBad(WithEntry("bert.pooler.dense.bias", e => e.Remove(field)));
            Assert.That(ex.Item, Is.EqualTo("bert.pooler.dense.bias"), field);
            Assert.That(ex.Message, Does.Contain(field));
        }
    }

    [Test]
    public void DuplicateTensorNamesAreRejected()
    {
        var (header, data) = Split(File.ReadAllBytes(SmallPath));
        string json = header.ToJsonString();
        string entry = "\"bert.pooler.dense.bias\":" + header["bert.pooler.dense.bias"]!.ToJsonString();
        var ex = OpenBad(Join("{" + entry + "," + json[1..], data));
        Assert.That(ex.Message, Does.Contain("declared twice"));
    }

    [Test]
    public void MissingFileAndDirectoryAreTypedErrors()
    {
        Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(Path.Combine(_dir, "absent.safetensors")));
        Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(_dir));
    }

    [Test]
    public void IndexDefectsAreNamed()
    {
        var src = Path.Combine(LoadingTestSupport.Fixtures, "sharded");
        foreach (var f in Directory.GetFiles(src))
        {
            File.Copy(f, Path.Combine(_dir, Path.GetFileName(f)));
        }

        var indexPath = Path.Combine(_dir, "model.safetensors.index.json");
        var original = JsonNode.Parse(File.ReadAllText(indexPath))!.AsObject();

        ModelFormatException Bad(Action<JsonObject> edit)
        {
            var index = original.DeepClone().AsObject();
            edit(index["weight_map"]!.AsObject());
            File.WriteAllText(indexPath, index.ToJsonString());
            return Assert.Throws<ModelFormatException>(() => SafetensorsWeights.Open(indexPath).Dispose())!;
        }

        var ex = Bad(m => m["roberta.encoder.layer.0.extra.weight"] = "model-00001-of-00002.safetensors");
        Assert.That(ex.Item, Is.EqualTo("roberta.encoder.layer.0.extra.weight"));
        Assert.That(ex.Message, Does.Contain("shard lacks it"));

        ex = Bad(m => m["roberta.embeddings.word_embeddings.weight"] = "../model-00001-of-00002.safetensors");
        Assert.That(ex.Message, Does.Contain("not a plain file name"));

        ex = Bad(m => m["roberta.embeddings.word_embeddings.weight"] = "missing.safetensors");
        Assert.That(ex.Path, Does.EndWith("missing.safetensors"));

        ex = Bad(m => m.Remove("roberta.embeddings.position_embeddings.weight"));
        Assert.That(ex.Item, Is.EqualTo("roberta.embeddings.position_embeddings.weight"));
        Assert.That(ex.Message, Does.Contain("assigns it elsewhere"));

        File.WriteAllText(indexPath, "{\"weight_map\": 3}");
        ex = Assert.Throws<ModelFormatException>(() => SafetensorsWeights.Open(indexPath).Dispose())!;
        Assert.That(ex.Item, Is.EqualTo("weight_map"));
    }

    [Test]
    public void PrefixCollisionsAreRejected()
    {
        var (header, data) = Split(File.ReadAllBytes(SmallPath));
        header["pooler.dense.bias"] = header["bert.pooler.dense.bias"]!.DeepClone();

        // Same bytes twice would overlap; point the copy at fresh data instead.
        long start = (data.Length + 3) / 4 * 4;
        header["pooler.dense.bias"]!["data_offsets"] = new JsonArray(start, start + 16);
        var ex = OpenBad(Join(header.ToJsonString(), data.Concat(new byte[start + 16 - data.Length]).ToArray()));
        Assert.That(ex.Message, Does.Contain("same canonical name 'pooler.dense.bias'"));
    }
}

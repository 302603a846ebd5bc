using System.Text.Json;
using System.Text.Json.Nodes;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// Other normalizers, pre-tokenizers and post-processors, each put into a variant of the default model's tokenizer.json
/// and compared with @huggingface/tokenizers (ids and tokens) on the adversarial set and French Tatoeba lines.
/// Where the peer deliberately departs from the Rust reference (its Whitespace and Digits use ASCII-only \w and \d),
/// the variant is checked on the lines where that difference cannot show, and the filter says so.
/// </summary>
public sealed class ComponentParityTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-components-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    public static IEnumerable<TestCaseData> Variants()
    {
        yield return new TestCaseData(
            """{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"},{"type":"Lowercase"},{"type":"Strip","strip_left":true,"strip_right":true}]}""",
            """{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Split","pattern":{"Regex":"\\p{P}"},"behavior":"Isolated","invert":false}]}""",
            """{"type":"BertProcessing","sep":["[SEP]",102],"cls":["[CLS]",101]}""",
            "all").SetName("NFD+StripAccents+Lowercase+Strip, WhitespaceSplit+Split(isolated), BertProcessing");
        yield return new TestCaseData(
            """{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},{"type":"Replace","pattern":{"String":"-"},"content":" - "},{"type":"Replace","pattern":{"Regex":"[0-9]+"},"content":"#"}]}""",
            """{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Removed","invert":false},{"type":"Digits","individual_digits":true}]}""",
            """{"type":"RobertaProcessing","sep":["[SEP]",102],"cls":["[CLS]",101],"trim_offsets":true,"add_prefix_space":false}""",
            "ascii-digits").SetName("NFKC+Lowercase+Replace, Split(removed)+Digits, RobertaProcessing");
        yield return new TestCaseData(
            """{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"Lowercase"},{"type":"Prepend","prepend":"x"}]}""",
            """{"type":"Whitespace"}""",
            "null",
            "ascii").SetName("NFKD+Lowercase+Prepend, Whitespace, no post-processor");
        yield return new TestCaseData(
            """{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false,"strip_accents":true,"lowercase":false}""",
            """{"type":"BertPreTokenizer"}""",
            """{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"SpecialToken":{"id":"[MASK]","type_id":0}},{"Sequence":{"id":"A","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],"pair":[],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[101],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[102],"tokens":["[SEP]"]},"[MASK]":{"id":"[MASK]","ids":[103],"tokens":["[MASK]"]}}}""",
            "all").SetName("BertNormalizer without cleaning/CJK/lowercase, TemplateProcessing with type ids");
    }

    [TestCaseSource(nameof(Variants))]
    public void VariantIdenticalToPeer(string normalizer, string preTokenizer, string postProcessor, string lines)
    {
        var json = JsonNode.Parse(File.ReadAllText(TestPaths.DefaultTokenizerJson()))!;
        json["normalizer"] = JsonNode.Parse(normalizer);
        json["pre_tokenizer"] = JsonNode.Parse(preTokenizer);
        json["post_processor"] = JsonNode.Parse(postProcessor);
        var tokenizerPath = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(tokenizerPath, json.ToJsonString());

        var inputs = JsonText.ReadStrings(Path.Combine(TestPaths.Fixtures, "adversarial.jsonl"))
            .Concat(JsonText.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", "tatoeba.fra-eng.fra")).Take(300))
            .Where(l => lines switch
            {
                // The peer's \w is ASCII-only where the Rust reference (and we) use Unicode word characters.
                "ascii" => l.All(c => c < 0x80),
                // The peer's \d is ASCII-only where Rust's is_numeric (and we) take every number character.
                "ascii-digits" => !l.Any(c => c >= 0x80 && char.IsNumber(c)) && !l.Any(char.IsSurrogate),
                _ => true,
            })
            .ToList();
        Assert.That(inputs, Has.Count.GreaterThan(150));
        var input = Path.Combine(_dir, "input.jsonl");
        File.WriteAllLines(input, inputs.Select(JsonText.Quote));

        var tokenizer = TokenizerLoader.FromFile(tokenizerPath);
        var peer = PeerTokenizer.Run(tokenizerPath, input, jsonStrings: true);
        Assert.That(peer, Has.Count.EqualTo(inputs.Count));
        var failures = new List<string>();
        for (var i = 0; i < inputs.Count && failures.Count < 10; i++)
        {
            var ours = tokenizer.Encode(inputs[i], 0);
            if (!ours.Ids.SequenceEqual(peer[i].Ids) || !ours.Tokens.SequenceEqual(peer[i].Tokens))
            {
                failures.Add($"{WordPieceParityTests.Show(inputs[i])}:\n  ours {string.Join(' ', ours.Tokens)}\n  peer {string.Join(' ', peer[i].Tokens)}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }
}

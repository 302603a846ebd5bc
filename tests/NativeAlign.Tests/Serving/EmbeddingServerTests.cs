using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using NativeAlign.Models;
using NativeAlign.Server;
using NativeAlign.Serving;
using NativeAlign.Tests.IO;
using OpenAI;

namespace NativeAlign.Tests.Serving;

/// <summary>
/// <c>nativealign serve</c> in process on a loopback port 0, checked against the library itself: a real OpenAI client
/// (Microsoft.Extensions.AI.OpenAI, not written here), TEI's documented JSON shapes, 2,000 concurrent requests that must
/// each get the offline embedding of their own text, a full queue answered 429 while the encoder is held, and a stop
/// that answers every request in flight.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class EmbeddingServerTests
{
    private SentenceEncoder _encoder = null!;
    private SentenceEncoder _offline = null!;
    private EmbeddingServer _server = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        _encoder = SentenceEncoder.Load(model);
        // A second, independently loaded encoder is the reference: what the library gives offline.
        _offline = SentenceEncoder.Load(model, new SentenceEncoderOptions { Normalize = true });
        _server = EmbeddingServer.Create(_encoder, new EmbeddingServerOptions { Port = 0, ModelId = "test-model", MaxInputs = 16, MaxBodyBytes = 64 << 10, Corpus = Corpus });
        await _server.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_server.Addresses.Single()) };
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _http?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _encoder?.Dispose();
        _offline?.Dispose();
    }

    private static readonly string[] Texts =
    [
        "A cat sits on the mat.",
        "Stock markets fell sharply today.",
        "Der Hund schläft unter dem Tisch.",
        "東京は日本の首都です。",
        "",
    ];

    [Test]
    public async Task TheOpenAIClientGetsTheLibrarysOwnVectors()
    {
        var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(_http.BaseAddress!, "v1") });
        using IEmbeddingGenerator<string, Embedding<float>> generator = client.GetEmbeddingClient("test-model").AsIEmbeddingGenerator();
        var served = await generator.GenerateAsync(Texts);
        var offline = _offline.Embed(Texts);
        Assert.That(served, Has.Count.EqualTo(Texts.Length));
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.That(served[i].Vector.Length, Is.EqualTo(384));
            Assert.That(VectorMath.Cosine(served[i].Vector.Span, offline[i]), Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
        }

        long tokens = Texts.Sum(t => (long)_offline.Tokenize(t).Count);
        Assert.That(served.Usage?.InputTokenCount, Is.EqualTo(tokens), "usage counts the tokens encoded, special tokens included");

        // dimensions: the first 64 values, normalised again (what OpenAI's text-embedding-3 models do).
        var shortened = await generator.GenerateAsync([Texts[0]], new EmbeddingGenerationOptions { Dimensions = 64 });
        var prefix = offline[0][..64].ToArray();
        VectorMath.NormalizeInPlace(prefix);
        Assert.That(shortened[0].Vector.Length, Is.EqualTo(64));
        Assert.That(VectorMath.Cosine(shortened[0].Vector.Span, prefix), Is.GreaterThanOrEqualTo(0.99999));
        Assert.That(Norm(shortened[0].Vector.Span), Is.EqualTo(1.0).Within(1e-5));
    }

    [Test]
    public async Task OpenAIFloatEncodingHasTheDocumentedShape()
    {
        var body = await PostJson("/v1/embeddings", """{"input": "A cat sits on the mat.", "model": "m", "encoding_format": "float"}""", HttpStatusCode.OK);
        Assert.That((string?)body["object"], Is.EqualTo("list"));
        Assert.That((string?)body["model"], Is.EqualTo("m"));
        var item = body["data"]![0]!;
        Assert.That((string?)item["object"], Is.EqualTo("embedding"));
        Assert.That((int?)item["index"], Is.EqualTo(0));
        var vector = item["embedding"]!.AsArray().Select(v => (float)v!).ToArray();
        Assert.That(VectorMath.Cosine(vector, _offline.Embed([Texts[0]])[0]), Is.GreaterThanOrEqualTo(0.99999));
        Assert.That((int?)body["usage"]!["prompt_tokens"], Is.EqualTo(_offline.Tokenize(Texts[0]).Count));
        Assert.That((int?)body["usage"]!["total_tokens"], Is.EqualTo(_offline.Tokenize(Texts[0]).Count));
    }

    [Test]
    public async Task TeiEmbedTakesAStringOrAListAndNormalizesByDefault()
    {
        var one = (await PostJson("/embed", """{"inputs": "A cat sits on the mat."}""", HttpStatusCode.OK)).AsArray();
        Assert.That(one, Has.Count.EqualTo(1));
        var v = Floats(one[0]!);
        Assert.That(v, Has.Length.EqualTo(384));
        Assert.That(Norm(v), Is.EqualTo(1.0).Within(1e-5), "TEI's normalize defaults to true");
        Assert.That(VectorMath.Cosine(v, _offline.Embed([Texts[0]])[0]), Is.GreaterThanOrEqualTo(0.99999));

        // normalize=false: the model's raw output (this model has no Normalize module), as the library gives it.
        var raw = (await PostJson("/embed", JsonSerializer.Serialize(new { inputs = Texts, normalize = false }), HttpStatusCode.OK)).AsArray();
        var expected = _encoder.Embed(Texts);
        Assert.That(raw, Has.Count.EqualTo(Texts.Length));
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.That(Floats(raw[i]!), Is.EqualTo(expected[i].ToArray()).Within(1e-4f), $"text {i}");
        }

        Assert.That(Norm(Floats(raw[0]!)), Is.Not.EqualTo(1.0).Within(1e-3), "the raw mean-pooled vector is not unit length");
    }

    [Test]
    public async Task TeiEmbedAllReturnsEveryTokensState()
    {
        const string text = "Tokenization splits words.";
        var all = (await PostJson("/embed_all", $$"""{"inputs": ["{{text}}"]}""", HttpStatusCode.OK)).AsArray();
        var reference = _offline.EncodeTokens(text);
        Assert.That(all, Has.Count.EqualTo(1));
        var tokens = all[0]!.AsArray();
        Assert.That(tokens, Has.Count.EqualTo(reference.Tokens.Count), "one state per token, special tokens included");
        for (int t = 0; t < tokens.Count; t++)
        {
            Assert.That(Floats(tokens[t]!), Is.EqualTo(reference[t].ToArray()).Within(1e-4f), $"token {t}");
        }
    }

    [Test]
    public async Task TeiTokenizeGivesIdsTextsAndOffsets()
    {
        const string text = "Hello unbelievable world";
        var result = (await PostJson("/tokenize", $$"""{"inputs": "{{text}}"}""", HttpStatusCode.OK)).AsArray();
        var reference = _offline.Tokenizer!.Encode(text);
        var tokens = result[0]!.AsArray();
        Assert.That(tokens.Select(t => (int)t!["id"]!), Is.EqualTo(reference.Ids));
        Assert.That((bool)tokens[0]!["special"]!, Is.True, "[CLS]");
        Assert.That((bool)tokens[^1]!["special"]!, Is.True, "[SEP]");
        var hello = tokens[1]!;
        Assert.That((string?)hello["text"], Is.EqualTo("Hello"), "the input's own text, not the lower-cased vocabulary entry");
        Assert.That(((int?)hello["start"], (int?)hello["stop"]), Is.EqualTo(((int?)0, (int?)5)));
        foreach (var t in tokens.Where(t => !(bool)t!["special"]!))
        {
            Assert.That(text[(int)t!["start"]!..(int)t["stop"]!], Is.EqualTo((string?)t["text"]));
        }

        var plain = (await PostJson("/tokenize", $$"""{"inputs": ["{{text}}"], "add_special_tokens": false}""", HttpStatusCode.OK)).AsArray();
        Assert.That(plain[0]!.AsArray().Select(t => (int)t!["id"]!), Is.EqualTo(reference.Ids[1..^1]));
    }

    [Test]
    public async Task TeiSimilarityIsTheCosineOfTheOfflineEmbeddings()
    {
        string[] sentences = ["A kitten is sitting on a rug.", "Stock markets fell sharply today.", "A cat sits on the mat."];
        var body = JsonSerializer.Serialize(new { inputs = new { source_sentence = Texts[0], sentences } });
        var scores = (await PostJson("/similarity", body, HttpStatusCode.OK)).AsArray().Select(s => (double)s!).ToArray();
        var offline = _offline.Embed([Texts[0], .. sentences]);
        Assert.That(scores, Has.Length.EqualTo(3));
        for (int i = 0; i < 3; i++)
        {
            Assert.That(scores[i], Is.EqualTo(VectorMath.Cosine(offline[0], offline[i + 1])).Within(1e-5), $"sentence {i}");
        }

        Assert.That(scores[2], Is.EqualTo(1.0).Within(1e-5), "the same sentence");
    }

    private static readonly string[] Corpus =
    [
        "A kitten is sitting on a rug.",
        "The stock exchange dropped this morning.",
        "Dogs sleep under tables.",
        "Tokyo is the capital of Japan.",
        "It rained all day in the harbour.",
        "A violin concert in the park.",
    ];

    [Test]
    public async Task SearchRanksTheCorpusByCosineAsABruteForceScanDoes()
    {
        string[] queries = ["cat on a mat", "markets fell", "Japanese capital city"];
        var hits = (await PostJson("/search", JsonSerializer.Serialize(new { queries, k = 3 }), HttpStatusCode.OK)).AsArray();
        var q = _offline.Embed(queries);
        var c = _offline.Embed(Corpus);
        Assert.That(hits, Has.Count.EqualTo(queries.Length));
        for (int i = 0; i < queries.Length; i++)
        {
            var expected = Enumerable.Range(0, Corpus.Length).Select(j => (Index: j, Score: VectorMath.Cosine(q[i], c[j]))).OrderByDescending(p => p.Score).Take(3).ToArray();
            var got = hits[i]!.AsArray();
            Assert.That(got.Select(h => (int)h!["index"]!), Is.EqualTo(expected.Select(e => e.Index)), $"query {i}");
            Assert.That(got.Select(h => (double)h!["score"]!), Is.EqualTo(expected.Select(e => e.Score)).Within(1e-5), $"query {i}");
            Assert.That(got.Select(h => (string?)h!["text"]), Is.EqualTo(expected.Select(e => Corpus[e.Index])));
        }

        Assert.That((await PostJson("/search", """{"queries": "x", "k": 100}""", HttpStatusCode.OK)).AsArray()[0]!.AsArray(), Has.Count.EqualTo(Corpus.Length), "k is capped at the corpus size");
        Assert.That((string?)(await PostJson("/search", """{"queries": "x", "k": 0}""", (HttpStatusCode)422))["error"], Does.Contain("at least 1"));
    }

    [TestCase("itermax")]
    [TestCase("argmax")]
    [TestCase("match")]
    public async Task AlignGivesTheLibrarysWordAlignment(string method)
    {
        string[] sources = ["the cat sits on the mat", "I like green apples"];
        string[] targets = ["le chat est assis sur le tapis", "j'aime les pommes vertes"];
        var body = JsonSerializer.Serialize(new { source = sources, target = targets, method, layer = 3 });
        var pairs = (await PostJson("/align", body, HttpStatusCode.OK)).AsArray();
        var kind = Enum.Parse<NativeAlign.Alignment.Words.WordAlignmentMethod>(method, ignoreCase: true);
        var expected = new NativeAlign.Alignment.Words.TextAligner(_offline, new() { Layer = 3, Aligner = new() { Method = kind } }).AlignBatch(sources, targets);
        Assert.That(pairs, Has.Count.EqualTo(2));
        for (int i = 0; i < 2; i++)
        {
            Assert.That((string?)pairs[i]!["alignment"], Is.EqualTo(string.Join(" ", expected[i].Links.Select(l => $"{l.Source}-{l.Target}"))), $"pair {i}");
            Assert.That((string?)pairs[i]!["alignment"], Is.Not.Empty);
            Assert.That(pairs[i]!["links"]!.AsArray().Select(l => (double)l!["score"]!), Is.EqualTo(expected[i].Links.Select(l => (double)l.Score)).Within(1e-5));
            Assert.That(pairs[i]!["source_words"]!.AsArray().Select(w => (string?)w), Is.EqualTo(sources[i].Split(' ')));
        }

        Assert.That((string?)(await PostJson("/align", """{"source": "a", "target": "b", "method": "nearest"}""", (HttpStatusCode)422))["error"], Does.Contain("argmax, itermax"));
        Assert.That((string?)(await PostJson("/align", """{"source": ["a", "b"], "target": "b"}""", (HttpStatusCode)422))["error"], Does.Contain("2 sources but 1 targets"));
    }

    [Test]
    public async Task LimitsAreAnsweredWithJsonErrorsNamingThem()
    {
        var tooMany = await PostJson("/embed", JsonSerializer.Serialize(new { inputs = Enumerable.Repeat("x", 17).ToArray() }), HttpStatusCode.RequestEntityTooLarge);
        Assert.That((string?)tooMany["error"], Does.Contain("limit of 16").And.Contain("--max-inputs"));
        Assert.That((string?)tooMany["error_type"], Is.EqualTo("Validation"));

        var tooBig = await PostJson("/embed", JsonSerializer.Serialize(new { inputs = new string('a', 70 << 10) }), HttpStatusCode.RequestEntityTooLarge);
        Assert.That((string?)tooBig["error"], Does.Contain("65536 bytes").And.Contain("--max-body-bytes"));

        var malformed = await PostJson("/embed", """{"inputs": ["a", 3]}""", (HttpStatusCode)422);
        Assert.That((string?)malformed["error"], Does.Contain("malformed JSON"));
        Assert.That((string?)(await PostJson("/embed", """{"normalize": true}""", (HttpStatusCode)422))["error"], Does.Contain("inputs is required"));

        string longText = string.Join(" ", Enumerable.Repeat("word", 600));
        var tooLong = await PostJson("/embed", JsonSerializer.Serialize(new { inputs = longText }), HttpStatusCode.RequestEntityTooLarge);
        Assert.That((string?)tooLong["error"], Does.Contain("at most 512"));
        var cut = (await PostJson("/embed", JsonSerializer.Serialize(new { inputs = longText, truncate = true }), HttpStatusCode.OK)).AsArray();
        Assert.That(VectorMath.Cosine(Floats(cut[0]!), _offline.Embed([longText])[0]), Is.GreaterThanOrEqualTo(0.99999), "truncate=true cuts as the library does");

        var openAi = await PostJson("/v1/embeddings", """{"input": "x", "dimensions": 999}""", (HttpStatusCode)422);
        Assert.That((string?)openAi["error"]!["message"], Does.Contain("between 1 and the model's 384"));
        Assert.That((string?)openAi["error"]!["param"], Is.EqualTo("dimensions"));
    }

    [Test]
    public async Task TwoThousandConcurrentRequestsEachGetTheirOwnEmbedding()
    {
        const int requests = 2000, clients = 64;
        string[] words = ["river", "mountain", "quiet", "market", "engine", "violet", "harbour", "lantern", "copper", "meadow", "thunder", "pocket"];
        var texts = Enumerable.Range(0, requests)
            .Select(i => $"Request {i}: the {words[i % words.Length]} near the {words[(i / 7) % words.Length]} {new string('!', i % 5)}")
            .ToArray();
        var offline = _offline.Embed(texts);
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                using var response = await _http.PostAsync("/embed", new StringContent(JsonSerializer.Serialize(new { inputs = texts[i] }), Encoding.UTF8, "application/json"));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    wrong.Add($"{i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    continue;
                }

                var vector = Floats(JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray()[0]!);
                double cosine = VectorMath.Cosine(vector, offline[i]);
                if (cosine < 0.99999)
                {
                    wrong.Add($"{i}: cosine {cosine} to its own offline embedding");
                }
            }
        }));
        Assert.That(wrong, Is.Empty, string.Join("\n", wrong.Take(10)));
        Assert.That(_server.Metrics.LargestBatch, Is.GreaterThan(1), "64 concurrent clients were merged into batches");
        string metrics = await _http.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("nativealign_requests_total{route=\"/embed\",status=\"200\"}"));
        Assert.That(metrics, Does.Contain("nativealign_batch_inputs_bucket{le=\"+Inf\"}"));
    }

    [Test]
    public async Task AFullQueueIsAnswered429WhileTheEncoderIsHeld()
    {
        using var gate = new ManualResetEventSlim(false);
        await using var server = EmbeddingServer.Create(_encoder, new EmbeddingServerOptions { Port = 0, Batching = new EmbeddingBatcherOptions { MaxQueuedInputs = 8 } });
        server.Batcher.Gate = gate;
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Addresses.Single()) };
        var queued = Enumerable.Range(0, 8).Select(i => http.PostAsync("/embed", Json(new { inputs = Texts[i % Texts.Length] }))).ToArray();
        await WaitUntil(() => server.Batcher.QueuedInputs == 8);

        // The worker is held at the gate, so this answer cannot have waited for the model.
        using var refused = await http.PostAsync("/embed", Json(new { inputs = "one too many" }));
        Assert.That(gate.IsSet, Is.False);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(refused.Headers.RetryAfter, Is.Not.Null);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.That((string?)error["error_type"], Is.EqualTo("Overloaded"));
        Assert.That((string?)error["error"], Does.Contain("limit 8"));

        gate.Set();
        foreach (var response in await Task.WhenAll(queued))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            response.Dispose();
        }

        Assert.That(await http.GetStringAsync("/metrics"), Does.Contain("nativealign_requests_total{route=\"/embed\",status=\"429\"} 1"));
    }

    [Test]
    public async Task StoppingAnswersEveryRequestInFlight()
    {
        var server = EmbeddingServer.Create(_encoder, new EmbeddingServerOptions { Port = 0 });
        using var gate = new ManualResetEventSlim(false);
        server.Batcher.Gate = gate;
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Addresses.Single()) };
        var inFlight = Enumerable.Range(0, 6).Select(i => http.PostAsync("/embed", Json(new { inputs = Texts[i % Texts.Length] }))).ToArray();
        await WaitUntil(() => server.Batcher.QueuedInputs == 6);

        var stop = server.StopAsync();
        await Task.Delay(200);
        Assert.That(stop.IsCompleted, Is.False, "the stop waits for the requests in flight");
        gate.Set();
        await stop;
        var offline = _offline.Embed(Texts);
        for (int i = 0; i < inFlight.Length; i++)
        {
            using var response = await inFlight[i];
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"request {i}");
            var vector = Floats(JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray()[0]!);
            Assert.That(VectorMath.Cosine(vector, offline[i % Texts.Length]), Is.GreaterThanOrEqualTo(0.99999));
        }

        Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("/health"), "the listener is closed after the stop");
        await server.DisposeAsync();
    }

    private static StringContent Json<T>(T value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private async Task<JsonNode> PostJson(string path, string body, HttpStatusCode expected)
    {
        using var response = await _http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return JsonNode.Parse(text)!;
    }

    private static float[] Floats(JsonNode node) => node.AsArray().Select(v => (float)v!).ToArray();

    private static double Norm(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (float x in v)
        {
            sum += (double)x * x;
        }

        return Math.Sqrt(sum);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("the condition was not reached in 30 s");
            }

            await Task.Delay(5);
        }
    }
}

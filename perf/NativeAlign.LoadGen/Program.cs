// Usage: NativeAlign.LoadGen --url http://127.0.0.1:8080 --model DIR [--requests N] [--concurrency 1,8,64]
// Measures, on the same N one-sentence texts: offline SentenceEncoder.Embed throughput (one call, all texts), then for
// each concurrency C, N POST /embed requests of one text each from C clients: requests/s, p50 and p99 latency, and
// whether every response equals the offline embedding of its own text (cosine >= 0.99999).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NativeAlign.Models;
using NativeAlign.Serving;

string url = Arg("--url") ?? "http://127.0.0.1:8080";
string model = Arg("--model") ?? throw new ArgumentException("--model DIR is required (the model the server runs)");
int requests = int.Parse(Arg("--requests") ?? "2000", CultureInfo.InvariantCulture);
int[] levels = (Arg("--concurrency") ?? "1,8,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

string[] words = ["river", "mountain", "quiet", "market", "engine", "violet", "harbour", "lantern", "copper", "meadow", "thunder", "pocket"];
var texts = Enumerable.Range(0, requests)
    .Select(i => $"Request {i}: the {words[i % words.Length]} near the {words[(i / 7) % words.Length]} was seen again this morning by the {words[(i / 3) % words.Length]} keeper.")
    .ToArray();

using var encoder = SentenceEncoder.Load(model, new SentenceEncoderOptions { Normalize = true });
encoder.Embed(texts.Take(64).ToArray());
var clock = Stopwatch.StartNew();
var offline = encoder.Embed(texts);
double offlineRate = requests / clock.Elapsed.TotalSeconds;
Console.WriteLine($"offline embed: {requests} texts, {offline.Tokens} tokens, {offlineRate:F0} texts/s");

using var http = new HttpClient { BaseAddress = new Uri(url) };
using (var warm = await http.PostAsync("/embed", Body(texts[0])))
{
    warm.EnsureSuccessStatusCode();
}

Console.WriteLine("| concurrency | requests/s | × offline | p50 ms | p99 ms | wrong or failed |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
foreach (int c in levels)
{
    var latencies = new double[requests];
    int next = -1, wrong = 0;
    clock.Restart();
    await Task.WhenAll(Enumerable.Range(0, c).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < requests)
        {
            long start = Stopwatch.GetTimestamp();
            using var response = await http.PostAsync("/embed", Body(texts[i]));
            string json = await response.Content.ReadAsStringAsync();
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref wrong);
                continue;
            }

            using var doc = JsonDocument.Parse(json);
            var vector = doc.RootElement[0].EnumerateArray().Select(v => v.GetSingle()).ToArray();
            if (VectorMath.Cosine(vector, offline[i]) < 0.99999)
            {
                Interlocked.Increment(ref wrong);
            }
        }
    }));
    double rate = requests / clock.Elapsed.TotalSeconds;
    Array.Sort(latencies);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c} | {rate:F0} | {rate / offlineRate:F2} | {latencies[requests / 2]:F1} | {latencies[(int)(requests * 0.99)]:F1} | {wrong} |"));
}

string? Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static StringContent Body(string text) => new(JsonSerializer.Serialize(new Dictionary<string, string> { ["inputs"] = text }), Encoding.UTF8, "application/json");

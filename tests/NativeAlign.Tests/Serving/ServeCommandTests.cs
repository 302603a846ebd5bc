using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NativeAlign.Tests.Hardening;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Serving;

/// <summary>The real <c>nativealign serve</c> process: it prints where it listens, and SIGTERM drains before exit 0.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class ServeCommandTests
{
    [Test]
    public async Task SigtermAnswersTheRequestInFlightAndExitsZeroAndThreadsCapsTheWorkers()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var info = CliProcess.StartInfo(Path.GetTempPath(), "serve", "--model", model, "--port", "0", "--model-id", "m", "--threads", "1");
        using var process = Process.Start(info)!;
        var stderr = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("serve ended before listening:\n" + stderr));
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }

            if (Address().Match(e.Data) is { Success: true } m)
            {
                listening.TrySetResult(m.Groups[1].Value);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            string address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(2) };
            Assert.That((await http.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

            // --threads 1: the CPU backend's worker team (threads named "NativeAlign worker N", built at the first
            // product) has no helper, where this test process, uncapped, has one per core beyond the caller's.
            using (var warm = await http.PostAsync("/embed", new StringContent("""{"inputs": "warm up"}""", Encoding.UTF8, "application/json")))
            {
                Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            var names = Directory.GetDirectories($"/proc/{process.Id}/task").Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToArray();
            Assert.That(names.Count(n => n.StartsWith("NativeAlign wor", StringComparison.Ordinal)), Is.EqualTo(0), string.Join(", ", names));
            Assert.That(NativeAlign.Backends.Cpu.WorkerTeam.Shared.Threads, Is.EqualTo(Environment.ProcessorCount), "uncapped: one thread per core");
            Assert.That(NativeAlign.Backends.Cpu.GemmPaths.ThreadLimit("3", 16), Is.EqualTo(3));
            Assert.That(NativeAlign.Backends.Cpu.GemmPaths.ThreadLimit("64", 16), Is.EqualTo(16));
            Assert.That(NativeAlign.Backends.Cpu.GemmPaths.ThreadLimit("0", 16), Is.EqualTo(16));
            Assert.That(NativeAlign.Backends.Cpu.GemmPaths.ThreadLimit("x", 16), Is.EqualTo(16));

            // A request large enough to still be running when the signal comes.
            var texts = Enumerable.Range(0, 64).Select(i => $"Sentence {i}: " + string.Join(" ", Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 12))).ToArray();
            var big = http.PostAsync("/embed", new StringContent(JsonSerializer.Serialize(new { inputs = texts, truncate = true }), Encoding.UTF8, "application/json"));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await http.GetStringAsync("/metrics")).Contains("nativealign_requests_in_flight 2", StringComparison.Ordinal) && !big.IsCompleted)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the large request never showed as in flight");
                await Task.Delay(2);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var response = await big;
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the request in flight is answered");
            var rows = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
            Assert.That(rows, Has.Count.EqualTo(64));
            Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "serve exits after the drain");
            Assert.That(process.ExitCode, Is.EqualTo(0), stderr.ToString());
            Assert.That(stderr.ToString(), Does.Contain("stopped"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [GeneratedRegex(@"on (http://[0-9.:\[\]]+)")]
    private static partial Regex Address();
}

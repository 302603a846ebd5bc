using System.CommandLine;
using System.Text.Json;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Cli;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>nativealign bench --quick --json</c>: one JSON object listing every backend present here (cpu, the float64
/// reference, each OpenCL device, ILGPU's CPU accelerator) with finite figures, and parity judged against the float64
/// reference the command runs itself: embeddings at cosine ≥ 0.999, top-k neighbour sets agreeing, Sinkhorn plans within
/// 1e-4 — a backend the command mislabels or mis-measures fails here. Speed is never asserted. Runs in ~20–30 s.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BenchCommandTests
{
    [Test]
    public void QuickJson_ListsEveryBackendPresent_WithFiniteFiguresAndParity()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var (code, stdout, stderr) = Run("bench", "--quick", "--json", "--model", model);
        Assert.That(code, Is.EqualTo(0), stderr);

        using var json = JsonDocument.Parse(stdout);
        var backends = json.RootElement.GetProperty("backends").EnumerateArray().ToArray();
        var names = backends.Select(b => b.GetProperty("backend").GetString()).ToArray();
        var expected = new List<string> { "cpu", "reference", "ilgpu:cpu" };
        expected.AddRange(Enumerable.Range(0, OpenClDevices.Discover().Devices.Count).Select(i => $"opencl:{i}"));
        Assert.That(names, Is.SupersetOf(expected));

        // Anything else is an ILGPU GPU accelerator (on a machine that has one), never a repeat or an invented name.
        Assert.That(names.Except(expected), Has.All.StartsWith("ilgpu:cuda:").Or.StartsWith("ilgpu:opencl:"));
        Assert.That(names, Is.Unique);
        Assert.That(json.RootElement.GetProperty("dimension").GetInt32(), Is.EqualTo(384));

        foreach (var backend in backends)
        {
            string name = backend.GetProperty("backend").GetString()!;
            Assert.That(backend.GetProperty("peak_memory_bytes").GetInt64(), Is.GreaterThan(0), name);
            Assert.That(backend.GetProperty("embed_min_cosine_vs_reference").GetDouble(), Is.InRange(0.999, 1.000001), name);
            var workloads = backend.GetProperty("workloads").EnumerateArray().ToArray();
            var embed = workloads.Where(w => w.GetProperty("workload").GetString() == "embed").ToArray();
            Assert.That(embed.Select(w => w.GetProperty("batch").GetInt32()), Is.EqualTo(new[] { 1, 4, 8 }), name);
            foreach (var w in embed)
            {
                AssertPositiveFinite(w, "sentences_per_s", name);
                AssertPositiveFinite(w, "tokens_per_s", name);
            }

            AssertPositiveFinite(embed[0], "p50_ms", name);
            Assert.That(embed[0].GetProperty("p90_ms").GetDouble(), Is.GreaterThanOrEqualTo(embed[0].GetProperty("p50_ms").GetDouble()), name);

            var topk = workloads.Single(w => w.GetProperty("workload").GetString() == "topk");
            AssertPositiveFinite(topk, "queries_per_s", name);

            // Random unit rows in float32 against float64 scores: a near-tie may swap the 4th neighbour, never many.
            Assert.That(topk.GetProperty("topk_agreement_vs_reference").GetDouble(), Is.GreaterThanOrEqualTo(0.9), name);

            var sinkhorn = workloads.Single(w => w.GetProperty("workload").GetString() == "sinkhorn");
            AssertPositiveFinite(sinkhorn, "problems_per_s", name);
            Assert.That(sinkhorn.GetProperty("sinkhorn_max_abs_plan_error_vs_reference").GetDouble(), Is.InRange(0, 1e-4), name);
        }
    }

    [Test]
    public void AnUnknownBackendIsAUsageError()
    {
        var (code, _, stderr) = Run("bench", "--quick", "--backends", "cpu,tpu");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("'tpu'"));
    }

    [Test]
    public void PercentileIsNearestRank()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.That(BenchCommand.Percentile(sorted, 0.5), Is.EqualTo(5));
        Assert.That(BenchCommand.Percentile(sorted, 0.9), Is.EqualTo(9));
        Assert.That(BenchCommand.Percentile([7], 0.9), Is.EqualTo(7));
    }

    private static void AssertPositiveFinite(JsonElement workload, string property, string backend)
    {
        double value = workload.GetProperty(property).GetDouble();
        Assert.That(double.IsFinite(value) && value > 0, Is.True, $"{backend}: {property} = {value}");
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var savedOut = Console.Out;
        var savedError = Console.Error;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = CommandRunner.Invoke(new RootCommand { BenchCommand.Create() }, args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedError);
        }
    }
}

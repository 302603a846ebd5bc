using System.CommandLine;
using System.Text.Json;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Backends;
using NativeAlign.Cli.IO;
using NativeAlign.Models;
using Spectre.Console;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign eval tatoeba</c>: cosine top-1 retrieval accuracy on Tatoeba pairs (<c>tatoeba.xx-eng.xx</c> and
/// <c>tatoeba.xx-eng.eng</c>, line i translating line i), xx→eng as MTEB reports it and eng→xx.
/// </summary>
internal static class EvalTatoebaCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var data = new Option<DirectoryInfo>("--data", "-d") { Description = "Folder holding tatoeba.xx-eng.xx / tatoeba.xx-eng.eng files.", Required = true };
        var langs = new Option<string[]>("--langs") { Description = "Languages to evaluate (ISO 639-3, comma- or space-separated); default: every pair in the folder.", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var pooling = new Option<string?>("--pooling") { Description = "mean, cls, max or pooler; default: what the model folder says, else mean." };
        pooling.AcceptOnlyFromAmong("mean", "cls", "max", "pooler");
        var layer = new Option<int>("--layer") { Description = "Layer to pool (default: last).", DefaultValueFactory = _ => -1 };
        var command = new Command("tatoeba", "Tatoeba bitext retrieval accuracy (cosine top-1) per language.") { model, data, langs, json, pooling, layer };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var dir = result.GetValue(data)!.FullName;
            var selected = (result.GetValue(langs) ?? []).SelectMany(l => l.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            var pairs = FindPairs(dir, selected);
            using var encoder = SentenceEncoder.Load(
                EmbedCommand.ResolveModel(result.GetValue(model)),
                EmbedCommand.WithPooling(
                    backend.Options(result) with { Normalize = true, Layer = result.GetValue(layer) },
                    result.GetValue(pooling)));
            var rows = new List<TatoebaResult>();
            foreach (var (lang, xxFile, engFile) in pairs)
            {
                var xx = TextInput.ReadAllLines(xxFile);
                var eng = TextInput.ReadAllLines(engFile);
                if (xx.Length != eng.Length)
                {
                    throw new InputFormatException(engFile, null, $"has {eng.Length} lines but {Path.GetFileName(xxFile)} has {xx.Length}; the files must be line-aligned");
                }

                var ex = encoder.Embed(xx, cancellationToken: cancel);
                var ee = encoder.Embed(eng, cancellationToken: cancel);
                rows.Add(new TatoebaResult(lang, xx.Length, Accuracy(ex.Data, ee.Data, xx.Length, ex.Dimension, encoder.Backend), Accuracy(ee.Data, ex.Data, xx.Length, ex.Dimension, encoder.Backend)));
            }

            backend.Report(result, encoder.Backend);
            if (result.GetValue(json))
            {
                WriteJson(rows, Console.OpenStandardOutput());
            }
            else if (!Console.IsOutputRedirected)
            {
                var table = new Table().AddColumn("lang").AddColumn(new TableColumn("pairs").RightAligned()).AddColumn(new TableColumn("xx→eng %").RightAligned()).AddColumn(new TableColumn("eng→xx %").RightAligned());
                foreach (var r in rows)
                {
                    table.AddRow(r.Language, r.Pairs.ToString(), $"{r.XxToEng * 100:F2}", $"{r.EngToXx * 100:F2}");
                }

                if (rows.Count > 0)
                {
                    table.AddRow("[bold]average[/]", rows.Sum(r => r.Pairs).ToString(), $"[bold]{rows.Average(r => r.XxToEng) * 100:F2}[/]", $"[bold]{rows.Average(r => r.EngToXx) * 100:F2}[/]");
                }

                AnsiConsole.Write(table);
            }
            else
            {
                Console.Out.WriteLine("lang\tpairs\txx->eng %\teng->xx %");
                foreach (var r in rows)
                {
                    Console.Out.WriteLine($"{r.Language}\t{r.Pairs}\t{r.XxToEng * 100:F2}\t{r.EngToXx * 100:F2}");
                }

                if (rows.Count > 0)
                {
                    Console.Out.WriteLine($"average\t{rows.Sum(r => r.Pairs)}\t{rows.Average(r => r.XxToEng) * 100:F2}\t{rows.Average(r => r.EngToXx) * 100:F2}");
                }
            }

            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>One language's result; accuracies are fractions.</summary>
    internal sealed record TatoebaResult(string Language, int Pairs, double XxToEng, double EngToXx);

    /// <summary>The (language, xx file, eng file) triples in <paramref name="dir"/>, restricted to <paramref name="languages"/> when any are given.</summary>
    internal static List<(string Language, string XxFile, string EngFile)> FindPairs(string dir, IReadOnlyCollection<string> languages)
    {
        if (!Directory.Exists(dir))
        {
            throw new InputFormatException(dir, null, "Tatoeba data folder not found");
        }

        var found = new List<(string, string, string)>();
        foreach (var file in Directory.EnumerateFiles(dir, "tatoeba.*-eng.*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var parts = name.Split('.');
            if (parts.Length != 3 || !parts[1].EndsWith("-eng", StringComparison.Ordinal))
            {
                continue;
            }

            string lang = parts[1][..^4];
            if (parts[2] != lang || lang == "eng")
            {
                continue;
            }

            string eng = Path.Combine(dir, $"tatoeba.{lang}-eng.eng");
            if (!File.Exists(eng))
            {
                throw new InputFormatException(eng, null, $"missing: {name} has no English side");
            }

            if (languages.Count == 0 || languages.Contains(lang))
            {
                found.Add((lang, file, eng));
            }
        }

        foreach (var lang in languages)
        {
            if (!found.Any(f => f.Item1 == lang))
            {
                throw new InputFormatException(dir, null, $"no tatoeba.{lang}-eng.{lang} pair in the folder");
            }
        }

        if (found.Count == 0)
        {
            throw new InputFormatException(dir, null, "no tatoeba.xx-eng.xx / tatoeba.xx-eng.eng pairs found");
        }

        return found;
    }

    /// <summary>
    /// Fraction of queries whose most cosine-similar target is their own translation (row i ↔ row i), searched on
    /// <paramref name="backend"/> (null: the CPU). Rows must be L2-normalised, so the dot product is the cosine; ties go
    /// to the lowest index, as numpy's argmax does.
    /// </summary>
    internal static double Accuracy(ReadOnlySpan<float> queries, ReadOnlySpan<float> targets, int count, int dimension, IComputeBackend? backend = null)
    {
        if (count == 0)
        {
            return 0;
        }

        var top = TopKSearch.Search(queries[..(count * dimension)], count, targets[..(count * dimension)], count, dimension, 1, backend: backend);
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            correct += top.Indices[i] == i ? 1 : 0;
        }

        return (double)correct / count;
    }

    private static void WriteJson(List<TatoebaResult> rows, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteStartArray("languages");
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteString("lang", r.Language);
            w.WriteNumber("pairs", r.Pairs);
            w.WriteNumber("xxToEng", Math.Round(r.XxToEng * 100, 2));
            w.WriteNumber("engToXx", Math.Round(r.EngToXx * 100, 2));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (rows.Count > 0)
        {
            w.WriteNumber("averageXxToEng", Math.Round(rows.Average(r => r.XxToEng) * 100, 2));
            w.WriteNumber("averageEngToXx", Math.Round(rows.Average(r => r.EngToXx) * 100, 2));
        }

        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }
}

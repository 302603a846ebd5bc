using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NativeAlign.Alignment.Formats;
using NativeAlign.Alignment.Spaces;
using NativeAlign.Models;
using Spectre.Console;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign analyze</c>: how alike two languages' representations of parallel sentences are, layer by layer —
/// linear CKA (Kornblith et al. 2019) and the average neuron-wise Pearson correlation, of mean-pooled states.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var src = new Option<FileInfo>("--src", "-s") { Description = "Sentences of the first language, one per line.", Required = true };
        var tgt = new Option<FileInfo>("--tgt", "-t") { Description = "Their translations, line-aligned.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the table as JSON." };
        var command = new Command("analyze", "Per-layer linear CKA and neuron-wise correlation between parallel sentences' embeddings.") { model, src, tgt, json };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var text = AlignCommand.ReadPair(result.GetValue(src)!.FullName, result.GetValue(tgt)!.FullName);
            if (text.Source.Count < 2)
            {
                throw new InputFormatException(result.GetValue(src)!.FullName, null, "needs at least 2 sentence pairs (correlations over 1 item are undefined)");
            }

            var rows = Analyze(EmbedCommand.ResolveModel(result.GetValue(model)), [.. text.Source], [.. text.Target], backend.Options(result), cancel);
            if (result.GetValue(json))
            {
                WriteJson(rows, text.Source.Count, Console.Out);
            }
            else if (!Console.IsOutputRedirected)
            {
                var table = new Table().AddColumn("layer").AddColumn(new TableColumn("linear CKA").RightAligned()).AddColumn(new TableColumn("neuron corr.").RightAligned());
                foreach (var r in rows)
                {
                    table.AddRow(r.Layer.ToString(CultureInfo.InvariantCulture), r.Cka.ToString("0.0000", CultureInfo.InvariantCulture), r.NeuronCorrelation.ToString("0.0000", CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(table);
            }
            else
            {
                Console.Out.WriteLine("layer\tlinear_cka\tneuron_correlation");
                foreach (var r in rows)
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Layer}\t{r.Cka:0.000000}\t{r.NeuronCorrelation:0.000000}"));
                }
            }

            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>One layer's scores.</summary>
    internal sealed record LayerScores(int Layer, double Cka, double NeuronCorrelation);

    /// <summary>Mean-pooled, unnormalised states of every layer (0 = embeddings … L) for both sides, compared.</summary>
    internal static List<LayerScores> Analyze(string modelPath, string[] source, string[] target, SentenceEncoderOptions backendOptions, CancellationToken cancel)
    {
        int layers;
        using (var probe = SentenceEncoder.Load(modelPath))
        {
            layers = probe.Config.LayerCount;
        }

        var rows = new List<LayerScores>();
        for (int layer = 0; layer <= layers; layer++)
        {
            cancel.ThrowIfCancellationRequested();
            using var encoder = SentenceEncoder.Load(modelPath, backendOptions with { Layer = layer, Pooling = SentencePoolingMode.Mean, Normalize = false });
            var a = encoder.Embed(source, cancellationToken: cancel);
            var b = encoder.Embed(target, cancellationToken: cancel);
            rows.Add(new LayerScores(
                layer,
                SpaceSimilarity.LinearCka(a.Data, b.Data, a.Count, a.Dimension, b.Dimension),
                SpaceSimilarity.AverageNeuronCorrelation(a.Data, b.Data, a.Count, a.Dimension)));
        }

        return rows;
    }

    private static void WriteJson(List<LayerScores> rows, int pairs, TextWriter output)
    {
        var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("pairs", pairs);
            w.WriteStartArray("layers");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteNumber("layer", r.Layer);
                w.WriteNumber("linearCka", r.Cka);
                w.WriteNumber("neuronCorrelation", r.NeuronCorrelation);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        output.Flush();
    }
}

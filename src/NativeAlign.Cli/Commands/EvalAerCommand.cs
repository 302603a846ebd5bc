using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NativeAlign.Alignment.Evaluation;
using NativeAlign.Alignment.Formats;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign eval aer</c>: AER, precision, recall and F1 of Pharaoh predictions against a gold standard.</summary>
internal static class EvalAerCommand
{
    public static Command Create()
    {
        var gold = new Option<string>("--gold") { Description = "Gold alignments: Pharaoh (i-j sure, i?j / ipj possible) or MultiMWA .tsv.", Required = true };
        var pred = new Option<string>("--pred") { Description = "Predicted alignments, Pharaoh, 0-indexed, one line per sentence pair.", Required = true };
        var oneIndexed = new Option<bool>("--one-indexed") { Description = "The Pharaoh gold counts words from 1 (En-Fr, Ro-En gold standards)." };
        var text = new Option<string?>("--text") { Description = "Parallel text (src ||| tgt lines) the gold refers to; links are then checked against sentence lengths." };
        var possibleAsSure = new Option<bool>("--possible-as-sure") { Description = "Count possible gold links as sure (MultiMWA 'sure and possible' setting)." };
        var json = new Option<bool>("--json") { Description = "Print the scores as JSON." };
        var command = new Command("aer", "Score predicted word alignments: AER, precision, recall, F1 (Och & Ney, sure/possible links).")
        {
            gold, pred, oneIndexed, text, possibleAsSure, json,
        };
        command.SetAction(result =>
        {
            var scores = Run(result.GetValue(gold)!, result.GetValue(pred)!, result.GetValue(oneIndexed), result.GetValue(text), result.GetValue(possibleAsSure));
            if (result.GetValue(json))
            {
                WriteJson(scores, Console.OpenStandardOutput());
            }
            else
            {
                WriteText(scores, Console.Out);
            }

            return 0;
        });
        return command;
    }

    internal static AlignmentScores Run(string goldPath, string predPath, bool oneIndexed, string? textPath, bool possibleAsSure)
    {
        List<SentenceAlignment> goldLinks;
        if (goldPath.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
        {
            goldLinks = [.. MultiMwaReader.Read(goldPath).Select(p => p.Gold)];
        }
        else
        {
            goldLinks = PharaohFormat.Read(goldPath, oneIndexed);
        }

        var predLinks = PharaohFormat.Read(predPath, oneIndexed: false);
        if (textPath is not null)
        {
            var parallel = ParallelText.FromJoined(Cli.IO.TextInput.ReadAllLines(textPath), textPath);
            if (parallel.Source.Count != goldLinks.Count)
            {
                throw new InputFormatException(goldPath, null, $"has {goldLinks.Count} lines but the text {textPath} has {parallel.Source.Count}");
            }

            PharaohFormat.CheckRanges(goldLinks, parallel.SourceWordCounts, parallel.TargetWordCounts, goldPath);
            PharaohFormat.CheckRanges(predLinks, parallel.SourceWordCounts, parallel.TargetWordCounts, predPath);
        }

        return AlignmentEvaluator.Evaluate(goldLinks, predLinks, possibleAsSure, goldPath, predPath);
    }

    internal static void WriteText(AlignmentScores s, TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(c, $"sentences: {s.Sentences}"));
        o.WriteLine(string.Create(c, $"precision: {s.Precision:0.0000}"));
        o.WriteLine(string.Create(c, $"recall:    {s.Recall:0.0000}"));
        o.WriteLine(string.Create(c, $"f1:        {s.F1:0.0000}"));
        o.WriteLine(string.Create(c, $"aer:       {s.Aer:0.0000}"));
        o.WriteLine(string.Create(c, $"links:     predicted {s.Predicted}, sure {s.Sure}, predicted∩sure {s.PredictedAndSure}, predicted∩possible {s.PredictedAndPossible}"));
    }

    private static void WriteJson(AlignmentScores s, Stream stream)
    {
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("sentences", s.Sentences);
            w.WriteNumber("precision", s.Precision);
            w.WriteNumber("recall", s.Recall);
            w.WriteNumber("f1", s.F1);
            w.WriteNumber("aer", s.Aer);
            w.WriteNumber("predicted", s.Predicted);
            w.WriteNumber("sure", s.Sure);
            w.WriteNumber("predictedAndSure", s.PredictedAndSure);
            w.WriteNumber("predictedAndPossible", s.PredictedAndPossible);
            w.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        stream.Flush();
    }
}

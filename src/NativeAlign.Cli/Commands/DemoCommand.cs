using System.CommandLine;
using System.Globalization;
using NativeAlign.Alignment.Formats;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Alignment.Words;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign demo</c>: the main job on built-in sentences — embed, compare, mine pairs back from a shuffled side,
/// align the words of one pair with two methods. Takes seconds on the default model.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Paraphrase pairs (the default model is English-only, so both sides are English).</summary>
    internal static readonly (string Left, string Right)[] Pairs =
    [
        ("The cat is sleeping on the sofa .", "A cat sleeps on the couch ."),
        ("I will travel to Paris next week .", "Next week I am going to Paris ."),
        ("The stock market fell sharply today .", "Share prices dropped steeply today ."),
        ("She plays the piano every evening .", "Every evening she practises the piano ."),
        ("The mayor opened the new bridge .", "The new bridge was opened by the mayor ."),
        ("Heavy rain caused flooding in the city .", "The city was flooded after heavy rain ."),
    ];

    /// <summary>The order the right-hand side is shown in for mining (a fixed shuffle, so runs are reproducible).</summary>
    internal static readonly int[] Shuffle = [3, 5, 0, 4, 1, 2];

    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var pair = new Option<int>("--pair") { Description = "Which built-in pair (1…6) to align word by word.", DefaultValueFactory = _ => 5 };
        var command = new Command("demo", "Show the main job on built-in sentences: similarity table, mining, word alignment.") { model, pair };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            int which = result.GetValue(pair);
            if (which < 1 || which > Pairs.Length)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"--pair must be in 1…{Pairs.Length}, got {which}");
            }

            var path = EmbedCommand.ResolveModel(result.GetValue(model));
            using var encoder = SentenceEncoder.Load(path, backend.Options(result) with { Normalize = true });
            Run(encoder, Path.GetFileName(Path.TrimEndingDirectorySeparator(path)), which - 1, Console.Out, cancel);
            return Task.FromResult(0);
        });
        return command;
    }

    internal static void Run(SentenceEncoder encoder, string modelName, int pairIndex, TextWriter o, CancellationToken cancel)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine($"Model: {modelName} ({encoder.Config.LayerCount} layers, {encoder.Dimension}-dim embeddings).");
        o.WriteLine("Note: the default model all-MiniLM-L6-v2 is English-only, so the demo pairs English paraphrases;");
        o.WriteLine("      for cross-lingual work pass a multilingual encoder with --model (e.g. LaBSE, multilingual MiniLM, mBERT, XLM-R).");
        o.WriteLine();

        var left = Pairs.Select(p => p.Left).ToArray();
        var right = Shuffle.Select(i => Pairs[i].Right).ToArray();
        var a = encoder.Embed(left, cancellationToken: cancel);
        var b = encoder.Embed(right, cancellationToken: cancel);
        if (!encoder.Normalize)
        {
            TopKSearch.Normalize(a.Data, a.Count, a.Dimension);
            TopKSearch.Normalize(b.Data, b.Count, b.Dimension);
        }

        o.WriteLine("1. Cosine similarity of the sentence embeddings (rows: left side; columns: the right side, shuffled):");
        for (int j = 0; j < right.Length; j++)
        {
            o.WriteLine($"   [{(char)('a' + j)}] {right[j]}");
        }

        o.Write("      ");
        for (int j = 0; j < right.Length; j++)
        {
            o.Write($"    [{(char)('a' + j)}]");
        }

        o.WriteLine();
        var cos = SubwordPooling.DotProducts(a.Data, a.Count, b.Data, b.Count, a.Dimension);
        for (int i = 0; i < left.Length; i++)
        {
            o.Write($"   {i + 1}. ");
            for (int j = 0; j < right.Length; j++)
            {
                o.Write(string.Create(c, $" {cos[(i * right.Length) + j],6:0.000}"));
            }

            o.WriteLine($"   {left[i]}");
        }

        o.WriteLine();
        o.WriteLine("2. Mining the pairs back (margin ratio, k = 2, max strategy):");
        var mined = MarginMiner.Mine(a.Data, a.Count, b.Data, b.Count, a.Dimension, new MiningOptions { K = 2 });
        int correct = 0;
        foreach (var p in mined)
        {
            bool ok = Shuffle[p.Target] == p.Source;
            correct += ok ? 1 : 0;
            o.WriteLine(string.Create(c, $"   {p.Score:0.000}  {p.Source + 1} ↔ [{(char)('a' + p.Target)}]  {(ok ? "correct" : "wrong")}"));
        }

        o.WriteLine($"   {correct} of {Pairs.Length} true pairs recovered.");
        o.WriteLine();

        var (src, tgt) = Pairs[pairIndex];
        o.WriteLine($"3. Word alignment of pair {pairIndex + 1} (middle layer, average of subwords):");
        o.WriteLine($"   source: {src}");
        o.WriteLine($"   target: {tgt}");
        var argmax = new TextAligner(encoder, new TextAlignerOptions { Aligner = new WordAlignerOptions { Method = WordAlignmentMethod.ArgMax } }).Align(src, tgt);
        var ot = new TextAligner(encoder, new TextAlignerOptions { Aligner = new WordAlignerOptions { Method = WordAlignmentMethod.Ot } }).Align(src, tgt);
        o.WriteLine($"   argmax (SimAlign)        : {PharaohFormat.FormatLine(argmax.Links)}");
        o.WriteLine($"   ot (OTAlign, balanced)   : {PharaohFormat.FormatLine(ot.Links)}");
        o.WriteLine();
        WriteGrid(o, argmax, ot);
    }

    /// <summary>A text grid: source words down, target word numbers across; A = argmax link, O = ot link, # = both.</summary>
    internal static void WriteGrid(TextWriter o, TextAlignment first, TextAlignment second)
    {
        var a = first.Links.Select(l => (l.Source, l.Target)).ToHashSet();
        var b = second.Links.Select(l => (l.Source, l.Target)).ToHashSet();
        int width = first.SourceWords.Max(w => w.Length);
        for (int j = 0; j < first.TargetWords.Length; j++)
        {
            o.WriteLine($"   {new string(' ', width)}   {new string(' ', 3 * j)}{j,-2} {first.TargetWords[j]}");
        }

        for (int i = 0; i < first.SourceWords.Length; i++)
        {
            o.Write($"   {first.SourceWords[i].PadLeft(width)}  ");
            for (int j = 0; j < first.TargetWords.Length; j++)
            {
                bool x = a.Contains((i, j)), y = b.Contains((i, j));
                o.Write(x && y ? " # " : x ? " A " : y ? " O " : " · ");
            }

            o.WriteLine();
        }

        o.WriteLine("   A = argmax link, O = ot link, # = both.");
    }
}

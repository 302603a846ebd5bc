using System.CommandLine;
using System.Globalization;
using System.Text;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign mine</c>: margin-based bitext mining (Artetxe &amp; Schwenk 2019) between two monolingual files,
/// written as <c>score&lt;TAB&gt;src&lt;TAB&gt;tgt</c> sorted by descending score.
/// </summary>
internal static class MineCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var src = new Option<FileInfo>("--src", "-s") { Description = "Source sentences, one per line.", Required = true };
        var tgt = new Option<FileInfo>("--tgt", "-t") { Description = "Target sentences, one per line (any number of lines).", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output TSV: score<TAB>source sentence<TAB>target sentence, best first.", Required = true };
        var k = new Option<int>("--k") { Description = "Neighbourhood size in both directions (the paper: 4).", DefaultValueFactory = _ => 4 };
        var margin = new Option<string>("--margin") { Description = "ratio (a/b), distance (a−b) or absolute (the cosine a).", DefaultValueFactory = _ => "ratio" };
        margin.AcceptOnlyFromAmong("ratio", "distance", "absolute");
        var strategy = new Option<string>("--strategy") { Description = "max (each sentence used once, best first), intersection, forward or backward.", DefaultValueFactory = _ => "max" };
        strategy.AcceptOnlyFromAmong("max", "intersection", "forward", "backward");
        var threshold = new Option<float?>("--threshold") { Description = "Drop pairs scoring below this (e.g. 1.06 for ratio margins, as LASER's mining used)." };
        var indices = new Option<bool>("--indices") { Description = "Add the 1-based line numbers: score<TAB>src<TAB>tgt<TAB>src line<TAB>tgt line." };
        var chunk = new Option<int>("--chunk-rows") { Description = "Rows per streamed chunk of the k-NN search.", DefaultValueFactory = _ => 4096 };
        var command = new Command("mine", "Mine parallel sentences from two monolingual files with margin-based scoring.")
        {
            model, src, tgt, output, k, margin, strategy, threshold, indices, chunk,
        };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var options = Options(result.GetValue(k), result.GetValue(margin)!, result.GetValue(strategy)!, result.GetValue(threshold), result.GetValue(chunk));
            var source = EmbedCommand.ReadLines(result.GetValue(src)!.FullName);
            var target = EmbedCommand.ReadLines(result.GetValue(tgt)!.FullName);
            using var encoder = SentenceEncoder.Load(
                EmbedCommand.ResolveModel(result.GetValue(model)),
                new SentenceEncoderOptions { Normalize = true, Backend = backend.BackendName(result), Device = backend.DeviceIndex(result) });
            var pairs = Mine(encoder, source, target, options, cancel);
            Write(result.GetValue(output)!.FullName, pairs, source, target, result.GetValue(indices));
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Checked mining options from the CLI values.</summary>
    internal static MiningOptions Options(int k, string margin, string strategy, float? threshold, int chunkRows)
    {
        if (k < 1 || k > 1024)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"--k must be in 1…1024, got {k}");
        }

        if (chunkRows < 1)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"--chunk-rows must be positive, got {chunkRows}");
        }

        if (threshold is { } t && float.IsNaN(t))
        {
            throw new NativeAlignException(ErrorKind.Usage, "--threshold is not a number");
        }

        return new MiningOptions
        {
            K = k,
            Margin = margin switch
            {
                "distance" => MarginKind.Distance,
                "absolute" => MarginKind.Absolute,
                _ => MarginKind.Ratio,
            },
            Strategy = strategy switch
            {
                "intersection" => CandidateStrategy.Intersection,
                "forward" => CandidateStrategy.Forward,
                "backward" => CandidateStrategy.Backward,
                _ => CandidateStrategy.Max,
            },
            Threshold = threshold ?? float.NegativeInfinity,
            ChunkRows = chunkRows,
        };
    }

    /// <summary>Embeds both sides (normalised) and mines; reports truncated inputs on stderr.</summary>
    internal static List<MinedPair> Mine(SentenceEncoder encoder, string[] source, string[] target, MiningOptions options, CancellationToken cancel)
    {
        var a = Embed(encoder, source, "embedding source", cancel);
        var b = Embed(encoder, target, "embedding target", cancel);
        cancel.ThrowIfCancellationRequested();
        return MarginMiner.Mine(a.Data, a.Count, b.Data, b.Count, a.Dimension, options);
    }

    /// <summary>Normalised sentence embeddings with a terminal progress bar and a truncation notice.</summary>
    internal static SentenceEmbeddings Embed(SentenceEncoder encoder, string[] lines, string label, CancellationToken cancel)
    {
        var e = TerminalProgress.Run(label, lines.Length, progress => encoder.Embed(lines, progress, cancel));
        if (e.TruncatedInputs > 0)
        {
            Console.Error.WriteLine($"nativealign: {e.TruncatedInputs} of {lines.Length} inputs ({label}) were truncated to the model's {encoder.MaxTokens} tokens ({e.TruncatedTokens} tokens dropped)");
        }

        if (!encoder.Normalize)
        {
            TopKSearch.Normalize(e.Data, e.Count, e.Dimension);
        }

        return e;
    }

    private static void Write(string path, List<MinedPair> pairs, string[] source, string[] target, bool indices)
    {
        using var file = AtomicFile.Create(path);
        using (var w = new StreamWriter(file.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
        {
            w.NewLine = "\n";
            foreach (var p in pairs)
            {
                // Tabs inside a sentence would shift the columns; they become spaces.
                w.Write(p.Score.ToString("0.######", CultureInfo.InvariantCulture));
                w.Write('\t');
                w.Write(source[p.Source].Replace('\t', ' '));
                w.Write('\t');
                w.Write(target[p.Target].Replace('\t', ' '));
                if (indices)
                {
                    w.Write(string.Create(CultureInfo.InvariantCulture, $"\t{p.Source + 1}\t{p.Target + 1}"));
                }

                w.WriteLine();
            }
        }

        file.Commit();
    }
}

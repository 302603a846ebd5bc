using System.CommandLine;
using System.Globalization;
using System.Text;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;

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
        var src = new Option<string>("--src", "-s") { Description = "Source sentences, one per line ('-': standard input). Blank lines are never paired.", Required = true };
        var tgt = new Option<string>("--tgt", "-t") { Description = "Target sentences, one per line (any number of lines; '-': standard input).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output TSV: score<TAB>source sentence<TAB>target sentence, best first ('-': standard output).", Required = true };
        var k = new Option<int>("--k") { Description = "Neighbourhood size in both directions (the paper: 4).", DefaultValueFactory = _ => 4 };
        var margin = new Option<string>("--margin") { Description = "ratio (a/b), distance (a−b) or absolute (the cosine a).", DefaultValueFactory = _ => "ratio" };
        margin.AcceptOnlyFromAmong("ratio", "distance", "absolute");
        var strategy = new Option<string>("--strategy") { Description = "max (each sentence used once, best first), intersection, forward or backward.", DefaultValueFactory = _ => "max" };
        strategy.AcceptOnlyFromAmong("max", "intersection", "forward", "backward");
        var threshold = new Option<float?>("--threshold") { Description = "Drop pairs scoring below this (e.g. 1.06 for ratio margins, as LASER's mining used)." };
        var indices = new Option<bool>("--indices") { Description = "Add the 1-based line numbers: score<TAB>src<TAB>tgt<TAB>src line<TAB>tgt line." };
        var chunk = new Option<int>("--chunk-rows") { Description = "Rows per streamed chunk of the k-NN search.", DefaultValueFactory = _ => 4096 };
        var srcEmbeddings = new Option<FileInfo?>("--source-embeddings") { Description = "Precomputed source embeddings (.npy float32 [lines, D] from 'nativealign embed'), one row per --src line; the source is not embedded again." };
        var tgtEmbeddings = new Option<FileInfo?>("--target-embeddings") { Description = "Precomputed target embeddings (.npy float32 [lines, D]), one row per --tgt line." };
        var quiet = EmbedCommand.QuietOption();
        var command = new Command("mine", "Mine parallel sentences from two monolingual files with margin-based scoring.")
        {
            model, src, tgt, output, k, margin, strategy, threshold, indices, chunk, srcEmbeddings, tgtEmbeddings, quiet,
        };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var options = Options(result.GetValue(k), result.GetValue(margin)!, result.GetValue(strategy)!, result.GetValue(threshold), result.GetValue(chunk));
            var mode = result.GetValue(quiet) ? ProgressMode.Quiet : ProgressMode.Auto;
            string outputPath = result.GetValue(output)!;
            var (srcPath, tgtPath) = (result.GetValue(src)!, result.GetValue(tgt)!);
            if (srcPath == TextInput.StandardStream && tgtPath == TextInput.StandardStream)
            {
                throw new NativeAlignException(ErrorKind.Usage, "--src and --tgt cannot both be standard input ('-')");
            }

            var (srcNpyPath, tgtNpyPath) = (result.GetValue(srcEmbeddings)?.FullName, result.GetValue(tgtEmbeddings)?.FullName);
            var modelPath = srcNpyPath is null || tgtNpyPath is null ? EmbedCommand.ResolveModel(result.GetValue(model)) : null;
            OutputTarget.EnsureNotAnInput(outputPath, modelPath, srcPath, tgtPath, srcNpyPath, tgtNpyPath);
            bool count = mode != ProgressMode.Quiet;
            using var source = TextInput.Open(srcPath, count, keepLinesBeside: outputPath);
            using var target = TextInput.Open(tgtPath, count, keepLinesBeside: outputPath);
            using var sourceNpy = srcNpyPath is null ? null : NpyRows.Open(srcNpyPath);
            using var targetNpy = tgtNpyPath is null ? null : NpyRows.Open(tgtNpyPath);
            // Precomputed embeddings are checked against their text before anything is embedded.
            var sourceRows = sourceNpy is null ? null : Precomputed(sourceNpy, source);
            var targetRows = targetNpy is null ? null : Precomputed(targetNpy, target);
            using var encoder = modelPath is null ? null : SentenceEncoder.Load(modelPath, backend.Options(result) with { Normalize = true });
            if (encoder is not null && (sourceRows ?? targetRows) is { } given && given.Dimension != encoder.Dimension)
            {
                throw new InputFormatException(given.Path, null, $"holds {given.Dimension}-dimensional embeddings, but the model embeds into {encoder.Dimension} dimensions");
            }

            using var sourceSpill = sourceRows is null ? Spill(encoder!, source, outputPath, "source", mode, cancel) : null;
            using var targetSpill = targetRows is null ? Spill(encoder!, target, outputPath, "target", mode, cancel) : null;

            // Blank lines embed to the same vector and would pair with each other, or with real sentences: left out.
            var a = new VectorRowSubset((IVectorRows?)sourceSpill ?? sourceRows!, source.BlankLines);
            var b = new VectorRowSubset((IVectorRows?)targetSpill ?? targetRows!, target.BlankLines);
            // The k-NN searches run where the encoder ran; with both sides precomputed, on the backend asked for.
            using var ownBackend = encoder is null ? backend.CreateBackend(result) : null;
            var searchBackend = encoder?.Backend ?? ownBackend!;
            List<MinedPair> pairs;
            using (var progress = new SearchProgress(mode))
            {
                pairs = MarginMiner.Mine(a, b, options with { Backend = searchBackend }, progress, cancel);
                progress.Finish();
            }

            Write(outputPath, [.. pairs.Select(p => p with { Source = a.Original((int)p.Source), Target = b.Original((int)p.Target) })], source, target, result.GetValue(indices), cancel);
            backend.Report(result, searchBackend);
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

    /// <summary>
    /// Embeds <paramref name="text"/> chunk by chunk into a spill file beside the output (normalised rows; the encoder
    /// normalises), so a side's N × D floats live on disk, not in memory; reports truncated inputs on stderr.
    /// </summary>
    internal static SpillFile Spill(SentenceEncoder encoder, TextInput text, string outputPath, string side, ProgressMode mode, CancellationToken cancel)
    {
        var spill = SpillFile.Create(TextInput.SpillDirectoryFor(outputPath), side, encoder.Dimension);
        try
        {
            (long Inputs, long Tokens) truncated;
            using (var progress = TerminalProgress.Start($"embedding {side}", text.CountedLines, mode))
            {
                truncated = EmbedCommand.EmbedChunks(encoder, text, progress, cancel, (chunk, _) => spill.Append(chunk.Data.AsSpan(0, chunk.Count * chunk.Dimension), chunk.Count));
            }

            if (truncated.Inputs > 0)
            {
                Console.Error.WriteLine($"nativealign: {truncated.Inputs} of {text.LinesRead} inputs ({side}) were truncated to the model's {encoder.MaxTokens} tokens (at least {truncated.Tokens} tokens dropped)");
            }

            return spill;
        }
        catch
        {
            spill.Dispose();
            throw;
        }
    }

    /// <summary>Precomputed embeddings, checked to have one row per line of their text (which is read for the output).</summary>
    private static NpyRows Precomputed(NpyRows rows, TextInput text)
    {
        text.Skim();
        if (rows.Count != text.LinesRead)
        {
            throw new InputFormatException(rows.Path, null, $"has {rows.Count} rows, but {text.Path} has {text.LinesRead} lines; embeddings and text must correspond line by line");
        }

        return rows;
    }

    /// <summary>Normalised sentence embeddings with a terminal progress bar and a truncation notice.</summary>
    internal static SentenceEmbeddings Embed(SentenceEncoder encoder, string[] lines, string label, CancellationToken cancel)
    {
        var e = TerminalProgress.Run(label, lines.Length, progress => encoder.Embed(lines, progress, cancel));
        if (e.TruncatedInputs > 0)
        {
            Console.Error.WriteLine($"nativealign: {e.TruncatedInputs} of {lines.Length} inputs ({label}) were truncated to the model's {encoder.MaxTokens} tokens (at least {e.TruncatedTokens} tokens dropped)");
        }

        if (!encoder.Normalize)
        {
            TopKSearch.Normalize(e.Data, e.Count, e.Dimension);
        }

        return e;
    }

    private static void Write(string path, List<MinedPair> pairs, TextInput source, TextInput target, bool indices, CancellationToken cancel)
    {
        using var file = OutputTarget.Create(path);
        using (var w = new StreamWriter(file.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
        {
            w.NewLine = "\n";
            for (int n = 0; n < pairs.Count; n++)
            {
                if (n % 4096 == 0)
                {
                    cancel.ThrowIfCancellationRequested();
                }

                var p = pairs[n];

                // The sentences are read again from the inputs (8 bytes a line were kept, not the text).
                // Tabs inside a sentence would shift the columns; they become spaces.
                w.Write(p.Score.ToString("0.######", CultureInfo.InvariantCulture));
                w.Write('\t');
                w.Write(source.Line((int)p.Source).Replace('\t', ' '));
                w.Write('\t');
                w.Write(target.Line((int)p.Target).Replace('\t', ' '));
                if (indices)
                {
                    w.Write(string.Create(CultureInfo.InvariantCulture, $"\t{p.Source + 1}\t{p.Target + 1}"));
                }

                w.WriteLine();
            }
        }

        file.Commit(cancel);
    }

    /// <summary>Progress of the two k-NN searches, one phase after the other.</summary>
    private sealed class SearchProgress(ProgressMode mode) : IProgress<MiningProgress>, IDisposable
    {
        private TerminalProgress? _phase;
        private bool _backward;

        public void Report(MiningProgress value)
        {
            if (_phase is null || value.Backward != _backward)
            {
                _phase?.Finish();
                _phase?.Dispose();
                _backward = value.Backward;
                _phase = TerminalProgress.Start(value.Backward ? "searching target → source" : "searching source → target", value.Total, mode, "queries");
            }

            _phase.Update(value.Done);
        }

        public void Finish() => _phase?.Finish();

        public void Dispose() => _phase?.Dispose();
    }
}

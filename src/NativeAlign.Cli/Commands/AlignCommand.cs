using System.CommandLine;
using System.Text;
using NativeAlign.Alignment.Formats;
using NativeAlign.Alignment.Words;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign align</c>: word alignment of parallel sentences through an encoder, written as Pharaoh (line i ↔ input
/// line i, 0-based <c>i-j</c> over whitespace words).
/// </summary>
internal static class AlignCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var src = new Option<string?>("--src", "-s") { Description = "Source sentences, one per line (with --tgt; '-': standard input)." };
        var tgt = new Option<string?>("--tgt", "-t") { Description = "Target sentences, line-aligned with --src ('-': standard input)." };
        var input = new Option<string?>("--input", "-i") { Description = "Parallel text as 'source ||| target' lines (instead of --src/--tgt; '-': standard input)." };
        var output = new Option<string>("--output", "-o") { Description = "Pharaoh output: one line per input line, 0-indexed i-j links over whitespace words ('-': standard output).", Required = true };
        var method = new Option<string>("--method") { Description = "argmax | itermax | match (SimAlign), softmax (awesome-align), ot | uot | pot (OTAlign).", DefaultValueFactory = _ => "itermax" };
        method.AcceptOnlyFromAmong("argmax", "itermax", "match", "softmax", "ot", "uot", "pot");
        var layer = new Option<int?>("--layer") { Description = "Encoder layer of the word vectors: 0 = embeddings … L = last, negative counts from the end; default: the middle layer (L/2, 3 on the default model)." };
        var subword = new Option<string>("--subword") { Description = "Word vector from its subwords: average or first.", DefaultValueFactory = _ => "average" };
        subword.AcceptOnlyFromAmong("average", "first");
        var threshold = new Option<float?>("--threshold") { Description = "softmax: probability threshold (default 0.001); ot/uot/pot: threshold on the min-max scaled plan (default 0.1)." };
        var distortion = new Option<float>("--distortion") { Description = "Distortion ratio κ favouring links near the diagonal (0 = off)." };
        var mass = new Option<string>("--mass") { Description = "ot/uot/pot word masses: uniform or norm (embedding norms).", DefaultValueFactory = _ => "uniform" };
        mass.AcceptOnlyFromAmong("uniform", "norm");
        var epsilon = new Option<float>("--epsilon") { Description = "ot/uot/pot: entropic regularisation ε.", DefaultValueFactory = _ => 0.1f };
        var relaxation = new Option<float>("--tau") { Description = "uot: KL marginal relaxation τ.", DefaultValueFactory = _ => 1f };
        var fraction = new Option<float>("--mass-fraction") { Description = "pot: fraction of the smaller total mass transported, in (0, 1].", DefaultValueFactory = _ => 0.8f };
        var scores = new Option<bool>("--scores") { Description = "Append each link's score as i-j:score." };
        var svg = new Option<FileInfo?>("--svg") { Description = "Also draw one pair's similarity matrix as an SVG heatmap with the links and the words on both axes." };
        var svgLine = new Option<int>("--svg-line") { Description = "Input line (1-based) drawn by --svg.", DefaultValueFactory = _ => 1 };
        var command = new Command("align", "Align the words of parallel sentences with a transformer encoder (SimAlign, awesome-align and OTAlign extraction).")
        {
            model, src, tgt, input, output, method, layer, subword, threshold, distortion, mass, epsilon, relaxation, fraction, scores, svg, svgLine,
        };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var outputPath = result.GetValue(output)!;
            var svgFile = result.GetValue(svg)?.FullName;
            var modelPath = EmbedCommand.ResolveModel(result.GetValue(model));
            foreach (var written in new[] { outputPath, svgFile })
            {
                OutputTarget.EnsureNotAnInput(written, modelPath, result.GetValue(src), result.GetValue(tgt), result.GetValue(input));
            }

            var text = ReadInput(result.GetValue(src), result.GetValue(tgt), result.GetValue(input));
            int svgAt = result.GetValue(svgLine);
            if (svgFile is not null && (svgAt < 1 || svgAt > text.Source.Count))
            {
                throw new NativeAlignException(ErrorKind.Usage, $"--svg-line {svgAt} is outside the {text.Source.Count} input lines");
            }

            var options = new TextAlignerOptions
            {
                Layer = result.GetValue(layer),
                Pooling = result.GetValue(subword) == "first" ? SubwordPoolingMode.First : SubwordPoolingMode.Average,
                Aligner = AlignerOptions(result.GetValue(method)!, result.GetValue(threshold), result.GetValue(distortion), result.GetValue(mass) == "norm", result.GetValue(epsilon), result.GetValue(relaxation), result.GetValue(fraction)),
            };
            using var encoder = SentenceEncoder.Load(modelPath, backend.Options(result));
            var aligned = Align(encoder, options, text, cancel);
            using (var file = OutputTarget.Create(outputPath))
            {
                PharaohFormat.Write(file.Stream, aligned.Select(a => (IEnumerable<WordLink>)a.Links), result.GetValue(scores));
                file.Commit(cancel);
            }

            if (svgFile is not null)
            {
                var pair = aligned[svgAt - 1];
                using var file = AtomicFile.Create(svgFile);
                var bytes = Encoding.UTF8.GetBytes(HeatmapSvg.Render(pair.SourceWords, pair.TargetWords, pair.Cosine, pair.Links, $"{result.GetValue(method)} links, layer {new TextAligner(encoder, options).Layer}, line {svgAt}"));
                file.Stream.Write(bytes);
                file.Commit(cancel);
            }

            backend.Report(result, encoder.Backend);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Reads --src/--tgt or --input (<c>-</c>: standard input); the line counts are compared before any work.</summary>
    internal static ParallelText ReadInput(string? src, string? tgt, string? input)
    {
        if (input is not null)
        {
            if (src is not null || tgt is not null)
            {
                throw new NativeAlignException(ErrorKind.Usage, "give either --input or --src with --tgt, not both");
            }

            return ParallelText.FromJoined(TextInput.ReadAllLines(input), TextInput.DisplayName(input));
        }

        if (src is null || tgt is null)
        {
            throw new NativeAlignException(ErrorKind.Usage, "give --src and --tgt (line-aligned files), or --input with 'source ||| target' lines");
        }

        return ReadPair(src, tgt);
    }

    /// <summary>
    /// Two line-aligned files (one of them may be <c>-</c>, standard input), read the way every command reads text:
    /// invalid UTF-8 replaced and reported once per file.
    /// </summary>
    internal static ParallelText ReadPair(string src, string tgt)
    {
        if (src == TextInput.StandardStream && tgt == TextInput.StandardStream)
        {
            throw new NativeAlignException(ErrorKind.Usage, "--src and --tgt cannot both be standard input ('-')");
        }

        return ParallelText.FromPair(TextInput.ReadAllLines(src), TextInput.ReadAllLines(tgt), TextInput.DisplayName(src), TextInput.DisplayName(tgt));
    }

    /// <summary>The aligner options of a CLI method name; thresholds default to the papers' values.</summary>
    internal static WordAlignerOptions AlignerOptions(string method, float? threshold, float distortion, bool normMass, float epsilon, float tau, float fraction)
    {
        var kind = method switch
        {
            "argmax" => WordAlignmentMethod.ArgMax,
            "itermax" => WordAlignmentMethod.IterMax,
            "match" => WordAlignmentMethod.Match,
            "softmax" => WordAlignmentMethod.Softmax,
            "ot" => WordAlignmentMethod.Ot,
            "uot" => WordAlignmentMethod.Uot,
            "pot" => WordAlignmentMethod.Pot,
            _ => throw new NativeAlignException(ErrorKind.Usage, $"unknown method '{method}' (expected argmax, itermax, match, softmax, ot, uot or pot)"),
        };
        if (!float.IsFinite(distortion) || distortion < 0 || distortion > 1)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"--distortion must be in [0, 1], got {distortion}");
        }

        if (threshold is { } t && !float.IsFinite(t))
        {
            throw new NativeAlignException(ErrorKind.Usage, "--threshold must be a finite number");
        }

        var defaults = new WordAlignerOptions();
        return new WordAlignerOptions
        {
            Method = kind,
            Distortion = distortion,
            SoftmaxThreshold = kind == WordAlignmentMethod.Softmax && threshold is { } st ? st : defaults.SoftmaxThreshold,
            TransportThreshold = kind is WordAlignmentMethod.Ot or WordAlignmentMethod.Uot or WordAlignmentMethod.Pot && threshold is { } tt ? tt : defaults.TransportThreshold,
            Mass = normMass ? WordMassKind.Norm : WordMassKind.Uniform,
            Epsilon = epsilon,
            MarginalRelaxation = tau,
            PartialMassFraction = fraction,
        };
    }

    /// <summary>Aligns every pair with a terminal progress bar; reports truncated sentences on stderr.</summary>
    internal static TextAlignment[] Align(SentenceEncoder encoder, TextAlignerOptions options, ParallelText text, CancellationToken cancel)
    {
        var aligner = new TextAligner(encoder, options);
        var aligned = TerminalProgress.Run("aligning", text.Source.Count, progress => aligner.AlignBatch(text.Source, text.Target, progress, cancel));
        int truncated = aligned.Count(a => a.TruncatedTokens > 0);
        if (truncated > 0)
        {
            Console.Error.WriteLine($"nativealign: {truncated} of {aligned.Length} sentence pairs exceeded the model's {encoder.MaxTokens} tokens and were truncated (at least {aligned.Sum(a => (long)a.TruncatedTokens)} tokens dropped); words past the cut have no links");
        }

        return aligned;
    }

}

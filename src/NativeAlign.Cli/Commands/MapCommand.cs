using System.CommandLine;
using System.Globalization;
using NativeAlign.Alignment.Formats;
using NativeAlign.Alignment.Spaces;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign map fit|apply</c>: an orthogonal (Procrustes) map between two embedding spaces, with optional
/// outlier-dimension removal, per-language mean centering or ZCA whitening, and BLI evaluation.
/// </summary>
/// <remarks>
/// The map file is a NumPy .npz: <c>keep</c> (int64, kept dimensions), <c>src_mean</c>/<c>tgt_mean</c> (float64),
/// <c>src_transform</c>/<c>tgt_transform</c> (float64 d×d: identity, or the ZCA whitening matrix) and <c>W</c>
/// (float64 d×d). A source vector x maps to ((x[keep] − src_mean)·src_transform)·W; a target vector y is brought
/// into the shared space as (y[keep] − tgt_mean)·tgt_transform.
/// </remarks>
internal static class MapCommand
{
    public static Command Create() => new("map", "Fit or apply an orthogonal map between embedding spaces (Procrustes, centering, whitening, BLI).")
    {
        Fit(),
        Apply(),
    };

    /// <summary>The fitted pipeline: dimension selection, per-side affine preprocessing and the orthogonal map.</summary>
    internal sealed record MapModel(int[] Keep, double[] SrcMean, double[] SrcTransform, double[] TgtMean, double[] TgtTransform, double[] W)
    {
        public int Dim => Keep.Length;

        /// <summary>Source rows into the target space (or only preprocessed when <paramref name="map"/> is false).</summary>
        public float[] Source(float[] x, int count, int inputDim, bool map = true)
        {
            var p = SpaceTransforms.ApplyAffine(Select(x, count, inputDim), count, Dim, SrcMean, SrcTransform);
            return map ? SpaceTransforms.ApplyAffine(p, count, Dim, new double[Dim], W) : p;
        }

        /// <summary>Target rows, preprocessed.</summary>
        public float[] Target(float[] y, int count, int inputDim) => SpaceTransforms.ApplyAffine(Select(y, count, inputDim), count, Dim, TgtMean, TgtTransform);

        private float[] Select(float[] v, int count, int inputDim)
        {
            if (Keep.Length > 0 && Keep[^1] >= inputDim)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"the map keeps dimension {Keep[^1]} but the vectors have {inputDim}");
            }

            var removed = Enumerable.Range(0, inputDim).Except(Keep).ToArray();
            return removed.Length == 0 ? v : SpaceTransforms.RemoveDimensions(v, count, inputDim, removed);
        }
    }

    private static Command Fit()
    {
        var model = EmbedCommand.ModelOption();
        var srcEmb = new Option<FileInfo?>("--src-emb") { Description = "Source embeddings, .npy [N, D] (row i pairs with row i of --tgt-emb)." };
        var tgtEmb = new Option<FileInfo?>("--tgt-emb") { Description = "Target embeddings, .npy [N, D]." };
        var src = new Option<FileInfo?>("--src", "-s") { Description = "Or: source sentences, embedded with the model (line i pairs with line i of --tgt)." };
        var tgt = new Option<FileInfo?>("--tgt", "-t") { Description = "Target sentences, line-aligned with --src." };
        var layer = new Option<int>("--layer") { Description = "Model layer for text and dictionary words (0 = embeddings … L = last, negative from the end).", DefaultValueFactory = _ => -1 };
        var center = new Option<bool>("--center") { Description = "Subtract each language's mean vector first (Libovický et al. 2020)." };
        var whiten = new Option<bool>("--whiten") { Description = "ZCA-whiten each language first (implies centering)." };
        var outliers = new Option<bool>("--remove-outliers") { Description = "Drop outlier dimensions (mean beyond 3σ of all dimensions' means, in either language)." };
        var dict = new Option<FileInfo?>("--dict") { Description = "BLI evaluation dictionary: 'source<TAB>target' word pairs; the words are embedded with the model." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Map file (.npz: keep, src_mean, src_transform, tgt_mean, tgt_transform, W).", Required = true };
        var command = new Command("fit", "Fit an orthogonal Procrustes map on paired embeddings or paired text.")
        {
            model, srcEmb, tgtEmb, src, tgt, layer, center, whiten, outliers, dict, output,
        };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var dictPath = result.GetValue(dict)?.FullName;
            var dictionary = dictPath is null ? null : TsvDictionary.Read(dictPath);
            SentenceEncoder? encoder = null;
            try
            {
                float[] x, y;
                int count, dim;
                var (se, te) = (result.GetValue(srcEmb)?.FullName, result.GetValue(tgtEmb)?.FullName);
                var (st, tt) = (result.GetValue(src)?.FullName, result.GetValue(tgt)?.FullName);
                if (se is not null && te is not null && st is null && tt is null)
                {
                    var a = NpyFile.Read(se);
                    var b = NpyFile.Read(te);
                    if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Rows != b.Rows || a.Columns != b.Columns)
                    {
                        throw new InputFormatException(te, null, $"shape ({string.Join(", ", b.Shape)}) does not match the source embeddings' ({string.Join(", ", a.Shape)}); both must be [N, D] with the same N and D");
                    }

                    (x, y, count, dim) = (a.ToSingle(), b.ToSingle(), a.Rows, a.Columns);
                }
                else if (st is not null && tt is not null && se is null && te is null)
                {
                    var text = AlignCommand.ReadPair(st, tt);
                    encoder = Load(result.GetValue(model), result.GetValue(layer), backend.Options(result));
                    var a = encoder.Embed([.. text.Source], cancellationToken: cancel);
                    var b = encoder.Embed([.. text.Target], cancellationToken: cancel);
                    (x, y, count, dim) = (a.Data, b.Data, a.Count, a.Dimension);
                }
                else
                {
                    throw new NativeAlignException(ErrorKind.Usage, "give either --src-emb with --tgt-emb (.npy) or --src with --tgt (text)");
                }

                if (count < 2)
                {
                    throw new NativeAlignException(ErrorKind.Usage, $"fitting needs at least 2 pairs, got {count}");
                }

                var map = FitMap(x, y, count, dim, result.GetValue(center), result.GetValue(whiten), result.GetValue(outliers));
                using (var file = AtomicFile.Create(result.GetValue(output)!.FullName))
                {
                    Save(file.Stream, map);
                    file.Commit();
                }

                var o = Console.Out;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fitted on {count} pairs, {dim} → {map.Dim} dimensions{(map.Dim < dim ? $" (removed {string.Join(", ", Enumerable.Range(0, dim).Except(map.Keep))})" : string.Empty)}"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean cosine of the pairs: {MeanPairCosine(map.Source(x, count, dim, map: false), map.Target(y, count, dim), count, map.Dim):0.0000} before the map, {MeanPairCosine(map.Source(x, count, dim), map.Target(y, count, dim), count, map.Dim):0.0000} after"));
                if (dictionary is not null)
                {
                    encoder ??= Load(result.GetValue(model), result.GetValue(layer), backend.Options(result));
                    if (encoder.Dimension != dim)
                    {
                        throw new NativeAlignException(ErrorKind.Usage, $"the dictionary words are embedded with the model ({encoder.Dimension} dimensions) but the map was fitted on {dim}");
                    }

                    WarnUnknownWords(encoder, dictionary, dictPath!);
                    EvaluateBli(encoder, map, dictionary, dim, o, cancel);
                }
            }
            finally
            {
                encoder?.Dispose();
            }

            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Apply()
    {
        var map = new Option<FileInfo>("--map") { Description = "Map file from 'map fit' (.npz).", Required = true };
        var input = new Option<FileInfo>("--input", "-i") { Description = "Embeddings to map, .npy [N, D].", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Mapped embeddings, .npy float32 [N, D'].", Required = true };
        var side = new Option<string>("--side") { Description = "source (preprocess and map into the target space) or target (preprocess only).", DefaultValueFactory = _ => "source" };
        side.AcceptOnlyFromAmong("source", "target");
        var command = new Command("apply", "Apply a fitted map to embeddings (.npy).") { map, input, output, side };
        command.SetAction((result, cancel) =>
        {
            var model = Load(result.GetValue(map)!.FullName);
            var a = NpyFile.Read(result.GetValue(input)!.FullName);
            if (a.Shape.Length != 2)
            {
                throw new InputFormatException(result.GetValue(input)!.FullName, null, $"expected a 2-D array [N, D], got shape ({string.Join(", ", a.Shape)})");
            }

            var x = a.ToSingle();
            var mapped = result.GetValue(side) == "target" ? model.Target(x, a.Rows, a.Columns) : model.Source(x, a.Rows, a.Columns);
            using var file = AtomicFile.Create(result.GetValue(output)!.FullName);
            NpyFile.WriteSingle(file.Stream, mapped, a.Rows, model.Dim);
            file.Commit();
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Fits the whole pipeline on paired rows.</summary>
    internal static MapModel FitMap(float[] x, float[] y, int count, int dim, bool center, bool whiten, bool removeOutliers)
    {
        var keep = Enumerable.Range(0, dim).ToArray();
        if (removeOutliers)
        {
            var drop = SpaceTransforms.OutlierDimensions(x, count, dim).Union(SpaceTransforms.OutlierDimensions(y, count, dim)).ToHashSet();
            keep = [.. keep.Where(d => !drop.Contains(d))];
            x = SpaceTransforms.RemoveDimensions(x, count, dim, drop);
            y = SpaceTransforms.RemoveDimensions(y, count, dim, drop);
        }

        int d = keep.Length;
        var identity = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            identity[(i * d) + i] = 1;
        }

        (double[] Mean, double[] W) Pre(float[] v) => whiten ? SpaceTransforms.FitZca(v, count, d)
            : center ? (SpaceTransforms.Mean(v, count, d), identity) : (new double[d], identity);
        var (ms, ws) = Pre(x);
        var (mt, wt) = Pre(y);
        var px = SpaceTransforms.ApplyAffine(x, count, d, ms, ws);
        var py = SpaceTransforms.ApplyAffine(y, count, d, mt, wt);
        var w = OrthogonalMap.Fit(px, py, count, d).Weights;
        return new MapModel(keep, ms, ws, mt, wt, w);
    }

    internal static void Save(Stream stream, MapModel m) => NpyFile.WriteNpz(stream,
    [
        ("keep", s => NpyFile.WriteInt64(s, m.Keep)),
        ("src_mean", s => NpyFile.WriteDouble(s, m.SrcMean, m.Dim, null)),
        ("src_transform", s => NpyFile.WriteDouble(s, m.SrcTransform, m.Dim, m.Dim)),
        ("tgt_mean", s => NpyFile.WriteDouble(s, m.TgtMean, m.Dim, null)),
        ("tgt_transform", s => NpyFile.WriteDouble(s, m.TgtTransform, m.Dim, m.Dim)),
        ("W", s => NpyFile.WriteDouble(s, m.W, m.Dim, m.Dim)),
    ]);

    internal static MapModel Load(string path)
    {
        var arrays = NpyFile.ReadNpz(path);
        NpyArray Get(string name) => arrays.TryGetValue(name, out var a) ? a : throw new InputFormatException(path, null, $"the map file has no '{name}' array (write it with 'nativealign map fit')");
        var keep = Get("keep");
        int d = keep.Rows;
        var parts = new[] { ("src_mean", 1), ("src_transform", d), ("tgt_mean", 1), ("tgt_transform", d), ("W", d) };
        foreach (var (name, cols) in parts)
        {
            var a = Get(name);
            if (a.Rows != d || a.Columns != cols)
            {
                throw new InputFormatException(path, null, $"'{name}' has shape ({string.Join(", ", a.Shape)}) but the map keeps {d} dimensions");
            }
        }

        var k = keep.Data.Select(v => (int)v).ToArray();
        for (int i = 0; i < k.Length; i++)
        {
            if (k[i] < 0 || (i > 0 && k[i] <= k[i - 1]))
            {
                throw new InputFormatException(path, null, "'keep' must list ascending, non-negative dimensions");
            }
        }

        return new MapModel(k, Get("src_mean").Data, Get("src_transform").Data, Get("tgt_mean").Data, Get("tgt_transform").Data, Get("W").Data);
    }

    private static SentenceEncoder Load(string? model, int layer, SentenceEncoderOptions backend) =>
        SentenceEncoder.Load(EmbedCommand.ResolveModel(model), backend with { Layer = layer, Normalize = false });

    private static double MeanPairCosine(float[] a, float[] b, int count, int dim)
    {
        double total = 0;
        for (int r = 0; r < count; r++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int d = 0; d < dim; d++)
            {
                double u = a[(r * dim) + d], v = b[(r * dim) + d];
                dot += u * v;
                na += u * u;
                nb += v * v;
            }

            total += na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : 0;
        }

        return total / count;
    }

    /// <summary>
    /// One warning line when dictionary words hold tokens outside the model's vocabulary: such a word embeds (partly) as
    /// the unknown token, so its vector says little about the word and its BLI row measures nothing.
    /// </summary>
    private static void WarnUnknownWords(SentenceEncoder encoder, List<(string Source, string Target)> dictionary, string path)
    {
        if (encoder.Tokenizer is not Tokenizers.Tokenizer tokenizer)
        {
            return;
        }

        var unknown = new List<string>();
        (int Unknown, int Words) Count(IEnumerable<string> words)
        {
            var distinct = words.Distinct(StringComparer.Ordinal).ToList();
            var hits = distinct.Where(w => tokenizer.Encode(w).Ids.Contains(tokenizer.UnknownId)).ToList();
            unknown.AddRange(hits);
            return (hits.Count, distinct.Count);
        }

        var (s, sn) = Count(dictionary.Select(p => p.Source));
        var (t, tn) = Count(dictionary.Select(p => p.Target));
        if (s + t > 0)
        {
            Console.Error.WriteLine($"nativealign: warning: {path}: {s} of {sn} source words and {t} of {tn} target words hold tokens outside the model's vocabulary, embedded as [UNK] (e.g. '{unknown[0]}')");
        }
    }

    /// <summary>P@1 / P@5 of the dictionary words, without and with the map, by cosine and CSLS.</summary>
    private static void EvaluateBli(SentenceEncoder encoder, MapModel map, List<(string Source, string Target)> dictionary, int dim, TextWriter o, CancellationToken cancel)
    {
        var srcWords = dictionary.Select(p => p.Source).Distinct(StringComparer.Ordinal).ToList();
        var tgtWords = dictionary.Select(p => p.Target).Distinct(StringComparer.Ordinal).ToList();
        var se = encoder.Embed([.. srcWords], cancellationToken: cancel);
        var te = encoder.Embed([.. tgtWords], cancellationToken: cancel);
        var targets = map.Target(te.Data, tgtWords.Count, dim);
        o.WriteLine($"BLI on {dictionary.Count} dictionary pairs ({srcWords.Count} source words; the target vocabulary is the dictionary's {tgtWords.Count} target words):");
        o.WriteLine("  space       retrieval  P@1     P@5");
        foreach (var (label, mapped) in new[] { ("unmapped", false), ("mapped", true) })
        {
            var sources = map.Source(se.Data, srcWords.Count, dim, mapped);
            foreach (var retrieval in new[] { LexiconRetrieval.Cosine, LexiconRetrieval.Csls })
            {
                var s = LexiconInduction.Evaluate(srcWords, sources, tgtWords, targets, map.Dim, dictionary, retrieval);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label,-10}  {retrieval.ToString().ToLowerInvariant(),-9}  {s.PrecisionAt1 * 100,5:0.0}   {s.PrecisionAt5 * 100,5:0.0}"));
            }
        }
    }
}

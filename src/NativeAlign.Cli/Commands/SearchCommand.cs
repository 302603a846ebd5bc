using System.CommandLine;
using System.Globalization;
using System.Text;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Backends;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign search</c>: the k nearest corpus lines of every query line, by cosine or CSLS.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var query = new Option<FileInfo>("--query", "-q") { Description = "Queries, one per line.", Required = true };
        var corpus = new Option<FileInfo>("--corpus", "-c") { Description = "Corpus to search, one sentence per line.", Required = true };
        var k = new Option<int>("--k") { Description = "Neighbours per query.", DefaultValueFactory = _ => 5 };
        var csls = new Option<bool>("--csls") { Description = "Rank by CSLS (2·cos − r_T(x) − r_S(y), Conneau et al. 2018) instead of cosine, reducing hubness." };
        var cslsK = new Option<int>("--csls-k") { Description = "Neighbourhood of the CSLS penalties.", DefaultValueFactory = _ => 10 };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Output TSV (default: stdout): query line<TAB>rank<TAB>score<TAB>corpus line<TAB>corpus text; lines are 1-based." };
        var command = new Command("search", "Nearest-neighbour search of query sentences in a corpus (cosine or CSLS top-k).")
        {
            model, query, corpus, k, csls, cslsK, output,
        };
        var backend = new EncoderBackendOptions();
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            int neighbours = result.GetValue(k);
            if (neighbours < 1 || neighbours > 1024)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"--k must be in 1…1024, got {neighbours}");
            }

            int penaltyK = result.GetValue(cslsK);
            if (penaltyK < 1 || penaltyK > 1024)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"--csls-k must be in 1…1024, got {penaltyK}");
            }

            var path = result.GetValue(output)?.FullName;
            var modelPath = EmbedCommand.ResolveModel(result.GetValue(model));
            OutputTarget.EnsureNotAnInput(path, modelPath, result.GetValue(query)!.FullName, result.GetValue(corpus)!.FullName);
            var queries = TextInput.ReadAllLines(result.GetValue(query)!.FullName);
            var lines = TextInput.ReadAllLines(result.GetValue(corpus)!.FullName);
            using var encoder = SentenceEncoder.Load(modelPath, backend.Options(result) with { Normalize = true });
            var q = MineCommand.Embed(encoder, queries, "embedding queries", cancel);
            var c = MineCommand.Embed(encoder, lines, "embedding corpus", cancel);
            var top = Search(q, c, Math.Min(neighbours, Math.Max(1, lines.Length)), result.GetValue(csls) ? penaltyK : null, encoder.Backend);
            if (path is null)
            {
                Write(Console.Out, top, lines);
            }
            else
            {
                using var file = AtomicFile.Create(path);
                using (var w = new StreamWriter(file.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
                {
                    Write(w, top, lines);
                }

                file.Commit(cancel);
            }

            backend.Report(result, encoder.Backend);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Cosine top-k, or CSLS top-k when <paramref name="cslsK"/> is given.</summary>
    internal static TopKResult Search(SentenceEmbeddings queries, SentenceEmbeddings corpus, int k, int? cslsK, IComputeBackend? backend = null) =>
        cslsK is { } penalty
            ? Csls.Retrieve(queries.Data, queries.Count, corpus.Data, corpus.Count, queries.Dimension, penalty, k, backend: backend)
            : TopKSearch.Search(queries.Data, queries.Count, corpus.Data, corpus.Count, queries.Dimension, k, backend: backend);

    private static void Write(TextWriter w, TopKResult top, string[] corpus)
    {
        w.NewLine = "\n";
        for (int q = 0; q < top.Queries; q++)
        {
            var idx = top.IndicesOf(q);
            var sc = top.ScoresOf(q);
            for (int r = 0; r < idx.Length; r++)
            {
                if (idx[r] < 0)
                {
                    continue;
                }

                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{q + 1}\t{r + 1}\t{sc[r]:0.######}\t{idx[r] + 1}\t{corpus[idx[r]].Replace('\t', ' ')}"));
            }
        }

        w.Flush();
    }
}

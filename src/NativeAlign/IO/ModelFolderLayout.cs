using System.Text.Json;

namespace NativeAlign.IO;

/// <summary>Which kind of tokenizer file a folder provides.</summary>
public enum TokenizerFileKind
{
    /// <summary>Hugging Face <c>tokenizer.json</c>.</summary>
    TokenizerJson,

    /// <summary>SentencePiece model (<c>sentencepiece.bpe.model</c>, <c>spiece.model</c>).</summary>
    SentencePiece,

    /// <summary>WordPiece vocabulary (<c>vocab.txt</c>).</summary>
    WordPieceVocab,
}

/// <summary>
/// Where things are in a Hugging Face / sentence-transformers model folder: the transformer's folder (named by
/// <c>modules.json</c>) and the one rule that finds the tokenizer, for the model loader and the tokenizer loader alike.
/// Every path found must resolve inside the folder's <see cref="ModelRoot"/>.
/// </summary>
internal static class ModelFolderLayout
{
    /// <summary>The <c>modules.json</c> type of the transformer module.</summary>
    public const string TransformerType = "sentence_transformers.models.Transformer";

    /// <summary>
    /// The tokenizer of a folder whose transformer lies in <paramref name="transformerDir"/> (the folder itself, or the
    /// subfolder <c>modules.json</c> names): that folder first, then <paramref name="root"/>; in each, <c>tokenizer.json</c>,
    /// then a SentencePiece model (<c>sentencepiece.bpe.model</c>, <c>spiece.model</c>, else the first <c>*.model</c> by
    /// name), then <c>vocab.txt</c>. The file found must resolve inside <paramref name="allowed"/>.
    /// </summary>
    public static (string Path, TokenizerFileKind Kind)? FindTokenizer(string transformerDir, string root, ModelRoot allowed)
    {
        foreach (var dir in new[] { transformerDir, root }.Distinct(StringComparer.Ordinal))
        {
            if (InFolder(dir) is { } found)
            {
                allowed.Require(found.Path);
                return found;
            }
        }

        return null;
    }

    // tokenizer.json describes the whole pipeline; XLM-R-style folders ship their SentencePiece model beside a vocab.txt
    // kept for other tools, and the model is what the checkpoint was trained with.
    private static (string Path, TokenizerFileKind Kind)? InFolder(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return null;
        }

        string json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json))
        {
            return (json, TokenizerFileKind.TokenizerJson);
        }

        string? piece = new[] { "sentencepiece.bpe.model", "spiece.model" }.Select(name => Path.Combine(dir, name)).FirstOrDefault(File.Exists)
            ?? Directory.EnumerateFiles(dir, "*.model").Order(StringComparer.Ordinal).FirstOrDefault();
        if (piece is not null)
        {
            return (piece, TokenizerFileKind.SentencePiece);
        }

        string vocab = Path.Combine(dir, "vocab.txt");
        return File.Exists(vocab) ? (vocab, TokenizerFileKind.WordPieceVocab) : null;
    }

    /// <summary>
    /// The folder holding the transformer: the module folder <c>modules.json</c> names for it, else <paramref name="root"/>.
    /// </summary>
    /// <summary>
    /// The folder holding the transformer of <paramref name="root"/>, from <c>modules.json</c> alone (the root when it has
    /// none): enough to find a tokenizer without reading the other modules.
    /// </summary>
    public static string TransformerDirectory(string root, ModelRoot allowed)
    {
        string modulesPath = Path.Combine(root, "modules.json");
        if (!File.Exists(modulesPath))
        {
            return root;
        }

        allowed.Require(modulesPath);
        using var document = JsonModelFile.Parse(modulesPath);
        if (document.RootElement.ValueKind == JsonValueKind.Array)
        {
            int index = 0;
            foreach (var module in document.RootElement.EnumerateArray())
            {
                string item = $"module {index++}";
                if (module.ValueKind == JsonValueKind.Object && JsonModelFile.OptionalString(module, "type", modulesPath) == TransformerType)
                {
                    string dir = ModuleDirectory(root, JsonModelFile.OptionalString(module, "path", modulesPath) ?? "", modulesPath, item, mustExist: true);
                    allowed.Require(dir, modulesPath, item);
                    return dir;
                }
            }
        }

        // A malformed modules.json is reported by ModelFolder.Open; a tokenizer alone is looked for at the root.
        return root;
    }

    public static string ModuleDirectory(string root, string relative, string modulesPath, string item, bool mustExist)
    {
        // modules.json is data: its paths must stay inside the model folder.
        if (Path.IsPathRooted(relative) || relative.Split('/', '\\').Any(s => s == ".."))
        {
            throw new ModelFormatException(modulesPath, item, $"path '{relative}' leaves the model folder");
        }

        string dir = Path.GetFullPath(Path.Combine(root, relative));
        if (mustExist && !System.IO.Directory.Exists(dir))
        {
            throw new ModelFormatException(modulesPath, item, $"module folder '{relative}' does not exist");
        }

        return dir;
    }
}

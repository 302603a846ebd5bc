namespace NativeAlign.Tokenizers;

/// <summary>SentencePiece's precompiled character map (a double-array trie over UTF-8 plus replacement strings).</summary>
internal static class PrecompiledNormalizer
{
    public static TextNormalizer Create(byte[] blob, string? path, string item) =>
        throw new ModelFormatException(path, item, "precompiled character maps are not supported yet");
}

/// <summary>Reads SentencePiece .model files.</summary>
internal static class SentencePieceLoader
{
    public static Tokenizer Load(byte[] bytes, string path) =>
        throw new ModelFormatException(path, null, "SentencePiece .model files are not supported yet");
}

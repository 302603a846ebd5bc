using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NativeAlign.IO;

namespace NativeAlign.Tokenizers;

/// <summary>
/// Creates <see cref="Tokenizer"/>s from the files models ship: a Hugging Face <c>tokenizer.json</c>,
/// a WordPiece <c>vocab.txt</c>, or a SentencePiece <c>.model</c>. Malformed files raise
/// <see cref="ModelFormatException"/> naming the file and the field at fault.
/// </summary>
public static class TokenizerLoader
{
    /// <summary>Files larger than this are refused before they are read (the largest real tokenizers are ~20 MB).</summary>
    public const long MaxFileBytes = 512L << 20;

    /// <summary>
    /// Loads the tokenizer of a model folder. In the transformer's folder (the folder itself, or the subfolder its
    /// <c>modules.json</c> names), then in the folder: <c>tokenizer.json</c>, else a SentencePiece model
    /// (<c>sentencepiece.bpe.model</c>, <c>spiece.model</c>, else the first <c>*.model</c>), else <c>vocab.txt</c> (BERT
    /// defaults; <c>do_lower_case</c> from <c>tokenizer_config.json</c> beside it). The model loader (<c>ModelFolder</c>) reports the
    /// same file. The file must resolve, symbolic links included, inside the folder.
    /// </summary>
    public static Tokenizer FromModelFolder(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        // A hub id (org/name) that is not a folder here is looked up in the local Hugging Face cache, as models are.
        directory = HubCache.Resolve(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelFormatException(directory, null, "model folder not found");
        }

        string root = Path.GetFullPath(directory);
        var allowed = ModelRoot.ForFolder(root);
        var found = ModelFolderLayout.FindTokenizer(ModelFolderLayout.TransformerDirectory(root, allowed), root, allowed)
            ?? throw new ModelFormatException(directory, null, "no tokenizer found: expected tokenizer.json, vocab.txt or a SentencePiece .model file");
        return Load(found.Path, found.Kind, allowed);
    }

    /// <summary>Loads the tokenizer file <paramref name="path"/> of the given kind, found in a model folder whose files must resolve inside <paramref name="allowed"/>.</summary>
    internal static Tokenizer Load(string path, TokenizerFileKind kind, ModelRoot allowed) => kind switch
    {
        TokenizerFileKind.TokenizerJson => FromJson(ReadBytes(path), path),
        TokenizerFileKind.SentencePiece => FromSentencePieceFile(path),
        _ => FromVocabFile(path, lowercase: ReadLowercaseHint(Path.GetDirectoryName(path) ?? ".", allowed) ?? true),
    };

    /// <summary>Loads a tokenizer file by its kind: <c>.json</c>, <c>.txt</c> (WordPiece vocabulary) or <c>.model</c> (SentencePiece).</summary>
    public static Tokenizer FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return FromModelFolder(path);
        }

        var bytes = ReadBytes(path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".txt" => FromVocabFile(path),
            ".model" => SentencePieceLoader.Load(bytes, path),
            _ => FromJson(bytes, path),
        };
    }

    /// <summary>Builds a BERT WordPiece tokenizer from a <c>vocab.txt</c> (one token per line, id = line number - 1).</summary>
    public static Tokenizer FromVocabFile(string path, bool lowercase = true, int maxLength = 512)
    {
        var bytes = ReadBytes(path);
        var text = DecodeUtf8(bytes, path);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var id = 0;
        var lines = text.Split('\n');
        // The file's final newline leaves one empty element; an empty line anywhere else still takes an id.
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            vocab.TryAdd(line, id);
            id++;
        }

        int Require(string token) => vocab.TryGetValue(token, out var v) ? v
            : throw new ModelFormatException(path, token, "the vocabulary lacks this special token");
        var unk = Require("[UNK]");
        var cls = Require("[CLS]");
        var sep = Require("[SEP]");
        var pad = vocab.GetValueOrDefault("[PAD]", 0);
        var added = new List<AddedTokenSpec>();
        foreach (var special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
        {
            if (vocab.TryGetValue(special, out var sid))
            {
                added.Add(new AddedTokenSpec(sid, special, Special: true, Normalized: false, LeftStrip: false, RightStrip: false));
            }
        }

        var model = new WordPieceModel(vocab, unk, "##", 100);
        var template = BertTemplate(new SpecialPiece(cls, "[CLS]", 0), new SpecialPiece(sep, "[SEP]", 0));
        return new Tokenizer(new BertTextNormalizer(true, true, null, lowercase), new BertPreTokenizer(), model, template, added, maxLength, false, pad) { Source = path };
    }

    /// <summary>Loads a SentencePiece <c>.model</c> (protobuf ModelProto) file.</summary>
    public static Tokenizer FromSentencePieceFile(string path) => SentencePieceLoader.Load(ReadBytes(path), path);

    /// <summary>Parses a <c>tokenizer.json</c> document; <paramref name="path"/> is only used in error messages.</summary>
    public static Tokenizer FromJson(ReadOnlySpan<byte> utf8Json, string? path = null)
    {
        // System.Text.Json checks UTF-8 inside strings only when it makes a .NET string of one; check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
        {
            throw new ModelFormatException(path, null, "is not valid UTF-8 JSON");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, null, $"not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            NativeAlign.IO.JsonModelFile.CheckStrings(doc.RootElement, path);
            return new JsonReader(path).Read(doc.RootElement);
        }
    }

    internal static byte[] ReadBytes(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new ModelFormatException(path, null, "file not found");
            }

            ModelFileType.RequireRegularFile(path);

            if (info.Length > MaxFileBytes)
            {
                throw new ModelFormatException(path, null, $"file is {info.Length} bytes; tokenizer files over {MaxFileBytes} bytes are refused");
            }

            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    private static string DecodeUtf8(byte[] bytes, string path)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ModelFormatException(path, null, "not valid UTF-8", e);
        }
    }

    private static bool? ReadLowercaseHint(string directory, ModelRoot allowed)
    {
        var config = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(config))
        {
            return null;
        }

        allowed.Require(config);
        try
        {
            using var doc = JsonDocument.Parse(ReadBytes(config));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("do_lower_case", out var v)
                && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>[CLS] A [SEP] for one sequence; [CLS] A [SEP] B [SEP] with B (and its [SEP]) of type 1 for a pair.</summary>
    private static SingleTemplate BertTemplate(SpecialPiece cls, SpecialPiece sep) => new([cls], 0, [sep])
    {
        Pair = [TemplateItem.Of(cls, 0), TemplateItem.Seq(0, 0), TemplateItem.Of(sep, 0), TemplateItem.Seq(1, 1), TemplateItem.Of(sep, 1)],
    };

    /// <summary>Reads the parts of a tokenizer.json document, naming the JSON path of any field at fault.</summary>
    private sealed class JsonReader(string? path)
    {
        public Tokenizer Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error("$", "expected a JSON object at the top level");
            }

            var model = ReadModel(Required(root, "model", "model"));
            var normalizer = root.TryGetProperty("normalizer", out var n) ? ReadNormalizer(n, "normalizer") : null;
            var pre = root.TryGetProperty("pre_tokenizer", out var p) ? ReadPreTokenizer(p, "pre_tokenizer") : null;
            var added = new List<AddedTokenSpec>();
            if (root.TryGetProperty("added_tokens", out var a) && a.ValueKind != JsonValueKind.Null)
            {
                Expect(a, JsonValueKind.Array, "added_tokens");
                var i = 0;
                foreach (var t in a.EnumerateArray())
                {
                    var where = $"added_tokens[{i++}]";
                    Expect(t, JsonValueKind.Object, where);
                    var id = Int(Required(t, "id", where + ".id"), where + ".id");
                    if (id < 0 || id > 50_000_000)
                    {
                        throw Error(where + ".id", $"id {id} is out of range");
                    }

                    var content = Str(Required(t, "content", where + ".content"), where + ".content");
                    var special = OptBool(t, "special", where) ?? false;
                    added.Add(new AddedTokenSpec(id, content, special, OptBool(t, "normalized", where) ?? !special,
                        OptBool(t, "lstrip", where) ?? false, OptBool(t, "rstrip", where) ?? false));
                }
            }

            var template = root.TryGetProperty("post_processor", out var pp) ? ReadPostProcessor(pp, "post_processor", model, added) : SingleTemplate.None;
            var maxLength = 0;
            var left = false;
            if (root.TryGetProperty("truncation", out var tr) && tr.ValueKind != JsonValueKind.Null)
            {
                Expect(tr, JsonValueKind.Object, "truncation");
                maxLength = Int(Required(tr, "max_length", "truncation.max_length"), "truncation.max_length");
                if (maxLength < 0)
                {
                    throw Error("truncation.max_length", "must not be negative");
                }

                left = tr.TryGetProperty("direction", out var d) && d.ValueKind == JsonValueKind.String && d.GetString() == "Left";
            }

            var padId = 0;
            if (root.TryGetProperty("padding", out var pad) && pad.ValueKind == JsonValueKind.Object && pad.TryGetProperty("pad_id", out var pid))
            {
                padId = Int(pid, "padding.pad_id");
            }

            string? normalizerType = n.ValueKind == JsonValueKind.Object && n.TryGetProperty("type", out var nt) && nt.ValueKind == JsonValueKind.String ? nt.GetString() : null;
            return new Tokenizer(normalizer, pre, model, template, added, maxLength, left, padId)
            {
                Source = path,
                NormalizerName = normalizerType is null ? null : $"normalizer ({(normalizerType.Length > 40 ? normalizerType[..40] : normalizerType)})",
            };
        }

        private TokenizerModel ReadModel(JsonElement m)
        {
            Expect(m, JsonValueKind.Object, "model");
            var type = m.TryGetProperty("type", out var t) ? Str(t, "model.type") : GuessModelType(m);
            switch (type)
            {
                case "WordPiece":
                {
                    var vocabElement = Required(m, "vocab", "model.vocab");
                    Expect(vocabElement, JsonValueKind.Object, "model.vocab");
                    var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
                    foreach (var e in vocabElement.EnumerateObject())
                    {
                        var id = Int(e.Value, $"model.vocab[\"{e.Name}\"]");
                        if (id < 0 || id > 50_000_000)
                        {
                            throw Error($"model.vocab[\"{e.Name}\"]", $"id {id} is out of range");
                        }

                        vocab[e.Name] = id;
                    }

                    var unkToken = Str(Required(m, "unk_token", "model.unk_token"), "model.unk_token");
                    if (!vocab.TryGetValue(unkToken, out var unk))
                    {
                        throw Error("model.unk_token", $"'{unkToken}' is not in model.vocab");
                    }

                    var prefix = m.TryGetProperty("continuing_subword_prefix", out var cp) && cp.ValueKind != JsonValueKind.Null ? Str(cp, "model.continuing_subword_prefix") : "##";
                    var max = m.TryGetProperty("max_input_chars_per_word", out var mc) && mc.ValueKind != JsonValueKind.Null ? Int(mc, "model.max_input_chars_per_word") : 100;
                    return new WordPieceModel(vocab, unk, prefix, max);
                }

                case "Unigram":
                {
                    var vocabElement = Required(m, "vocab", "model.vocab");
                    Expect(vocabElement, JsonValueKind.Array, "model.vocab");
                    var pieces = new List<(string Piece, double Score)>();
                    var i = 0;
                    foreach (var e in vocabElement.EnumerateArray())
                    {
                        var where = $"model.vocab[{i++}]";
                        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2)
                        {
                            throw Error(where, "expected [piece, score]");
                        }

                        var score = e[1].ValueKind == JsonValueKind.Number ? e[1].GetDouble() : throw Error(where + "[1]", "expected a number");
                        pieces.Add((Str(e[0], where + "[0]"), score));
                    }

                    int? unk = null;
                    if (m.TryGetProperty("unk_id", out var u) && u.ValueKind != JsonValueKind.Null)
                    {
                        unk = Int(u, "model.unk_id");
                        if (unk < 0 || unk >= pieces.Count)
                        {
                            throw Error("model.unk_id", $"{unk} is not an index of model.vocab ({pieces.Count} pieces)");
                        }
                    }

                    var byteFallback = OptBool(m, "byte_fallback", "model") ?? false;
                    var types = new UnigramPieceType[pieces.Count];
                    return new UnigramModel(pieces, types, unk ?? -1, byteFallback);
                }

                default:
                    throw Error("model.type", $"unsupported model type '{type}' (WordPiece and Unigram are supported)");
            }
        }

        private static string GuessModelType(JsonElement m) =>
            m.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array ? "Unigram"
            : m.TryGetProperty("merges", out _) ? "BPE" : "WordPiece";

        private TextNormalizer? ReadNormalizer(JsonElement n, string where)
        {
            if (n.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            Expect(n, JsonValueKind.Object, where);
            var type = Str(Required(n, "type", where + ".type"), where + ".type");
            switch (type)
            {
                case "BertNormalizer":
                    return new BertTextNormalizer(OptBool(n, "clean_text", where) ?? true, OptBool(n, "handle_chinese_chars", where) ?? true,
                        OptBool(n, "strip_accents", where), OptBool(n, "lowercase", where) ?? true);
                case "NFC":
                    return new UnicodeFormNormalizer(NormalizationForm.FormC);
                case "NFD":
                    return new UnicodeFormNormalizer(NormalizationForm.FormD);
                case "NFKC":
                    return new UnicodeFormNormalizer(NormalizationForm.FormKC);
                case "NFKD":
                    return new UnicodeFormNormalizer(NormalizationForm.FormKD);
                case "Lowercase":
                    return new LowercaseNormalizer();
                case "StripAccents":
                    return new StripAccentsNormalizer();
                case "Strip":
                    return new StripNormalizer(OptBool(n, "strip_left", where) ?? true, OptBool(n, "strip_right", where) ?? true);
                case "Prepend":
                    return new PrependNormalizer(Str(Required(n, "prepend", where + ".prepend"), where + ".prepend"));
                case "Replace":
                {
                    var (literal, regex) = ReadPattern(Required(n, "pattern", where + ".pattern"), where + ".pattern");
                    return new ReplaceNormalizer(literal, regex, Str(Required(n, "content", where + ".content"), where + ".content"));
                }

                case "Precompiled":
                {
                    var map = n.TryGetProperty("precompiled_charsmap", out var cm) && cm.ValueKind == JsonValueKind.String ? cm.GetString()! : string.Empty;
                    byte[] blob;
                    try
                    {
                        blob = Convert.FromBase64String(map);
                    }
                    catch (FormatException e)
                    {
                        throw new ModelFormatException(path, where + ".precompiled_charsmap", "not valid base64", e);
                    }

                    return PrecompiledNormalizer.Create(blob, path, where + ".precompiled_charsmap");
                }

                case "Sequence":
                {
                    var list = Required(n, "normalizers", where + ".normalizers");
                    Expect(list, JsonValueKind.Array, where + ".normalizers");
                    var steps = new List<TextNormalizer>();
                    var i = 0;
                    foreach (var e in list.EnumerateArray())
                    {
                        if (ReadNormalizer(e, $"{where}.normalizers[{i++}]") is { } step)
                        {
                            steps.Add(step);
                        }
                    }

                    return new SequenceNormalizer(steps);
                }

                default:
                    throw Error(where + ".type", $"unsupported normalizer '{type}'");
            }
        }

        private PreTokenizer? ReadPreTokenizer(JsonElement p, string where)
        {
            if (p.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            Expect(p, JsonValueKind.Object, where);
            var type = Str(Required(p, "type", where + ".type"), where + ".type");
            switch (type)
            {
                case "BertPreTokenizer":
                    return new BertPreTokenizer();
                case "WhitespaceSplit":
                    return new WhitespaceSplitPreTokenizer();
                case "Whitespace":
                    return new RegexSplitPreTokenizer(PreTokenizerPatterns.Whitespace, SplitBehavior.Removed, invert: true);
                case "Punctuation":
                    return new RegexSplitPreTokenizer(PreTokenizerPatterns.Punctuation, ReadBehavior(p, where, SplitBehavior.Isolated), invert: false);
                case "Digits":
                    return new RegexSplitPreTokenizer((OptBool(p, "individual_digits", where) ?? false) ? PreTokenizerPatterns.Digit : PreTokenizerPatterns.Digits,
                        SplitBehavior.Isolated, invert: false);
                case "Split":
                {
                    var (literal, regex) = ReadPattern(Required(p, "pattern", where + ".pattern"), where + ".pattern");
                    var pattern = regex ?? new Regex(Regex.Escape(literal ?? string.Empty), RegexOptions.CultureInvariant);
                    return new RegexSplitPreTokenizer(pattern, ReadBehavior(p, where, SplitBehavior.Removed), OptBool(p, "invert", where) ?? false);
                }

                case "Metaspace":
                {
                    var replacement = p.TryGetProperty("replacement", out var r) ? Str(r, where + ".replacement") : "\u2581";
                    if (replacement.Length != 1)
                    {
                        throw Error(where + ".replacement", "expected a single character");
                    }

                    var scheme = p.TryGetProperty("prepend_scheme", out var ps) && ps.ValueKind == JsonValueKind.String ? ps.GetString()!
                        : (OptBool(p, "add_prefix_space", where) ?? true) ? "always" : "never";
                    if (scheme is not ("always" or "first" or "never"))
                    {
                        throw Error(where + ".prepend_scheme", $"'{scheme}' is not one of always, first, never");
                    }

                    return new MetaspacePreTokenizer(replacement[0], scheme, OptBool(p, "split", where) ?? true);
                }

                case "Sequence":
                {
                    var list = Required(p, "pretokenizers", where + ".pretokenizers");
                    Expect(list, JsonValueKind.Array, where + ".pretokenizers");
                    var steps = new List<PreTokenizer>();
                    var i = 0;
                    foreach (var e in list.EnumerateArray())
                    {
                        if (ReadPreTokenizer(e, $"{where}.pretokenizers[{i++}]") is { } step)
                        {
                            steps.Add(step);
                        }
                    }

                    return new SequencePreTokenizer(steps);
                }

                default:
                    throw Error(where + ".type", $"unsupported pre-tokenizer '{type}'");
            }
        }

        private SplitBehavior ReadBehavior(JsonElement p, string where, SplitBehavior fallback)
        {
            if (!p.TryGetProperty("behavior", out var b) || b.ValueKind == JsonValueKind.Null)
            {
                return fallback;
            }

            return Enum.TryParse<SplitBehavior>(Str(b, where + ".behavior"), ignoreCase: true, out var v)
                ? v : throw Error(where + ".behavior", $"'{b.GetString()}' is not a split behavior");
        }

        private (string? Literal, Regex? Regex) ReadPattern(JsonElement p, string where)
        {
            Expect(p, JsonValueKind.Object, where);
            if (p.TryGetProperty("String", out var s))
            {
                return (Str(s, where + ".String"), null);
            }

            if (p.TryGetProperty("Regex", out var r))
            {
                try
                {
                    return (null, new Regex(Str(r, where + ".Regex"), RegexOptions.CultureInvariant, RegexGuard.Timeout));
                }
                catch (ArgumentException e)
                {
                    throw new ModelFormatException(path, where + ".Regex", $"not a valid regular expression: {e.Message}", e);
                }
            }

            throw Error(where, "expected {\"String\": ...} or {\"Regex\": ...}");
        }

        private SingleTemplate ReadPostProcessor(JsonElement p, string where, TokenizerModel model, List<AddedTokenSpec> added)
        {
            if (p.ValueKind == JsonValueKind.Null)
            {
                return SingleTemplate.None;
            }

            Expect(p, JsonValueKind.Object, where);
            var type = Str(Required(p, "type", where + ".type"), where + ".type");
            switch (type)
            {
                case "BertProcessing":
                case "RobertaProcessing":
                {
                    var cls = ReadPair(Required(p, "cls", where + ".cls"), where + ".cls");
                    var sep = ReadPair(Required(p, "sep", where + ".sep"), where + ".sep");
                    return type == "BertProcessing" ? BertTemplate(cls, sep)
                        : new SingleTemplate([cls], 0, [sep])
                        {
                            // RoBERTa-family models have a single token type: B keeps type 0.
                            Pair = [TemplateItem.Of(cls, 0), TemplateItem.Seq(0, 0), TemplateItem.Of(sep, 0), TemplateItem.Of(sep, 0), TemplateItem.Seq(1, 0), TemplateItem.Of(sep, 0)],
                        };
                }

                case "TemplateProcessing":
                {
                    var single = Required(p, "single", where + ".single");
                    Expect(single, JsonValueKind.Array, where + ".single");
                    var specials = p.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object ? st : default;
                    var prefix = new List<SpecialPiece>();
                    var suffix = new List<SpecialPiece>();
                    var sequenceType = 0;
                    var seenSequence = false;
                    var i = 0;
                    foreach (var item in single.EnumerateArray())
                    {
                        var at = $"{where}.single[{i++}]";
                        Expect(item, JsonValueKind.Object, at);
                        if (item.TryGetProperty("Sequence", out var seq))
                        {
                            Expect(seq, JsonValueKind.Object, at + ".Sequence");
                            sequenceType = seq.TryGetProperty("type_id", out var ti) ? Int(ti, at + ".Sequence.type_id") : 0;
                            seenSequence = true;
                        }
                        else if (item.TryGetProperty("SpecialToken", out var sp))
                        {
                            var name = Str(Required(sp, "id", at + ".SpecialToken.id"), at + ".SpecialToken.id");
                            var typeId = sp.TryGetProperty("type_id", out var ti) ? Int(ti, at + ".SpecialToken.type_id") : 0;
                            foreach (var piece in ResolveSpecial(name, specials, at, model, added))
                            {
                                (seenSequence ? suffix : prefix).Add(piece with { TypeId = typeId });
                            }
                        }
                        else
                        {
                            throw Error(at, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
                        }
                    }

                    var pairItems = new List<TemplateItem>();
                    if (p.TryGetProperty("pair", out var pairElement) && pairElement.ValueKind == JsonValueKind.Array && pairElement.GetArrayLength() > 0)
                    {
                        var j = 0;
                        foreach (var item in pairElement.EnumerateArray())
                        {
                            var at = $"{where}.pair[{j++}]";
                            Expect(item, JsonValueKind.Object, at);
                            if (item.TryGetProperty("Sequence", out var seq))
                            {
                                var id = Str(Required(seq, "id", at + ".Sequence.id"), at + ".Sequence.id");
                                var typeId = seq.TryGetProperty("type_id", out var ti) ? Int(ti, at + ".Sequence.type_id") : 0;
                                pairItems.Add(TemplateItem.Seq(id switch { "A" => 0, "B" => 1, _ => throw Error(at + ".Sequence.id", $"'{id}' is neither A nor B") }, typeId));
                            }
                            else if (item.TryGetProperty("SpecialToken", out var sp))
                            {
                                var name = Str(Required(sp, "id", at + ".SpecialToken.id"), at + ".SpecialToken.id");
                                var typeId = sp.TryGetProperty("type_id", out var ti) ? Int(ti, at + ".SpecialToken.type_id") : 0;
                                foreach (var piece in ResolveSpecial(name, specials, at, model, added))
                                {
                                    pairItems.Add(TemplateItem.Of(piece, typeId));
                                }
                            }
                            else
                            {
                                throw Error(at, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
                            }
                        }
                    }

                    // The pair encoder sizes its output from one A and one B; a template naming either twice (or never) is malformed.
                    if (pairItems.Count > 0 && (pairItems.Count(x => x.Sequence == 0) != 1 || pairItems.Count(x => x.Sequence == 1) != 1))
                    {
                        throw Error(where + ".pair", "expected exactly one Sequence A and one Sequence B");
                    }

                    return pairItems.Count > 0
                        ? new SingleTemplate([.. prefix], sequenceType, [.. suffix]) { Pair = [.. pairItems] }
                        : new SingleTemplate([.. prefix], sequenceType, [.. suffix]);
                }

                case "Sequence":
                {
                    // Only one processor of a sequence may add tokens (the others, e.g. ByteLevel, adjust offsets).
                    var list = Required(p, "processors", where + ".processors");
                    Expect(list, JsonValueKind.Array, where + ".processors");
                    var result = SingleTemplate.None;
                    var i = 0;
                    foreach (var e in list.EnumerateArray())
                    {
                        var t = ReadPostProcessor(e, $"{where}.processors[{i++}]", model, added);
                        if (t.AddedCount > 0)
                        {
                            result = t;
                        }
                    }

                    return result;
                }

                case "ByteLevel":
                    return SingleTemplate.None;
                default:
                    throw Error(where + ".type", $"unsupported post-processor '{type}'");
            }
        }

        private IEnumerable<SpecialPiece> ResolveSpecial(string name, JsonElement specials, string at, TokenizerModel model, List<AddedTokenSpec> added)
        {
            if (specials.ValueKind == JsonValueKind.Object && specials.TryGetProperty(name, out var entry))
            {
                var ids = Required(entry, "ids", $"post_processor.special_tokens[\"{name}\"].ids");
                var tokens = Required(entry, "tokens", $"post_processor.special_tokens[\"{name}\"].tokens");
                Expect(ids, JsonValueKind.Array, $"post_processor.special_tokens[\"{name}\"].ids");
                Expect(tokens, JsonValueKind.Array, $"post_processor.special_tokens[\"{name}\"].tokens");
                if (ids.GetArrayLength() != tokens.GetArrayLength())
                {
                    throw Error($"post_processor.special_tokens[\"{name}\"]", "ids and tokens differ in length");
                }

                var pieces = new List<SpecialPiece>();
                for (var k = 0; k < ids.GetArrayLength(); k++)
                {
                    pieces.Add(new SpecialPiece(TokenId(ids[k], $"post_processor.special_tokens[\"{name}\"].ids[{k}]"), Str(tokens[k], $"post_processor.special_tokens[\"{name}\"].tokens[{k}]"), 0));
                }

                return pieces;
            }

            var id = added.FirstOrDefault(a => a.Content == name)?.Id ?? model.TokenToId(name)
                ?? throw Error(at, $"special token '{name}' is neither in post_processor.special_tokens nor in the vocabulary");
            return [new SpecialPiece(id, name, 0)];
        }

        private SpecialPiece ReadPair(JsonElement e, string where)
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2)
            {
                throw Error(where, "expected [token, id]");
            }

            return new SpecialPiece(TokenId(e[1], where + "[1]"), Str(e[0], where + "[0]"), 0);
        }

        private JsonElement Required(JsonElement e, string name, string where) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw Error(where, "missing");

        private void Expect(JsonElement e, JsonValueKind kind, string where)
        {
            if (e.ValueKind != kind)
            {
                throw Error(where, $"expected {Describe(kind)}, found {Describe(e.ValueKind)}");
            }
        }

        private string Str(JsonElement e, string where) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(where, $"expected a string, found {Describe(e.ValueKind)}");

        private int Int(JsonElement e, string where) => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v
            : throw Error(where, $"expected a 32-bit integer, found {(e.ValueKind == JsonValueKind.Number ? e.GetRawText() : Describe(e.ValueKind))}");

        /// <summary>A token id: a 32-bit integer in the range every other id of the file is held to.</summary>
        private int TokenId(JsonElement e, string where)
        {
            var id = Int(e, where);
            return id is >= 0 and <= 50_000_000 ? id : throw Error(where, $"id {id} is out of range");
        }

        private bool? OptBool(JsonElement e, string name, string where)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Error($"{where}.{name}", $"expected true or false, found {Describe(v.ValueKind)}");
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => kind.ToString().ToLower(CultureInfo.InvariantCulture),
        };

        private ModelFormatException Error(string item, string message) => new(path, item, message);
    }
}

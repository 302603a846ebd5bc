using NativeAlign.Tests.IO;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// The inputs behind the coverage-guided fuzzer's findings (kept in <c>tests/fuzz-corpus/</c> as <c>regress-*</c>), each
/// asserted to give the typed error it now gives; docs/hardening.md lists what each one was.
/// </summary>
public sealed class FuzzFindingTests
{
    private static byte[] Corpus(string target, string name) => File.ReadAllBytes(Path.Combine(LoadingTestSupport.RepoRoot, "tests", "fuzz-corpus", target, name));

    /// <summary>
    /// Invalid UTF-8 inside a JSON string (AFL++'s first find), or an escaped lone surrogate: System.Text.Json parses
    /// both and fails only when a reader asks for the .NET string, with <see cref="InvalidOperationException"/>.
    /// </summary>
    [TestCase("regress-invalid-utf8.json", "UTF-8")]
    [TestCase("regress-lone-surrogate.json", "invalid JSON string")]
    public void TokenizerJsonWithAStringThatCannotBeDecodedIsAModelError(string file, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromJson(Corpus("tokenizer-json", file), "tokenizer.json"));
        Assert.That(e!.Message, Does.Contain("tokenizer.json").And.Contain(expected));
    }
}

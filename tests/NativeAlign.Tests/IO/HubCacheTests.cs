using NativeAlign.IO;
using NativeAlign.Models;

namespace NativeAlign.Tests.IO;

/// <summary>
/// Models named org/name load from a Hugging Face hub cache laid out as huggingface_hub lays it: blobs named by hash,
/// snapshots/REV/FILE symbolic links into them, refs/main naming the revision.
/// </summary>
[TestFixture]
public sealed class HubCacheTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "na-hub-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    /// <summary>Lays out <paramref name="source"/>'s files as the cache holds repository <paramref name="repo"/> at <paramref name="revision"/>.</summary>
    private static string AddToCache(string cache, string repo, string source, string revision, bool writeRef)
    {
        string repository = Path.Combine(cache, "models--" + repo.Replace("/", "--"));
        string blobs = Path.Combine(repository, "blobs");
        string snapshot = Path.Combine(repository, "snapshots", revision);
        Directory.CreateDirectory(blobs);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            string blob = Path.Combine(blobs, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant());
            File.Copy(file, blob, overwrite: true);
            string link = Path.Combine(snapshot, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            // Relative links, as huggingface_hub makes them (../../blobs/SHA, one more ../ per subfolder).
            File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob));
        }

        if (writeRef)
        {
            Directory.CreateDirectory(Path.Combine(repository, "refs"));
            File.WriteAllText(Path.Combine(repository, "refs", "main"), revision);
        }

        return snapshot;
    }

    [Test]
    public void AModelInTheCacheLoadsByItsHubId()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string cache = Path.Combine(_dir, "hub");
        string snapshot = AddToCache(cache, "sentence-transformers/all-MiniLM-L6-v2", model, "0123abcd", writeRef: true);
        // A stale second snapshot: refs/main, not the name order, picks the revision.
        AddToCache(cache, "sentence-transformers/all-MiniLM-L6-v2", Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Models", "Fixtures", "encoder-st"), "ffff0000", writeRef: false);
        Assert.That(File.ResolveLinkTarget(Path.Combine(snapshot, "config.json"), false), Is.Not.Null, "the snapshot holds links");

        string resolved = HubCache.Resolve("sentence-transformers/all-MiniLM-L6-v2", name => name == "HF_HUB_CACHE" ? cache : null);
        Assert.That(resolved, Is.EqualTo(snapshot));

        using var fromCache = SentenceEncoder.Load(resolved);
        using var direct = SentenceEncoder.Load(model);
        string[] texts = ["A cat sits on the mat.", "Der Hund schläft."];
        Assert.That(fromCache.Embed(texts).Data, Is.EqualTo(direct.Embed(texts).Data).Within(1e-6f));
    }

    [Test]
    public void TheLibraryAndTheCliTakeAHubIdAndNativeAlignModel()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string cache = Path.Combine(_dir, "hub");
        AddToCache(cache, "sentence-transformers/all-MiniLM-L6-v2", model, "0123abcd", writeRef: true);
        string? saved = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", cache);
        try
        {
            using var byId = SentenceEncoder.Load("sentence-transformers/all-MiniLM-L6-v2");
            using var direct = SentenceEncoder.Load(model);
            Assert.That(byId.Embed(["Der Hund schläft."]).Data, Is.EqualTo(direct.Embed(["Der Hund schläft."]).Data).Within(1e-6f));
            Assert.That(NativeAlign.Tokenizers.TokenizerLoader.FromModelFolder("sentence-transformers/all-MiniLM-L6-v2").Encode("hello").Ids, Is.EqualTo(direct.Tokenizer!.Encode("hello").Ids));
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", saved);
        }

        // The CLI with no --model: NATIVEALIGN_MODEL names the id, HF_HUB_CACHE the cache.
        string input = Path.Combine(_dir, "in.txt");
        File.WriteAllText(input, "A cat sits on the mat.\nStock markets fell.\n");
        string fromEnv = Path.Combine(_dir, "env.npy"), fromFolder = Path.Combine(_dir, "folder.npy");
        var info = NativeAlign.Tests.Hardening.CliProcess.StartInfo(_dir, "embed", "-i", input, "-o", fromEnv, "--quiet");
        info.Environment["HF_HUB_CACHE"] = cache;
        info.Environment["NATIVEALIGN_MODEL"] = "sentence-transformers/all-MiniLM-L6-v2";
        using (var process = System.Diagnostics.Process.Start(info)!)
        {
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.EqualTo(0), stderr);
        }

        var plain = NativeAlign.Tests.Hardening.CliProcess.Run(_dir, "embed", "--model", model, "-i", input, "-o", fromFolder, "--quiet");
        Assert.That(plain.ExitCode, Is.EqualTo(0), plain.Stderr);
        Assert.That(File.ReadAllBytes(fromEnv), Is.EqualTo(File.ReadAllBytes(fromFolder)), "the id resolved to the same model files");

        var missing = NativeAlign.Tests.Hardening.CliProcess.Run(_dir, "embed", "--model", "org/absent", "-i", input, "-o", fromFolder, "--quiet");
        Assert.That(missing.ExitCode, Is.EqualTo(4), missing.Stderr);
        Assert.That(missing.Stderr, Does.Contain("models--org--absent"));
    }

    [Test]
    public void TheCacheFolderFollowsHuggingFaceHubsPrecedence()
    {
        Assert.That(HubCache.CacheDirectory(n => n switch { "HF_HUB_CACHE" => "/a", "HF_HOME" => "/b", _ => "/c" }), Is.EqualTo("/a"));
        Assert.That(HubCache.CacheDirectory(n => n switch { "HF_HOME" => "/b", "XDG_CACHE_HOME" => "/x", _ => null }), Is.EqualTo("/b/hub"));
        Assert.That(HubCache.CacheDirectory(n => n switch { "XDG_CACHE_HOME" => "/x", "HOME" => "/h", _ => null }), Is.EqualTo("/x/huggingface/hub"));
        Assert.That(HubCache.CacheDirectory(n => n == "HOME" ? "/h" : null), Is.EqualTo("/h/.cache/huggingface/hub"));
    }

    [Test]
    public void OneSnapshotWithoutARefIsUsedAndAmbiguityOrAbsenceIsReported()
    {
        string cache = Path.Combine(_dir, "hub");
        string fixture = Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Models", "Fixtures", "encoder-st");
        Func<string, string?> env = name => name == "HF_HUB_CACHE" ? cache : null;
        string only = AddToCache(cache, "org/tiny", fixture, "aaaa", writeRef: false);
        Assert.That(HubCache.Resolve("org/tiny", env), Is.EqualTo(only));

        AddToCache(cache, "org/tiny", fixture, "bbbb", writeRef: false);
        var ambiguous = Assert.Throws<ModelFormatException>(() => HubCache.Resolve("org/tiny", env))!;
        Assert.That(ambiguous.Message, Does.Contain("2 snapshots").And.Contain("refs/main"));

        var missing = Assert.Throws<ModelFormatException>(() => HubCache.Resolve("org/absent", env))!;
        Assert.That(missing.Message, Does.Contain("models--org--absent").And.Contain("HF_HUB_CACHE"));

        Assert.That(HubCache.Resolve("./relative/folder", env), Is.EqualTo("./relative/folder"), "a path is not a hub id");
        Assert.That(HubCache.IsRepositoryId("a/b/c"), Is.False);
        Assert.That(HubCache.IsRepositoryId("../x"), Is.False);
    }
}

namespace NativeAlign.IO;

/// <summary>
/// Where a model named as on the Hugging Face hub (<c>org/name</c>) lies in the local hub cache that
/// <c>huggingface_hub</c>, sentence-transformers and transformers fill: the one rule every loader and the CLI use.
/// </summary>
/// <remarks>
/// The cache is the first of <c>HF_HUB_CACHE</c>, <c>HF_HOME</c>/hub, <c>XDG_CACHE_HOME</c>/huggingface/hub and
/// ~/.cache/huggingface/hub that is set (as <c>huggingface_hub</c> chooses it). A repository <c>org/name</c> is the folder
/// <c>models--org--name</c>; its files are under <c>snapshots/REV/</c> as symbolic links into <c>blobs/</c>. The revision is
/// the one <c>refs/main</c> names (what a plain download fetched), else the only snapshot there is; several snapshots and
/// no <c>refs/main</c> is refused rather than guessed. Links stay inside <c>models--org--name</c>, which
/// <see cref="ModelRoot"/> allows.
/// </remarks>
public static class HubCache
{
    /// <summary>The environment variable naming the default model (a folder or <c>org/name</c>) when none is given.</summary>
    public const string ModelVariable = "NATIVEALIGN_MODEL";

    /// <summary>
    /// <paramref name="model"/> as a folder to load: itself when it exists (or is not a hub name), else its snapshot in
    /// the hub cache. Throws a <see cref="ModelFormatException"/> naming where it looked when a hub name is in no cache.
    /// </summary>
    /// <param name="model">A folder, a file, or a hub repository id <c>org/name</c>.</param>
    /// <param name="environment">Reads an environment variable (default: the process's); tests pass their own.</param>
    public static string Resolve(string model, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Directory.Exists(model) || File.Exists(model) || !IsRepositoryId(model))
        {
            return model;
        }

        string cache = CacheDirectory(environment ?? Environment.GetEnvironmentVariable);
        string repository = Path.Combine(cache, "models--" + model.Replace("/", "--", StringComparison.Ordinal));
        if (!Directory.Exists(repository))
        {
            throw new ModelFormatException(model, null, $"is neither a model folder nor in the Hugging Face cache (looked for {repository}; set HF_HUB_CACHE or HF_HOME if the cache is elsewhere, or download it with `huggingface-cli download {model}`)");
        }

        string snapshots = Path.Combine(repository, "snapshots");
        string refMain = Path.Combine(repository, "refs", "main");
        if (File.Exists(refMain))
        {
            string revision = File.ReadAllText(refMain).Trim();
            if (revision.Length == 0 || revision.IndexOfAny(['/', '\\']) >= 0 || revision is "." or "..")
            {
                throw new ModelFormatException(refMain, null, $"names revision '{revision}'; expected a commit hash");
            }

            string snapshot = Path.Combine(snapshots, revision);
            return Directory.Exists(snapshot)
                ? snapshot
                : throw new ModelFormatException(refMain, null, $"names revision {revision}, but {snapshot} does not exist; the download is incomplete");
        }

        var all = Directory.Exists(snapshots) ? Directory.GetDirectories(snapshots).Order(StringComparer.Ordinal).ToArray() : [];
        return all.Length switch
        {
            1 => all[0],
            0 => throw new ModelFormatException(repository, null, "has no snapshot (snapshots/REV/); the download is incomplete"),
            _ => throw new ModelFormatException(repository, null, $"has {all.Length} snapshots ({string.Join(", ", all.Select(Path.GetFileName))}) and no refs/main to choose one; name the snapshot folder itself"),
        };
    }

    /// <summary>The hub cache folder the environment designates (it need not exist).</summary>
    public static string CacheDirectory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (NonEmpty(environment("HF_HUB_CACHE")) is { } hubCache)
        {
            return hubCache;
        }

        if (NonEmpty(environment("HF_HOME")) is { } home)
        {
            return Path.Combine(home, "hub");
        }

        string cacheHome = NonEmpty(environment("XDG_CACHE_HOME"))
            ?? Path.Combine(NonEmpty(environment("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "huggingface", "hub");
    }

    /// <summary>Whether <paramref name="model"/> is spelled as a hub repository id: <c>org/name</c>, nothing else.</summary>
    public static bool IsRepositoryId(string model)
    {
        var parts = model.Split('/');
        return parts.Length == 2 && parts.All(p => p.Length > 0 && p is not "." and not ".." && p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

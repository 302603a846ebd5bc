using System.Text.Json;
using NativeAlign.Tensors;

namespace NativeAlign.IO;

/// <summary>
/// The weights of a model stored as safetensors: one <c>model.safetensors</c> or the shards listed by a
/// <c>model.safetensors.index.json</c>. Tensors are exposed under canonical names (model prefix stripped, see
/// <see cref="IModelWeights"/>) over the files' bytes, read whole at load; tensors of dtypes that are not weights (the I64
/// <c>position_ids</c> buffer some checkpoints carry) are left out. Safe for concurrent readers; tensors are valid until
/// <see cref="Dispose"/>.
/// </summary>
public sealed class SafetensorsWeights : IModelWeights
{
    /// <summary>Most shards an index may list.</summary>
    public const int MaxShards = 4096;

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, string FileName)> _byCanonicalName;
    private readonly Dictionary<string, WeightTensor> _cache = new(StringComparer.Ordinal);
    private readonly Lock _cacheLock = new();

    private SafetensorsWeights(string path, List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, string)> byCanonicalName)
    {
        Path = path;
        _files = files;
        _byCanonicalName = byCanonicalName;
        Names = byCanonicalName.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The file opened (a <c>.safetensors</c> file or an index).</summary>
    public string Path { get; }

    /// <summary>The shard files, in the order opened.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Names { get; }

    /// <summary>
    /// Opens <paramref name="path"/>: a <c>.safetensors</c> file, or a <c>*.safetensors.index.json</c> whose
    /// <c>weight_map</c> names the shard of every tensor (each shard must hold exactly the tensors the index assigns it).
    /// </summary>
    /// <remarks>Shards must resolve inside the index's folder (or its Hugging Face cache repository), symbolic links included.</remarks>
    public static SafetensorsWeights Open(string path) => Open(path, null);

    /// <summary>Opens <paramref name="path"/>; an index's shards must resolve inside <paramref name="root"/> (the index's own folder when null).</summary>
    internal static SafetensorsWeights Open(string path, ModelRoot? root)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return OpenIndex(path, root ?? ModelRoot.ForFile(path));
        }

        var file = SafetensorsFile.Open(path);
        try
        {
            var map = new Dictionary<string, (SafetensorsFile, string)>(StringComparer.Ordinal);
            AddFile(file, null, map);
            return new SafetensorsWeights(path, [file], map);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public bool TryGet(string name, out WeightTensor tensor)
    {
        lock (_cacheLock)
        {
            if (_cache.TryGetValue(name, out tensor!))
            {
                return true;
            }

            if (!_byCanonicalName.TryGetValue(name, out var entry))
            {
                tensor = null!;
                return false;
            }

            tensor = entry.File.GetWeight(entry.FileName, name);
            _cache.Add(name, tensor);
            return true;
        }
    }

    /// <summary>Frees every shard's bytes.</summary>
    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private static void AddFile(SafetensorsFile file, IReadOnlySet<string>? expected, Dictionary<string, (SafetensorsFile, string)> map)
    {
        foreach (var info in file.Tensors)
        {
            if (expected is not null && !expected.Contains(info.Name))
            {
                // Shards are written whole by one save call, so a tensor the index does not assign here is a mix-up of files.
                throw new ModelFormatException(file.Path, info.Name, "tensor is in this shard but the index assigns it elsewhere or not at all");
            }

            if (SafetensorsFile.WeightTypeOf(info.DType) is null)
            {
                continue;
            }

            string canonical = CanonicalTensorNames.Canonicalize(info.Name);
            if (map.TryGetValue(canonical, out var other))
            {
                throw new ModelFormatException(file.Path, info.Name, $"maps to the same canonical name '{canonical}' as '{other.Item2}' in {other.Item1.Path}");
            }

            map.Add(canonical, (file, info.Name));
        }
    }

    private static SafetensorsWeights OpenIndex(string indexPath, ModelRoot allowed)
    {
        var shardTensors = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        using (var document = JsonModelFile.Parse(indexPath))
        {
            var root = JsonModelFile.RootObject(document, indexPath);
            if (!root.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(indexPath, "weight_map", "missing or not an object mapping tensor names to shard files");
            }

            foreach (var entry in weightMap.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    throw new ModelFormatException(indexPath, entry.Name, $"shard is {JsonModelFile.Describe(entry.Value)}, expected a file name");
                }

                string shard = entry.Value.GetString()!;

                // The index is data: it may only name files beside it, never climb out of the model folder.
                if (shard.Length == 0 || shard != System.IO.Path.GetFileName(shard) || shard is "." or "..")
                {
                    throw new ModelFormatException(indexPath, entry.Name, $"shard '{shard}' is not a plain file name in the model folder");
                }

                if (!shardTensors.TryGetValue(shard, out var set))
                {
                    if (shardTensors.Count >= MaxShards)
                    {
                        throw new ModelFormatException(indexPath, "weight_map", $"names more than {MaxShards} shard files");
                    }

                    shardTensors.Add(shard, set = new HashSet<string>(StringComparer.Ordinal));
                }

                if (!set.Add(entry.Name))
                {
                    throw new ModelFormatException(indexPath, entry.Name, "listed twice in weight_map");
                }
            }
        }

        if (shardTensors.Count == 0)
        {
            throw new ModelFormatException(indexPath, "weight_map", "lists no tensors");
        }

        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath)) ?? ".";
        var files = new List<SafetensorsFile>();
        var map = new Dictionary<string, (SafetensorsFile, string)>(StringComparer.Ordinal);
        try
        {
            foreach (var (shard, expected) in shardTensors.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                string shardPath = System.IO.Path.Combine(directory, shard);
                allowed.Require(shardPath, indexPath, shard);
                var file = SafetensorsFile.Open(shardPath);
                files.Add(file);
                foreach (var name in expected)
                {
                    if (!file.TryGetInfo(name, out _))
                    {
                        throw new ModelFormatException(file.Path, name, $"the index {System.IO.Path.GetFileName(indexPath)} assigns this tensor to the shard, but the shard lacks it");
                    }
                }

                AddFile(file, expected, map);
            }

            return new SafetensorsWeights(indexPath, files, map);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw;
        }
    }
}

using NativeAlign.Tensors;

namespace NativeAlign.Backends;

/// <summary>What the backends keeping activations in host memory (<see cref="HostMatrix"/>) share: allocation, copies, shape checks.</summary>
internal static class HostBackend
{
    public static HostMatrix Allocate(int rows, int columns) => new(rows, columns);

    public static HostMatrix View(BackendMatrix storage, int rows, int columns, string backend)
    {
        var s = Host(storage, backend);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if ((long)rows * columns > s.Data.Length)
        {
            throw new ArgumentException($"a {rows}x{columns} view does not fit storage of {s.Data.Length} floats");
        }

        return new HostMatrix(rows, columns, s.Data);
    }

    public static HostMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);

        // The ops that take a borrowed matrix only read it; the writable view never escapes the matrix.
        return new HostMatrix(rows, columns, System.Runtime.InteropServices.MemoryMarshal.AsMemory(data));
    }

    public static HostMatrix Host(BackendMatrix m, string backend) =>
        m as HostMatrix ?? throw new BackendException($"the {backend} backend got a matrix owned by another backend ({m.GetType().Name})");

    public static void Upload(ReadOnlySpan<float> source, BackendMatrix destination, string backend)
    {
        var d = Host(destination, backend);
        if (source.Length != d.Data.Length)
        {
            throw new ArgumentException($"upload of {source.Length} floats into a {d.Rows}x{d.Columns} matrix");
        }

        source.CopyTo(d.Span);
    }

    public static void Download(BackendMatrix source, Span<float> destination, string backend)
    {
        var s = Host(source, backend);
        if (destination.Length < s.Data.Length)
        {
            throw new ArgumentException($"download of a {s.Rows}x{s.Columns} matrix into {destination.Length} floats");
        }

        s.Span.CopyTo(destination);
    }

    public static void SameShape(BackendMatrix a, BackendMatrix b, string op)
    {
        if (a.Rows != b.Rows || a.Columns != b.Columns)
        {
            throw new ArgumentException($"{op}: shapes {a.Rows}x{a.Columns} and {b.Rows}x{b.Columns} differ");
        }
    }

    /// <summary>Length of a weight seen as a vector ([n] or [1, n]).</summary>
    public static (int Rows, int Columns) MatrixShape(WeightTensor w) => w.Shape.Length switch
    {
        1 => (1, w.Shape[0]),
        2 => (w.Shape[0], w.Shape[1]),
        _ => throw new ModelFormatException(null, w.Name, $"expected a vector or matrix, got shape [{string.Join(", ", w.Shape)}]"),
    };

    public static void CheckEmbedding(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
    {
        if (positionIds.Length != ids.Length || (types is not null && typeIds.Length != ids.Length) || output.Rows != ids.Length)
        {
            throw new ArgumentException($"embedding: {ids.Length} ids, {positionIds.Length} positions, {typeIds.Length} types, {output.Rows} output rows");
        }

        if (words.Columns != output.Columns || positions.Columns != output.Columns || (types is not null && types.Columns != output.Columns))
        {
            throw new ArgumentException("embedding: table widths differ from the output width");
        }

        CheckIds(ids, words);
        CheckIds(positionIds, positions);
        if (types is not null)
        {
            CheckIds(typeIds, types);
        }
    }

    private static void CheckIds(ReadOnlySpan<int> ids, BackendWeight table)
    {
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)table.Rows)
            {
                throw new InputFormatException(null, null, $"id {id} is outside the {table.Rows} rows of '{table.Name}'");
            }
        }
    }

    public static void CheckLinear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, BackendMatrix? residual, BackendMatrix output)
    {
        if (input.Columns != weight.Columns || output.Columns != weight.Rows || output.Rows != input.Rows)
        {
            throw new ArgumentException($"linear '{weight.Name}' [{weight.Rows}x{weight.Columns}]: input {input.Rows}x{input.Columns}, output {output.Rows}x{output.Columns}");
        }

        if (bias is not null && bias.Rows * bias.Columns != weight.Rows)
        {
            throw new ArgumentException($"linear bias '{bias.Name}' has {bias.Rows * bias.Columns} values, expected {weight.Rows}");
        }

        if (residual is not null)
        {
            SameShape(residual, output, "linear residual");
        }

        if (ReferenceEquals(input, output))
        {
            throw new ArgumentException("linear: output must not alias input");
        }
    }

    public static void CheckAttention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape s, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        int rows = s.Batch * s.SequenceLength, width = s.Heads * s.HeadSize;
        foreach (var m in (ReadOnlySpan<BackendMatrix>)[q, k, v, output])
        {
            if (m.Rows != rows || m.Columns != width)
            {
                throw new ArgumentException($"attention: matrix {m.Rows}x{m.Columns}, expected {rows}x{width}");
            }
        }

        if (lengths.Length != s.Batch)
        {
            throw new ArgumentException($"attention: {lengths.Length} lengths for a batch of {s.Batch}");
        }

        foreach (int len in lengths)
        {
            if ((uint)len > (uint)s.SequenceLength)
            {
                throw new ArgumentException($"attention: length {len} outside 0..{s.SequenceLength}");
            }
        }
    }

    public static void CheckPool(BackendMatrix input, int sequenceLength, int batch, BackendMatrix output)
    {
        if (sequenceLength <= 0 ? input.Rows != 0 : input.Rows != batch * sequenceLength || output.Rows != batch || output.Columns != input.Columns)
        {
            throw new ArgumentException($"pool: input {input.Rows}x{input.Columns}, sequence length {sequenceLength}, output {output.Rows}x{output.Columns}");
        }
    }
}

namespace NativeAlign.Tensors;

/// <summary>How a weight tensor is stored.</summary>
public enum WeightType
{
    /// <summary>32-bit float.</summary>
    F32,

    /// <summary>IEEE half, widened on use.</summary>
    F16,

    /// <summary>bfloat16, widened on use.</summary>
    BF16,

    /// <summary>4-bit blocks (<see cref="Q4Matrix"/>), kept packed.</summary>
    Q4,
}

/// <summary>
/// One named weight. Names are the canonical Hugging Face BERT names without a model prefix
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.3.attention.self.query.weight</c>, <c>pooler.dense.bias</c>);
/// linear weights are [out, in] whatever the source file's layout.
/// </summary>
public sealed class WeightTensor
{
    /// <summary>Creates a dense tensor over little-endian row-major element bytes.</summary>
    public WeightTensor(string name, int[] shape, WeightType type, ReadOnlyMemory<byte> data)
    {
        Name = name;
        Shape = shape;
        Type = type;
        Data = data;
    }

    /// <summary>Creates a 4-bit tensor; its shape is [Rows, Columns].</summary>
    public WeightTensor(string name, Q4Matrix q4)
    {
        Name = name;
        Shape = [q4.Rows, q4.Columns];
        Type = WeightType.Q4;
        Q4 = q4;
    }

    /// <summary>Canonical name.</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>Storage type.</summary>
    public WeightType Type { get; }

    /// <summary>Raw element bytes for dense types (possibly over a model file read whole at load); empty for <see cref="WeightType.Q4"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The packed matrix for <see cref="WeightType.Q4"/>, else null.</summary>
    public Q4Matrix? Q4 { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>
    /// The index of the first NaN or infinity among the elements (for a 4-bit tensor, among its block scales: the packed
    /// nibbles are integers), or -1 when every value is finite. One vectorised pass over the bits, no widening.
    /// </summary>
    public long IndexOfNonFinite() => Q4 is not null
        ? FiniteCheck.IndexOfNonFinite(Q4.Scales)
        : Type switch
        {
            WeightType.F32 => FiniteCheck.IndexOfAllOnes(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(Data.Span), 0x7F80_0000u),
            WeightType.F16 => FiniteCheck.IndexOfAllOnes(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(Data.Span), (ushort)0x7C00),
            WeightType.BF16 => FiniteCheck.IndexOfAllOnes(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(Data.Span), (ushort)0x7F80),
            _ => -1,
        };

    /// <summary>Widens or dequantises to a new float32 array (row-major).</summary>
    public float[] ToFloat32()
    {
        if (Q4 is not null)
        {
            return Q4.Dequantize();
        }

        var bytes = Data.Span;
        var result = new float[ElementCount];
        switch (Type)
        {
            case WeightType.F32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
            case WeightType.F16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)halves[i];
                }

                break;
            case WeightType.BF16:
                var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                }

                break;
            default:
                throw new ModelFormatException(null, Name, $"cannot widen weight type {Type}");
        }

        return result;
    }
}

/// <summary>Finds NaN and infinity by their bits: all exponent bits set, whatever the mantissa.</summary>
internal static class FiniteCheck
{
    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    public static long IndexOfNonFinite(ReadOnlySpan<float> values) =>
        IndexOfAllOnes(System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(values), 0x7F80_0000u);

    /// <summary>The index of the first element whose <paramref name="exponent"/> bits are all set, or -1.</summary>
    public static long IndexOfAllOnes<T>(ReadOnlySpan<T> bits, T exponent)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        var mask = new System.Numerics.Vector<T>(exponent);
        int i = 0;
        // Whole vectors until one holds a hit; the scalar loop then finds its index (and handles the tail).
        for (; i <= bits.Length - System.Numerics.Vector<T>.Count; i += System.Numerics.Vector<T>.Count)
        {
            if (System.Numerics.Vector.EqualsAny(new System.Numerics.Vector<T>(bits[i..]) & mask, mask))
            {
                break;
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & exponent) == exponent)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>The weights of one model, by canonical name. Disposing frees the files' bytes.</summary>
public interface IModelWeights : IDisposable
{
    /// <summary>Every tensor name present.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>Looks a tensor up.</summary>
    bool TryGet(string name, out WeightTensor tensor);
}

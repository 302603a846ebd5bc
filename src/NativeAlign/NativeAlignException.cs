namespace NativeAlign;

/// <summary>What kind of failure an error is; the command line maps each kind to its own exit code.</summary>
public enum ErrorKind
{
    /// <summary>The caller asked for something the engine cannot do as asked (bad option, bad argument).</summary>
    Usage = 2,

    /// <summary>An input file (text, gold standard, dictionary) is missing, unreadable or malformed.</summary>
    Input = 3,

    /// <summary>A model file (weights, configuration, tokenizer) is missing, unreadable or malformed.</summary>
    Model = 4,

    /// <summary>A backend or device failed (OpenCL build error, device out of memory).</summary>
    Backend = 5,

    /// <summary>A bug in NativeAlign itself.</summary>
    Internal = 70,
}

/// <summary>
/// Base of every error NativeAlign raises on purpose. The message names the file, line, field or tensor
/// at fault and what was expected, so that it can be shown to a user as it is.
/// </summary>
public class NativeAlignException : Exception
{
    /// <summary>Creates an error of the given kind.</summary>
    public NativeAlignException(ErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    /// <summary>What kind of failure this is.</summary>
    public ErrorKind Kind { get; }
}

/// <summary>A malformed or unreadable input file. <see cref="Path"/> and <see cref="Line"/> say where.</summary>
public sealed class InputFormatException : NativeAlignException
{
    /// <summary>Creates an input error; <paramref name="line"/> is 1-based, or null when not about one line.</summary>
    public InputFormatException(string? path, long? line, string message, Exception? inner = null)
        : base(ErrorKind.Input, Describe(path, line, message), inner)
    {
        Path = path;
        Line = line;
    }

    /// <summary>The file at fault, when there is one.</summary>
    public string? Path { get; }

    /// <summary>The 1-based line at fault, when the error is about one line.</summary>
    public long? Line { get; }

    private static string Describe(string? path, long? line, string message) => (path, line) switch
    {
        (null, null) => message,
        (null, { } l) => $"line {l}: {message}",
        ({ } p, null) => $"{p}: {message}",
        ({ } p, { } l) => $"{p}:{l}: {message}",
    };
}

/// <summary>A malformed model file. <see cref="Path"/> and <see cref="Item"/> (a tensor or field name) say where.</summary>
public sealed class ModelFormatException : NativeAlignException
{
    /// <summary>Creates a model error about <paramref name="item"/> (a tensor, field or node name) in <paramref name="path"/>.</summary>
    public ModelFormatException(string? path, string? item, string message, Exception? inner = null)
        : base(ErrorKind.Model, Describe(path, item, message), inner)
    {
        Path = path;
        Item = item;
    }

    /// <summary>The model file at fault, when known.</summary>
    public string? Path { get; }

    /// <summary>The tensor, field or node at fault, when known.</summary>
    public string? Item { get; }

    private static string Describe(string? path, string? item, string message) => (path, item) switch
    {
        (null, null) => message,
        (null, { } i) => $"'{i}': {message}",
        ({ } p, null) => $"{p}: {message}",
        ({ } p, { } i) => $"{p}: '{i}': {message}",
    };
}

/// <summary>A backend failure: an OpenCL error code, a kernel build log, a device without a needed feature.</summary>
public sealed class BackendException : NativeAlignException
{
    /// <summary>Creates a backend error.</summary>
    public BackendException(string message, Exception? inner = null)
        : base(ErrorKind.Backend, message, inner)
    {
    }
}

/// <summary>
/// An input whose embedding or hidden states came out with a NaN or an infinity: the model's arithmetic overflowed on
/// it (finite but huge weights do that). A model error, because no input makes a sound model do this; <see cref="Index"/>
/// says which input of the call, so that a caller can name its line.
/// </summary>
public sealed class NonFiniteOutputException : NativeAlignException
{
    /// <summary>Creates the error for input <paramref name="index"/> (0-based) of a call; <paramref name="message"/> is shown as it is.</summary>
    public NonFiniteOutputException(int index, string message)
        : base(ErrorKind.Model, message) => Index = index;

    /// <summary>The 0-based input of the call at fault.</summary>
    public int Index { get; }
}

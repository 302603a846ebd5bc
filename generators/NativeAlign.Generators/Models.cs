using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace NativeAlign.Generators;

/// <summary>How a kernel parameter travels from the host to the device.</summary>
internal enum KernelParameterKind
{
    /// <summary>A scalar passed by value.</summary>
    Scalar,

    /// <summary><c>GlobalBuffer&lt;T&gt;</c>: <c>__global T*</c>.</summary>
    GlobalBuffer,

    /// <summary><c>ReadOnlyGlobalBuffer&lt;T&gt;</c>: <c>__global const T*</c>.</summary>
    ReadOnlyGlobalBuffer,

    /// <summary><c>LocalBuffer&lt;T&gt;</c>: <c>__local T*</c>, only its length comes from the host.</summary>
    LocalBuffer,
}

/// <summary>One kernel parameter, as the descriptor emitter needs it.</summary>
/// <param name="Name">The C# parameter name.</param>
/// <param name="Kind">How it is passed.</param>
/// <param name="ElementType">The fully qualified C# scalar type (the element type for buffers).</param>
internal sealed record KernelParameterModel(string Name, KernelParameterKind Kind, string ElementType);

/// <summary>Everything needed to emit one kernel's descriptor; strings, ints, bools and equatable arrays only.</summary>
internal sealed record KernelModel(
    string Namespace,
    string ContainingTypeName,
    string ContainingTypeKeywords,
    string Accessibility,
    string MethodName,
    string FullName,
    EquatableArray<KernelParameterModel> Parameters,
    string OpenClSource,
    int LocalSizeX,
    int LocalSizeY,
    bool UsesBarriers,
    bool UsesHalfArithmetic,
    bool UnsafeMathOptimizations,
    string SpecializedParameter,
    EquatableArray<int> SpecializedValues)
{
    public string DescriptorName => MethodName + "Kernel";

    public string HintName => (Namespace.Length == 0 ? string.Empty : Namespace + ".") + ContainingTypeName + "." + MethodName + ".g.cs";
}

/// <summary>A diagnostic described by value (a <see cref="Location"/> would pin the compilation in the cache).</summary>
internal sealed record DiagnosticInfo(string Id, string FilePath, TextSpan Span, LinePositionSpan LineSpan, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxNode node, params string[] arguments)
    {
        var location = node.GetLocation();
        return new DiagnosticInfo(descriptor.Id, node.SyntaxTree.FilePath, location.SourceSpan, location.GetLineSpan().Span, new EquatableArray<string>(arguments));
    }

    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxToken token, params string[] arguments)
    {
        var location = token.GetLocation();
        return new DiagnosticInfo(descriptor.Id, token.SyntaxTree?.FilePath ?? string.Empty, location.SourceSpan, location.GetLineSpan().Span, new EquatableArray<string>(arguments));
    }

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(
            KernelDiagnostics.ById(Id),
            Location.Create(FilePath, Span, LineSpan),
            System.Linq.Enumerable.ToArray<object>(Arguments));
}

/// <summary>What translating one [Kernel] method produced: the model when it translated, and its diagnostics.</summary>
internal sealed record KernelTranslation(KernelModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>One [GemmMicroKernel] tile, as the emitter needs it; strings, ints and bools only.</summary>
/// <param name="Namespace">The struct's namespace, empty for the global namespace.</param>
/// <param name="TypeName">The struct's name.</param>
/// <param name="IsReadOnly">Whether the struct is declared readonly (every partial part must then say so).</param>
/// <param name="FullName">The struct's display name, for the file header.</param>
/// <param name="Rows">MR.</param>
/// <param name="Columns">NR.</param>
/// <param name="VectorBits">512, 256 or 0 (scalar).</param>
internal sealed record MicroKernelModel(string Namespace, string TypeName, bool IsReadOnly, string FullName, int Rows, int Columns, int VectorBits, bool PrefetchC) : IMicroKernelModel
{
    public string HintName => (Namespace.Length == 0 ? string.Empty : Namespace + ".") + TypeName + ".MicroKernel.g.cs";
}


/// <summary>One [AttentionMicroKernel] tile, as the emitter needs it; strings, ints and bools only.</summary>
/// <param name="Namespace">The struct's namespace, empty for the global namespace.</param>
/// <param name="TypeName">The struct's name.</param>
/// <param name="IsReadOnly">Whether the struct is declared readonly (every partial part must then say so).</param>
/// <param name="FullName">The struct's display name, for the file header.</param>
/// <param name="HeadSize">Floats per head: 32, 64 or 128.</param>
/// <param name="VectorBits">512, 256 or 0 (scalar).</param>
internal sealed record AttentionMicroKernelModel(string Namespace, string TypeName, bool IsReadOnly, string FullName, int HeadSize, int VectorBits) : IMicroKernelModel
{
    public string HintName => (Namespace.Length == 0 ? string.Empty : Namespace + ".") + TypeName + ".AttentionMicroKernel.g.cs";
}

/// <summary>A micro-kernel model: what names its generated file.</summary>
internal interface IMicroKernelModel
{
    string HintName { get; }
}

/// <summary>What reading one micro-kernel struct produced: the model when the description is valid, and its diagnostics.</summary>
internal sealed record MicroKernelDescription<TModel>(TModel? Model, EquatableArray<DiagnosticInfo> Diagnostics)
    where TModel : class, IMicroKernelModel;

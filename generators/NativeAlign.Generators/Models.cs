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

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(
            KernelDiagnostics.ById(Id),
            Location.Create(FilePath, Span, LineSpan),
            System.Linq.Enumerable.ToArray<object>(Arguments));
}

/// <summary>What translating one [Kernel] method produced: the model when it translated, and its diagnostics.</summary>
internal sealed record KernelTranslation(KernelModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace NativeAlign.Generators;

/// <summary>
/// Translates a [Kernel] method and the static helpers it calls to OpenCL C by walking their <see cref="IOperation"/>
/// trees. It is a whitelist: every operation kind it does not know reports a diagnostic instead of being guessed at.
/// Expressions are printed with C precedence (IOperation drops the source's parentheses), which C# shares for every
/// operator translated here.
/// </summary>
internal sealed partial class OpenClTranslator
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "auto", "register", "restrict", "signed", "unsigned", "inline", "extern", "typedef", "union", "volatile",
        "global", "local", "constant", "private", "kernel", "read_only", "write_only", "read_write", "half", "size_t",
        "ptrdiff_t", "intptr_t", "uintptr_t", "uchar", "ushort", "ulong", "image2d_t", "image3d_t", "sampler_t", "event_t",
        "min", "max", "exp", "log", "sqrt", "fma", "mad", "clamp", "dot", "select", "abs", "sign", "step", "mix",
    };

    private readonly Compilation _compilation;

    private readonly CancellationToken _cancellationToken;

    private readonly string _kernelName;

    private readonly List<DiagnosticInfo> _diagnostics = new();

    private readonly Dictionary<IMethodSymbol, string> _helperNames = new(SymbolEqualityComparer.Default);

    private readonly HashSet<string> _usedHelperNames = new(StringComparer.Ordinal);

    private readonly List<IMethodSymbol> _callStack = new();

    private readonly StringBuilder _helpers = new();

    private readonly HashSet<DiagnosticInfo> _reported = new();

    private bool _usesNanMinMax;

    private bool _statementLevel;

    private int _blockDepth;

    private IMethodSymbol? _kernel;

    private string? _fixedParameter;

    private int? _fixedValue;

    public OpenClTranslator(Compilation compilation, string kernelName, CancellationToken cancellationToken)
    {
        _compilation = compilation;
        _kernelName = kernelName;
        _cancellationToken = cancellationToken;
    }

    public IReadOnlyList<DiagnosticInfo> Diagnostics => _diagnostics;

    public bool UsesBarriers { get; private set; }

    /// <summary>
    /// Whether the program computes with <c>half</c> values (half locals, scalars or operators), which OpenCL C only
    /// allows under cl_khr_fp16. Half buffers read and written through vload_half/vstore_half do not count: that
    /// storage-only use is core OpenCL C and runs on every device.
    /// </summary>
    public bool UsesHalfArithmetic { get; private set; }

    /// <summary>
    /// Translates the kernel; returns the whole program text, or null when a diagnostic was reported. With a
    /// specialised parameter, the program holds the generic kernel and, after it, one kernel per value named
    /// <c>{Kernel}_{parameter}{value}</c> in which the parameter is replaced by the constant (same signature, so the
    /// same argument binder serves every variant).
    /// </summary>
    public string? TranslateKernel(
        IMethodSymbol kernel,
        MethodDeclarationSyntax syntax,
        SemanticModel model,
        IReadOnlyList<KernelParameterModel> parameters,
        string specializedParameter,
        IReadOnlyList<int> specializedValues)
    {
        var signature = new StringBuilder();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (i > 0)
            {
                signature.Append(", ");
            }

            var p = parameters[i];
            string element = ScalarName(p.ElementType) ?? "?";
            if (p.Kind == KernelParameterKind.Scalar && element == "half")
            {
                UsesHalfArithmetic = true;
            }

            signature.Append(p.Kind switch
            {
                KernelParameterKind.GlobalBuffer => "__global " + element + "* ",
                KernelParameterKind.ReadOnlyGlobalBuffer => "__global const " + element + "* ",
                KernelParameterKind.LocalBuffer => "__local " + element + "* ",
                _ => element + " ",
            }).Append(Identifier(p.Name));
        }

        _kernel = kernel;
        _callStack.Add(kernel);
        var kernels = new StringBuilder();
        kernels.Append("__kernel void ").Append(kernel.Name).Append('(').Append(signature).Append(")\n").Append(TranslateBody(syntax, model));
        foreach (int value in specializedValues)
        {
            _fixedParameter = specializedParameter;
            _fixedValue = value;
            kernels.Append('\n')
                .Append("// ").Append(kernel.Name).Append(" with ").Append(specializedParameter).Append(" = ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n')
                .Append("__kernel void ").Append(SpecializedName(kernel.Name, specializedParameter, value)).Append('(').Append(signature).Append(")\n")
                .Append(TranslateBody(syntax, model));
        }

        _fixedParameter = null;
        _fixedValue = null;
        _callStack.RemoveAt(_callStack.Count - 1);
        if (_diagnostics.Count > 0)
        {
            return null;
        }

        var program = new StringBuilder();
        program.Append("// ").Append(kernel.Name).Append(": translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.\n");
        if (UsesHalfArithmetic)
        {
            program.Append("#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n");
        }

        if (_usesNanMinMax)
        {
            program.Append(NanMinMaxDefinitions);
        }

        program.Append(_helpers);
        program.Append(kernels);
        return program.ToString();
    }

    /// <summary>The entry point of the variant of <paramref name="kernel"/> with <paramref name="parameter"/> fixed to <paramref name="value"/>.</summary>
    public static string SpecializedName(string kernel, string parameter, int value) =>
        kernel + "_" + parameter + (value < 0 ? "m" + (-(long)value).ToString(CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Maps a fully qualified C# type name (as <see cref="SymbolDisplayFormat.FullyQualifiedFormat"/> prints it) to OpenCL C.</summary>
    public static string? ScalarName(string csharpType) => csharpType switch
    {
        "float" => "float",
        "int" => "int",
        "uint" => "uint",
        "long" => "long",
        "ulong" => "ulong",
        "short" => "short",
        "ushort" => "ushort",
        "byte" => "uchar",
        "sbyte" => "char",
        "bool" => "bool",
        HalfType => "half",
        _ => null,
    };

    /// <summary>Maps a C# type to OpenCL C, an enum to its underlying integer type; null when there is no mapping.</summary>
    private static string? ScalarName(ITypeSymbol type) =>
        ScalarName(TypeName(type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying } ? underlying : type));

    /// <summary>The buffer kind of a NativeAlign.Kernels buffer view type, or null.</summary>
    public static KernelParameterKind? BufferKind(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol { IsGenericType: true, Arity: 1 } named || named.ContainingNamespace?.ToDisplayString() != KernelsNamespace)
        {
            return null;
        }

        return named.Name switch
        {
            "GlobalBuffer" => KernelParameterKind.GlobalBuffer,
            "ReadOnlyGlobalBuffer" => KernelParameterKind.ReadOnlyGlobalBuffer,
            "LocalBuffer" => KernelParameterKind.LocalBuffer,
            _ => null,
        };
    }

    public static string TypeName(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    private static string Identifier(string name) => Reserved.Contains(name) ? name + "_" : name;

    private static string Describe(IOperation operation) => operation.Kind switch
    {
        OperationKind.Branch => "goto",
        OperationKind.Using or OperationKind.UsingDeclaration => "using",
        OperationKind.Lock => "lock",
        OperationKind.Labeled => "a label",
        OperationKind.DynamicInvocation or OperationKind.DynamicMemberReference => "dynamic",
        _ => "the construct '" + operation.Kind + "'",
    };

    private void Report(DiagnosticDescriptor descriptor, SyntaxNode node, params string[] arguments)
    {
        var all = new string[arguments.Length + 1];
        all[0] = _kernelName;
        Array.Copy(arguments, 0, all, 1, arguments.Length);
        // A specialised kernel's body is translated once per value; each defect is reported once, at its span.
        var diagnostic = DiagnosticInfo.Create(descriptor, node, all);
        if (_reported.Add(diagnostic))
        {
            _diagnostics.Add(diagnostic);
        }
    }
}

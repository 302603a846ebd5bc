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

// Calls: OpenCL built-ins, the MathF/Math mapping and translated static helpers.
internal sealed partial class OpenClTranslator
{
    private const string KernelsNamespace = "NativeAlign.Kernels";

    private const string BuiltinAttribute = "NativeAlign.Kernels.OpenClBuiltinAttribute";

    // MathF.Max/Min return NaN when either operand is NaN and order -0 below +0; OpenCL's fmax/fmin return the other
    // operand for a NaN (and may return either zero), so the device and the C# reference would disagree on NaN input.
    private const string NanMax = "na_max";

    private const string NanMin = "na_min";

    private const string NanMinMaxDefinitions =
        "// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).\n" +
        "float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }\n" +
        "float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }\n";

    private string Invocation(IInvocationOperation invocation, out int precedence)
    {
        precedence = PrecedencePrimary;
        var method = invocation.TargetMethod;
        string containing = method.ContainingType is null ? string.Empty : method.ContainingType.ToDisplayString();

        var builtin = method.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == BuiltinAttribute);
        if (builtin is not null && builtin.ConstructorArguments.Length == 1 && builtin.ConstructorArguments[0].Value is string builtinName)
        {
            var arguments = new List<string>();
            foreach (var named in builtin.NamedArguments)
            {
                if (named.Key == "FixedArgument" && named.Value.Value is string fixedArgument)
                {
                    arguments.Add(fixedArgument);
                }
            }

            if (builtinName == "barrier")
            {
                UsesBarriers = true;
            }

            arguments.AddRange(invocation.Arguments.Select(a => Expression(a.Value)));
            string call = builtinName + "(" + string.Join(", ", arguments) + ")";

            // The work-item queries return size_t; the C# stubs return int, and so must the expression.
            if (builtinName.StartsWith("get_", StringComparison.Ordinal) && !method.ReturnsVoid)
            {
                precedence = PrecedenceUnary;
                return "(" + (ScalarName(TypeName(method.ReturnType)) ?? "int") + ")" + call;
            }

            return call;
        }

        if (containing is "System.MathF" or "System.Math" && method.IsStatic)
        {
            string? name = MathFunction(method);
            if (name is null)
            {
                Report(KernelDiagnostics.UnsupportedCall, invocation.Syntax, containing + "." + method.Name + "(" + string.Join(", ", method.Parameters.Select(p => p.Type.ToDisplayString())) + ")");
                return "?";
            }

            if (name is NanMax or NanMin)
            {
                _usesNanMinMax = true;
            }

            return name + "(" + string.Join(", ", invocation.Arguments.Select(a => Expression(a.Value))) + ")";
        }

        if (IsLocalAllocate(method))
        {
            Report(KernelDiagnostics.LocalAllocation, invocation.Syntax);
            return "?";
        }

        if (containing.StartsWith("System.Linq.", StringComparison.Ordinal))
        {
            Report(KernelDiagnostics.Linq, invocation.Syntax);
            return "?";
        }

        if (!method.IsStatic || method.IsVirtual || method.IsAbstract || method.IsOverride || invocation.Instance is not null)
        {
            Report(KernelDiagnostics.VirtualCall, invocation.Syntax, method.ToDisplayString());
            return "?";
        }

        string? helper = Helper(method, invocation.Syntax);
        if (helper is null)
        {
            return "?";
        }

        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out or RefKind.RefReadOnlyParameter)
            {
                Report(KernelDiagnostics.UnsupportedConstruct, argument.Syntax, "a ref or out argument");
            }
        }

        return helper + "(" + string.Join(", ", invocation.Arguments.Select(a => Expression(a.Value))) + ")";
    }

    /// <summary>OpenCL C built-in for a MathF/Math method over float (or integer min/max/abs), or null.</summary>
    private static string? MathFunction(IMethodSymbol method)
    {
        var types = method.Parameters.Select(p => p.Type.SpecialType).ToArray();
        if (types.Length == 0)
        {
            return null;
        }

        if (types.All(t => t == SpecialType.System_Single))
        {
            return (method.Name, types.Length) switch
            {
                ("Abs", 1) => "fabs",
                ("Sqrt", 1) => "sqrt",
                ("Exp", 1) => "exp",
                ("Log", 1) => "log",
                ("Log2", 1) => "log2",
                ("Log10", 1) => "log10",
                ("Sin", 1) => "sin",
                ("Cos", 1) => "cos",
                ("Tan", 1) => "tan",
                ("Asin", 1) => "asin",
                ("Acos", 1) => "acos",
                ("Atan", 1) => "atan",
                ("Sinh", 1) => "sinh",
                ("Cosh", 1) => "cosh",
                ("Tanh", 1) => "tanh",
                ("Cbrt", 1) => "cbrt",
                ("Floor", 1) => "floor",
                ("Ceiling", 1) => "ceil",
                ("Truncate", 1) => "trunc",
                ("Round", 1) => "rint", // MathF.Round rounds half to even, as rint does in the default rounding mode
                ("Atan2", 2) => "atan2",
                ("Pow", 2) => "pow",
                ("Max", 2) => NanMax,
                ("Min", 2) => NanMin,
                ("CopySign", 2) => "copysign",
                ("FusedMultiplyAdd", 3) => "fma",
                _ => null,
            };
        }

        bool integer = types.All(t => t is SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64);
        if (integer && types.Distinct().Count() == 1)
        {
            return (method.Name, types.Length) switch
            {
                ("Max", 2) => "max",
                ("Min", 2) => "min",
                _ => null,
            };
        }

        return null;
    }

    /// <summary>Translates a static helper method once and returns its OpenCL C name, or null after a diagnostic.</summary>
    private string? Helper(IMethodSymbol method, SyntaxNode callSite)
    {
        method = method.OriginalDefinition;
        if (_callStack.Contains(method, SymbolEqualityComparer.Default))
        {
            Report(KernelDiagnostics.Recursion, callSite, method.ToDisplayString());
            return null;
        }

        if (_helperNames.TryGetValue(method, out var known))
        {
            return known;
        }

        var syntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_cancellationToken)).OfType<MethodDeclarationSyntax>().FirstOrDefault();
        if (syntax is null || method.IsGenericMethod || method.IsExtern || method.MethodKind != MethodKind.Ordinary)
        {
            Report(KernelDiagnostics.UnsupportedCall, callSite, method.ToDisplayString());
            return null;
        }

        string returnType = method.ReturnsVoid ? "void" : LocalType(method.ReturnType, callSite);
        var parameters = new List<string>();
        foreach (var parameter in method.Parameters)
        {
            string type = ParameterType(parameter, callSite);
            parameters.Add(type + " " + Identifier(parameter.Name));
        }

        string name = (method.ContainingType?.Name ?? "helper") + "_" + method.Name;
        for (int suffix = 2; _usedHelperNames.Contains(name); suffix++)
        {
            name = (method.ContainingType?.Name ?? "helper") + "_" + method.Name + "_" + suffix.ToString(CultureInfo.InvariantCulture);
        }

        _usedHelperNames.Add(name);
        _callStack.Add(method);
        var model = _compilation.GetSemanticModel(syntax.SyntaxTree);
        string body = TranslateBody(syntax, model);
        _callStack.RemoveAt(_callStack.Count - 1);

        // Callees are appended before their callers (post-order), so C sees every function declared before use.
        _helpers.Append(returnType).Append(' ').Append(name).Append('(').Append(string.Join(", ", parameters)).Append(")\n").Append(body).Append('\n');
        _helperNames[method] = name;
        return name;
    }

    private string ParameterType(IParameterSymbol parameter, SyntaxNode at)
    {
        if (parameter.RefKind != RefKind.None)
        {
            Report(KernelDiagnostics.UnsupportedConstruct, at, "the ref/out parameter '" + parameter.Name + "'");
            return "?";
        }

        if (BufferKind(parameter.Type) is { } kind)
        {
            string element = ScalarName(((INamedTypeSymbol)parameter.Type).TypeArguments[0]) ?? "?";
            return kind switch
            {
                KernelParameterKind.GlobalBuffer => "__global " + element + "*",
                KernelParameterKind.ReadOnlyGlobalBuffer => "__global const " + element + "*",
                _ => "__local " + element + "*",
            };
        }

        return LocalType(parameter.Type, at);
    }
}

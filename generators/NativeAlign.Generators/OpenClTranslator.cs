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
internal sealed class OpenClTranslator
{
    private const string KernelsNamespace = "NativeAlign.Kernels";
    private const string BuiltinAttribute = "NativeAlign.Kernels.OpenClBuiltinAttribute";
    private const string HalfType = "global::System.Half";

    // MathF.Max/Min return NaN when either operand is NaN and order -0 below +0; OpenCL's fmax/fmin return the other
    // operand for a NaN (and may return either zero), so the device and the C# reference would disagree on NaN input.
    private const string NanMax = "na_max";
    private const string NanMin = "na_min";
    private const string NanMinMaxDefinitions =
        "// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).\n" +
        "float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }\n" +
        "float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }\n";

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

    private static bool IsHalf(ITypeSymbol? type) => type is not null && TypeName(type) == HalfType;

    /// <summary>The buffer and index of an element access to a buffer of half, or null.</summary>
    private static IPropertyReferenceOperation? HalfElement(IOperation operation) =>
        operation is IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { Type: { } buffer } } indexer
            && BufferKind(buffer) is not null && IsHalf(indexer.Type)
            ? indexer
            : null;

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

    private string TranslateBody(BaseMethodDeclarationSyntax syntax, SemanticModel model)
    {
        var writer = new CodeWriter();
        if (syntax.Body is { } block)
        {
            if (model.GetOperation(block, _cancellationToken) is IBlockOperation body)
            {
                WriteBlock(writer, body);
            }
            else
            {
                Report(KernelDiagnostics.UnsupportedConstruct, block, "a body the compiler could not bind");
            }
        }
        else if (syntax.ExpressionBody is { } arrow)
        {
            // An expression-bodied helper: `=> expr` is `{ return expr; }` (or `{ expr; }` for void).
            var operation = model.GetOperation(arrow.Expression, _cancellationToken);
            writer.Line("{");
            writer.Indent++;
            if (operation is null)
            {
                Report(KernelDiagnostics.UnsupportedConstruct, arrow, "a body the compiler could not bind");
            }
            else if (model.GetDeclaredSymbol(syntax, _cancellationToken) is IMethodSymbol { ReturnsVoid: true })
            {
                writer.Line(Expression(operation) + ";");
            }
            else
            {
                writer.Line("return " + Expression(operation) + ";");
            }

            writer.Indent--;
            writer.Line("}");
        }
        else
        {
            Report(KernelDiagnostics.InvalidKernelMethod, syntax, "the method has no body");
        }

        return writer.ToString();
    }

    private void WriteBlock(CodeWriter writer, IBlockOperation block)
    {
        writer.Line("{");
        writer.Indent++;
        _blockDepth++;
        foreach (var statement in block.Operations)
        {
            WriteStatement(writer, statement);
        }

        _blockDepth--;
        writer.Indent--;
        writer.Line("}");
    }

    /// <summary>Writes a statement that is the body of if/for/while: always braced, as the style of the output.</summary>
    private void WriteEmbedded(CodeWriter writer, IOperation statement)
    {
        if (statement is IBlockOperation block)
        {
            WriteBlock(writer, block);
        }
        else
        {
            writer.Line("{");
            writer.Indent++;
            WriteStatement(writer, statement);
            writer.Indent--;
            writer.Line("}");
        }
    }

    private void WriteStatement(CodeWriter writer, IOperation statement)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        switch (statement)
        {
            case IBlockOperation block:
                WriteBlock(writer, block);
                break;
            case IVariableDeclarationGroupOperation group:
                foreach (var declaration in group.Declarations)
                {
                    foreach (string line in ((LocalAllocation(declaration) ?? Declaration(declaration)) + ";").Split('\n'))
                    {
                        writer.Line(line);
                    }
                }

                break;
            case IExpressionStatementOperation { Operation: IThrowOperation } expressionStatement:
                Report(KernelDiagnostics.ExceptionHandling, expressionStatement.Syntax, "throw");
                break;
            case IExpressionStatementOperation expressionStatement:
                writer.Line(StatementExpression(expressionStatement) + ";");
                break;
            case IConditionalOperation conditional:
                writer.Line("if (" + Expression(conditional.Condition) + ")");
                WriteEmbedded(writer, conditional.WhenTrue);
                var whenFalse = conditional.WhenFalse;
                while (whenFalse is IConditionalOperation elseIf)
                {
                    writer.Line("else if (" + Expression(elseIf.Condition) + ")");
                    WriteEmbedded(writer, elseIf.WhenTrue);
                    whenFalse = elseIf.WhenFalse;
                }

                if (whenFalse is not null)
                {
                    writer.Line("else");
                    WriteEmbedded(writer, whenFalse);
                }

                break;
            case IForLoopOperation forLoop:
                writer.Line("for (" + ForInitializer(forLoop.Before) + "; " + (forLoop.Condition is null ? string.Empty : Expression(forLoop.Condition)) + "; "
                    + string.Join(", ", forLoop.AtLoopBottom.Select(StatementExpression)) + ")");
                WriteEmbedded(writer, forLoop.Body);
                break;
            case IWhileLoopOperation { ConditionIsTop: true } whileLoop:
                writer.Line("while (" + Expression(whileLoop.Condition!) + ")");
                WriteEmbedded(writer, whileLoop.Body);
                break;
            case IWhileLoopOperation whileLoop:
                writer.Line("do");
                WriteEmbedded(writer, whileLoop.Body);
                writer.Line("while (" + Expression(whileLoop.Condition!) + ");");
                break;
            case IBranchOperation { BranchKind: BranchKind.Break }:
                writer.Line("break;");
                break;
            case IBranchOperation { BranchKind: BranchKind.Continue }:
                writer.Line("continue;");
                break;
            case IReturnOperation { ReturnedValue: null }:
                writer.Line("return;");
                break;
            case IReturnOperation returnOperation:
                writer.Line("return " + Expression(returnOperation.ReturnedValue!) + ";");
                break;
            case IEmptyOperation:
                break;
            case ISwitchOperation switchOperation:
                WriteSwitch(writer, switchOperation);
                break;
            case IForEachLoopOperation:
                Report(KernelDiagnostics.ForEach, statement.Syntax);
                break;
            case ITryOperation:
                Report(KernelDiagnostics.ExceptionHandling, statement.Syntax, "try");
                break;
            case IThrowOperation:
                Report(KernelDiagnostics.ExceptionHandling, statement.Syntax, "throw");
                break;
            case ILocalFunctionOperation:
                Report(KernelDiagnostics.Lambda, statement.Syntax);
                break;
            default:
                Report(KernelDiagnostics.UnsupportedConstruct, statement.Syntax, Describe(statement));
                break;
        }
    }

    /// <summary>
    /// A switch statement on an integer or enum value with constant labels, default and break. Each section's
    /// statements are braced: C forbids a declaration right after a label, and C# scopes a section's locals to the
    /// whole switch block, so a local shared between sections is refused rather than silently re-scoped.
    /// </summary>
    private void WriteSwitch(CodeWriter writer, ISwitchOperation switchOperation)
    {
        var governing = switchOperation.Value.Type;
        bool integral = governing is not null && (governing.TypeKind == TypeKind.Enum || governing.SpecialType is SpecialType.System_Int32
            or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Int16
            or SpecialType.System_UInt16 or SpecialType.System_Byte or SpecialType.System_SByte);
        if (!integral)
        {
            Report(KernelDiagnostics.UnsupportedSwitch, switchOperation.Value.Syntax, "a switch on '" + (governing?.ToDisplayString() ?? "?") + "'");
            return;
        }

        writer.Line("switch (" + Expression(switchOperation.Value) + ")");
        writer.Line("{");
        writer.Indent++;
        foreach (var section in switchOperation.Cases)
        {
            foreach (var clause in section.Clauses)
            {
                if (clause is IDefaultCaseClauseOperation)
                {
                    writer.Line("default:");
                }
                else if (clause is ISingleValueCaseClauseOperation { Value: { ConstantValue.HasValue: true, Type: { } type } value })
                {
                    writer.Line("case " + Literal(value.ConstantValue.Value, type, value.Syntax, out _) + ":");
                }
                else
                {
                    Report(KernelDiagnostics.UnsupportedSwitch, clause.Syntax, "a pattern or guarded case label");
                }
            }

            // C# puts a section's declarations in the switch block's scope (ISwitchOperation.Locals), so find them by their declarators.
            var declared = section.Body.SelectMany(b => b.DescendantsAndSelf()).OfType<IVariableDeclaratorOperation>().Select(d => d.Symbol).ToList();
            foreach (var other in switchOperation.Cases)
            {
                if (other == section || declared.Count == 0)
                {
                    continue;
                }

                var shared = other.Body.SelectMany(b => b.DescendantsAndSelf()).OfType<ILocalReferenceOperation>()
                    .FirstOrDefault(r => declared.Contains(r.Local, SymbolEqualityComparer.Default));
                if (shared is not null)
                {
                    Report(KernelDiagnostics.UnsupportedSwitch, shared.Syntax, "the local '" + shared.Local.Name + "' declared in another switch section");
                }
            }

            writer.Line("{");
            writer.Indent++;
            _blockDepth++;
            foreach (var statement in section.Body)
            {
                WriteStatement(writer, statement);
            }

            _blockDepth--;
            writer.Indent--;
            writer.Line("}");
        }

        writer.Indent--;
        writer.Line("}");
    }

    /// <summary>
    /// <c>LocalBuffer&lt;T&gt; x = LocalMemory.Allocate&lt;T&gt;(N)</c> becomes <c>__local T x[N]</c>; OpenCL C only allows it at
    /// the kernel function's outermost scope, with a constant size. Null when the declaration is not an allocation.
    /// </summary>
    private string? LocalAllocation(IVariableDeclarationOperation declaration)
    {
        if (declaration.Declarators.Length != 1
            || (declaration.Declarators[0].Initializer ?? declaration.Initializer)?.Value is not IInvocationOperation invocation
            || !IsLocalAllocate(invocation.TargetMethod))
        {
            return null;
        }

        var declarator = declaration.Declarators[0];
        bool atKernelScope = _callStack.Count == 1 && _blockDepth == 1;
        if (!atKernelScope || invocation.Arguments.Length != 1 || invocation.Arguments[0].Value.ConstantValue.Value is not int length || length <= 0)
        {
            Report(KernelDiagnostics.LocalAllocation, invocation.Syntax);
            return "?";
        }

        string element = ScalarName(invocation.TargetMethod.TypeArguments[0]) ?? "?";
        string name = Identifier(declarator.Symbol.Name);
        string size = "[" + length.ToString(CultureInfo.InvariantCulture) + "]";
        if (element == "half")
        {
            // Without cl_khr_fp16 OpenCL C allows half only behind a pointer, not as an array: the storage is
            // declared as ushort (same size and alignment) and viewed as half for vload_half/vstore_half.
            return "__local ushort " + name + "_storage" + size + ";\n__local half* " + name + " = (__local half*)" + name + "_storage";
        }

        return "__local " + element + " " + name + size;
    }

    private static bool IsLocalAllocate(IMethodSymbol method) =>
        method.Name == "Allocate" && method.ContainingType?.ToDisplayString() == KernelsNamespace + ".LocalMemory";

    private string ForInitializer(IEnumerable<IOperation> before)
    {
        var parts = new List<string>();
        foreach (var operation in before)
        {
            if (operation is IVariableDeclarationGroupOperation group)
            {
                parts.AddRange(group.Declarations.Select(Declaration));
            }
            else
            {
                parts.Add(StatementExpression(operation));
            }
        }

        if (parts.Count > 1 && before.Any(o => o is IVariableDeclarationGroupOperation))
        {
            Report(KernelDiagnostics.UnsupportedConstruct, before.First().Syntax, "a for initializer mixing several declarations");
        }

        return string.Join(", ", parts);
    }

    /// <summary>Translates an expression evaluated for its side effect: the only place an assignment or ++/-- may appear.</summary>
    private string StatementExpression(IOperation operation)
    {
        _statementLevel = true;
        return Expression(operation is IExpressionStatementOperation statement ? statement.Operation : operation);
    }

    private string Declaration(IVariableDeclarationOperation declaration)
    {
        var parts = new List<string>();
        string? type = null;
        foreach (var declarator in declaration.Declarators)
        {
            int reported = _diagnostics.Count;
            type ??= LocalType(declarator.Symbol.Type, declaration.Syntax);
            var initializer = declarator.Initializer ?? declaration.Initializer;
            string name = Identifier(declarator.Symbol.Name);

            // A local of an unsupported type is reported once, not again for each part of its initializer.
            parts.Add(initializer is null || _diagnostics.Count > reported ? name : name + " = " + Expression(initializer.Value));
        }

        return (type ?? "?") + " " + string.Join(", ", parts);
    }

    private string LocalType(ITypeSymbol type, SyntaxNode at)
    {
        if (ScalarName(type) is { } scalar)
        {
            UsesHalfArithmetic |= scalar == "half";
            return scalar;
        }

        Report(type.SpecialType == SpecialType.System_String ? KernelDiagnostics.StringUse : KernelDiagnostics.UnsupportedType, at, TypeName(type));
        return "?";
    }

    // C precedence levels (higher binds tighter); C# agrees for every operator emitted here.
    private const int PrecedenceAssignment = 1;
    private const int PrecedenceConditional = 2;
    private const int PrecedenceUnary = 14;
    private const int PrecedencePrimary = 15;

    private string Expression(IOperation operation) => Expression(operation, out _);

    /// <summary>Translates an expression and returns its precedence, so that the caller adds parentheses only when needed.</summary>
    private string Expression(IOperation operation, out int precedence)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        precedence = PrecedencePrimary;

        // C leaves the order of side effects inside one expression unsequenced, where C# evaluates left to right:
        // an assignment or ++/-- nested in another expression could compute something else on the device.
        bool statementLevel = _statementLevel;
        _statementLevel = false;
        if (!statementLevel && operation is IAssignmentOperation or IIncrementOrDecrementOperation)
        {
            Report(KernelDiagnostics.NestedSideEffect, operation.Syntax);
            return "?";
        }

        if (operation.Type?.SpecialType == SpecialType.System_String || operation is IInterpolatedStringOperation)
        {
            Report(KernelDiagnostics.StringUse, operation.Syntax);
            return "?";
        }

        if (operation.ConstantValue.HasValue && operation.Type is not null)
        {
            return Literal(operation.ConstantValue.Value, operation.Type, operation.Syntax, out precedence);
        }

        // Every half value computed here is a device half (a store into a half buffer goes through vstore_half).
        if (IsHalf(operation.Type) && !(operation is ISimpleAssignmentOperation { Target: var stored } && HalfElement(stored) is not null))
        {
            UsesHalfArithmetic = true;
        }

        switch (operation)
        {
            case ILocalReferenceOperation local:
                return Identifier(local.Local.Name);
            case IParameterReferenceOperation parameter when _fixedValue is { } value && parameter.Parameter.Name == _fixedParameter
                && SymbolEqualityComparer.Default.Equals(parameter.Parameter.ContainingSymbol, _kernel):
                return Literal(value, parameter.Type!, parameter.Syntax, out precedence);
            case IParameterReferenceOperation parameter:
                return Identifier(parameter.Parameter.Name);
            case IBinaryOperation binary:
                return Binary(binary, out precedence);
            case IUnaryOperation unary:
                return Unary(unary, out precedence);
            case IIncrementOrDecrementOperation increment:
            {
                string op = increment.Kind == OperationKind.Increment ? "++" : "--";
                string target = Operand(increment.Target, PrecedencePrimary);
                precedence = increment.IsPostfix ? PrecedencePrimary : PrecedenceUnary;
                return increment.IsPostfix ? target + op : op + target;
            }

            case ISimpleAssignmentOperation { Target: var target } assignment when HalfElement(target) is { } element:
                // vstore_half rounds to nearest even, as C#'s (Half) conversion does, and needs no cl_khr_fp16.
                return "vstore_half(" + HalfStoreValue(assignment.Value) + ", " + Expression(element.Arguments[0].Value) + ", "
                    + Operand(element.Instance!, PrecedencePrimary) + ")";
            case ISimpleAssignmentOperation assignment:
                precedence = PrecedenceAssignment;
                return Operand(assignment.Target, PrecedencePrimary) + " = " + Operand(assignment.Value, PrecedenceAssignment);
            case ICompoundAssignmentOperation compound:
                return CompoundAssignment(compound, out precedence);
            case IConditionalOperation conditional:
                precedence = PrecedenceConditional;
                return Operand(conditional.Condition, PrecedenceConditional + 1) + " ? "
                    + Operand(conditional.WhenTrue, PrecedenceAssignment) + " : "
                    + Operand(conditional.WhenFalse!, PrecedenceConditional);
            case IConversionOperation conversion:
                return Conversion(conversion, out precedence);
            case IInvocationOperation invocation:
                return Invocation(invocation, out precedence);
            case IPropertyReferenceOperation { Property.IsIndexer: true } indexer when indexer.Instance is not null && BufferKind(indexer.Instance.Type!) is not null:
                return Operand(indexer.Instance, PrecedencePrimary) + "[" + Expression(indexer.Arguments[0].Value) + "]";
            case IPropertyReferenceOperation or IFieldReferenceOperation or IInstanceReferenceOperation or IEventReferenceOperation:
                Report(KernelDiagnostics.CapturedState, operation.Syntax, operation.Syntax.ToString());
                return "?";
            case IAnonymousFunctionOperation or IDelegateCreationOperation:
                Report(KernelDiagnostics.Lambda, operation.Syntax);
                return "?";
            case IObjectCreationOperation or IArrayCreationOperation or IAnonymousObjectCreationOperation or ITypeParameterObjectCreationOperation
                or IDynamicObjectCreationOperation or IWithOperation or ICollectionExpressionOperation:
                Report(KernelDiagnostics.Allocation, operation.Syntax, operation.Syntax.ToString());
                return "?";
            case ISwitchExpressionOperation:
                Report(KernelDiagnostics.UnsupportedSwitch, operation.Syntax, "a switch expression");
                return "?";
            case ITranslatedQueryOperation:
                Report(KernelDiagnostics.Linq, operation.Syntax);
                return "?";
            case IThrowOperation:
                Report(KernelDiagnostics.ExceptionHandling, operation.Syntax, "throw");
                return "?";
            default:
                Report(KernelDiagnostics.UnsupportedConstruct, operation.Syntax, Describe(operation));
                return "?";
        }
    }

    /// <summary>Translates <paramref name="operand"/>, parenthesised when it binds looser than <paramref name="minimum"/> requires.</summary>
    private string Operand(IOperation operand, int minimum)
    {
        string text = Expression(operand, out int precedence);
        return precedence < minimum ? "(" + text + ")" : text;
    }

    private string Binary(IBinaryOperation binary, out int precedence)
    {
        if (binary.OperatorMethod is not null && !IsHalf(binary.OperatorMethod.ContainingType))
        {
            Report(KernelDiagnostics.UnsupportedConstruct, binary.Syntax, "the user-defined operator '" + binary.OperatorMethod.ToDisplayString() + "'");
            precedence = PrecedencePrimary;
            return "?";
        }

        bool floating = binary.LeftOperand.Type?.SpecialType == SpecialType.System_Single || IsHalf(binary.LeftOperand.Type);
        if (binary.OperatorKind == BinaryOperatorKind.Remainder && floating)
        {
            // C# % on floats is C's fmod (truncated remainder), not an operator in C.
            precedence = PrecedencePrimary;
            return "fmod(" + Expression(binary.LeftOperand) + ", " + Expression(binary.RightOperand) + ")";
        }

        (string op, precedence) = binary.OperatorKind switch
        {
            BinaryOperatorKind.Multiply => ("*", 13),
            BinaryOperatorKind.Divide => ("/", 13),
            BinaryOperatorKind.Remainder => ("%", 13),
            BinaryOperatorKind.Add => ("+", 12),
            BinaryOperatorKind.Subtract => ("-", 12),
            BinaryOperatorKind.LeftShift => ("<<", 11),
            BinaryOperatorKind.RightShift => (">>", 11),
            BinaryOperatorKind.LessThan => ("<", 10),
            BinaryOperatorKind.LessThanOrEqual => ("<=", 10),
            BinaryOperatorKind.GreaterThan => (">", 10),
            BinaryOperatorKind.GreaterThanOrEqual => (">=", 10),
            BinaryOperatorKind.Equals => ("==", 9),
            BinaryOperatorKind.NotEquals => ("!=", 9),
            BinaryOperatorKind.And => ("&", 8),
            BinaryOperatorKind.ExclusiveOr => ("^", 7),
            BinaryOperatorKind.Or => ("|", 6),
            BinaryOperatorKind.ConditionalAnd => ("&&", 5),
            BinaryOperatorKind.ConditionalOr => ("||", 4),
            _ => (string.Empty, 0),
        };

        if (op.Length == 0)
        {
            Report(KernelDiagnostics.UnsupportedConstruct, binary.Syntax, "the operator " + binary.OperatorKind);
            precedence = PrecedencePrimary;
            return "?";
        }

        // Left-associative: an equal-precedence left operand needs no parentheses, an equal right one does. Under a
        // shift, bitwise or logical operator, a different operator is parenthesised anyway, for the reader (and -Wparentheses).
        int clarity = precedence is <= 11 and not (9 or 10) ? PrecedencePrimary : 0;
        string left = Operand(binary.LeftOperand, MixedOperand(binary.LeftOperand, precedence) ? Math.Max(clarity, precedence) : precedence);
        string right = Operand(binary.RightOperand, MixedOperand(binary.RightOperand, precedence) ? Math.Max(clarity, precedence + 1) : precedence + 1);
        return left + " " + op + " " + right;
    }

    /// <summary>Whether <paramref name="operand"/> is a binary operation of another precedence than its parent's.</summary>
    private static bool MixedOperand(IOperation operand, int parent)
    {
        while (operand is IConversionOperation { IsImplicit: true } conversion && SymbolEqualityComparer.Default.Equals(conversion.Type, conversion.Operand.Type))
        {
            operand = conversion.Operand;
        }

        if (operand is not IBinaryOperation child || operand.ConstantValue.HasValue)
        {
            return false;
        }

        int childPrecedence = child.OperatorKind switch
        {
            BinaryOperatorKind.Multiply or BinaryOperatorKind.Divide or BinaryOperatorKind.Remainder => 13,
            BinaryOperatorKind.Add or BinaryOperatorKind.Subtract => 12,
            BinaryOperatorKind.LeftShift or BinaryOperatorKind.RightShift => 11,
            BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual or BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual => 10,
            BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals => 9,
            BinaryOperatorKind.And => 8,
            BinaryOperatorKind.ExclusiveOr => 7,
            BinaryOperatorKind.Or => 6,
            BinaryOperatorKind.ConditionalAnd => 5,
            BinaryOperatorKind.ConditionalOr => 4,
            _ => parent,
        };

        // Comparisons under && and || read naturally without parentheses.
        return childPrecedence != parent && !(parent <= 5 && childPrecedence is 9 or 10);
    }

    private string Unary(IUnaryOperation unary, out int precedence)
    {
        precedence = PrecedenceUnary;
        if (unary.OperatorMethod is not null && !IsHalf(unary.OperatorMethod.ContainingType))
        {
            Report(KernelDiagnostics.UnsupportedConstruct, unary.Syntax, "the user-defined operator '" + unary.OperatorMethod.ToDisplayString() + "'");
            return "?";
        }

        string op = unary.OperatorKind switch
        {
            UnaryOperatorKind.Minus => "-",
            UnaryOperatorKind.Plus => "+",
            UnaryOperatorKind.Not => "!",
            UnaryOperatorKind.BitwiseNegation => "~",
            _ => string.Empty,
        };
        if (op.Length == 0)
        {
            Report(KernelDiagnostics.UnsupportedConstruct, unary.Syntax, "the operator " + unary.OperatorKind);
            return "?";
        }

        string operand = Operand(unary.Operand, PrecedenceUnary);

        // "- -x" must not become "--x".
        return op + (operand.Length > 0 && (operand[0] == '-' || operand[0] == '+') ? " " : string.Empty) + operand;
    }

    private string CompoundAssignment(ICompoundAssignmentOperation compound, out int precedence)
    {
        precedence = PrecedenceAssignment;
        if (compound.OperatorMethod is not null && !IsHalf(compound.OperatorMethod.ContainingType))
        {
            Report(KernelDiagnostics.UnsupportedConstruct, compound.Syntax, "the user-defined operator '" + compound.OperatorMethod.ToDisplayString() + "'");
            return "?";
        }

        string target = Operand(compound.Target, PrecedencePrimary);
        if (compound.OperatorKind == BinaryOperatorKind.Remainder && (compound.Target.Type?.SpecialType == SpecialType.System_Single || IsHalf(compound.Target.Type)))
        {
            return target + " = fmod(" + target + ", " + Expression(compound.Value) + ")";
        }

        string op = compound.OperatorKind switch
        {
            BinaryOperatorKind.Add => "+=",
            BinaryOperatorKind.Subtract => "-=",
            BinaryOperatorKind.Multiply => "*=",
            BinaryOperatorKind.Divide => "/=",
            BinaryOperatorKind.Remainder => "%=",
            BinaryOperatorKind.LeftShift => "<<=",
            BinaryOperatorKind.RightShift => ">>=",
            BinaryOperatorKind.And => "&=",
            BinaryOperatorKind.Or => "|=",
            BinaryOperatorKind.ExclusiveOr => "^=",
            _ => string.Empty,
        };
        if (op.Length == 0)
        {
            Report(KernelDiagnostics.UnsupportedConstruct, compound.Syntax, "the operator " + compound.OperatorKind + "=");
            return "?";
        }

        return target + " " + op + " " + Operand(compound.Value, PrecedenceAssignment);
    }

    private string Conversion(IConversionOperation conversion, out int precedence)
    {
        precedence = PrecedenceUnary;
        if (conversion.OperatorMethod is { } method && IsHalf(method.ContainingType))
        {
            return HalfConversion(conversion, out precedence);
        }

        if (conversion.OperatorMethod is not null)
        {
            Report(KernelDiagnostics.UnsupportedConstruct, conversion.Syntax, "the user-defined conversion '" + conversion.OperatorMethod.ToDisplayString() + "'");
            return "?";
        }

        var from = conversion.Operand.Type;
        var to = conversion.Type!;
        if (from is not null && SymbolEqualityComparer.Default.Equals(from, to))
        {
            return Expression(conversion.Operand, out precedence);
        }

        string? target = ScalarName(to);
        if (target is null)
        {
            Report(to.SpecialType == SpecialType.System_String ? KernelDiagnostics.StringUse : KernelDiagnostics.UnsupportedType, conversion.Syntax, TypeName(to));
            return "?";
        }

        if (from is not null && ScalarName(from) is null)
        {
            Report(KernelDiagnostics.UnsupportedType, conversion.Operand.Syntax, TypeName(from));
            return "?";
        }

        // Implicit C# conversions are spelled out too: C's usual arithmetic conversions differ in corners
        // (e.g. int vs uint comparisons), and an explicit cast keeps the device arithmetic identical to C#.
        return "(" + target + ")" + Operand(conversion.Operand, PrecedenceUnary);
    }

    /// <summary>
    /// System.Half's conversions are user-defined operators in C#; float to half and back map to OpenCL, other
    /// pairs go through float in C# so that the rounding is spelled out.
    /// </summary>
    private string HalfConversion(IConversionOperation conversion, out int precedence)
    {
        precedence = PrecedencePrimary;
        var from = conversion.Operand.Type;
        var to = conversion.Type;
        if (IsHalf(from) && to?.SpecialType == SpecialType.System_Single)
        {
            return HalfAsFloat(conversion.Operand, out precedence);
        }

        if (from?.SpecialType == SpecialType.System_Single && IsHalf(to))
        {
            // Round to nearest even, as C# does; a device half, so the caller has set UsesHalfArithmetic.
            return "convert_half(" + Expression(conversion.Operand) + ")";
        }

        Report(KernelDiagnostics.UnsupportedConstruct, conversion.Syntax, "the conversion from '" + from?.ToDisplayString() + "' to '" + to?.ToDisplayString() + "' (convert through float)");
        return "?";
    }

    /// <summary>
    /// A half value as a float: an element of a half buffer through vload_half (core OpenCL C, exact), a conditional
    /// branch-wise, anything else by widening a device half.
    /// </summary>
    private string HalfAsFloat(IOperation half, out int precedence)
    {
        precedence = PrecedencePrimary;
        if (HalfElement(half) is { } element)
        {
            return "vload_half(" + Expression(element.Arguments[0].Value) + ", " + Operand(element.Instance!, PrecedencePrimary) + ")";
        }

        if (half is IConditionalOperation { WhenFalse: { } whenFalse } conditional)
        {
            precedence = PrecedenceConditional;
            return Operand(conditional.Condition, PrecedenceConditional + 1) + " ? " + Parenthesised(HalfAsFloat(conditional.WhenTrue, out int t), t, PrecedenceAssignment)
                + " : " + Parenthesised(HalfAsFloat(whenFalse, out int f), f, PrecedenceConditional);
        }

        precedence = PrecedenceUnary;
        return "(float)" + Operand(half, PrecedenceUnary);
    }

    /// <summary>The float that vstore_half rounds into a half buffer: what C# converts to Half, without a device half on the way.</summary>
    private string HalfStoreValue(IOperation half)
    {
        if (half is IConversionOperation { OperatorMethod: not null, Operand.Type.SpecialType: SpecialType.System_Single } conversion && IsHalf(conversion.Type))
        {
            return Expression(conversion.Operand);
        }

        if (half is IConditionalOperation { WhenFalse: { } whenFalse } conditional)
        {
            return Operand(conditional.Condition, PrecedenceConditional + 1) + " ? " + HalfStoreValue(conditional.WhenTrue) + " : " + HalfStoreValue(whenFalse);
        }

        return HalfAsFloat(half, out _);
    }

    private static string Parenthesised(string text, int precedence, int minimum) => precedence < minimum ? "(" + text + ")" : text;

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

    private string Literal(object? value, ITypeSymbol type, SyntaxNode at, out int precedence)
    {
        precedence = PrecedencePrimary;
        switch (value)
        {
            case float f:
                if (float.IsNaN(f))
                {
                    return "NAN";
                }

                if (float.IsInfinity(f))
                {
                    precedence = f < 0 ? PrecedenceUnary : PrecedencePrimary;
                    return f < 0 ? "-INFINITY" : "INFINITY";
                }

                // "R" round-trips the exact float; C needs a '.' or exponent before the f suffix.
                string text = f.ToString("R", CultureInfo.InvariantCulture);
                if (text.IndexOf('.') < 0 && text.IndexOf('E') < 0)
                {
                    text += ".0";
                }

                if (f < 0 || (f == 0 && 1 / f < 0))
                {
                    precedence = PrecedenceUnary;
                    if (f == 0)
                    {
                        return "-0.0f";
                    }
                }

                return text + "f";
            case int i:
                precedence = i < 0 ? PrecedenceUnary : PrecedencePrimary;
                return i == int.MinValue ? "(-2147483647 - 1)" : i.ToString(CultureInfo.InvariantCulture);
            case uint u:
                return u.ToString(CultureInfo.InvariantCulture) + "u";
            case long l:
                precedence = l < 0 ? PrecedenceUnary : PrecedencePrimary;
                return l == long.MinValue ? "(-9223372036854775807L - 1L)" : l.ToString(CultureInfo.InvariantCulture) + "L";
            case ulong ul:
                return ul.ToString(CultureInfo.InvariantCulture) + "UL";
            case bool b:
                return b ? "true" : "false";
            case short s:
                precedence = s < 0 ? PrecedenceUnary : PrecedencePrimary;
                return "(short)" + s.ToString(CultureInfo.InvariantCulture);
            case ushort us:
                return "(ushort)" + us.ToString(CultureInfo.InvariantCulture);
            case byte by:
                return "(uchar)" + by.ToString(CultureInfo.InvariantCulture);
            case sbyte sb:
                return "(char)" + sb.ToString(CultureInfo.InvariantCulture);
            default:
                Report(type.SpecialType == SpecialType.System_String ? KernelDiagnostics.StringUse : KernelDiagnostics.UnsupportedType, at, TypeName(type));
                return "?";
        }
    }

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

    /// <summary>Accumulates indented lines with '\n' endings, whatever the host's newline.</summary>
    private sealed class CodeWriter
    {
        private readonly StringBuilder _text = new();

        public int Indent { get; set; }

        public void Line(string line) => _text.Append(' ', Indent * 4).Append(line).Append('\n');

        public override string ToString() => _text.ToString();
    }
}

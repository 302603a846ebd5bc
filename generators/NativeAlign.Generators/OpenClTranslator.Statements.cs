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

// Statements: method bodies, blocks, loops, switch, declarations and local memory.
internal sealed partial class OpenClTranslator
{
    private string TranslateBody(BaseMethodDeclarationSyntax syntax, SemanticModel model)
    {
        var writer = new SourceWriter();
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
            writer.Open();
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

            writer.Close();
        }
        else
        {
            Report(KernelDiagnostics.InvalidKernelMethod, syntax, "the method has no body");
        }

        return writer.ToString();
    }

    private void WriteBlock(SourceWriter writer, IBlockOperation block)
    {
        writer.Open();
        _blockDepth++;
        foreach (var statement in block.Operations)
        {
            WriteStatement(writer, statement);
        }

        _blockDepth--;
        writer.Close();
    }

    /// <summary>Writes a statement that is the body of if/for/while: always braced, as the style of the output.</summary>
    private void WriteEmbedded(SourceWriter writer, IOperation statement)
    {
        if (statement is IBlockOperation block)
        {
            WriteBlock(writer, block);
        }
        else
        {
            writer.Open();
            WriteStatement(writer, statement);
            writer.Close();
        }
    }

    private void WriteStatement(SourceWriter writer, IOperation statement)
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
    private void WriteSwitch(SourceWriter writer, ISwitchOperation switchOperation)
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
        writer.Open();
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

            writer.Open();
            _blockDepth++;
            foreach (var statement in section.Body)
            {
                WriteStatement(writer, statement);
            }

            _blockDepth--;
            writer.Close();
        }

        writer.Close();
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
}

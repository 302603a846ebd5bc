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

// Expressions: operators with C precedence, conversions and literals.
internal sealed partial class OpenClTranslator
{
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

    private static string Parenthesised(string text, int precedence, int minimum) => precedence < minimum ? "(" + text + ")" : text;

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
}

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

// System.Half: storage through vload_half/vstore_half, arithmetic under cl_khr_fp16.
internal sealed partial class OpenClTranslator
{
    private const string HalfType = "global::System.Half";

    private static bool IsHalf(ITypeSymbol? type) => type is not null && TypeName(type) == HalfType;

    /// <summary>The buffer and index of an element access to a buffer of half, or null.</summary>
    private static IPropertyReferenceOperation? HalfElement(IOperation operation) =>
        operation is IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { Type: { } buffer } } indexer
            && BufferKind(buffer) is not null && IsHalf(indexer.Type)
            ? indexer
            : null;

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
}

using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NativeAlign.Generators;

/// <summary>
/// Emits the unrolled CPU GEMM register tiles described by [GemmMicroKernel] on partial structs. Hand-unrolled tiles of
/// 24 accumulators are easy to get subtly wrong (a skipped FMA, a store to the wrong column) and tedious to retune; the
/// description is three numbers, and the generator checks them against the register file before emitting.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MicroKernelGenerator : IIncrementalGenerator
{
    /// <summary>Tracking name of the step that reads each attributed struct into a value model.</summary>
    public const string DescribeStep = "MicroKernelDescription";

    /// <summary>Tracking name of the step that keeps the valid models.</summary>
    public const string ModelStep = "MicroKernelModels";

    /// <summary>Tracking name of the step that flattens the diagnostics.</summary>
    public const string DiagnosticStep = "MicroKernelDiagnostics";

    private const string Attribute = "NativeAlign.Kernels.GemmMicroKernelAttribute";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var descriptions = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                Attribute,
                static (node, _) => node is StructDeclarationSyntax,
                static (ctx, ct) => Describe(ctx, ct))
            .WithTrackingName(DescribeStep);

        var models = descriptions
            .Where(static d => d.Model is not null)
            .Select(static (d, _) => d.Model!)
            .WithTrackingName(ModelStep);

        var diagnostics = descriptions
            .SelectMany(static (d, _) => d.Diagnostics)
            .WithTrackingName(DiagnosticStep);

        context.RegisterSourceOutput(models, static (spc, model) => spc.AddSource(model.HintName, MicroKernelEmitter.Emit(model)));
        context.RegisterSourceOutput(diagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
    }

    private static MicroKernelDescription Describe(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (StructDeclarationSyntax)context.TargetNode;
        var attribute = context.Attributes[0];
        SyntaxNode attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) ?? syntax;
        var diagnostics = new List<DiagnosticInfo>();
        string name = type.Name;

        bool partial = type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<TypeDeclarationSyntax>()
            .Any(t => t.Modifiers.Any(SyntaxKind.PartialKeyword));
        if (!partial)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidMicroKernelType, syntax.Identifier, name,
                "the struct must be declared partial so that the generated members can be added to it"));
        }
        else if (type.ContainingType is not null || type.IsGenericType)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidMicroKernelType, syntax.Identifier, name,
                "the struct must be a non-generic top-level type"));
        }

        int rows = 0, columns = 0, bits = 0;
        bool prefetchC = false;
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == "PrefetchC" && named.Value.Value is bool prefetch)
            {
                prefetchC = prefetch;
            }
            else if (named.Value.Value is int value)
            {
                switch (named.Key)
                {
                    case "Rows": rows = value; break;
                    case "Columns": columns = value; break;
                    case "VectorBits": bits = value; break;
                }
            }
        }

        if (bits is not (0 or 256 or 512) || rows < 1 || columns < 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidMicroKernelShape, attributeSyntax, name,
                "Rows and Columns must be positive and VectorBits 512, 256 or 0 (scalar); got Rows = " + rows + ", Columns = " + columns + ", VectorBits = " + bits));
        }
        else
        {
            int lanes = bits == 0 ? 1 : bits / 32;
            if (columns % lanes != 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.MicroKernelColumnsNotLaneMultiple, attributeSyntax, name,
                    columns.ToString(System.Globalization.CultureInfo.InvariantCulture), lanes.ToString(System.Globalization.CultureInfo.InvariantCulture), bits.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            else
            {
                var (needed, available, what) = RegisterBudget(rows, columns, bits);
                if (needed > available)
                {
                    diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.MicroKernelRegisterBudget, attributeSyntax, name,
                        what, needed.ToString(System.Globalization.CultureInfo.InvariantCulture), available.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
            }
        }

        if (diagnostics.Count > 0)
        {
            return new MicroKernelDescription(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        var model = new MicroKernelModel(
            type.ContainingNamespace.IsGlobalNamespace ? string.Empty : type.ContainingNamespace.ToDisplayString(),
            type.Name,
            type.IsReadOnly,
            type.ToDisplayString(),
            rows,
            columns,
            bits,
            prefetchC);
        return new MicroKernelDescription(model, EquatableArray<DiagnosticInfo>.Empty);
    }

    /// <summary>
    /// Registers a tile needs and has. Vector tiles keep every accumulator, one B vector per column group and the A
    /// broadcast live across the k loop: zmm has 32 registers, ymm (AVX2) 16. A scalar tile's B and A operands are
    /// folded into the FMA's memory operand or reloaded, so only its accumulators must fit the 16 xmm registers that every
    /// x64 machine (the scalar path's audience) has.
    /// </summary>
    internal static (long Needed, int Available, string What) RegisterBudget(int rows, int columns, int bits)
    {
        if (bits == 0)
        {
            return ((long)rows * columns, 16, rows + "×" + columns + " scalar accumulators");
        }

        // long: a description such as Rows = int.MaxValue must be refused, not overflow into a passing count (the emitter
        // writes one line per accumulator, so the budget is also what bounds the generated file).
        long vectorsPerRow = columns / (bits / 32);
        long needed = (rows * vectorsPerRow) + vectorsPerRow + 1;
        return (needed, bits == 512 ? 32 : 16,
            rows * vectorsPerRow + " " + (bits == 512 ? "zmm" : "ymm") + " accumulators + " + vectorsPerRow + " B vectors + 1 broadcast");
    }
}

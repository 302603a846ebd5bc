using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NativeAlign.Generators;

/// <summary>
/// Emits the unrolled CPU register tiles described on partial structs: GEMM tiles from [GemmMicroKernel] and attention
/// tiles (one per head size) from [AttentionMicroKernel]. Hand-unrolled tiles of 24 accumulators are easy to get subtly
/// wrong (a skipped FMA, a store to the wrong column) and tedious to retune; the description is two or three numbers,
/// and the generator checks them against the register file before emitting.
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

    /// <summary>Tracking name of the step that reads each [AttentionMicroKernel] struct into a value model.</summary>
    public const string AttentionDescribeStep = "AttentionMicroKernelDescription";

    /// <summary>Tracking name of the step that keeps the valid attention models.</summary>
    public const string AttentionModelStep = "AttentionMicroKernelModels";

    /// <summary>Tracking name of the step that flattens the attention diagnostics.</summary>
    public const string AttentionDiagnosticStep = "AttentionMicroKernelDiagnostics";

    /// <summary>The head sizes attention tiles are emitted for; others run the backend's generic attention.</summary>
    internal static readonly int[] AttentionHeadSizes = [32, 64, 128];

    private const string Attribute = "NativeAlign.Kernels.GemmMicroKernelAttribute";

    private const string AttentionAttribute = "NativeAlign.Kernels.AttentionMicroKernelAttribute";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        Register(context, Attribute, Describe, (DescribeStep, ModelStep, DiagnosticStep), MicroKernelEmitter.Emit);
        Register(context, AttentionAttribute, DescribeAttention, (AttentionDescribeStep, AttentionModelStep, AttentionDiagnosticStep), AttentionMicroKernelEmitter.Emit);
    }

    /// <summary>One pipeline per attribute: read each struct into a value model, emit the valid ones, report the diagnostics.</summary>
    private static void Register<TModel>(
        IncrementalGeneratorInitializationContext context,
        string attribute,
        System.Func<GeneratorAttributeSyntaxContext, CancellationToken, MicroKernelDescription<TModel>> describe,
        (string Describe, string Model, string Diagnostic) steps,
        System.Func<TModel, string> emit)
        where TModel : class, IMicroKernelModel
    {
        var descriptions = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                attribute,
                static (node, _) => node is StructDeclarationSyntax,
                (ctx, ct) => describe(ctx, ct))
            .WithTrackingName(steps.Describe);

        var models = descriptions
            .Where(static d => d.Model is not null)
            .Select(static (d, _) => d.Model!)
            .WithTrackingName(steps.Model);

        var diagnostics = descriptions
            .SelectMany(static (d, _) => d.Diagnostics)
            .WithTrackingName(steps.Diagnostic);

        context.RegisterSourceOutput(models, (spc, model) => spc.AddSource(model.HintName, emit(model)));
        context.RegisterSourceOutput(diagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
    }

    private static MicroKernelDescription<MicroKernelModel> Describe(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var (type, attribute, attributeSyntax, diagnostics) = Read(context, cancellationToken);
        string name = type.Name;

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

        return Described(diagnostics, () => new MicroKernelModel(NamespaceOf(type), type.Name, type.IsReadOnly, type.ToDisplayString(), rows, columns, bits, prefetchC));
    }

    private static MicroKernelDescription<AttentionMicroKernelModel> DescribeAttention(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var (type, attribute, attributeSyntax, diagnostics) = Read(context, cancellationToken);
        string name = type.Name;

        int headSize = 0, bits = 0;
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Value.Value is int value)
            {
                switch (named.Key)
                {
                    case "HeadSize": headSize = value; break;
                    case "VectorBits": bits = value; break;
                }
            }
        }

        bool validHead = System.Array.IndexOf(AttentionHeadSizes, headSize) >= 0;
        bool validBits = bits is 0 or 256 or 512;
        if (!validHead)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.AttentionHeadSizeUnsupported, ArgumentOrAttribute(attributeSyntax, "HeadSize"), name, S(headSize)));
        }

        if (!validBits)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.AttentionVectorWidth, ArgumentOrAttribute(attributeSyntax, "VectorBits"), name, S(bits)));
        }

        if (validHead && validBits)
        {
            var (needed, available, what) = AttentionRegisterBudget(headSize, bits);
            if (needed > available)
            {
                diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.AttentionRegisterBudget, attributeSyntax, name, S(headSize), what, S(needed), S(available)));
            }
        }

        return Described(diagnostics, () => new AttentionMicroKernelModel(NamespaceOf(type), type.Name, type.IsReadOnly, type.ToDisplayString(), headSize, bits));
    }

    /// <summary>The model when the description raised no diagnostic, else the diagnostics alone (an invalid description emits nothing).</summary>
    private static MicroKernelDescription<TModel> Described<TModel>(List<DiagnosticInfo> diagnostics, System.Func<TModel> model)
        where TModel : class, IMicroKernelModel =>
        diagnostics.Count > 0
            ? new MicroKernelDescription<TModel>(null, new EquatableArray<DiagnosticInfo>(diagnostics))
            : new MicroKernelDescription<TModel>(model(), EquatableArray<DiagnosticInfo>.Empty);

    private static string NamespaceOf(INamedTypeSymbol type) =>
        type.ContainingNamespace.IsGlobalNamespace ? string.Empty : type.ContainingNamespace.ToDisplayString();

    /// <summary>The attributed struct, its attribute (data and syntax), and the diagnostics about the struct itself.</summary>
    private static (INamedTypeSymbol Type, AttributeData Attribute, SyntaxNode AttributeSyntax, List<DiagnosticInfo> Diagnostics) Read(
        GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (StructDeclarationSyntax)context.TargetNode;
        var attribute = context.Attributes[0];
        SyntaxNode attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) ?? syntax;
        var diagnostics = new List<DiagnosticInfo>();
        CheckType(type, syntax, diagnostics, cancellationToken);
        return (type, attribute, attributeSyntax, diagnostics);
    }

    /// <summary>Generated members are added to the struct itself, so it must be a partial, non-generic top-level type.</summary>
    private static void CheckType(INamedTypeSymbol type, StructDeclarationSyntax syntax, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
    {
        bool partial = type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<TypeDeclarationSyntax>()
            .Any(t => t.Modifiers.Any(SyntaxKind.PartialKeyword));
        if (!partial)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidMicroKernelType, syntax.Identifier, type.Name,
                "the struct must be declared partial so that the generated members can be added to it"));
        }
        else if (type.ContainingType is not null || type.IsGenericType)
        {
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidMicroKernelType, syntax.Identifier, type.Name,
                "the struct must be a non-generic top-level type"));
        }
    }

    /// <summary>The <c>Name = value</c> argument of an attribute, so a diagnostic points at the offending number; the whole attribute when it is absent.</summary>
    private static SyntaxNode ArgumentOrAttribute(SyntaxNode attributeSyntax, string name) =>
        (attributeSyntax as AttributeSyntax)?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name) ?? attributeSyntax;

    /// <summary>
    /// Registers an attention tile needs and has. A vector tile keeps the scaled query row and the output accumulator
    /// (HeadSize / lanes vectors each) live across all keys, plus one dot-product partial and one broadcast probability;
    /// the K and V operands fold into the FMAs' memory operands. zmm has 32 registers, ymm (AVX2) 16. A scalar tile
    /// cannot hold a head in the 16 xmm registers at any supported size: it streams q and the accumulator from L1 and
    /// keeps four dot-product partials, which always fit.
    /// </summary>
    internal static (long Needed, int Available, string What) AttentionRegisterBudget(int headSize, int bits)
    {
        if (bits == 0)
        {
            return (4, 16, "4 scalar dot-product partials");
        }

        long vectors = headSize / (bits / 32);
        string register = bits == 512 ? "zmm" : "ymm";
        return ((2 * vectors) + 2, bits == 512 ? 32 : 16,
            vectors + " " + register + " query + " + vectors + " " + register + " accumulator + 1 dot partial + 1 broadcast");
    }

    private static string S(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

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

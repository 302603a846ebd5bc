using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NativeAlign.Generators;

/// <summary>Translates [Kernel] methods to OpenCL C and emits typed descriptors.</summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelGenerator : IIncrementalGenerator
{
    /// <summary>Tracking name of the step that translates each [Kernel] method into a value model.</summary>
    public const string TranslateStep = "KernelTranslation";

    /// <summary>Tracking name of the step that keeps the models that translated.</summary>
    public const string ModelStep = "KernelModels";

    /// <summary>Tracking name of the step that flattens the diagnostics.</summary>
    public const string DiagnosticStep = "KernelDiagnostics";

    private const string KernelAttribute = "NativeAlign.Kernels.KernelAttribute";
    private const string SpecializeAttribute = "NativeAlign.Kernels.SpecializeAttribute";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var translations = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KernelAttribute,
                static (node, _) => node is MethodDeclarationSyntax,
                static (ctx, ct) => Translate(ctx, ct))
            .WithTrackingName(TranslateStep);

        // Diagnostics and sources travel in separate providers: an edit that changes only a diagnostic's position
        // then never re-emits source, and an unchanged model never re-reports.
        var models = translations
            .Where(static t => t.Model is not null)
            .Select(static (t, _) => t.Model!)
            .WithTrackingName(ModelStep);

        var diagnostics = translations
            .SelectMany(static (t, _) => t.Diagnostics)
            .WithTrackingName(DiagnosticStep);

        context.RegisterSourceOutput(models, static (spc, model) => spc.AddSource(model.HintName, DescriptorEmitter.Emit(model)));
        context.RegisterSourceOutput(diagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
    }

    private static KernelTranslation Translate(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var method = (IMethodSymbol)context.TargetSymbol;
        var syntax = (MethodDeclarationSyntax)context.TargetNode;
        var diagnostics = new List<DiagnosticInfo>();
        string name = method.Name;

        void Invalid(string reason, SyntaxNode at) =>
            diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidKernelMethod, at, name, reason));

        var type = method.ContainingType;
        if (!method.IsStatic)
        {
            Invalid("a kernel must be a static method", syntax.Identifier.Parent ?? syntax);
        }

        if (!method.ReturnsVoid)
        {
            Invalid("a kernel must return void (results go to a GlobalBuffer)", syntax.ReturnType);
        }

        if (method.IsGenericMethod)
        {
            Invalid("a kernel cannot be generic", syntax);
        }

        if (type.ContainingType is not null || type.IsGenericType)
        {
            Invalid("the containing type must be a non-generic top-level type", syntax);
        }

        bool partial = type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<TypeDeclarationSyntax>()
            .Any(t => t.Modifiers.Any(SyntaxKind.PartialKeyword));
        if (!partial)
        {
            Invalid("the containing type '" + type.Name + "' must be declared partial so that the descriptor can be added to it", syntax);
        }

        var parameters = new List<KernelParameterModel>();
        foreach (var parameter in method.Parameters)
        {
            var at = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) ?? syntax;
            var kind = OpenClTranslator.BufferKind(parameter.Type);
            string elementType = kind is null
                ? OpenClTranslator.TypeName(parameter.Type)
                : OpenClTranslator.TypeName(((INamedTypeSymbol)parameter.Type).TypeArguments[0]);
            string? scalar = OpenClTranslator.ScalarName(elementType);

            // OpenCL forbids bool kernel arguments (its size is implementation-defined); buffers of bool likewise.
            if (parameter.RefKind != RefKind.None || scalar is null || scalar == "bool" || (kind is null && scalar is "short" or "ushort" or "uchar" or "char"))
            {
                diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.UnsupportedParameter, at, name, parameter.Name, parameter.Type.ToDisplayString()));
                continue;
            }

            parameters.Add(new KernelParameterModel(parameter.Name, kind ?? KernelParameterKind.Scalar, elementType));
        }

        int localX = 0, localY = 0;
        bool unsafeMath = false;
        foreach (var named in context.Attributes[0].NamedArguments)
        {
            if (named.Key == "UnsafeMathOptimizations" && named.Value.Value is bool relaxed)
            {
                unsafeMath = relaxed;
            }
            else if (named.Value.Value is int value)
            {
                if (named.Key == "LocalSizeX")
                {
                    localX = value;
                }
                else if (named.Key == "LocalSizeY")
                {
                    localY = value;
                }
            }
        }

        if (localX < 0 || localY < 0 || (localY > 0 && localX == 0))
        {
            Invalid("LocalSizeX/LocalSizeY must be non-negative, and LocalSizeX set whenever LocalSizeY is", syntax);
        }

        string specializedParameter = string.Empty;
        var specializedValues = new List<int>();
        var specialize = method.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == SpecializeAttribute);
        if (specialize is not null)
        {
            var at = specialize.ApplicationSyntaxReference?.GetSyntax(cancellationToken) ?? syntax;
            void InvalidSpecialization(string reason) =>
                diagnostics.Add(DiagnosticInfo.Create(KernelDiagnostics.InvalidSpecialization, at, name, reason));

            specializedParameter = specialize.ConstructorArguments.Length > 0 && specialize.ConstructorArguments[0].Value is string p ? p : string.Empty;
            if (specialize.ConstructorArguments.Length > 1 && specialize.ConstructorArguments[1].Kind == TypedConstantKind.Array)
            {
                specializedValues.AddRange(specialize.ConstructorArguments[1].Values.Select(v => v.Value is int i ? i : 0));
            }

            var target = method.Parameters.FirstOrDefault(q => q.Name == specializedParameter);
            if (target is null)
            {
                InvalidSpecialization("names '" + specializedParameter + "', which is not a parameter of the kernel");
            }
            else if (target.Type.SpecialType != SpecialType.System_Int32)
            {
                InvalidSpecialization("parameter '" + specializedParameter + "' must be an int");
            }
            else if (specializedValues.Count == 0)
            {
                InvalidSpecialization("needs at least one value");
            }
            else if (specializedValues.Distinct().Count() != specializedValues.Count)
            {
                InvalidSpecialization("lists a value twice");
            }
        }

        if (diagnostics.Count > 0)
        {
            return new KernelTranslation(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        var translator = new OpenClTranslator(context.SemanticModel.Compilation, name, cancellationToken);
        string? source = translator.TranslateKernel(method, syntax, context.SemanticModel, parameters, specializedParameter, specializedValues);
        if (source is null)
        {
            return new KernelTranslation(null, new EquatableArray<DiagnosticInfo>(translator.Diagnostics));
        }

        string keywords = type.IsStatic ? "static partial class" : type.TypeKind == TypeKind.Struct ? "partial struct" : "partial class";
        var model = new KernelModel(
            type.ContainingNamespace.IsGlobalNamespace ? string.Empty : type.ContainingNamespace.ToDisplayString(),
            type.Name,
            keywords,
            method.DeclaredAccessibility == Accessibility.Public && type.DeclaredAccessibility == Accessibility.Public ? "public" : "internal",
            name,
            type.ToDisplayString() + "." + name,
            new EquatableArray<KernelParameterModel>(parameters),
            source,
            localX,
            localY,
            translator.UsesBarriers,
            translator.UsesHalfArithmetic,
            unsafeMath,
            specializedParameter,
            new EquatableArray<int>(specializedValues));
        return new KernelTranslation(model, EquatableArray<DiagnosticInfo>.Empty);
    }
}
